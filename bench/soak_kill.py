"""kill -9 soak: post processes killed at random points; count duplicate and lost bios via the API.

Each trial forks fresh `djbios post` loops (from a pre-imported zygote process, so a trial costs
milliseconds, not a 0.6 s interpreter start) and SIGKILLs each after its own random delay; with
--workers N, N loops race for the same queue (the claim must hold across processes). Afterwards the
queue is drained and every approved bio must be online exactly once. --database postgresql runs
against a PostgreSQL server started for the run (tests/fixtures_pg.py), sqlite against a file.

Anchor: the naive loop most bots use (post, then mark posted; no `posting` row, no
Idempotency-Key, no reconciliation). Ours: `djbios post` (bot.posting.jobs.post_next + reconcile).

    .venv/bin/python bench/soak_kill.py --trials 200
    .venv/bin/python bench/soak_kill.py --trials 200 --database postgresql --workers 3
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ZYGOTE = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[3])
from bot.cli import cli
from bot.config import database_url, load_config
from bot.store.store import Store
import mastodon, bot.posting.worker, bot.posting.publishers, bot.posting.jobs  # warm imports: a fork starts ready
cfg_path, mode = sys.argv[1], sys.argv[2]
Store.open(database_url(load_config(cfg_path))).close()  # alembic and SQLAlchemy warmed too
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel

def naive_loop():
    # the anchor: post, then record it; a crash in between means a second post after restart
    from mastodon import Mastodon
    from bot.config import read_token
    cfg = load_config(cfg_path)
    store = Store.open(database_url(cfg))
    client = Mastodon(access_token=read_token(cfg), api_base_url=cfg.mastodon.api_base_url)
    while True:
        c = store.next_approved()
        if c is None:
            continue
        st = client.status_post(c.text, visibility=cfg.mastodon.visibility)
        store.start_posting(c.id)
        store.mark_posted(c.id, status_id=str(st["id"]), url=st["url"])

def ours_loop():
    while True:  # `djbios post`, again and again, until killed
        try:
            cli.main(args=["--config", cfg_path, "post"], prog_name="djbios", standalone_mode=False)
        except Exception:
            pass

for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1); os.dup2(devnull, 2)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        (naive_loop if mode == "naive" else ours_loop)()
        os._exit(0)
    print(pid, flush=True)
"""


@dataclass
class SoakResult:
    """What a soak run saw."""

    mode: str
    trials: int
    bios: int
    posted_once: int
    duplicates: int  # extra statuses beyond the first, summed over bios
    lost: int  # approved bios not online, or not marked posted
    mid_cycle_kills: int  # trials that left a new row in `posting`
    already_online: int  # ... whose post had reached the server before the kill
    seconds: float


def write_config(folder: Path, base_url: str, token: str, db_url: str | None = None) -> Path:
    """bot.toml for the soak: the mock instance, a 0600 token file, the database (a SQLite file in folder)."""
    (folder / "token").write_text(token)
    os.chmod(folder / "token", 0o600)
    path = folder / "bot.toml"
    path.write_text(
        f'[database]\nurl = "{db_url or "sqlite:///djbios.db"}"\n'
        f'[mastodon]\napi_base_url = "{base_url}"\n'
        f'token_file = "token"\nrequest_timeout_s = 5.0\nset_bot_flag = false\n'
    )
    return path


def soak_texts(n: int, tag: str) -> list[str]:
    """Distinct bios written for the soak."""
    rng = random.Random(tag)
    words = ["dub", "acid", "house", "techno", "garage", "ambient", "electro", "disco", "jungle"]
    return [
        f"Soak {tag} bio {i}: a DJ who plays {rng.choice(words)} and {rng.choice(words)} "
        f"records in a {rng.choice(['barn', 'chapel', 'ferry', 'lift'])} since {1980 + i % 40}."
        for i in range(n)
    ]


