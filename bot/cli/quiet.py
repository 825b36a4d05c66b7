"""Silence TensorFlow's and gpt-2-simple's start-up chatter, keep every other line of stderr.

TensorFlow's C++ core logs through absl before absl is initialised, so TF_CPP_MIN_LOG_LEVEL does not
reach lines like "oneDNN custom operations are on" or "E0000 ... failed call to cuInit" (the last one
reads like a failure on every machine without a GPU). They are written to file descriptor 2 by native
code, so the only place to catch them is the descriptor itself: fd 2 becomes a pipe, a thread reads it
line by line and passes everything but the known chatter to the real stderr. Child processes inherit the
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
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_pump, args=(read_end, real), name="stderr-filter", daemon=True)
    pump.start()
    atexit.register(_drain, pump, real)


def _pump(read_end: int, real: int) -> None:
    """Copy lines from the pipe to the real stderr, dropping the chatter."""
    with os.fdopen(read_end, "rb", buffering=0) as src:
        buf = b""
        while chunk := src.read(65536):
            buf += chunk
            *lines, buf = buf.split(b"\n")
            _write(real, lines)
        if buf:
            _write(real, [buf])


def _write(real: int, lines: list[bytes]) -> None:
    """Write the lines that are not chatter."""
    keep = [line for line in lines if not CHATTER.search(line.decode("utf-8", "replace"))]
    if keep:
        os.write(real, b"\n".join(keep) + b"\n")


def _drain(pump: threading.Thread, real: int) -> None:
    """At exit: close our end of the pipe so the thread sees EOF, and let it finish writing."""
    sys.stderr.flush()
    os.dup2(real, 2)  # fd 2 back to the terminal: the pipe's last writer in this process is gone
    pump.join(timeout=2.0)
