"""Where the benchmarks find real artist profiles: a folder named by $DJBIOS_PROFILES_DIR.

The profiles (CC0 Discogs artist profiles, JSON lines) are read in place and never copied into the
repository; without the variable, the benchmarks that need them skip those parts and say so.
"""

from __future__ import annotations

import os
from pathlib import Path

PROFILES_ENV = "DJBIOS_PROFILES_DIR"


def profiles(name: str) -> Path | None:
    """The profile file `name` in $DJBIOS_PROFILES_DIR, or None when it is not there."""
    folder = os.environ.get(PROFILES_ENV, "")
    path = Path(folder) / name if folder else None
    return path if path is not None and path.is_file() else None
