"""Posting throughput and claim latency with 1, 3 and 8 post processes, PostgreSQL vs SQLite.

Each worker process runs bot.posting.jobs.post_next in a loop (oldest first, so every worker wants
the same row: the worst case for the claim) with an in-process publisher that does no HTTP, until
the queue is empty. So the number is what the store sustains: posts a minute through the claim
(next_approved + start_posting, one row lock) and mark_posted. Claim latency is one post_next
cycle; a cycle that lost the race (IllegalTransition) is counted and retried. Every bio must end
posted exactly once. Anchor: the same loop on SQLite (a file, WAL, BEGIN IMMEDIATE).
PostgreSQL runs with fsync on (tests/fixtures_pg.start_server(durable=True)), as SQLite does.

    .venv/bin/python bench/bench_claims.py --bios 300 --workers 1,3,8
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKER = r"""
import json, sys, time
from datetime import UTC, datetime
sys.path.insert(0, sys.argv[2])
from bot.config import Config
from bot.errors import IllegalTransition
from bot.posting.jobs import post_next
from bot.store.store import Store

class NoHttp:
    # the Publisher protocol without a network: the store's cost alone
    def post(self, c): return f"s{c.id}", f"https://x.example/@bot/{c.id}"
    def find_recent(self, text): return None
    def alert(self, message): pass

store, cfg, pub = Store.open(sys.argv[1]), Config(), NoHttp()
print("ready", flush=True)
sys.stdin.readline()
posted, lat, lost = [], [], 0
while True:
    t0 = time.perf_counter()
    try:
        out = post_next(datetime.now(UTC), store, pub, cfg)
    except IllegalTransition:
        lost += 1
        continue
    if out.result == "idle":
        break
    lat.append(time.perf_counter() - t0)
    posted.append(out.candidate_id)
print(json.dumps({"posted": posted, "lat": lat, "lost": lost}), flush=True)
"""


def run(url: str, bios: int, workers: int) -> dict:
    """Fill `bios` approved bios, race `workers` processes to post them all; return the numbers."""
    from bot.store.store import Store

    store = Store.open(url)
    for c in store.add_many(
        [f"Claim bench bio {i}: a DJ who plays the tide tables." for i in range(bios)], source="bench"
    ):
        store.approve(c.id)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(ROOT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(workers)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [json.loads(p.communicate(timeout=1200)[0]) for p in procs]
    seconds = time.perf_counter() - t0
    ids = [i for r in results for i in r["posted"]]
    posted_rows = store.count_by_status()["posted"]
    store.close()
    lat = sorted(x for r in results for x in r["lat"])
    return {
        "workers": workers,
        "posts": len(ids),
        "duplicates": len(ids) - len(set(ids)),
        "posted_rows": posted_rows,
        "per_min": len(ids) / seconds * 60,
        "seconds": seconds,
        "p50_ms": statistics.median(lat) * 1000,
        "p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1000,
        "lost_races": sum(r["lost"] for r in results),
    }


def main() -> None:
    """SQLite (the anchor) then PostgreSQL, for each worker count; print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bios", type=int, default=300)
    ap.add_argument("--workers", default="1,3,8")
    args = ap.parse_args()
    from tests.fixtures_pg import start_server

    pg = start_server(durable=True)
    rows = []
    try:
        with tempfile.TemporaryDirectory(dir=ROOT) as tmp:  # on the disk, not a tmpfs
            for n in map(int, args.workers.split(",")):
                rows.append(("sqlite", run(f"sqlite:///{Path(tmp) / f'claims{n}.db'}", args.bios, n)))
                rows.append(("postgresql", run(pg.create_database(), args.bios, n)))
    finally:
        pg.stop()
    print(f"{args.bios} approved bios, load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
    print(
        "| database | post processes | posts/min | claim p50 ms | claim p95 ms | lost races | duplicates | all posted |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for db, r in rows:
        print(
            f"| {db} | {r['workers']} | {r['per_min']:,.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['lost_races']} | {r['duplicates']} | {r['posted_rows'] == r['posts'] == args.bios} |"
        )


if __name__ == "__main__":
    main()
