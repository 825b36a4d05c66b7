"""The worker's memory: RSS idle and during a refill, model in a child process vs in the worker.

Ours: the worker's refill runs `djbios generate --for-refill` in a child process (bot/generation/
child.py) that exits when its batch is stored. Anchor (same run, same model, same batch): the
in-process generator the worker used before, loaded on the first refill and kept. Both are real
`Worker`s (outbox publisher: no HTTP) in their own interpreter; this script samples their RSS from
outside (psutil, every 50 ms): the worker alone, and the worker plus its children (the peak the box
must have). Models: "small" and "124M-shaped" (training.model.init_model, random weights: memory
depends on the shape, not the training), or a trained run folder given with --run.

    .venv/bin/python bench/bench_worker_rss.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKER = r"""
import sys
sys.path.insert(0, sys.argv[3])
from bot.config import load_config
from bot.posting.launch import build_worker
cfg = load_config(sys.argv[1])
worker = build_worker(cfg, "all")
if sys.argv[2] == "inprocess":  # the anchor: the generator loaded into the worker and kept
    from bot.generation.refill import generate_batch, load_generator
    gen = []
    def make_batch(*, n, now, **_):
        if not gen:
            gen.append(load_generator(cfg))
        return generate_batch(cfg, worker.store, gen[0], n=n, now=now)
    worker.make_batch = make_batch
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "refill":
        out = worker.refill_job()
        print("done", out.made, "tensorflow" in sys.modules, "|".join(out.errors), flush=True)
"""


def _rss_mb(pid: int, tree: bool) -> float:
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)] if tree else [p]
        return sum(q.memory_info().rss for q in procs if q.is_running()) / 2**20
    except psutil.Error:
        return 0.0


def measure(config: Path, mode: str, refills: int) -> dict:
    """Start a worker, refill `refills` times; RSS idle before, peak during, idle after (MB)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(config), mode, str(ROOT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    out = {"mode": mode, "idle_start": _rss_mb(proc.pid, False), "peak_worker": 0.0, "peak_tree": 0.0, "refill_s": []}
    for _ in range(refills):
        stop, t0 = threading.Event(), time.perf_counter()

        def sample(stop: threading.Event) -> None:
            while not stop.is_set():
                out["peak_worker"] = max(out["peak_worker"], _rss_mb(proc.pid, False))
                out["peak_tree"] = max(out["peak_tree"], _rss_mb(proc.pid, True))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, args=(stop,))
        sampler.start()
        proc.stdin.write("refill\n")
        proc.stdin.flush()
        done = proc.stdout.readline().split(maxsplit=3)
        stop.set()
        sampler.join()
        out["refill_s"].append(time.perf_counter() - t0)
        out.update(made=int(done[1]), tensorflow=done[2] == "True", errors=done[3].strip() if len(done) > 3 else "")
        time.sleep(1.0)
        out["idle_after"] = _rss_mb(proc.pid, False)
    proc.stdin.close()
    proc.wait(timeout=60)
    return out


def make_setup(folder: Path, size: str, run: Path | None) -> Path:
    """A model (random weights of `size`, or the trained `run`) and a bot.toml for it in folder."""
    if run is None:
        from tests.fixtures_model import corpus_bios, write_corpus
        from training.model import init_model

        corpus = write_corpus(folder / "corpus.txt", corpus_bios())
        run = init_model(folder / size, size=size, corpus=corpus)
    cfg = folder / "bot.toml"
    cfg.write_text(
        f'[database]\nurl = "sqlite:///{folder / "rss.db"}"\n'
        f'[model]\ncheckpoint_dir = "{run.parent}"\nrun_name = "{run.name}"\n'
        f'[corpus]\npath = "{folder / "no-corpus.txt"}"\n'
        "[generate]\nnsamples = 8\nbatch_size = 8\nmax_tokens = 120\nseed = 1\n"
        "[schedule]\nmin_queue = 1000\n"  # every refill generates
        f'[mastodon]\npublisher = "outbox"\noutbox_path = "{folder / "outbox.jsonl"}"\n'
        "set_bot_flag = false\n",
        encoding="utf-8",
    )
    return cfg


def main() -> None:
    """Both modes for each model; print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="small,124M-shaped")
    ap.add_argument("--run", type=Path, default=None, help="a trained run folder instead of random weights")
    ap.add_argument("--refills", type=int, default=2)
    args = ap.parse_args()
    rows = []
    for size in args.sizes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = make_setup(Path(tmp), size, args.run)
            for mode in ("inprocess", "child"):
                rows.append({"model": args.run.name if args.run else size, **measure(cfg, mode, args.refills)})
                print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; MB = RSS in MiB; {args.refills} refills of 8\n")
    print(
        "| model | refill | worker idle at start | worker peak in refill | worker + child peak | "
        "worker idle after | TF in worker | refill s (first, then each) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {'in the worker (anchor)' if r['mode'] == 'inprocess' else 'child process'} | "
            f"{r['idle_start']:.0f} | {r['peak_worker']:.0f} | {r['peak_tree']:.0f} | {r['idle_after']:.0f} | "
            f"{'yes' if r['tensorflow'] else 'no'} | {', '.join(f'{x:.1f}' for x in r['refill_s'])} |"
        )


if __name__ == "__main__":
    main()
