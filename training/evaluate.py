"""Evaluate every kept checkpoint: copying, variety, length, delimiter, pronouns, held-out loss.

Writes checkpoint_dir/run_name/eval/: report.md, metrics.json, loss.png, metrics.png and
samples-<step>.txt, and recommends the checkpoint that imitates best without copying.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.config import Config, FiltersConfig, GenerateConfig, default_max_tokens, max_tokens_for
from bot.errors import ModelError
from bot.filters.copies import copies
from bot.filters.copyindex import CopyIndex, ensure_index
from bot.generation.checkpoint import list_steps
from bot.text import END, PRONOUNS, START, pronoun_counts, read_bios, words
from training.finetune import LOSS_CSV, load_session

log = logging.getLogger(__name__)

MAX_COPY_RATE = 0.1  # the recommendation only considers checkpoints copying at most this share
MAX_VAL_BIOS = 200  # held-out loss over at most 200 bios, to bound CPU time
SEED = 1234  # fixed, so every checkpoint is judged on the same sampling noise
RULE = (
    f"Recommended: among checkpoints whose copy rate (share of samples the copy filter rejects, "
    f"with bot.toml's [filters] settings) is at most {MAX_COPY_RATE:.0%}, the one with "
    "the lowest held-out loss (without a validation split: the latest one). If every checkpoint "
    "copies more, the one that copies least (earliest on a tie)."
)


@dataclass
class CheckpointEval:
    """Numbers for one checkpoint."""

    step: int
    samples: int
    copy_rate: float
    longest_run: int  # words, over all samples
    distinct2: float
    distinct3: float
    mean_words: float
    end_share: float  # share of samples that ended at <|endoftext|>
    pronouns: dict[str, float]  # he/she/they share of pronoun uses in the samples
    pronoun_gap: float  # total variation distance to the corpus's pronoun shares (0..1)
    val_loss: float | None
    train_avg: float | None  # gpt-2-simple's running average loss at this step
    texts: list[str] = field(default_factory=list, repr=False)


@dataclass
class Report:
    """What `djbios evaluate` wrote."""

    path: Path
    rows: list[CheckpointEval]
    corpus_pronouns: dict[str, float]
    recommended: int | None
    recommendation: str


def evaluate_from_config(cfg: Config, *, which: str = "all", samples: int = 20) -> Report:
    """`djbios evaluate` with bot.toml's paths and sampling settings."""
    run_dir = cfg.model.checkpoint_dir / cfg.model.run_name
    return evaluate(
        run_dir,
        corpus=cfg.corpus.path,
        index_path=cfg.index_path,
        which=which,
        samples=samples,
        gen=cfg.generate,
        filters=cfg.filters,
        max_tokens=max_tokens_for(cfg),
    )


def evaluate(
    run_dir: Path,
    *,
    corpus: Path,
    index_path: Path,
    which: str = "all",
    samples: int = 20,
    gen: GenerateConfig | None = None,
    filters: FiltersConfig | None = None,
    max_tokens: int | None = None,
) -> Report:
    """Sample and measure each chosen checkpoint of run_dir; write the report folder.

    Copying is judged by the copy filter with `filters` and bios are capped at `max_tokens`, as the
    worker does (evaluate_from_config passes bot.toml's), so the report's copy rate is what the filter
    would reject."""
    filters = filters or FiltersConfig()
    max_tokens = max_tokens or default_max_tokens(filters.max_chars)
    steps = choose_steps(run_dir, which)
    if not corpus.is_file():
        raise ModelError(f"{corpus}: corpus file not found (run `djbios corpus build` first)")
    index = ensure_index(corpus, index_path)
    assert index is not None  # the corpus exists, so the index was built
    corpus_pron = pronoun_shares(" ".join(read_bios(corpus)))
    val = corpus.with_suffix(".val.txt")
    train_avg = read_loss_log(run_dir)
    rows = []
    for step in steps:
        texts, complete = sample_texts(run_dir, step, samples, gen or GenerateConfig(), max_tokens)
        row = measure(step, texts, complete, index, corpus_pron, filters)
        row.val_loss = heldout_loss(run_dir, step, val) if val.is_file() else None
        row.train_avg = train_avg.get(step)
        rows.append(row)
        log.info("step %s: copy %.2f, distinct-3 %.2f, val %s", step, row.copy_rate, row.distinct3, row.val_loss)
    best = recommend(rows)
    line = (
        (
            f"recommended checkpoint: step {best.step} (copy rate {best.copy_rate:.0%}, val loss "
            f"{_fmt(best.val_loss)}); set [model] checkpoint_step = {best.step}"
        )
        if best
        else "no checkpoint"
    )
    out = write_report(run_dir / "eval", rows, corpus_pron, train_avg, line)
    return Report(out, rows, corpus_pron, best.step if best else None, line)


