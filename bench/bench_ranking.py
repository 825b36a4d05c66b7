"""How well the quality score picks what auto-approval takes: labelled demo samples, ranked several ways.

Reads the samples `bench/bench_demo_quality.py --out FILE` saved and the reading labels in
bench/demo_quality_labels.json, judges each refill with the current pipeline (the demo config's copy and
name indexes), ranks the passing bios by each scoring rule, and counts how many of the top N (what
`[review] auto_max_per_day` approves) were labelled approvable, strict / lenient. Anchors: the order
they were generated in, and the earlier score that also weighed copy and near-duplicate margins.

    .venv/bin/python bench/bench_ranking.py --samples /tmp/dq_G.json --config demo/bot.toml \
        --model demo-small-committed-4000
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.filters.pipeline import build_pipeline  # noqa: E402
from bot.filters.quality import quality  # noqa: E402

LABELS = ROOT / "bench" / "demo_quality_labels.json"


def _num(scores: dict[str, Any], name: str, key: str, default: float) -> float:
    value = (scores.get(name) or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def margins(scores: dict[str, Any]) -> float:
    """The earlier score: fluency, language, and the copy and near-duplicate margins."""
    copy = 1 - min(1.0, _num(scores, "copy", "longest_run", 0) / max(_num(scores, "copy", "run_limit", 1), 1))
    dup = 1 - min(1.0, _num(scores, "duplicate", "jaccard", 0) / max(_num(scores, "duplicate", "threshold", 1), 1e-9))
    return (
        0.6 * _num(scores, "fluency", "score", 1) + 0.15 * _num(scores, "language", "prob", 1) + 0.15 * copy + 0.1 * dup
    )


RULES: dict[str, Callable[[dict[str, Any]], float]] = {
    "generation order (anchor)": lambda scores: 0.0,  # a stable sort keeps the order
    "with copy/dup margins (before)": margins,
    "quality (now)": quality,
}


def main() -> None:
    """Print, per sampling setting, the approvable share of each rule's top N."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=Path, required=True, help="bench_demo_quality.py's saved JSON")
    ap.add_argument("--config", type=Path, required=True, help="the demo's bot.toml (its copy and name indexes)")
    ap.add_argument("--top", type=int, default=6, help="bios auto-approval takes per refill")
    ap.add_argument("--model", default=None, help="the model's name in the label keys (default: the file's)")
    a = ap.parse_args()
    data = json.loads(a.samples.read_text(encoding="utf-8"))
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["labels"]
    cfg = load_config(a.config)
    model = a.model or data["model"]
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for s in data["samples"]:
        groups[(s["setting"], s["seed"])].append(s)
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for (setting, seed), samples in sorted(groups.items()):
        pipe = build_pipeline(cfg, [])  # one refill: passing bios join the near-duplicate set in order
        passing = []
        for s in sorted(samples, key=lambda x: x["index"]):
            v = pipe.check(s["text"], complete=s["complete"])
            if v.ok:
                pipe.remember(v.text)
                passing.append((s, v.scores))
        for name, rule in RULES.items():
            for s, _ in sorted(passing, key=lambda t: -rule(t[1]))[: a.top]:
                lab = labels.get(f"{model}|{setting}|{seed}:{s['index']}")
                if lab:
                    row = table[setting][name]
                    row[0], row[1], row[2] = row[0] + lab["strict"], row[1] + lab["lenient"], row[2] + 1
    print(f"top {a.top} per refill, approvable strict / lenient of labelled ({model})")
    for setting, rows in table.items():
        print(f"{setting:>14}: " + "; ".join(f"{n} {v[0]}/{v[1]} of {v[2]}" for n, v in rows.items()))


if __name__ == "__main__":
    main()
