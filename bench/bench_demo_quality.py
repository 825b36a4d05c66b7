"""What the demo's followers would see: pass rates of the current and the previous filters per sampling setting.

For each sampling setting, the demo checkpoint writes the same refills as the worker does (32 bios per
seed, [generate] batch_size at a time, default seeds 1 and 2: 64 bios per setting). Each refill is judged
by the CURRENT pipeline (bot.filters.pipeline.build_pipeline with the copy and name indexes, as
`djbios run` builds it) and, when --old names a checkout of the code before this round (commit 416ff05,
e.g. `mkdir -p demo/old && git archive 416ff05 | tar -x -C demo/old`), by its bot.filters.Pipeline in a
subprocess. A refill starts with an empty queue: passing bios are remembered for the near-duplicate
check, as in a refill. The column "auto top N" holds the N best passing bios of each refill by quality
score, N = [review] auto_max_per_day: what auto-approval takes first, so what the demo posts.

Prints, per setting: passes old vs new (and the fewest per refill of 32), the reasons, the quality
score's spread, and, where bench/demo_quality_labels.json has reading labels for these samples (keyed
"MODEL|SETTING|SEED:INDEX", guarded by a text hash), how many passing bios a reader would approve and
whether the issue's goal is met (>= 60% of the passing bios approvable, >= 3 of 32 passing in every
refill), by the lenient and by the strict reading.
Writes every sample and both verdicts to --out (default: demo_quality.json beside the config, in the
git-ignored demo folder) for labelling; only labels, never texts, go into the repository.

    DJBIOS_CONFIG=demo/bot.toml .venv/bin/python bench/bench_demo_quality.py --old demo/old
    ... --settings 0.7/40/0 0.8/0/0.9 --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bot.config import Config, load_config, max_tokens_for  # noqa: E402

LABELS = ROOT / "bench" / "demo_quality_labels.json"
DEFAULT_SETTINGS = ("0.5/40/0", "0.6/40/0", "0.7/40/0", "0.8/40/0", "0.7/0/0.9", "0.8/0/0.9")
GOAL_SHARE, GOAL_PASS = 0.6, 3  # the issue: >= 60% of passing bios approvable, >= 3 of 32 pass per refill

# Run in a subprocess with the old checkout first on sys.path: reads {"config", "refills": [[{text,
# complete}]]} on stdin, prints one {"ok", "reason"} list per refill.
OLD_JUDGE = """
import json, sys
from bot.config import load_config
from bot.filters import build_pipeline
job = json.load(sys.stdin)
cfg = load_config(job["config"])
out = []
for refill in job["refills"]:
    pipe = build_pipeline(cfg, [])
    verdicts = []
    for s in refill:
        v = pipe.check(s["text"], complete=s["complete"])
        if v.ok:
            pipe.remember(v.text)
        verdicts.append({"ok": v.ok, "reason": v.reason})
    out.append(verdicts)
json.dump(out, sys.stdout)
"""


def sha12(text: str) -> str:
    """A short content hash: a label belongs to a sample only if the text is the same."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse_setting(spec: str) -> dict[str, Any]:
    """'T/K/P' -> sampling settings, e.g. '0.7/40/0' (top_k 40) or '0.8/0/0.9' (nucleus 0.9)."""
    t, k, p = spec.split("/")
    return {
        "name": f"t{float(t):g}-k{int(k)}-p{float(p):g}",
        "temperature": float(t),
        "top_k": int(k),
        "top_p": float(p),
    }