def choose_steps(run_dir: Path, which: str) -> list[int]:
    """Steps for --checkpoint all|latest|STEP; ModelError naming the kept ones when absent."""
    have = list_steps(run_dir)
    if not have:
        raise ModelError(f"{run_dir}: no checkpoints to evaluate; run `djbios train` first")
    if which == "all":
        return have
    if which == "latest":
        return have[-1:]
    if not which.isdigit() or int(which) not in have:
        raise ModelError(f"no checkpoint {which!r} in {run_dir}; kept: {', '.join(map(str, have))}")
    return [int(which)]


def sample_texts(run_dir: Path, step: int, n: int, g: GenerateConfig, max_tokens: int) -> tuple[list[str], list[bool]]:
    """n samples from one checkpoint with the fixed SEED and the worker's generator and token cap."""
    from bot.generation.sampler import GPT2Generator

    gen = GPT2Generator.load(run_dir, step)
    try:
        out = gen.generate(
            n,
            batch_size=min(n, g.batch_size),
            temperature=g.temperature,
            top_k=g.top_k,
            top_p=g.top_p,
            seed=SEED,
            prefix=g.prefix,
            max_tokens=max_tokens,
        )
    finally:
        gen.close()
    return [s.text for s in out], [s.complete for s in out]


def measure(
    step: int,
    texts: list[str],
    complete: list[bool],
    index: CopyIndex,
    corpus_pron: dict[str, float],
    filters: FiltersConfig | None = None,
) -> CheckpointEval:
    """The text metrics of one checkpoint's samples; copied = rejected by the copy filter."""
    filters = filters or FiltersConfig()
    checks = [copies(t, index, filters) if t.strip() else None for t in texts]
    runs = [c.scores["longest_run"] if c else 0 for c in checks]
    tokens = [words(t) for t in texts]
    pron = pronoun_shares(" ".join(texts))
    n = max(len(texts), 1)
    return CheckpointEval(
        step=step,
        samples=len(texts),
        copy_rate=sum(1 for c in checks if c and not c.ok) / n,
        longest_run=max(runs, default=0),
        distinct2=distinct(tokens, 2),
        distinct3=distinct(tokens, 3),
        mean_words=sum(map(len, tokens)) / n,
        end_share=sum(complete) / n,
        pronouns=pron,
        pronoun_gap=0.5 * sum(abs(pron[k] - corpus_pron[k]) for k in PRONOUNS),
        val_loss=None,
        train_avg=None,
        texts=texts,
    )


