"""Corpus build: a naive anchor vs `training.corpus.build.build_corpus`, side by side, same inputs.

anchor: clean, length bounds, langdetect on the FULL text of every bio, exact dedupe (a set of texts).
ours:   clean, length bounds, exact + near-duplicate dedupe (MinHash LSH), then English by a stopword
        fast path, falling back to langdetect on a prefix (cfg.corpus.lang_prefix_chars).
Each build runs in its own subprocess, so its peak RSS is its own. Language agreement is counted on
the records ours judged (kept or not_english) against the anchor's verdict for the same record.

    python bench/bench_corpus.py                       # synthetic 52,000 bios (~74 MB) + Discogs CC0
    python bench/bench_corpus.py --n 5000 --skip-discogs
    python bench/bench_corpus.py --anchor reuse         # rerun ours only, against saved anchor numbers
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data import profiles as profile_file  # noqa: E402

DISCOGS = profile_file("discogs_profiles_cc0.jsonl")  # real profiles, if $DJBIOS_PROFILES_DIR names their folder
WORK = Path("/tmp/djbios-bench-corpus")


def _cfg(field: str):
    """Default settings, with the jsonl field of the input."""
    from bot.config import Config, CorpusConfig

    return Config(corpus=dataclasses.replace(CorpusConfig(), jsonl_field=field))


def naive_build(src: Path, out: Path, field: str) -> dict:
    """The anchor: langdetect on every bio's full text, exact dedupe; writes the same corpus format."""
    from bot.filters.language import LanguageCheck
    from bot.text import END, START
    from training.corpus.inputs import iter_records
    from training.extract import clean_text

    cfg = _cfg(field)
    c = cfg.corpus
    lang = LanguageCheck(c.min_lang_prob, 10**9, c.short_words, fast_path=False)
    t0 = time.perf_counter()
    seen: set[str] = set()
    kept: list[str] = []
    verdicts: dict[str, bool] = {}
    n = 0
    for rec in iter_records([src], cfg):
        n += 1
        text = clean_text(rec.text, c.boilerplate, rec.names)
        if not c.min_chars <= len(text) <= c.max_chars:
            continue
        verdicts[rec.id] = lang.p_english(text) >= c.min_lang_prob
        if verdicts[rec.id] and text not in seen:
            seen.add(text)
            kept.append(text)
    out.write_text("".join(f"{START}{t}{END}\n" for t in kept), encoding="utf-8")
    out.with_suffix(".verdicts.json").write_text(json.dumps(verdicts), encoding="utf-8")
    return {
        "inputs": n,
        "kept": len(kept),
        "seconds": time.perf_counter() - t0,
        "seconds_lang": lang.seconds,
        "langdetect_calls": lang.calls,
    }


def ours_build(src: Path, out: Path, field: str) -> dict:
    """Ours: training.corpus.build.build_corpus without the copy index (benchmarked on its own)."""
    from training.corpus.build import build_corpus

    st = build_corpus([src], out, _cfg(field), index=False)
    return {
        "inputs": st["inputs"],
        "kept": st["kept"] + st["validation"],
        "seconds": st["seconds"],
        "seconds_lang": st["seconds_lang"],
        "langdetect_calls": st["langdetect_calls"],
        "dropped": st["dropped"],
    }


