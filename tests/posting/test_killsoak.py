"""kill -9 a `djbios post` loop at random points, 50 times: zero duplicates and zero lost bios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak_kill.py"


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak_kill", SOAK)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_kill_9_at_random_points_never_duplicates_or_loses(tmp_path, mastodon):
    r = _soak_module().run_soak(mastodon, tmp_path, trials=50, seed=1, max_delay_s=0.4, bios=60)
    assert (r.duplicates, r.lost) == (0, 0), r
    assert r.posted_once == r.bios
    assert r.mid_cycle_kills > 0, "no kill landed inside a post cycle; widen the window"
