"""TensorFlow's start-up chatter never reaches the operator's terminal; real errors do."""

from __future__ import annotations

import subprocess
import sys

CHILD = r"""
import os, sys
from bot.cli import quiet
quiet.install(int(sys.argv[1]))
native = [b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
          b"E0000 00:00:1.1 15208 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)",
          b"I0000 00:00:1.2 port.cc:153] oneDNN custom operations are on. You may see ...",
          b"real problem: the disk is full"]
os.write(2, b"\n".join(native) + b"\n")  # as native code writes: straight to file descriptor 2
print("Error: a one-line message for the operator", file=sys.stderr)
"""


def run(verbose: int) -> str:
    """The child's stderr as the terminal would get it."""
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(verbose)], capture_output=True, text=True, check=True
    ).stderr


def test_chatter_is_dropped_and_the_rest_kept() -> None:
    err = run(0)
    assert "cuInit" not in err and "oneDNN" not in err and "absl::InitializeLog" not in err
    assert "real problem: the disk is full" in err and "Error: a one-line message" in err


def test_vv_shows_everything() -> None:
    err = run(2)
    assert "cuInit" in err and "oneDNN" in err


def test_a_progress_bar_redraw_passes_at_once_and_chatter_lines_still_drop() -> None:
    from bot.cli.quiet import sieve

    chatter = b"I0000 port.cc:153] oneDNN custom operations are on.\n"
    out, held, live = sieve(b"start\n" + chatter + b"\rtraining:  10%|# | 1/10", False)
    assert out == b"start\n\rtraining:  10%|# | 1/10" and held == b"" and live  # the bar now, not at a newline
    out, held, live = sieve(b"0 \rtraining:  20%|## | 2/10", live)
    assert out == b"0 \rtraining:  20%|## | 2/10" and live
    out, held, live = sieve(b"\n" + chatter + b"half a li", live)
    assert out == b"\n" and held == b"half a li" and not live  # a line waits until it is whole
    assert sieve(held + b"ne\n", live)[0] == b"half a line\n"