def one(kind: str, src: Path, out: Path, field: str) -> None:
    """Child process: run one build and print its numbers as JSON."""
    cpu0 = time.process_time()
    st = (naive_build if kind == "anchor" else ours_build)(src, out, field)
    st["cpu_seconds"] = time.process_time() - cpu0  # the machine is shared: CPU time is the fairer clock
    st["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(json.dumps(st))


def run_child(kind: str, src: Path, out: Path, field: str) -> dict:
    """Run one build in a fresh interpreter."""
    cmd = [sys.executable, __file__, "--one", kind, "--src", str(src), "--out", str(out), "--field", field]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if r.returncode:
        raise SystemExit(f"{kind} build failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def agreement(out_anchor: Path, out_ours: Path) -> tuple[int, int, int]:
    """(records compared, anchor-English but ours not, ours-English but anchor not)."""
    verdicts = json.loads(out_anchor.with_suffix(".verdicts.json").read_text(encoding="utf-8"))
    n = en_only_anchor = en_only_ours = 0
    for line in out_ours.with_suffix(".manifest.jsonl").read_text(encoding="utf-8").splitlines():
        m = json.loads(line)
        if m["id"] in verdicts and (m["status"] == "kept" or m["reason"] == "not_english"):
            ours_en = m["status"] == "kept"
            n += 1
            en_only_anchor += verdicts[m["id"]] and not ours_en
            en_only_ours += ours_en and not verdicts[m["id"]]
    return n, en_only_anchor, en_only_ours


def compare(label: str, src: Path, field: str, anchor: str) -> list[str]:
    """Both builds on one input; markdown table rows."""
    rows = []
    res = {}
    for kind in ("ours",) if anchor == "skip" else ("anchor", "ours"):
        saved = WORK / f"{label}-{kind}.json"
        if kind == "anchor" and anchor == "reuse" and saved.exists():
            res[kind] = json.loads(saved.read_text(encoding="utf-8"))  # the anchor's code does not change
        else:
            res[kind] = run_child(kind, src, WORK / f"{label}-{kind}.txt", field)
            saved.write_text(json.dumps(res[kind]), encoding="utf-8")
        print(f"{label} {kind}: {res[kind]}", file=sys.stderr)
    mb = src.stat().st_size / 1e6
    for kind, st in res.items():
        rate = st["inputs"] / st["cpu_seconds"]
        ratio = f"{rate / (res['anchor']['inputs'] / res['anchor']['cpu_seconds']):.1f}x" if "anchor" in res else "-"
        rows.append(
            f"| {label} ({st['inputs']:,} bios, {mb:.1f} MB) | {kind} | {st['seconds']:.1f} | "
            f"{st['cpu_seconds']:.1f} | {rate:,.0f} | "
            f"{ratio} | {st['peak_rss_mb']:.0f} | {st['seconds_lang'] / st['seconds']:.0%} | "
            f"{st['langdetect_calls']:,} | {st['kept']:,} |"
        )
    if "anchor" in res:
        n, a, o = agreement(WORK / f"{label}-anchor.txt", WORK / f"{label}-ours.txt")
        rows.append(
            f"| {label} | language agreement | {n:,} records judged by both: anchor-only English {a}, "
            f"ours-only English {o} | | | | | | | |"
        )
    return rows


def synth(n: int) -> Path:
    """The synthetic corpus (made once, deterministic)."""
    path = WORK / f"synth-{n}.jsonl"
    if not path.exists():
        subprocess.run(
            [sys.executable, "-m", "bench.synth", "--n", str(n), "--seed", "0", "--out", str(path)],
            cwd=ROOT,
            check=True,
        )
    return path


def main() -> None:
    """Parse arguments; run the comparisons; print the table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=52000, help="synthetic bios (default 52000, ~74 MB)")
    p.add_argument(
        "--anchor",
        choices=("run", "reuse", "skip"),
        default="run",
        help="reuse: the anchor's numbers saved by an earlier run (it takes ~6 CPU-min at 52k)",
    )
    p.add_argument("--skip-discogs", action="store_true")
    p.add_argument("--one", choices=("anchor", "ours"), help=argparse.SUPPRESS)
    p.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--field", default="text", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        return one(a.one, a.src, a.out, a.field)
    WORK.mkdir(parents=True, exist_ok=True)
    rows = [
        "| input | build | wall s | CPU s | bios/s (CPU) | vs anchor | peak RSS MB | time in langdetect "
        "| langdetect calls | bios kept |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    if not a.skip_discogs and DISCOGS:
        rows += compare("discogs", DISCOGS, "profile_raw", a.anchor)
    rows += compare("synthetic", synth(a.n), "text", a.anchor)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
