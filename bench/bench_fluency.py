"""Calibrate the fluency filter: score distributions, precision/recall of "reject", cost per candidate.

Sets (each optional except the team's sample bios):
  sample   training/data/sample_bios.jsonl: every one must pass at the chosen threshold
  salad    synthetic word salad made here from the sample bios (seeded): shuffled letters, syllable
           words, 20% / 40% of lowercase words replaced by pseudo-words, fused pairs, broken contractions
  real     --real FILE.jsonl (field --real-field, names from "name"/"realname"): public profiles, read only
  demo     --demo FILE.jsonl ... (`djbios generate --to-file` output) scored against the reading labels
           in bench/fluency_labels.json (keyed "seed:index"; a text hash guards against other samples)

    .venv/bin/python bench/bench_fluency.py
    .venv/bin/python bench/bench_fluency.py --real "$DJBIOS_REAL_PROFILES" --demo a.jsonl b.jsonl

The anchor for cost is the obvious implementation: wordfreq's tokenizer and one uncached wordfreq
lookup per token, in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.filters.fluency import (  # noqa: E402
    MIN_ZIPF,
    _judge,
    check_fluency,
    fluency,
    judge_lower,
    warm,
    zipf,
)

THRESHOLDS = (0.80, 0.85, 0.86, 0.87, 0.88, 0.90, 0.92, 0.95)
KINDS = ("shuffled", "syllables", "replace20", "replace40", "fused", "broken")
_LOWER = re.compile(r"\b[a-z]{3,}\b")
_ONSET = ("b c d f g h j k l m n p r s t v w z br cl dr fl gr pl pr sh st th tr").split()
_NUCLEUS = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "u", "ai", "ea", "ee", "ou", "io"]
_CODA = ["", "", "", "n", "r", "s", "l", "m", "nt", "st", "ng", "x"]


def hash12(text: str) -> str:
    """A short content hash, to check the labels belong to the same samples."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def pseudo_word(rng: random.Random) -> str:
    """A pronounceable non-word of 2-4 syllables that wordfreq does not list."""
    while True:
        w = "".join(rng.choice(_ONSET) + rng.choice(_NUCLEUS) + rng.choice(_CODA) for _ in range(rng.randint(2, 4)))
        if zipf(w) < MIN_ZIPF:
            return w


def _replace_share(text: str, share: float, rng: random.Random) -> str:
    """Replace `share` of the lowercase words (3+ letters) with pseudo-words."""
    spans = [m.span() for m in _LOWER.finditer(text)]
    pick = sorted(rng.sample(spans, max(1, round(share * len(spans)))) if spans else [], reverse=True)
    for a, z in pick:
        text = text[:a] + pseudo_word(rng) + text[z:]
    return text


def salad(text: str, kind: str, rng: random.Random) -> str | None:
    """One synthetic negative of `kind` made from a sample bio (None when the bio cannot make one)."""
    if kind == "shuffled":  # every lowercase word of 4+ letters with its letters shuffled
        return re.sub(r"\b[a-z]{4,}\b", lambda m: "".join(rng.sample(m.group(), len(m.group()))), text)
    if kind == "syllables":  # every lowercase word of 4+ letters a pseudo-word: only the skeleton is English
        return re.sub(r"\b[a-z]{4,}\b", lambda m: pseudo_word(rng), text)
    if kind in ("replace20", "replace40"):
        return _replace_share(text, 0.2 if kind == "replace20" else 0.4, rng)
    if kind == "fused":  # two adjacent lowercase words glued, twice: "ofthe", "recordlabel"
        pairs = list(re.finditer(r"\b([a-z]+) ([a-z]+)\b", text))
        if len(pairs) < 2:
            return None
        for m in sorted(rng.sample(pairs, 2), key=lambda m: -m.start()):
            text = text[: m.start()] + m.group(1) + m.group(2) + text[m.end() :]
        return text
    if kind == "broken":  # every contraction and possessive broken as a tokenizer would leave it
        forms = [(r"n't\b", " n't"), (r"'s\b", "' s"), (r"'(m|re|ve|ll|d)\b", r" '\1")]
        out = text
        for rx, rep in forms:
            out = re.sub(rx, rep, out)
        return out if out != text else None
    raise ValueError(kind)


