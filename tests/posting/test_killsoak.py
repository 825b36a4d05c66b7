"""kill -9 `djbios post` loops at random points: zero duplicates and zero lost bios, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak_kill.py"
pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak_kill", SOAK)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_kill_9_at_random_points_never_duplicates_or_loses(tmp_path, mastodon, db_url):
    r = _soak_module().run_soak(mastodon, tmp_path, trials=50, seed=1, max_delay_s=0.4, bios=60, db_url=db_url)
    assert (r.duplicates, r.lost) == (0, 0), r
    assert r.posted_once == r.bios
    assert r.mid_cycle_kills > 0, "no kill landed inside a post cycle; widen the window"


def test_three_posting_processes_claim_each_bio_once(tmp_path, mastodon, pg_server):
    """Three `djbios post` loops race over 30 approved bios on one PostgreSQL database, killed -9 at
    random: every bio is read back from the instance exactly once."""
    url = pg_server.create_database()
    r = _soak_module().run_soak(mastodon, tmp_path, trials=15, seed=3, max_delay_s=0.5, bios=30, db_url=url, workers=3)
    assert (r.duplicates, r.lost) == (0, 0), r
    assert r.posted_once == r.bios == 30
    assert r.mid_cycle_kills > 0, "no kill landed inside a post cycle; widen the window"
