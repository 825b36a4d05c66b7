"""`djbios train` on a real terminal (a pseudo-terminal, pexpect): the progress bar moves while it trains."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from tests.fixtures_model import TinyModel

ROOT = Path(__file__).resolve().parents[2]
STEPS = 100_000  # far more than it will run: the test stops it with Ctrl-C once the bar has moved
pytestmark = pytest.mark.slow  # it trains the tiny model


def config(tmp_path: Path, tiny: TinyModel) -> Path:
    """A bot.toml training a copy of the tiny model (saves only on Ctrl-C)."""
    shutil.copytree(tiny.models_dir, tmp_path / "models")
    corpus = tmp_path / "data" / "corpus.txt"
    corpus.parent.mkdir()
    shutil.copy(tiny.corpus, corpus)
    cfg = tmp_path / "bot.toml"
    cfg.write_text(
        f'[corpus]\npath = "{corpus}"\n'
        '[model]\nmodels_dir = "models"\ncheckpoint_dir = "checkpoint"\nbase_model = "tiny"\n'
        "[train]\nlearning_rate = 0.001\naccumulate_gradients = 1\nsave_every = 1000000\n"
    )
    return cfg


def test_the_bar_moves_while_training(tiny_model: TinyModel, tmp_path: Path) -> None:
    cfg = config(tmp_path, tiny_model)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "DJBIOS_CONFIG")}
    env["PYTHONPATH"] = str(ROOT)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bot.cli", "--config", str(cfg), "train", "--steps", str(STEPS)],
        cwd=str(tmp_path),
        env=env,
        dimensions=(24, 100),
        encoding="utf-8",
        timeout=180,  # TensorFlow's start-up on a loaded 2-core machine
    )
    try:
        # a redraw with at least one step done, while 100000 steps are still to go
        child.expect(rf"\r\s*training:\s+\d+%.*?\| *[1-9]\d*/{STEPS} ")
        assert not list((tmp_path / "checkpoint" / "run1").glob("model-*.index"))  # still training
        child.sendintr()  # Ctrl-C: gpt-2-simple saves a checkpoint and stops
        child.expect(r"interrupted and saved step \d+")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    assert not re.search(r"cuInit|oneDNN", str(child.before))
