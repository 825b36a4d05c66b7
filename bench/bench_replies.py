"""Bios on request: requests answered per minute on CPU, first-batch pass rate, and what steering buys.

Each answer is one [replies] candidates batch (k = 8) sampled, judged by the whole filter pipeline with
the wanted pronouns and stored (bot/posting/replies.py answer_requests, the generate side's own
call); the model is loaded before the clock starts. Requests are team-invented names, each asked
with she, he and they. Per model and per steering setting it prints:

  requests/min    answers (k-candidate batches, filtered and stored) per minute of wall time
  first batch     share of requests whose first batch holds a candidate that passes every filter
  pronoun-true    share of all candidates whose subject uses only the wanted pronouns (the
                  pronoun filter's verdict); steering on vs off is the measure of "what steers"

Models: "tiny" (tests/fixtures_model.py's tiny model, fine-tuned 20 steps into a temporary folder:
it writes fragments, so its pass rates mean nothing; its speed is the floor) and the model of --config
(its [model], [corpus] indexes and [filters] are used as they are).

    .venv/bin/python bench/bench_replies.py --config path/to/demo/bot.toml
    .venv/bin/python bench/bench_replies.py --config path/to/demo/bot.toml --names 4 --skip-tiny
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bot.config import Config, load_config  # noqa: E402

# Invented for this benchmark (checked against the corpus name index at run time).
NAMES = [
    "Mara Quillon",
    "Tobias Wrenfield",
    "Ines Calloway",
    "Dario Fenwick",
    "Noor Ashgrove",
    "Felix Ambry",
    "Lena Quarry",
    "Cy Marlow",
    "Ana Quell",
    "Bo Strand",
    "Juno Reyk",
    "Odile Varga",
]
PRONOUNS = ("she", "he", "they")
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def tiny_config(folder: Path) -> Config:
    """The tests' tiny model, made and fine-tuned in `folder` (about 20 s)."""
    sys.path.insert(0, str(ROOT))
    from tests.fixtures_model import TINY_STEPS, finetune_tiny, make_tiny_model

    model = make_tiny_model(folder)
    finetune_tiny(model, folder / "checkpoint", "run1", TINY_STEPS)
    toml = folder / "bot.toml"
    toml.write_text(
        f'[model]\ncheckpoint_dir = "{folder / "checkpoint"}"\nrun_name = "run1"\n'
        f'[corpus]\npath = "{model.corpus}"\n[generate]\nseed = 1\n',
        encoding="utf-8",
    )
    return load_config(toml)


def run(cfg: Config, names: list[str], steer: bool, generator: Any, work: Path) -> dict[str, Any]:
    """Answer len(names) x 3 requests with a fresh store; the numbers above."""
    from bot.posting.replies import answer_requests
    from bot.store.requests import add_request, list_requests
    from bot.store.store import Store

    cfg = dataclasses.replace(cfg, replies=dataclasses.replace(cfg.replies, steer=steer, mode="manual", max_batches=1))
    db = work / f"bench-{steer}-{time.monotonic_ns()}.db"
    store = Store.open(f"sqlite:///{db}")
    n = 0
    for name in names:
        for p in PRONOUNS:
            n += 1
            add_request(
                store,
                notification_id=str(n),
                status_id=str(n),
                account_id="1",
                acct="fan",
                visibility="public",
                text=f"@bot bio for {name} ({p})",
                state="new",
                name=name,
                pronouns=p,
                now=NOW,
            )
    t0 = time.perf_counter()
    out = answer_requests(cfg, store, lambda: generator, NOW)
    seconds = time.perf_counter() - t0
    cands = [c for c in store.list() if c.request_id is not None]
    true = sum(bool((c.scores.get("pronouns") or {}).get("ok")) for c in cands)
    passing = sum(c.status == "pending" or c.reason == "not chosen" for c in cands)
    reasons: dict[str, int] = {}
    for c in cands:
        if c.status == "rejected" and c.reason != "not chosen":
            reasons[str(c.reason)] = reasons.get(str(c.reason), 0) + 1
    answered = sum(r.state == "queued" for r in list_requests(store))
    store.close()
    return {
        "steer": steer,
        "requests": n,
        "seconds": round(seconds, 1),
        "requests_per_min": round(60 * n / seconds, 2),
        "first_batch": round(answered / n, 3),
        "candidates": len(cands),
        "pronoun_true": round(true / max(1, len(cands)), 3),
        "candidates_passing": round(passing / max(1, len(cands)), 3),
        "rejected_by": reasons,
        "errors": out.errors[:3],
    }


def bench(label: str, cfg: Config, names: list[str], steers: list[bool], work: Path) -> list[dict[str, Any]]:
    """Load the model once, then one run per steering setting."""
    from bot.filters.names import NameIndex, names_path
    from bot.generation.refill import load_generator

    known = NameIndex.load(names_path(cfg.corpus.path))
    clash = [n for n in names if known.find(n)]
    if clash:
        print(f"{label}: skipping names in the corpus index: {clash}", file=sys.stderr)
    names = [n for n in names if n not in clash]
    t0 = time.perf_counter()
    generator = load_generator(cfg)
    load_s = time.perf_counter() - t0
    rows = []
    for steer in steers:
        row = {
            "model": label,
            "k": cfg.replies.candidates,
            "load_s": round(load_s, 1),
            **run(cfg, names, steer, generator, work),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    generator.close()
    return rows


def main() -> None:
    """Parse arguments, run the benchmarks, print one JSON line per run and a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, help="bot.toml of the model to measure (e.g. the demo's)")
    ap.add_argument("--names", type=int, default=len(NAMES), help="names to ask for (x3 pronouns)")
    ap.add_argument("--skip-tiny", action="store_true")
    ap.add_argument("--no-compare", action="store_true", help="steering on only")
    args = ap.parse_args()
    names = NAMES[: args.names]
    steers = [True] if args.no_compare else [True, False]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-replies-") as tmp:
        work = Path(tmp)
        if not args.skip_tiny:
            rows += bench("tiny", tiny_config(work / "tiny"), names[:4], [True], work)
        if args.config:
            rows += bench(load_config(args.config).model.run_name, load_config(args.config), names, steers, work)
    print(f"\n{'model':<12} {'steer':<6} {'req/min':>8} {'first batch':>12} {'pronoun-true':>13} {'passing':>8}")
    for r in rows:
        print(
            f"{r['model']:<12} {str(r['steer']):<6} {r['requests_per_min']:>8} {r['first_batch']:>12.0%} "
            f"{r['pronoun_true']:>13.0%} {r['candidates_passing']:>8.0%}"
        )


if __name__ == "__main__":
    main()