def quantiles(xs: list[float]) -> str:
    """min / p1 / p5 / p25 / median / mean of scores."""
    s = sorted(xs)
    q = lambda p: s[min(len(s) - 1, int(p * len(s)))]  # noqa: E731
    return (
        f"n={len(s):5d} min {s[0]:.3f} p1 {q(0.01):.3f} p5 {q(0.05):.3f} p25 {q(0.25):.3f} "
        f"median {q(0.5):.3f} mean {statistics.fmean(s):.3f}"
    )


def verdicts(items: list[tuple[str, list[str]]], threshold: float, max_verb_slot: int = 0) -> list[bool]:
    """check_fluency's ok for each (text, names); a huge max_verb_slot turns that rule off."""
    return [check_fluency(t, threshold, n, max_verb_slot=max_verb_slot)[0] for t, n in items]


def pr_row(name: str, keep_ok: list[bool], bad_ok: list[bool]) -> str:
    """Precision and recall of "reject" (bad = should be rejected), plus false rejects of keepers."""
    tp = sum(not ok for ok in bad_ok)
    fp = sum(not ok for ok in keep_ok)
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / len(bad_ok) if bad_ok else float("nan")
    return (
        f"{name:10s} precision {prec:6.3f} recall {rec:6.3f}  rejected bad {tp}/{len(bad_ok)}, "
        f"rejected good {fp}/{len(keep_ok)}"
    )


