"""Run the real `djbios` command in a child process, the way the operator does, and read every channel.

A child process, not CliRunner: what is under test includes what reaches the terminal outside click
(log handlers, an uncaught exception's traceback), and a process-wide logging setup per run.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    """One finished command: its exit code and both streams."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout and stderr together."""
        return self.out + self.err


def djbios(
    *args: str, cwd: Path, env: dict[str, str] | None = None, log: Path | None = None, unprivileged: bool = False
) -> Run:
    """`python -m bot.cli -v ARGS` in `cwd`; stderr (the log) is also appended to `log` if given.

    `unprivileged`: run without the power to ignore file permissions (root's CAP_DAC_OVERRIDE), so a
    read-only file is read-only for the command even when the tests run as root.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DJBIOS_")}
    full_env.update({"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
    cmd = [sys.executable, "-m", "bot.cli", "-v", *args]
    if unprivileged:
        cmd = _drop_privileges() + cmd
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)
    if log is not None:
        with log.open("a", encoding="utf-8") as fh:
            fh.write(proc.stderr)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _drop_privileges() -> list[str]:
    """A command prefix under which file permissions apply (empty when not root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file read-only for the command")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def database_dump(path: Path) -> str:
    """Every row of every table of a SQLite file, as SQL text."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def assert_one_line_error(run: Run, *needles: str) -> None:
    """Exit status 1, no traceback, and an `Error:` line holding each needle."""
    assert run.code == 1, run.text
    assert "Traceback" not in run.text, run.text
    lines = [line for line in run.err.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, run.text
    for needle in needles:
        assert needle in lines[0], lines[0]