def run_soak(
    mock: object,
    folder: Path,
    *,
    trials: int,
    mode: str = "ours",
    seed: int = 0,
    max_delay_s: float = 0.5,
    bios: int | None = None,
    latency_ms: int = 20,
    db_url: str | None = None,
    workers: int = 1,
) -> SoakResult:
    """`trials` rounds of `workers` post loops each killed -9, then a clean drain; count via the API."""
    from bot.config import database_url, load_config
    from bot.posting.publishers import html_to_text
    from bot.store.store import Store

    rng = random.Random(seed)
    cfg_path = write_config(folder, mock.base_url, mock.token, db_url)  # type: ignore[attr-defined]
    store = Store.open(database_url(load_config(cfg_path)))
    texts = soak_texts(bios or trials, f"{mode}{seed}")
    for t in texts:
        store.approve(store.add(t, source="soak").id)
    if latency_ms:  # widen the HTTP part of a cycle so kills land in flight as well as around it
        mock.fault({"type": "latency", "delay_ms": latency_ms}, count=None)  # type: ignore[attr-defined]
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(cfg_path), mode, str(ROOT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    client = mock.client()  # type: ignore[attr-defined]
    me = client.account_verify_credentials()["id"]
    t0, mid, online_before, seen = time.perf_counter(), 0, 0, set()
    try:
        for _ in range(trials):
            zygote.stdin.write("go\n" * workers)
            zygote.stdin.flush()
            pids = [int(zygote.stdout.readline()) for _ in range(workers)]
            start = time.perf_counter()
            for at, pid in sorted((rng.uniform(0.0, max_delay_s), pid) for pid in pids):
                time.sleep(max(0.0, start + at - time.perf_counter()))
                os.kill(pid, signal.SIGKILL)
            for pid in pids:
                _wait_gone(pid)
            # rows this kill left in `posting` (an attempt not seen before)
            stuck = [c for c in store.list("posting") if (c.id, c.attempts) not in seen]
            seen.update((c.id, c.attempts) for c in stuck)
            if stuck:
                mid += 1
                online = {html_to_text(s["content"]) for s in client.account_statuses(me, limit=5)}
                online_before += sum(" ".join(c.text.split()) in online for c in stuck)
    finally:
        zygote.kill()
        zygote.wait()
    mock.clear_faults()  # type: ignore[attr-defined]
    _drain(cfg_path, mode, store)
    seconds = time.perf_counter() - t0
    result = _tally(mock, store, texts, mode, trials, mid, online_before, seconds)
    store.close()  # type: ignore[attr-defined]
    return result


def _wait_gone(pid: int, timeout_s: float = 5.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.002)
    raise RuntimeError(f"process {pid} survived SIGKILL")


def _drain(cfg_path: Path, mode: str, store: object) -> None:
    """Post what is left without kills: `djbios post` until idle (the anchor: its own loop)."""
    from bot.config import load_config
    from bot.posting.launch import post_now

    cfg = load_config(cfg_path)
    if mode == "naive":
        from mastodon import Mastodon

        client = Mastodon(access_token=(cfg_path.parent / "token").read_text(), api_base_url=cfg.mastodon.api_base_url)
        while (c := store.next_approved()) is not None:  # type: ignore[attr-defined]
            st = client.status_post(c.text, visibility=cfg.mastodon.visibility)
            store.start_posting(c.id)  # type: ignore[attr-defined]
            store.mark_posted(c.id, status_id=str(st["id"]), url=st["url"])  # type: ignore[attr-defined]
        return
    for _ in range(100_000):
        if post_now(cfg).result == "idle":
            return


def _tally(
    mock: object, store: object, texts: list[str], mode: str, trials: int, mid: int, online_before: int, seconds: float
) -> SoakResult:
    from bot.posting.publishers import html_to_text

    counts = collections.Counter(html_to_text(s["content"]) for s in mock.statuses())  # type: ignore[attr-defined]
    want = [" ".join(t.split()) for t in texts]
    posted_rows = {" ".join(c.text.split()) for c in store.list("posted")}  # type: ignore[attr-defined]
    dups = sum(max(0, counts[t] - 1) for t in want)
    lost = sum(counts[t] == 0 or t not in posted_rows for t in want)
    once = sum(counts[t] == 1 for t in want)
    return SoakResult(mode, trials, len(texts), once, dups, lost, mid, online_before, seconds)


def main() -> None:
    """Run the anchor and ours with the same seed and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-delay", type=float, default=0.5, help="kill within this many seconds")
    ap.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--workers", type=int, default=1, help="post loops racing in each trial")
    ap.add_argument("--bios", type=int, default=None, help="approved bios (default: one per trial)")
    ap.add_argument("--modes", default="naive,ours", help="which loops: naive (the anchor), ours")
    args = ap.parse_args()
    from mastodon_mock.config import SeedAccount, SeedConfig
    from mastodon_mock.testing import MockServer

    from tests.fixtures_pg import start_server
    from tests.fixtures_servers import BOT_TOKEN, MastodonMock

    seed = SeedConfig(accounts=[SeedAccount(username="djbios", display_name="djbios", access_token=BOT_TOKEN)])
    rows = []
    pg = start_server() if args.database == "postgresql" else None
    try:
        with MockServer(seed=seed) as server:
            mock = MastodonMock(server)
            for mode in args.modes.split(","):
                mock.reset()
                with tempfile.TemporaryDirectory() as tmp:
                    rows.append(
                        run_soak(
                            mock,
                            Path(tmp),
                            trials=args.trials,
                            mode=mode,
                            seed=args.seed,
                            max_delay_s=args.max_delay,
                            bios=args.bios,
                            workers=args.workers,
                            db_url=pg.create_database() if pg else None,
                        )
                    )
    finally:
        if pg is not None:
            pg.stop()
    print(f"database {args.database}, {args.workers} post loop(s) per trial, load {os.getloadavg()[0]:.2f}\n")
    print(
        "| publisher | trials | bios | posted once | duplicates | lost | kills mid-cycle | "
        "of which already online | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.mode} | {r.trials} | {r.bios} | {r.posted_once} | {r.duplicates} | {r.lost} | "
            f"{r.mid_cycle_kills} | {r.already_online} | {r.seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
