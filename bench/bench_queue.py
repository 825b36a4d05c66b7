"""Wall time of `djbios queue` against `python -c pass` (the floor of any Python CLI), same run.

Usage: .venv/bin/python bench/bench_queue.py [--rows 1000] [--runs 15]
Goal (issue 2): djbios queue <= 0.4 s on 2 cores with a realistic queue.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SQLA = "import sys, click; from bot.store.store import Store; print(len(Store.open(sys.argv[1]).list()))"


def timed(cmd: list[str], runs: int, env: dict[str, str]) -> list[float]:
    """Wall seconds of `runs` runs of `cmd` (one warm-up run first, for the page cache)."""
    warm = subprocess.run(cmd, capture_output=True, env=env, text=True)
    if warm.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {warm.stderr or warm.stdout}")
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    """Fill a store, then time both commands and print a table with the ratio."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bot.store.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bot.toml"
        cfg.write_text('[database]\nurl = "sqlite:///q.db"\n')
        store = Store.open(f"sqlite:///{tmp}/q.db")
        store.add_many(
            [f"Bio number {i} of a DJ who plays records in basements." for i in range(args.rows)], source="bench"
        )
        env = {**os.environ, "DJBIOS_CONFIG": str(cfg)}
        djbios = str(Path(sys.executable).parent / "djbios")
        rows = [
            ("python -c pass", timed([sys.executable, "-c", "pass"], args.runs, env)),
            (f"djbios queue ({args.rows} rows)", timed([djbios, "queue"], args.runs, env)),
            (
                "djbios queue --status approved (0 rows)",
                timed([djbios, "queue", "--status", "approved"], args.runs, env),
            ),
            # The same listing through SQLAlchemy (bot.store.store), as queue did before the fast read path.
            (
                f"SQLAlchemy Store.list ({args.rows} rows)",
                timed([sys.executable, "-c", SQLA, f"sqlite:///{tmp}/q.db"], args.runs, env),
            ),
        ]
    base = statistics.median(rows[0][1])
    print(f"{'command':<42} {'median s':>9} {'min s':>7} {'x floor':>8}")
    for name, ts in rows:
        print(f"{name:<42} {statistics.median(ts):>9.3f} {min(ts):>7.3f} {statistics.median(ts) / base:>8.1f}")


if __name__ == "__main__":
    main()