def distinct(words: list[list[str]], n: int) -> float:
    """Unique n-grams / all n-grams over the samples (0 when there are none)."""
    grams = [tuple(w[i : i + n]) for w in words for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def pronoun_shares(text: str) -> dict[str, float]:
    """Share of he/she/they pronoun uses in text (all 0 when it has none)."""
    totals = pronoun_counts(words(text))
    total = sum(totals.values())
    return {k: (v / total if total else 0.0) for k, v in totals.items()}


def heldout_loss(run_dir: Path, step: int, val: Path) -> float | None:
    """Mean next-token cross-entropy (nats) on the validation split, each bio scored on its own.

    Each bio starts at position 0 behind its start delimiter, as the generator sees it, so models
    trained on windows shorter than 1024 ([train] window) are scored on positions they learnt.
    """
    import numpy as np

    sess, hparams, enc = load_session(run_dir, step)
    try:
        losses, count = 0.0, 0
        for bio in read_bios(val)[:MAX_VAL_BIOS]:
            ids = enc.encode(f"{START}{bio}{END}")[: hparams.n_ctx]
            if len(ids) < 2:
                continue
            logits = sess.run("logits:0", {"context:0": [ids]})[0, :-1].astype(np.float64)
            logz = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
            losses += float((logz - logits[np.arange(len(ids) - 1), ids[1:]]).sum())
            count += len(ids) - 1
    finally:
        sess.close()
    return losses / count if count else None


def read_loss_log(run_dir: Path) -> dict[int, float]:
    """step -> running average loss from loss.csv (empty when there is none)."""
    path = run_dir / LOSS_CSV
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        return {int(r["step"]): float(r["avg"]) for r in csv.DictReader(f)}


def recommend(rows: list[CheckpointEval]) -> CheckpointEval | None:
    """Apply RULE."""
    ok = [r for r in rows if r.copy_rate <= MAX_COPY_RATE]
    if ok and all(r.val_loss is not None for r in ok):
        return min(ok, key=lambda r: (r.val_loss, -r.step))
    if ok:
        return max(ok, key=lambda r: r.step)
    return min(rows, key=lambda r: (r.copy_rate, r.step), default=None)


def write_report(
    out: Path, rows: list[CheckpointEval], corpus_pron: dict[str, float], train_avg: dict[int, float], line: str
) -> Path:
    """report.md, metrics.json, samples-<step>.txt and the PNG plots."""
    out.mkdir(parents=True, exist_ok=True)
    for r in rows:
        body = "".join(f"=== sample {i + 1} ===\n{t}\n\n" for i, t in enumerate(r.texts))
        (out / f"samples-{r.step}.txt").write_text(body, encoding="utf-8")
    metrics = [{k: v for k, v in asdict(r).items() if k != "texts"} for r in rows]
    (out / "metrics.json").write_text(
        json.dumps({"corpus_pronouns": corpus_pron, "checkpoints": metrics}, indent=2) + "\n", encoding="utf-8"
    )
    plot(out, rows, train_avg)
    (out / "report.md").write_text(markdown(rows, corpus_pron, line), encoding="utf-8")
    return out / "report.md"


def markdown(rows: list[CheckpointEval], corpus_pron: dict[str, float], line: str) -> str:
    """The report page."""
    head = (
        "| step | copy rate | longest run | distinct-2 | distinct-3 | mean words | ends at delimiter "
        "| he/she/they | pronoun gap | val loss | train avg |\n|" + "---|" * 11 + "\n"
    )
    table = "".join(
        f"| {r.step} | {r.copy_rate:.0%} | {r.longest_run} | {r.distinct2:.2f} | {r.distinct3:.2f} | "
        f"{r.mean_words:.1f} | {r.end_share:.0%} | {_pron(r.pronouns)} | {r.pronoun_gap:.2f} | "
        f"{_fmt(r.val_loss)} | {_fmt(r.train_avg)} |\n"
        for r in rows
    )
    first = "\n".join(f"- step {r.step}: {(r.texts or [''])[0][:300]!r}" for r in rows)
    return (
        f"# Checkpoint evaluation\n\n{line}\n\n{RULE}\n\n{head}{table}\n"
        f"Corpus pronoun shares (he/she/they): {_pron(corpus_pron)}. The pronoun gap is the total "
        "variation distance between the samples' shares and the corpus's.\n\n"
        f"![loss](loss.png)\n\n![metrics](metrics.png)\n\n## First sample per checkpoint\n\n{first}\n\n"
        "All samples: samples-<step>.txt.\n"
    )


def plot(out: Path, rows: list[CheckpointEval], train_avg: dict[int, float]) -> None:
    """loss.png (training loss with the kept checkpoints) and metrics.png (metrics by step)."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on a server
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(list(train_avg), list(train_avg.values()), label="train loss (running avg)")
    vals = [(r.step, r.val_loss) for r in rows if r.val_loss is not None]
    if vals:
        ax.plot(*zip(*vals), "o-", label="held-out loss")
    for r in rows:
        ax.axvline(r.step, color="grey", lw=0.5)
    ax.set(xlabel="step", ylabel="loss (nats/token)", title="Loss")
    ax.legend()
    fig.savefig(out / "loss.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    x = [r.step for r in rows]
    for name in ("copy_rate", "distinct2", "distinct3", "end_share", "pronoun_gap"):
        ax.plot(x, [getattr(r, name) for r in rows], "o-", label=name)
    ax.set(xlabel="step", ylabel="share", ylim=(-0.05, 1.05), title="Sample metrics by checkpoint")
    ax.legend()
    fig.savefig(out / "metrics.png", dpi=100)
    plt.close(fig)


def _fmt(x: float | None) -> str:
    """A loss, or a dash."""
    return "-" if x is None else f"{x:.3f}"


def _pron(p: dict[str, float]) -> str:
    """he/she/they shares as percentages."""
    return "/".join(f"{p[k]:.0%}" for k in PRONOUNS)
