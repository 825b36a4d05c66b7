"""Blocklist benchmark and hit report: bot.filters.blocklist against plain whole-word regexes.

Times both matchers on the same bios with the same extra entries in one run (best of REPEAT loops,
CPU time), and lists every hit of the default list so a person can judge it.

    .venv/bin/python bench/bench_blocklist.py                          # the team's sample bios
    .venv/bin/python bench/bench_blocklist.py --jsonl other.jsonl:profile_clean --hits
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.filters.blocklist import _compile, compile_blocklist, default_terms  # noqa: E402

REPEAT = 5  # timed loops take the best of this many runs
SAMPLES = f"{ROOT / 'training' / 'data' / 'sample_bios.jsonl'}:text"
# A plausible operator list: ten words and a regex, none of them in the bios.
EXTRA = [
    "frobnicate",
    "quasar",
    "fog machine",
    "wibble",
    "glorp",
    "zanzibar",
    "plinth",
    "gazump",
    "snollygoster",
    "kerfuffle",
    r"/\bn[a4]zi/",
]


def naive_compile(entries: list[str]) -> list[tuple[str, re.Pattern[str]]]:
    """The anchor (djbios' blocklist before this one): each word a case-insensitive \\b-bounded regex."""
    return [
        (e, re.compile(e[1:-1] if len(e) > 2 and e[0] == e[-1] == "/" else rf"\b{re.escape(e)}\b", re.I))
        for e in entries
    ]


def naive_blocklist(text: str, patterns: list[tuple[str, re.Pattern[str]]]) -> list[str]:
    """The anchor's check: every entry whose regex is found in the text."""
    return [e for e, rx in patterns if rx.search(text)]


def cpu_s() -> float:
    """CPU seconds of this process (user + system): steadier than wall time on a shared machine."""
    return time.process_time()


def load(spec: str) -> list[str]:
    """Texts from 'file.jsonl:field' (field defaults to text)."""
    path, _, field = spec.partition(":")
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [t for t in (json.loads(line).get(field or "text") or "" for line in lines) if t]


def per_bio_us(fn: Callable[[str], object], texts: list[str]) -> float:
    """Best-of-REPEAT CPU microseconds per text."""
    best = float("inf")
    for _ in range(REPEAT):
        t0 = cpu_s()
        for t in texts:
            fn(t)
        best = min(best, cpu_s() - t0)
    return best / len(texts) * 1e6


def report_hits(name: str, texts: list[str]) -> None:
    """Every default-list hit, counted, with 40 characters of context for the first of each."""
    bl = compile_blocklist([])
    seen: Counter[tuple[str, str]] = Counter()
    where: dict[tuple[str, str], str] = {}
    docs = 0
    for t in texts:
        hits = bl.find(t)
        docs += bool(hits)
        for h in hits:
            seen[h.term, h.text] += 1
            where.setdefault((h.term, h.text), t[max(0, h.start - 40) : h.end + 40].replace("\n", " "))
    print(f"{name}: {docs} of {len(texts)} texts hit, {sum(seen.values())} hits")
    for (term, text), n in seen.most_common():
        print(f"  {n:3d}  {term!r} as {text!r}: …{where[term, text]}…")


def main() -> None:
    """Time old and new matchers on each corpus; with --hits, list the default list's hits."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jsonl", action="append", help="file.jsonl:field (repeatable)")
    ap.add_argument("--hits", action="store_true", help="list every default-list hit")
    args = ap.parse_args()
    print(
        f"python {platform.python_version()}, {platform.processor() or platform.machine()}, "
        f"{len(default_terms())} default terms, extra = {len(EXTRA)} entries"
    )
    t0 = cpu_s()
    _compile.__wrapped__(tuple(EXTRA), True, ())
    print(f"compile (uncached, default list loaded): {(cpu_s() - t0) * 1e3:.1f} ms CPU")
    old_extra = naive_compile(EXTRA)
    old_all = naive_compile(EXTRA + list(default_terms()))
    new_extra = compile_blocklist(EXTRA, use_default=False)
    new_all = compile_blocklist(EXTRA)
    for spec in args.jsonl or [SAMPLES]:
        texts = load(spec)
        chars = sum(map(len, texts)) / len(texts)
        print(f"\n{Path(spec.partition(':')[0]).name}: {len(texts)} texts, mean {chars:.0f} chars")
        for label, fn in (
            ("anchor: whole-word regexes, extra only", lambda t: naive_blocklist(t, old_extra)),
            ("new Blocklist.find, extra only", new_extra.find),
            ("anchor, extra + default terms as words", lambda t: naive_blocklist(t, old_all)),
            ("new Blocklist.find, extra + default", new_all.find),
        ):
            us = per_bio_us(fn, texts)
            print(f"  {label:40s} {us:7.1f} µs/text  {us * 500 / chars:7.1f} µs per 500 chars")
        if args.hits:
            report_hits(Path(spec.partition(":")[0]).name, texts)


if __name__ == "__main__":
    main()
