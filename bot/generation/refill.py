"""The refill step: sample a batch, filter it, store each candidate with provenance (no TensorFlow here).

`djbios generate` and the worker's refill job both call generate_batch(); the generator is passed
in, so the worker loads the model once and this module stays cheap to import.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import Config, max_tokens_for
from bot.text import block

if TYPE_CHECKING:
    from bot.filters.pipeline import Pipeline
    from bot.generation.sampler import Generator, GPT2Generator, Sample
    from bot.store.store import Store

log = logging.getLogger(__name__)

CHUNK_BATCHES = 8  # --to-file: batches per continuous run (one progress-bar update each)


@dataclass
class BatchSummary:
    """What one batch did: made, rejected by reason, queued (the ids that went to pending)."""

    batch_id: int | None
    made: int
    queued: int
    rejected: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # wall time of sampling alone
    seed: int | None = None
    queued_ids: list[int] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary for the CLI."""
        why = ", ".join(f"{r}: {n}" for r, n in sorted(self.rejected.items())) or "none"
        head = f"batch {self.batch_id}: " if self.batch_id is not None else ""
        return [
            f"{head}made {self.made} in {self.seconds:.1f} s (seed {self.seed})",
            f"rejected {sum(self.rejected.values())} ({why})",
            f"queued {self.queued}",
        ]


def sampling_params(cfg: Config, prompt: str | None) -> dict[str, Any]:
    """The sampling settings of a batch, as stored with each candidate."""
    g = cfg.generate
    return {
        "temperature": g.temperature,
        "top_k": g.top_k,
        "top_p": g.top_p,
        "batch_size": g.batch_size,
        "max_tokens": max_tokens_for(cfg),
        "prefix": g.prefix + (prompt or ""),
    }


def resolve_seed(cfg: Config, seed: int | None) -> int:
    """--seed, else [generate] seed, else a fresh one (stored, so the batch can be reproduced)."""
    if seed is not None:
        return seed
    return cfg.generate.seed if cfg.generate.seed >= 0 else secrets.randbits(31)


def run_generator(generator: Generator, params: dict[str, Any], n: int, seed: int) -> tuple[list[Sample], float]:
    """Sample n bios with the stored sampling params; return (samples, seconds)."""
    t0 = time.perf_counter()
    samples = generator.generate(
        n,
        batch_size=params["batch_size"],
        temperature=params["temperature"],
        top_k=params["top_k"],
        top_p=params["top_p"],
        seed=seed,
        prefix=params["prefix"],
        max_tokens=params["max_tokens"],
    )
    return samples, time.perf_counter() - t0


def generate_batch(
    cfg: Config,
    store: Store,
    generator: Generator,
    *,
    n: int,
    prompt: str | None = None,
    pronouns: str | None = None,
    seed: int | None = None,
    now: datetime | None = None,
) -> BatchSummary:
    """Generate n candidates, filter them, and store each as pending or rejected with provenance.

    The batch row is written once the samples and the filters are ready (a model or filter that
    fails leaves no row behind), and it is finished even when storing a candidate fails midway.
    """
    prov = generator.provenance
    params = sampling_params(cfg, prompt)
    batch_seed = resolve_seed(cfg, seed)
    samples, seconds = run_generator(generator, params, n, batch_seed)
    pipe = _pipeline(cfg, store)
    batch_id = store.create_batch(
        "generate",
        checkpoint=prov["checkpoint"],
        step=prov["step"],
        params=params,
        seed=batch_seed,
        prompt=prompt,
        now=now,
    )
    summary = BatchSummary(batch_id=batch_id, made=len(samples), queued=0, seconds=seconds, seed=batch_seed)
    try:
        fields = {
            "source": "generate",
            "batch_id": batch_id,
            "checkpoint": prov["checkpoint"],
            "step": prov["step"],
            "params": params,
            "prompt": prompt,
        }
        _store_samples(store, pipe, samples, summary, fields, pronouns, now)
    finally:
        store.finish_batch(batch_id, seconds=seconds, made=summary.made, queued=summary.queued, now=now)
    log.info("batch %s: made %s, queued %s, rejected %s", batch_id, summary.made, summary.queued, summary.rejected)
    return summary


