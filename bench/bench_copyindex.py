"""Copy-index benchmark: ours against a markovify-style substring scan and a Python set of n-gram hashes.

Each measurement runs in its own process so peak RSS (getrusage ru_maxrss) belongs to it alone.

    .venv/bin/python bench/bench_copyindex.py                    # 52,000 synthetic bios (~78 MB)
    .venv/bin/python bench/bench_copyindex.py --n 5000 --scan-sample 2   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data import profiles as profile_file  # noqa: E402
from bot.filters.copies import copy_run_limit  # noqa: E402
from bot.filters.copyindex import CopyIndex, build_index
from bot.text import WORD, iter_bios  # noqa: E402

REPEAT = 3  # timed loops take the best of this many runs
DATA = profile_file("discogs_profiles_cc0.jsonl")  # real profiles, if $DJBIOS_PROFILES_DIR names their folder


def cpu_s() -> float:
    """CPU seconds of this process so far (user + system): less sensitive to other load than wall time."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(name: str, *args: str) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    out = subprocess.run([sys.executable, __file__, "--child", name, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def candidates(corpus: Path, n: int, words: int, seed: int) -> list[dict]:
    """n candidates of `words` words from unrelated synthetic text; every other one with a planted copy."""
    from bench.synth import synth_bios

    rng = random.Random(seed)
    stream = " ".join(b["text"] for b in synth_bios(n * words // 150 + 50, seed=seed + 12345)).split()
    bios = list(iter_bios(corpus)) if n else []
    out = []
    for i in range(n):
        base = stream[i * words : (i + 1) * words]
        item = {"text": " ".join(base), "planted": 0}
        if i % 2:
            toks = rng.choice(bios).split()
            while len(toks) <= 60:
                toks = rng.choice(bios).split()
            length = rng.randint(16, 40)
            s = rng.randrange(len(toks) - length)
            copy = toks[s : s + length]
            at = rng.randrange(words - length)
            item = {
                "text": " ".join(base[:at] + copy + base[at + length :]),
                "planted": len(WORD.findall(" ".join(copy))),
            }
        out.append(item)
    return out


def run_build(corpus: str, index: str) -> dict:
    """Child: build our index."""
    t, c = time.perf_counter(), cpu_s()
    stats = build_index(Path(corpus), Path(index))
    return {"seconds": time.perf_counter() - t, "cpu_s": cpu_s() - c, "rss_mb": rss_mb(), **stats}


def run_check(index: str, cands: str) -> dict:
    """Child: load our index, check every candidate (tokenising included)."""
    items = json.loads(Path(cands).read_text())
    t = time.perf_counter()
    idx = CopyIndex.load(Path(index))
    load = time.perf_counter() - t
    per = cpu = float("inf")
    for _ in range(REPEAT):  # best of REPEAT: other processes share these 2 cores
        t, c0 = time.perf_counter(), cpu_s()
        ms = [idx.check(c["text"]) for c in items]
        per = min(per, (time.perf_counter() - t) / max(1, len(items)))
        cpu = min(cpu, (cpu_s() - c0) / max(1, len(items)))
    planted = [(c, m) for c, m in zip(items, ms) if c["planted"]]
    clean = [m for c, m in zip(items, ms) if not c["planted"]]
    return {
        "load_s": load,
        "check_ms": per * 1e3,
        "check_cpu_ms": cpu * 1e3,
        "rss_mb": rss_mb(),
        "recall": sum(m.longest_run >= c["planted"] for c, m in planted) / max(1, len(planted)),
        "planted": len(planted),
        "clean": len(clean),
        "fp_run": sum(m.longest_run >= 16 for m in clean),
        "fp_overlap": sum(m.overlap > 0.5 for m in clean),
        "clean_max_run": max((m.longest_run for m in clean), default=0),
        "berlin_run": idx.check("Jo is a DJ and producer based in Berlin.").longest_run,
    }


def run_scan(corpus: str, cands: str, sample: str) -> dict:
    """Child: markovify's test_sentence_output, a substring search per 16-gram over the joined corpus."""
    t = time.perf_counter()
    rejoined = " ".join(" ".join(b.split()) for b in iter_bios(Path(corpus)))
    prep = time.perf_counter() - t
    items = [c for c in json.loads(Path(cands).read_text()) if not c["planted"]][: int(sample)]
    t, c0 = time.perf_counter(), cpu_s()
    for c in items:
        words = c["text"].split()
        over = min(15, round(0.7 * len(words))) + 1
        any(" ".join(words[i : i + over]) in rejoined for i in range(max(1, len(words) - over + 1)))
    per, cpu = (time.perf_counter() - t) / max(1, len(items)), (cpu_s() - c0) / max(1, len(items))
    return {"prep_s": prep, "check_ms": per * 1e3, "check_cpu_ms": cpu * 1e3, "rss_mb": rss_mb(), "sample": len(items)}


def run_pyset(corpus: str, cands: str) -> dict:
    """Child: a Python set of hash(8-gram) for the corpus, and its overlap check."""
    t, c0 = time.perf_counter(), cpu_s()
    grams: set[int] = set()
    for b in iter_bios(Path(corpus)):
        w = [x.lower() for x in WORD.findall(b)]
        grams.update(hash(tuple(w[i : i + 8])) for i in range(len(w) - 7))
    build, build_cpu = time.perf_counter() - t, cpu_s() - c0
    items = json.loads(Path(cands).read_text())
    per = float("inf")
    for _ in range(REPEAT):
        t = time.perf_counter()
        for c in items:
            w = [x.lower() for x in WORD.findall(c["text"])]
            sum(hash(tuple(w[i : i + 8])) in grams for i in range(len(w) - 7))
        per = min(per, (time.perf_counter() - t) / max(1, len(items)))
    return {"seconds": build, "cpu_s": build_cpu, "rss_mb": rss_mb(), "check_ms": per * 1e3, "ngrams": len(grams)}


def run_discogs(tmp: str) -> dict:
    """Child: index one half of the Discogs profiles, check the other half with the filter's rule."""
    recs = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    texts = [r["profile_clean"].strip() for r in recs if r.get("profile_clean", "").strip()]
    half, other = texts[0::2], texts[1::2]
    corpus = Path(tmp) / "discogs_half.txt"
    corpus.write_text("".join(f"<|startoftext|>{t}<|endoftext|>\n" for t in half), encoding="utf-8")
    build_index(corpus, corpus.with_suffix(".idx"))
    idx = CopyIndex.load(corpus.with_suffix(".idx"))
    ms = [(len(WORD.findall(t)), idx.check(t)) for t in other]
    runs = sum(m.longest_run >= copy_run_limit(n, 16) for n, m in ms if n >= 8)
    over = sum(m.overlap > 0.5 for _, m in ms)
    longest = sorted((m.longest_run for _, m in ms), reverse=True)[:5]
    from collections import Counter

    from bot.config import FiltersConfig
    from bot.filters.pipeline import Pipeline

    pipe, t = Pipeline(FiltersConfig(max_chars=5000), idx, []), time.perf_counter()
    reasons = Counter(str(pipe.check(t).reason) for t in other)  # Discogs profiles run long: no length cap
    return {
        "pipeline_ms": (time.perf_counter() - t) / len(other) * 1e3,
        "reasons": dict(reasons),
        "indexed": len(half),
        "checked": len(other),
        "checked_8plus": sum(n >= 8 for n, _ in ms),
        "fp_run": runs,
        "fp_overlap": over,
        "top_runs": longest,
        "berlin_run": idx.check("Jo is a DJ and producer based in Berlin.").longest_run,
    }


def table(rows: list[tuple[str, str, str, str]]) -> str:
    """A markdown table: what, anchor, ours, ratio."""
    out = ["| measure | anchor | ours | anchor / ours |", "|---|---|---|---|"]
    return "\n".join(out + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows])


def main() -> None:
    """Generate or reuse the synthetic corpus, run every measurement, print markdown."""
    p = argparse.ArgumentParser()
    p.add_argument("--child", nargs="+")
    p.add_argument("--n", type=int, default=52000, help="synthetic bios")
    p.add_argument("--corpus", type=Path, help="reuse this corpus file instead of generating one")
    p.add_argument("--candidates", type=int, default=1000)
    p.add_argument("--scan-sample", type=int, default=3, help="candidates timed for the substring scan")
    a = p.parse_args()
    if a.child:
        fn = {"build": run_build, "check": run_check, "scan": run_scan, "pyset": run_pyset, "discogs": run_discogs}[
            a.child[0]
        ]
        print(json.dumps(fn(*a.child[1:])))
        return
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = a.corpus or Path(tmp) / "synth.txt"
        if not a.corpus:
            subprocess.run(
                [sys.executable, "-m", "bench.synth", "--n", str(a.n), "--out", str(corpus), "--format", "corpus"],
                check=True,
                cwd=ROOT,
            )
        index, cands = Path(tmp) / "synth.idx", Path(tmp) / "cands.json"
        builds = [child("build", str(corpus), str(index)) for _ in range(2)]
        build = {
            **builds[-1],
            "seconds": min(b["seconds"] for b in builds),
            "cpu_s": min(b["cpu_s"] for b in builds),
            "rss_mb": max(b["rss_mb"] for b in builds),
        }
        cands.write_text(json.dumps(candidates(corpus, a.candidates, 300, seed=1)))
        check = child("check", str(index), str(cands))
        scan = child("scan", str(corpus), str(cands), str(a.scan_sample))
        pyset = child("pyset", str(corpus), str(cands))
        discogs = child("discogs", tmp) if DATA else None
    report(build["corpus_bytes"], build, check, scan, pyset, discogs)
    print(
        f"load average (1/5/15 min) before {load_before}, after {os.getloadavg()}; "
        f"timings are best of {REPEAT} (build: best of 2)"
    )


def report(size: int, build: dict, check: dict, scan: dict, pyset: dict, discogs: dict | None) -> None:
    """Print the results as markdown."""
    print(
        f"corpus: {build['bios']:,} bios, {size / 1e6:.1f} MB, {build['words']:,} words, {build['ngrams']:,} 8-grams\n"
    )
    rows = [
        (
            "build time (s)",
            f"set {pyset['seconds']:.1f}",
            f"{build['seconds']:.1f}",
            f"{pyset['seconds'] / build['seconds']:.1f}x",
        ),
        (
            "build CPU time (s)",
            f"set {pyset['cpu_s']:.1f}",
            f"{build['cpu_s']:.1f}",
            f"{pyset['cpu_s'] / build['cpu_s']:.1f}x",
        ),
        (
            "build peak RSS (MB)",
            f"set {pyset['rss_mb']:.0f}",
            f"{build['rss_mb']:.0f}",
            f"{pyset['rss_mb'] / build['rss_mb']:.1f}x",
        ),
        (
            "check per 300-word candidate (ms)",
            f"scan {scan['check_ms']:.0f} (n={scan['sample']})",
            f"{check['check_ms']:.2f}",
            f"{scan['check_ms'] / check['check_ms']:.0f}x",
        ),
        (
            "check CPU time per candidate (ms)",
            f"scan {scan['check_cpu_ms']:.0f}",
            f"{check['check_cpu_ms']:.2f}",
            f"{scan['check_cpu_ms'] / check['check_cpu_ms']:.0f}x",
        ),
        (
            "check per candidate, set overlap only (ms)",
            f"set {pyset['check_ms']:.2f}",
            f"{check['check_ms']:.2f}",
            f"{pyset['check_ms'] / check['check_ms']:.1f}x",
        ),
        (
            "1,000 candidates (s; scan extrapolated)",
            f"scan {scan['check_ms']:.0f}",
            f"{check['check_ms']:.1f}",
            f"{scan['check_ms'] / check['check_ms']:.0f}x",
        ),
    ]
    print(table(rows))
    print(
        f"\nload (ms): {check['load_s'] * 1e3:.1f}; RSS of the checking process: {check['rss_mb']:.0f} MB; "
        f"substring scan prep (join corpus): {scan['prep_s']:.1f} s, RSS {scan['rss_mb']:.0f} MB"
    )
    print(
        f"recall of planted 16-40 word copies: {check['recall']:.0%} of {check['planted']}; "
        f"unrelated candidates flagged: run>=16 {check['fp_run']}/{check['clean']}, "
        f"overlap>50% {check['fp_overlap']}/{check['clean']} (longest unrelated run "
        f"{check['clean_max_run']} words); 'DJ and producer based in Berlin' run: {check['berlin_run']}"
    )
    if discogs:
        print(
            f"Discogs CC0: indexed {discogs['indexed']} profiles, checked {discogs['checked']} others "
            f"({discogs['checked_8plus']} with >= 8 words): flagged by run rule {discogs['fp_run']}, "
            f"by overlap>50% {discogs['fp_overlap']}; five longest runs {discogs['top_runs']}; "
            f"'DJ and producer based in Berlin' run: {discogs['berlin_run']}"
        )
        print(
            f"whole filter pipeline on those {discogs['checked']} real profiles (max_chars 5000): "
            f"{discogs['pipeline_ms']:.1f} ms each; verdicts {discogs['reasons']}"
        )


if __name__ == "__main__":
    main()
