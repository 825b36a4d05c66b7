"""Silence TensorFlow's and gpt-2-simple's start-up chatter, keep every other line of stderr.

TensorFlow's C++ core logs through absl before absl is initialised, so TF_CPP_MIN_LOG_LEVEL does not
reach lines like "oneDNN custom operations are on" or "E0000 ... failed call to cuInit" (the last one
reads like a failure on every machine without a GPU). They are written to file descriptor 2 by native
code, so the only place to catch them is the descriptor itself: fd 2 becomes a pipe, a thread reads it
line by line and passes everything but the known chatter to the real stderr. A progress bar's redraws
(pieces ending in, or following, a carriage return) pass at once, unfiltered; real_stderr() is the
descriptor they reach, so a bar can ask whether that is a terminal. Child processes inherit the
pipe, so a refill's child is quiet too. `djbios -vv` shows everything.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading

# Lines that say nothing an operator can act on: TensorFlow start-up and CPU/GPU probing, and
# gpt-2-simple's advice for large models. Anything else (a real error, a traceback) passes.
CHATTER = re.compile(
    "|".join(
        [
            r"All log messages before absl::InitializeLog\(\) is called",
            r"oneDNN custom operations are on",
            r"Could not find cuda drivers on your machine",
            r"failed call to cuInit",
            r"Unable to register cu(DNN|FFT|BLAS) factory",
            r"computation placer already registered",
            r"This TensorFlow binary is optimized to use available CPU instructions",
            r"rebuild TensorFlow with the appropriate compiler flags",
            r"TF-TRT Warning",
            r"could not open file to read NUMA node",
            r"Created device /job:localhost",
            r"cudart_stub\.cc|cuda_executor\.cc|cuda_platform\.cc|cuda_dnn\.cc|cuda_fft\.cc|cuda_blas\.cc",
            r"MLIR V1 optimization pass is not enabled",
            r"is deprecated and will be removed in a future version",
            r"^\s*Instructions for updating:",
            r"^\s*Use (tf|`tf)\.\S+ instead",
            r"^WARNING:tensorflow:",
            r"The name tf\.\S+ is deprecated",
        ]
    )
)
_LOGGERS = ("tensorflow", "absl", "h5py")  # Python-side loggers whose warnings are the same chatter
_PIECE = re.compile(rb"[^\r\n]*[\r\n]")  # up to and including the next line end or carriage return
_real: int | None = None  # the saved real stderr while the filter runs


def real_stderr() -> int:
    """The file descriptor of the process's real stderr: the saved one while filtering, else 2."""
    return 2 if _real is None else _real


def stderr_is_terminal() -> bool:
    """Whether the real stderr (not the filter's pipe) is a terminal."""
    return os.isatty(real_stderr())


def install(verbose: int = 0) -> None:
    """Filter stderr for the rest of the process (not at -vv or more, nor when stderr is not a file)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # what TensorFlow does honour, before it loads
    if verbose >= 2:
        return
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        real = os.dup(2)
    except OSError:  # no stderr at all (a daemon): nothing to filter
        return
    global _real
    _real = real
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_pump, args=(read_end, real), name="stderr-filter", daemon=True)
    pump.start()
    atexit.register(_drain, pump, real)


def _pump(read_end: int, real: int) -> None:
    """Copy the pipe to the real stderr as it comes, dropping the chatter lines."""
    with os.fdopen(read_end, "rb", buffering=0) as src:
        held, live = b"", False
        while chunk := src.read(65536):
            out, held, live = sieve(held + chunk, live)
            if out:
                os.write(real, out)
        if held and not CHATTER.search(held.decode("utf-8", "replace")):
            os.write(real, held + b"\n")


def sieve(data: bytes, live: bool) -> tuple[bytes, bytes, bool]:
    """Split what the pipe gave into what to write now, what to hold, and whether a redraw is under way.

    A line (ending in a newline) passes unless it is chatter, so it waits until it is whole. A piece
    that ends in a carriage return, or that follows one (`live`), is a progress bar's redraw: it passes
    at once, or the bar would only move when a line ends.
    """
    out, end = [], 0
    for m in _PIECE.finditer(data):
        piece, end = m[0], m.end()
        if live or piece.endswith(b"\r") or not CHATTER.search(piece.decode("utf-8", "replace")):
            out.append(piece)
        live = piece.endswith(b"\r")
    rest = data[end:]
    if live and rest:  # the bar's text after its carriage return: show it now
        return b"".join(out) + rest, b"", True
    return b"".join(out), rest, live


def _drain(pump: threading.Thread, real: int) -> None:
    """At exit: close our end of the pipe so the thread sees EOF, and let it finish writing."""
    sys.stderr.flush()
    os.dup2(real, 2)  # fd 2 back to the terminal: the pipe's last writer in this process is gone
    pump.join(timeout=2.0)