def _store_samples(
    store: Store,
    pipe: Pipeline,
    samples: list[Sample],
    summary: BatchSummary,
    fields: dict[str, Any],
    pronouns: str | None,
    now: datetime | None,
) -> None:
    """Filter each sample and store it; `summary` counts what was stored so far, even on failure."""
    from bot.filters.gate import record  # the filters load on first use: this module stays cheap

    rejected: Counter[str] = Counter()
    for s in samples:
        v = pipe.check(s.text, complete=s.complete, pronouns=pronouns, prompt=fields["prompt"])
        text = v.text if v.ok else s.text  # a passing text is stored defused: exactly what would be posted
        if not text.strip():
            rejected["empty"] += 1  # the store keeps no empty text; counted, not stored
        else:
            if v.ok:
                pipe.remember(v.text)
            generation = {"tokens": s.tokens, "complete": s.complete, "generation_seconds": round(summary.seconds, 3)}
            c = store.add(
                text,
                status="pending" if v.ok else "rejected",
                seed=s.seed,
                pronouns=pronouns,
                now=now,
                verdict=record(v, generation),
                **fields,
            )
            if v.ok:
                summary.queued_ids.append(c.id)
            else:
                rejected[v.reason or "rejected"] += 1
        summary.queued, summary.rejected = len(summary.queued_ids), dict(rejected)


def _pipeline(cfg: Config, store: Store) -> Pipeline:
    """The filters with the copy index (if built) and every stored text for the near-duplicate check."""
    from bot.filters.pipeline import build_pipeline

    return build_pipeline(cfg, store.texts())


def write_samples(
    out: TextIO, path: Path, samples: list[Sample], provenance: dict[str, Any], params: dict[str, Any]
) -> None:
    """Write samples as corpus-style blocks, or JSON lines when path ends in .jsonl."""
    jsonl = path.suffix.lower() in (".jsonl", ".json")
    for s in samples:
        if jsonl:
            out.write(json.dumps({**asdict(s), **provenance, "params": params}, ensure_ascii=False) + "\n")
        else:
            out.write(block(s.text))


def generate_to_file(
    cfg: Config,
    generator: Generator,
    path: Path,
    *,
    n: int,
    prompt: str | None = None,
    seed: int | None = None,
    progress: bool = True,
) -> BatchSummary:
    """Bulk mode: write n bios to path batch by batch with a progress bar; nothing is stored."""
    from tqdm import tqdm

    params, base = sampling_params(cfg, prompt), resolve_seed(cfg, seed)
    made, incomplete, seconds = 0, 0, 0.0
    # Chunks of 8 batches: each is one continuous run (slots refill as bios end), and the bar moves
    # between chunks. Chunk c uses seed + c, so the same --seed rewrites the same file.
    chunk = params["batch_size"] * CHUNK_BATCHES
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out, tqdm(total=n, unit="bio", disable=not progress) as bar:
        for c, start in enumerate(range(0, n, chunk)):
            samples, took = run_generator(generator, params, min(chunk, n - start), base + c)
            write_samples(out, path, samples, generator.provenance, params)
            made, seconds = made + len(samples), seconds + took
            incomplete += sum(not s.complete for s in samples)
            bar.update(len(samples))
    rejected = {"incomplete": incomplete} if incomplete else {}
    return BatchSummary(batch_id=None, made=made, queued=0, rejected=rejected, seconds=seconds, seed=base)


def load_generator(cfg: Config, step: int | None = None) -> GPT2Generator:
    """The configured checkpoint (checkpoint_dir/run_name, step or [model] checkpoint_step) loaded once."""
    from bot.generation.sampler import GPT2Generator

    return GPT2Generator.load(cfg.model.checkpoint_dir / cfg.model.run_name, step or cfg.model.checkpoint_step or None)