def sample(
    cfg: Config, settings: list[dict[str, Any]], seeds: list[int], n: int, step: int | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every setting x seed refill of n bios from one loaded checkpoint; returns (samples, provenance)."""
    from bot.generation.refill import load_generator

    gen = load_generator(cfg, step)
    rows: list[dict[str, Any]] = []
    for st in settings:
        t0 = time.perf_counter()
        for seed in seeds:
            out = gen.generate(
                n,
                batch_size=cfg.generate.batch_size,
                temperature=st["temperature"],
                top_k=st["top_k"],
                top_p=st["top_p"],
                seed=seed,
                prefix=cfg.generate.prefix,
                max_tokens=max_tokens_for(cfg),
            )
            rows += [
                {
                    "setting": st["name"],
                    "seed": seed,
                    "index": i,
                    "text": s.text,
                    "complete": s.complete,
                    "tokens": s.tokens,
                    "sha": sha12(s.text),
                }
                for i, s in enumerate(out)
            ]
        st["seconds"] = round(time.perf_counter() - t0, 1)
    prov = dict(gen.provenance)
    gen.close()
    return rows, prov


def refills(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The samples grouped by (setting, seed), in order: each group is one refill."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["setting"], r["seed"]), []).append(r)
    return list(groups.values())


def judge_new(cfg: Config, rows: list[dict[str, Any]]) -> None:
    """The current pipeline's verdict on every sample (row["new"])."""
    from bot.filters.pipeline import build_pipeline

    for group in refills(rows):
        pipe = build_pipeline(cfg, [])
        for r in group:
            v = pipe.check(r["text"], complete=r["complete"])
            if v.ok:
                pipe.remember(v.text)
            r["new"] = {
                "ok": v.ok,
                "reason": v.reason,
                "quality": v.quality,
                "posted": v.text,
                "fluency": (v.scores.get("fluency") or {}).get("score"),
            }


def judge_old(config: Path, old: Path, rows: list[dict[str, Any]]) -> None:
    """The previous round's pipeline (a checkout at `old`) on every sample, in a subprocess (row["old"])."""
    groups = refills(rows)
    job = {
        "config": str(config),
        "refills": [[{"text": r["text"], "complete": r["complete"]} for r in g] for g in groups],
    }
    env = {**os.environ, "PYTHONPATH": str(old)}
    done = subprocess.run(
        [sys.executable, "-c", OLD_JUDGE],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        cwd=str(old),
        check=False,
    )
    if done.returncode:
        sys.exit(f"old pipeline failed ({old}): {done.stderr.strip().splitlines()[-1:]}")
    for g, verdicts in zip(groups, json.loads(done.stdout)):
        for r, v in zip(g, verdicts):
            r["old"] = v


def load_labels(model: str) -> dict[str, dict[str, Any]]:
    """Reading labels of this model's samples, keyed 'SETTING|SEED:INDEX' (empty when none)."""
    if not LABELS.exists():
        return {}
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["labels"]
    head = model + "|"
    return {k[len(head) :]: v for k, v in labels.items() if k.startswith(head)}


def auto_approved(rows: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    """What review mode "auto" approves first: the `top` best passing bios of each refill by quality score."""
    out = []
    for group in refills(rows):
        passing = [r for r in group if r["new"]["ok"]]
        out += sorted(passing, key=lambda r: (-r["new"]["quality"], r["index"]))[:top]
    return out


def approvable(rows: list[dict[str, Any]], labels: dict[str, dict[str, Any]], kind: str) -> tuple[int, int, int]:
    """(strictly approvable, leniently approvable, labelled) among rows whose `kind` verdict passed."""
    strict = lenient = seen = 0
    for r in rows:
        lab = labels.get(f"{r['setting']}|{r['seed']}:{r['index']}")
        if not r[kind]["ok"] or not lab or lab["sha"] != r["sha"]:
            continue
        seen += 1
        strict += bool(lab["strict"])
        lenient += bool(lab["lenient"])
    return strict, lenient, seen


def report(rows: list[dict[str, Any]], settings: list[dict[str, Any]], model: str, n: int, top: int = 6) -> list[str]:
    """The side-by-side table and the details per setting (top: [review] auto_max_per_day)."""
    labels = load_labels(model)
    has_old = all("old" in r for r in rows)
    lines = [
        f"model {model}; {n} bios per refill; labels for {len(labels)} samples",
        "| setting | old pass | new pass | new fewest/refill | new strict/lenient of labelled passing "
        f"| old strict/lenient of labelled passing | goal lenient/strict | auto top {top}/refill strict/lenient "
        "| s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    details = []
    for st in settings:
        mine = [r for r in rows if r["setting"] == st["name"]]
        new_ok = sum(r["new"]["ok"] for r in mine)
        old_ok = sum(r["old"]["ok"] for r in mine) if has_old else None
        fewest = min(sum(r["new"]["ok"] for r in g) for g in refills(mine))
        ns, nl, nseen = approvable(mine, labels, "new")
        os_, ol, oseen = approvable(mine, labels, "old") if has_old else (0, 0, 0)
        goal = (
            "-"
            if nseen < new_ok
            else "/".join("yes" if n >= GOAL_SHARE * nseen and fewest >= GOAL_PASS else "no" for n in (nl, ns))
        )
        ts, tl, tseen = approvable(auto_approved(mine, top), labels, "new")
        lines.append(
            f"| {st['name']} | {old_ok if has_old else '-'}/{len(mine)} | {new_ok}/{len(mine)} | "
            f"{fewest}/{n} | {_share(ns, nl, nseen)} | {_share(os_, ol, oseen)} | {goal} | "
            f"{_share(ts, tl, tseen)} | {st.get('seconds', '-')} |"
        )
        details.append(_details(st["name"], mine, has_old))
    return lines + [""] + [x for d in details for x in d]


def _share(strict: int, lenient: int, seen: int) -> str:
    """'s/l of n' or '-' when nothing is labelled."""
    return f"{strict}/{lenient} of {seen}" if seen else "-"


def _details(name: str, rows: list[dict[str, Any]], has_old: bool) -> list[str]:
    """Reasons (new, old) and the quality score's quartiles for one setting."""
    new = Counter(r["new"]["reason"] or "pass" for r in rows)
    q_all = [r["new"]["quality"] for r in rows]
    q_ok = [r["new"]["quality"] for r in rows if r["new"]["ok"]] or [0.0]
    out = [f"{name}: new reasons {dict(new.most_common())}"]
    if has_old:
        out.append(f"{name}: old reasons {dict(Counter(r['old']['reason'] or 'pass' for r in rows).most_common())}")
    out.append(f"{name}: quality quartiles all {_quartiles(q_all)}, passing {_quartiles(q_ok)}")
    return out


def _quartiles(values: list[float]) -> str:
    """min / q1 / median / q3 / max, 3 decimals."""
    if len(values) < 2:
        return "/".join(f"{v:.3f}" for v in values * 5)
    q = statistics.quantiles(values, n=4)
    return "/".join(f"{v:.3f}" for v in (min(values), q[0], q[1], q[2], max(values)))


def main() -> None:
    """Sample, judge old and new, print the table, save samples and verdicts."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=os.environ.get("DJBIOS_CONFIG"), help="the demo's bot.toml")
    ap.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS), help="T/K/P, e.g. 0.7/40/0")
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2], help="one refill per seed")
    ap.add_argument("-n", type=int, default=32, help="bios per refill (the demo's nsamples)")
    ap.add_argument("--step", type=int, default=None, help="checkpoint step (default: the latest)")
    ap.add_argument("--model", default=None, help="name of the model in label keys (default: RUN-STEP)")
    ap.add_argument("--old", type=Path, default=None, help="a checkout of the previous round's code")
    ap.add_argument("--out", type=Path, default=None, help="default: demo_quality.json beside the config")
    args = ap.parse_args()
    if not args.config:
        sys.exit("--config (or $DJBIOS_CONFIG): the demo's bot.toml")
    cfg = load_config(args.config)
    settings = [parse_setting(s) for s in args.settings]
    rows, prov = sample(cfg, settings, args.seeds, args.n, args.step)
    model = args.model or f"{cfg.model.run_name}-{prov['step']}"
    judge_new(cfg, rows)
    if args.old:
        judge_old(args.config.resolve(), args.old.resolve(), rows)
    print("\n".join(report(rows, settings, model, args.n, cfg.review.auto_max_per_day)))
    out = args.out or args.config.resolve().parent / "demo_quality.json"
    out.write_text(
        json.dumps(
            {"model": model, "provenance": prov, "settings": settings, "seeds": args.seeds, "samples": rows}, indent=1
        ),
        encoding="utf-8",
    )
    print(f"samples and verdicts: {out}")


if __name__ == "__main__":
    main()