def load_jsonl(path: Path, field: str, name_fields: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(text, names) of each record."""
    out = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append((d[field], [d[f] for f in name_fields if d.get(f)]))
    return out


def load_demo(paths: list[Path], labels_path: Path) -> tuple[list[tuple[str, list[str]]], dict[str, list[bool]]]:
    """Demo samples that have a label, with their strict and lenient labels (True = approvable)."""
    labels = json.loads(labels_path.read_text("utf-8"))["labels"]
    items, lab = [], {"strict": [], "lenient": []}
    for p in paths:
        for i, line in enumerate(p.read_text("utf-8").splitlines()):
            d = json.loads(line)
            key = f"{d.get('seed')}:{i}"
            if key not in labels:
                continue
            if labels[key]["sha"] != hash12(d["text"]):
                sys.exit(f"{p}: sample {key} is not the text that was labelled (hash differs); regenerate it")
            items.append((d["text"], [d["prompt"]] if d.get("prompt") else []))
            lab["strict"].append(labels[key]["strict"])
            lab["lenient"].append(labels[key]["lenient"])
    return items, lab


def cost(texts: list[str], repeat: int = 3) -> tuple[float, float, float]:
    """µs per candidate: fluency() warm, fluency() first sight, and the naive per-token anchor."""
    from wordfreq import (
        _word_frequency as uncached,  # the lookup behind word_frequency's cache
    )
    from wordfreq import tokenize

    judge_lower.cache_clear()
    _judge.cache_clear()
    t = time.perf_counter()
    for x in texts:
        fluency(x)
    first = (time.perf_counter() - t) / len(texts) * 1e6
    best = best_anchor = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for x in texts:
            fluency(x)
        best = min(best, (time.perf_counter() - t) / len(texts) * 1e6)
        t = time.perf_counter()
        for x in texts:
            toks = tokenize(x, "en")
            sum(uncached(w, "en", "best", 0.0) > 0 for w in toks) / max(1, len(toks))
        best_anchor = min(best_anchor, (time.perf_counter() - t) / len(texts) * 1e6)
    return best, first, best_anchor


def main() -> None:
    """Run every set, print the tables and the chosen threshold."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bios", type=Path, default=ROOT / "training" / "data" / "sample_bios.jsonl")
    real = [Path(p) for p in os.environ.get("DJBIOS_REAL_PROFILES", "").split(":") if p]  # default: none
    ap.add_argument("--real", type=Path, nargs="*", default=real)
    ap.add_argument("--real-field", default="profile_clean")
    ap.add_argument("--demo", type=Path, nargs="*", default=[])
    ap.add_argument("--labels", type=Path, default=ROOT / "bench" / "fluency_labels.json")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    t = time.perf_counter()
    warm()
    print(f"warm-up (wordfreq English list): {time.perf_counter() - t:.2f} s")
    sample = load_jsonl(args.bios, "text", ("name",))
    rng = random.Random(args.seed)
    salads = {k: [(s, n) for s, n in ((salad(t, k, rng), n) for t, n in sample) if s] for k in KINDS}
    sets = {"sample": sample, **{f"salad:{k}": v for k, v in salads.items()}}
    for p in args.real:
        sets[f"real:{p.stem}"] = [(t, n) for t, n in load_jsonl(p, args.real_field, ("name", "realname")) if t.strip()]
    demo, labels = load_demo(args.demo, args.labels) if args.demo else ([], {})
    if demo:
        sets["demo"] = demo

    print("\n## Score distributions (fluency score; judged words >= 5 only)")
    for name, items in sets.items():
        scores = [f.score for f in (fluency(t, n) for t, n in items) if f.counted >= 5]
        print(f"{name:24s} {quantiles(scores)}")

    chosen = choose(sample)
    print(f"\nchosen threshold: {chosen:.2f} (the highest 0.01 step every sample bio passes)")
    bad = [x for k in KINDS for x in salads[k]]
    print("\n## Precision / recall of reject: synthetic salad (all kinds) vs the sample bios")
    for th in THRESHOLDS:
        print(f"{th:.2f}  " + pr_row("salad", verdicts(sample, th), verdicts(bad, th)))
    print(f"\n## Recall per salad kind at {chosen:.2f}, with and without max_unknown_verbs = 0")
    off = 10**9  # no count of unknown words after a subject ever reaches it
    for k in KINDS:
        ok, ok_off = verdicts(salads[k], chosen), verdicts(salads[k], chosen, off)
        print(f"{k:10s} rejected {sum(not o for o in ok)}/{len(ok)} (without the rule {sum(not o for o in ok_off)})")
    print(pr_row("no-verbs", verdicts(sample, chosen, off), verdicts(bad, chosen, off)) + "  (rule off)")
    print(pr_row("verbs", verdicts(sample, chosen), verdicts(bad, chosen)) + "  (rule on)")
    for name, items in sets.items():
        if name.startswith("real:"):
            fs = [fluency(t, n) for t, n in items]
            ok = verdicts(items, chosen)
            judged = [f for f in fs if f.counted >= 5]
            print(
                f"\n{name}: {sum(ok)}/{len(ok)} pass at {chosen:.2f}; fail: < 5 judged words "
                f"{len(fs) - len(judged)}, broken contractions {sum(f.broken > 0 for f in judged)}, "
                f"fused {sum(f.fused > 0 for f in judged)}, "
                f"score only {sum(not f.broken and not f.fused and f.score < chosen for f in judged)}"
            )
    if demo:
        print(
            f"\n## Demo samples ({len(demo)}), labelled by reading: approvable strict "
            f"{sum(labels['strict'])}, lenient {sum(labels['lenient'])}"
        )
        for th in THRESHOLDS:
            ok = verdicts(demo, th)
            for kind in ("strict", "lenient"):
                keep = [o for o, good in zip(ok, labels[kind]) if good]
                rej = [o for o, good in zip(ok, labels[kind]) if not good]
                print(f"{th:.2f}  " + pr_row(kind, keep, rej))

    texts = [t for t, _ in sample]
    salad_texts = [t for t, _ in salads["replace20"]]
    ours, first, anchor = cost(texts)
    chars = statistics.fmean(len(t) for t in texts)
    print(f"\n## Cost ({len(texts)} sample bios, mean {chars:.0f} chars; best of 3)")
    print(f"fluency() warm      {ours:8.1f} µs/candidate  ({ours * 500 / chars:.1f} µs per 500 chars)")
    print(f"fluency() 1st pass  {first:8.1f} µs/candidate  (every word new to the cache)")
    print(
        f"naive anchor        {anchor:8.1f} µs/candidate  (wordfreq.tokenize + uncached lookup per token)"
        f"  -> {anchor / ours:.1f}x"
    )
    ours_s, first_s, anchor_s = cost(salad_texts)
    print(f"salad replace20     {ours_s:8.1f} µs warm, {first_s:.1f} µs first pass, anchor {anchor_s:.1f} µs")


def choose(sample: list[tuple[str, list[str]]]) -> float:
    """The highest threshold on a 0.01 grid at which every sample bio passes check_fluency."""
    th = 1.0
    while th > 0 and not all(verdicts(sample, round(th, 2))):
        th -= 0.01
    return round(th, 2)


if __name__ == "__main__":
    main()
