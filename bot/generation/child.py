"""A refill in a child process: the model lives only as long as one batch, never in the worker.

The worker runs `python -m bot.cli generate --for-refill ...`; the child loads the checkpoint,
samples, filters and writes the candidates and the batch row itself, prints one summary line
(SUMMARY_PREFIX + JSON) and exits. TensorFlow's few hundred MB go with it, so the long-lived
worker stays small between refills (bench/bench_worker_rss.py) and a crash or a hang in the model
is a failed refill, not a dead or stuck worker. This module imports no TensorFlow and no store.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Config
from bot.errors import GenerationError
from bot.generation.refill import BatchSummary

if TYPE_CHECKING:
    from bot.posting.replies import AnswerOutcome
    from bot.store.store import Store

log = logging.getLogger(__name__)

SUMMARY_PREFIX = "djbios-refill: "  # the child's result line on stdout; everything else is ignored
ANSWER_PREFIX = "djbios-answers: "  # the request child's result line
STDERR_TAIL_CHARS = 600  # of the child's stderr, quoted in a failed refill's message
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding `bot`, for the child's path


def _base_command(cfg: Config) -> list[str]:
    """This interpreter running djbios with the same bot.toml."""
    return [sys.executable, "-m", "bot.cli", *(["--config", str(cfg.source)] if cfg.source is not None else [])]


def child_command(
    cfg: Config,
    *,
    n: int,
    now: datetime | None = None,
    max_chars: int | None = None,
    prompt: str | None = None,
    pronouns: str | None = None,
) -> list[str]:
    """The child's command line: this interpreter, the same bot.toml, `generate --for-refill`."""
    cmd = [*_base_command(cfg), "generate", "--for-refill", "-n", str(n)]
    if now is not None:
        cmd += ["--now", now.isoformat()]
    if max_chars is not None:
        cmd += ["--max-chars", str(max_chars)]
    if prompt is not None:
        cmd += ["--prompt", prompt]
    if pronouns is not None:
        cmd += ["--pronouns", pronouns]
    return cmd


def summary_line(summary: BatchSummary) -> str:
    """What the child prints last: the prefix and the summary as JSON (one line)."""
    from dataclasses import asdict

    return SUMMARY_PREFIX + json.dumps(asdict(summary), separators=(",", ":"))


def parse_summary(stdout: str) -> BatchSummary | None:
    """The summary from the child's stdout (its last result line), or None if it printed none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(SUMMARY_PREFIX):
            return BatchSummary(**json.loads(line[len(SUMMARY_PREFIX) :]))
    return None


def generate_in_child(
    cfg: Config,
    *,
    n: int,
    now: datetime | None = None,
    max_chars: int | None = None,
    prompt: str | None = None,
    pronouns: str | None = None,
    timeout_s: float | None = None,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> BatchSummary:
    """Run one batch in a child process and return its summary; GenerationError if it fails or hangs.

    `timeout_s` defaults to [generate] timeout_s; a child past it is killed. `on_start` receives the
    process (the worker keeps it to stop it on shutdown).
    """
    cmd = child_command(cfg, n=n, now=now, max_chars=max_chars, prompt=prompt, pronouns=pronouns)
    out = _run_child(cfg, cmd, "refill child", timeout_s, on_start)
    summary = parse_summary(out)
    if summary is None:
        raise GenerationError("refill child printed no summary")
    return summary


def answer_in_child(
    cfg: Config,
    store: Store,
    now: datetime,
    *,
    max_chars: int | None = None,
    timeout_s: float | None = None,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> AnswerOutcome:
    """The generate role's request cycle: settle answered requests here, answer new ones in a child.

    A child (`generate --answer-requests`) starts only when a request is new, so a quiet bot never
    loads the model for nothing; it generates, filters and stores the replies itself (bot/posting/
    replies.py) and prints one summary line.
    """
    from bot.posting.replies import AnswerOutcome, settle_requests
    from bot.store.requests import list_requests

    settled = settle_requests(store, now)
    if not list_requests(store, "new"):
        return AnswerOutcome(settled=settled)
    cmd = [*_base_command(cfg), "generate", "--answer-requests", "--now", now.isoformat()]
    if max_chars is not None:
        cmd += ["--max-chars", str(max_chars)]
    out = _run_child(cfg, cmd, "request child", timeout_s, on_start)
    for line in reversed(out.splitlines()):
        if line.startswith(ANSWER_PREFIX):
            answered = AnswerOutcome(**json.loads(line[len(ANSWER_PREFIX) :]))
            answered.settled += settled
            return answered
    raise GenerationError("request child printed no summary")


def answer_line(out: AnswerOutcome) -> str:
    """What the request child prints last: the prefix and its outcome as JSON (one line)."""
    from dataclasses import asdict

    return ANSWER_PREFIX + json.dumps(asdict(out), separators=(",", ":"))


def _run_child(
    cfg: Config,
    cmd: list[str],
    what: str,
    timeout_s: float | None,
    on_start: Callable[[subprocess.Popen[str]], None] | None,
) -> str:
    """Run `cmd` with a deadline; its stdout, or GenerationError with the end of its stderr."""
    timeout = timeout_s if timeout_s is not None else cfg.generate.timeout_s
    env = {
        "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's start-up chatter would crowd the error out of the tail
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p),
    }
    log.debug("%s: %s", what, " ".join(cmd))
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(cfg.root),
    )
    if on_start is not None:
        on_start(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # SIGKILL: a hung TensorFlow ignores politer signals; its writes are transactions
        out, err = proc.communicate()
        raise GenerationError(f"{what} killed after {timeout:g} s ([generate] timeout_s): {_tail(err)}") from None
    if proc.returncode != 0:
        raise GenerationError(f"{what} {_exit_text(proc.returncode)}: {_tail(err)}")
    return out


def _exit_text(code: int) -> str:
    if code < 0:
        return f"died of {signal.Signals(-code).name}"
    return f"exited with {code}" if code else "printed no summary"


def _tail(stderr: str) -> str:
    """The end of the child's stderr on one line (the error is usually last)."""
    text = " | ".join(line.strip() for line in stderr.strip().splitlines() if line.strip())
    return ("..." + text[-STDERR_TAIL_CHARS:]) if len(text) > STDERR_TAIL_CHARS else (text or "no stderr")
