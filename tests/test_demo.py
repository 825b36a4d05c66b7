"""The README's first command, demo.sh, end to end: tiny model, few steps, local mastodon_mock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_demo_runs_every_stage_and_posts(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJBIOS_DEMO_DIR": str(tmp_path / "demo"),
        "DJBIOS_DEMO_SIZE": "tiny",
        "DJBIOS_DEMO_STEPS": "30",
        "DJBIOS_VENV": sys.prefix,  # the venv running these tests
        "DJBIOS_SKIP_INSTALL": "1",  # it is installed already; no network in tests
        # 30 tiny steps write fragments (now often under min_chars): the filters only score, the test checks the path
        "DJBIOS_DEMO_SKIP_FILTERS": "completeness,repetition,pronouns,language,fluency,names,duplicate,length",
    }
    env.pop("DJBIOS_CONFIG", None)
    env.pop("DJBIOS_ACCESS_TOKEN", None)
    proc = subprocess.run(["bash", str(ROOT / "demo.sh")], env=env, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for stage in ("1/6", "2/6", "3/6", "4/6", "5/6", "6/6", "done; stopped everything"):
        assert stage in out
    assert "Posted bio #" in out and "Status URL:  http://" in out
    # Everything it started is stopped: the mock server's port no longer answers.
    port = out.split("mastodon_mock at http://127.0.0.1:")[1].split()[0]
    with pytest.raises(OSError):
        import urllib.request

        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/instance", timeout=2)
    # The posted bio is in the demo's own database, posted exactly once.
    q = subprocess.run([str(Path(sys.prefix) / "bin" / "djbios"), "queue", "--status", "posted", "--json"],
                       env={**env, "DJBIOS_CONFIG": str(tmp_path / "demo" / "bot.toml")},
                       capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in q.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["posted_url"].startswith("http://")
