"""training/finetune.py with the real gpt-2-simple on the tiny model (CPU, offline)."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.errors import ModelError
from tests.fixtures_model import fast_settings, finetune_tiny, write_corpus
from training import finetune as ft

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # every test here trains or loads the tiny model


def _losses(run_dir: Path) -> list[dict]:
    with (run_dir / ft.LOSS_CSV).open(newline="") as f:
        return list(csv.DictReader(f))


def test_twenty_steps_lower_the_loss_and_log_it(tiny_checkpoint):
    rows = _losses(tiny_checkpoint.run_dir)
    assert [int(r["step"]) for r in rows] == list(range(1, 21))
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"]) - 0.5
    assert all(float(r["seconds"]) >= 0 for r in rows)
    assert ft.list_steps(tiny_checkpoint.run_dir) == [20]


def test_resume_continues_the_step_counter_and_keeps_max_checkpoints(tiny_checkpoint, tmp_path):
    ckpt = tmp_path / "checkpoint"
    shutil.copytree(tiny_checkpoint.run_dir, ckpt / "run1")
    r = finetune_tiny(tiny_checkpoint, ckpt, "run1", 6, save_every=2, max_checkpoints=2)
    assert r.first_step == 20 and r.last_step == 26
    assert [row[0] for row in r.losses] == list(range(21, 27))
    assert ft.list_steps(ckpt / "run1") == [24, 26]  # model-20 and model-22 pruned
    assert not list((ckpt / "run1").glob("model-20.*"))
    assert 'model_checkpoint_path: "model-26"' in (ckpt / "run1" / "checkpoint").read_text()
    assert [int(x["step"]) for x in _losses(ckpt / "run1")] == list(range(1, 27))


def test_load_session_restores_a_chosen_step(tiny_checkpoint):
    sess, hparams, enc = ft.load_session(tiny_checkpoint.run_dir, step=20)
    ids = enc.encode("<|startoftext|>A DJ from Leeds")
    logits = sess.run("logits:0", {"context:0": [ids]})
    sess.close()
    assert logits.shape == (1, len(ids), hparams.n_vocab)
    assert np.isfinite(logits).all()


def test_load_session_names_the_missing_step(tiny_checkpoint):
    with pytest.raises(ModelError, match=r"no checkpoint for step 7 \(have: 20\)"):
        ft.load_session(tiny_checkpoint.run_dir, step=7)


def test_too_small_corpus_is_refused(tiny_model, tmp_path):
    small = write_corpus(tmp_path / "small.txt", ["A DJ from Leeds who plays house."] * 3)
    with pytest.raises(ModelError, match="less than one 1024-token training window"):
        ft.train(
            small,
            models_dir=tiny_model.models_dir,
            model_name="tiny",
            checkpoint_dir=tmp_path / "ck",
            run_name="r",
            settings=fast_settings(),
            steps=1,
        )


def test_missing_base_model_says_how_to_make_one(tiny_model, tmp_path):
    with pytest.raises(ModelError, match="djbios model init"):
        ft.train(
            tiny_model.corpus,
            models_dir=tmp_path,
            model_name="small",
            checkpoint_dir=tmp_path / "ck",
            run_name="r",
            settings=fast_settings(),
            steps=1,
        )


def _config(tmp_path: Path, tiny_model, model_extra: str = "", **train: object) -> Path:
    models, corpus = tmp_path / "models", tmp_path / "data" / "corpus.txt"
    if not models.exists():
        shutil.copytree(tiny_model.models_dir, models)
        corpus.parent.mkdir()
        shutil.copy(tiny_model.corpus, corpus)
    extra = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in train.items())
    cfg = tmp_path / "bot.toml"
    cfg.write_text(
        f'[corpus]\npath = "{corpus}"\n'
        f'[model]\nmodels_dir = "models"\ncheckpoint_dir = "checkpoint"\nbase_model = "tiny"\n{model_extra}'
        f"[train]\nlearning_rate = 0.001\naccumulate_gradients = 1\nsave_every = 1000\n{extra}"
    )
    return cfg


def test_cli_train_then_fresh_keeps_the_old_run_aside(tiny_model, tmp_path):
    cfg = _config(tmp_path, tiny_model)
    r = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--steps", "3"])
    assert r.exit_code == 0, r.output
    assert "saved step 3 in" in r.output and "kept checkpoints: 3" in r.output
    assert (tmp_path / "data" / "corpus.idx").stat().st_size > 0  # training built the copy index
    r = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--steps", "2", "--fresh"])
    assert r.exit_code == 0, r.output
    assert "saved step 2" in r.output
    assert ft.list_steps(tmp_path / "checkpoint" / "run1") == [2]
    (old,) = (tmp_path / "checkpoint").glob("run1-prev-*")
    assert ft.list_steps(old) == [3]


def test_cli_model_init_tiny(tiny_model, tmp_path):
    cfg = _config(tmp_path, tiny_model)
    r = CliRunner().invoke(cli, ["--config", str(cfg), "model", "init", "--size", "tiny", "--vocab-size", "600"])
    assert r.exit_code == 0, r.output
    assert "initialised tiny model" in r.output
    assert '"n_vocab": 600' in (tmp_path / "models" / "tiny" / "hparams.json").read_text()


def test_cli_download_offline_is_one_line(tiny_model, tmp_path):
    dead = 'download_base_url = "http://127.0.0.1:9/gpt-2"\ndownload_timeout_s = 2.0\n'  # discard port
    cfg = _config(tmp_path, tiny_model, model_extra=dead)
    t0 = time.monotonic()
    r = CliRunner().invoke(cli, ["--config", str(cfg), "model", "download", "124M"])
    assert r.exit_code == 1 and time.monotonic() - t0 < 5
    assert r.output.startswith("Error: cannot download GPT-2 124M") and r.output.count("\n") == 1


def test_ctrl_c_saves_a_checkpoint(tiny_model, tmp_path):
    cfg = _config(tmp_path, tiny_model)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    output = (tmp_path / "out.txt").open("w+")  # a file, not a pipe: a full pipe would block training
    # A shell's background job inherits SIGINT ignored, and Python then installs no KeyboardInterrupt
    # handler: give the child the default disposition, as a terminal's Ctrl-C would find it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(cfg), "train", "--steps", "100000"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    log = tmp_path / "checkpoint" / "run1" / ft.LOSS_CSV
    try:
        deadline = time.monotonic() + 240  # start-up alone can take a minute on a loaded 2-core box
        while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 3):
            assert proc.poll() is None, (tmp_path / "out.txt").read_text()
            time.sleep(0.2)
        assert log.exists(), "training never logged a step"
        proc.send_signal(signal.SIGINT)  # inside the training loop now, where gpt-2-simple catches it
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        output.close()
    out = (tmp_path / "out.txt").read_text()
    assert proc.returncode == 0, out
    assert "interrupted and saved step" in out
    steps = ft.list_steps(tmp_path / "checkpoint" / "run1")
    assert len(steps) == 1 and 2 <= steps[0] < 100000


def test_pruning_never_deletes_the_pinned_checkpoint(tmp_path):
    """[model] checkpoint_step is what the bot loads: training on must not delete it."""
    run = tmp_path / "run1"
    run.mkdir()
    for step in (100, 200, 300, 400, 500):
        for ext in ("index", "data-00000-of-00001", "meta"):
            (run / f"model-{step}.{ext}").write_text("x")
    kept = ft.prune_checkpoints(run, 2, protect=200)
    assert kept == [200, 400, 500]
    assert ft.list_steps(run) == [200, 400, 500]
    assert 'all_model_checkpoint_paths: "model-200"' in (run / "checkpoint").read_text()


def test_a_stale_copy_index_is_rebuilt(tmp_path):
    """An index of an older corpus would report no copies of the current one."""
    corpus = tmp_path / "corpus.txt"
    a = "Old bio about a DJ who never existed and plays nothing at all on any weekend anywhere."
    b = (
        "Brand new bio: Mira Quell spins acid techno at the Lantern Rooms every second Friday and "
        "runs a tape label from her kitchen in Leith with two friends."
    )
    corpus.write_text(f"<|startoftext|>{a}<|endoftext|>\n", encoding="utf-8")
    ft.ensure_index(corpus, tmp_path / "corpus.idx")
    corpus.write_text(f"<|startoftext|>{b}<|endoftext|>\n", encoding="utf-8")
    idx = ft.ensure_index(corpus, tmp_path / "corpus.idx")
    assert not idx.stale(corpus)
    assert idx.check(b).longest_run >= 16


def test_cosine_schedule_follows_adams_update_count():
    """The learning rate the optimizer applies at update t is lr * (0.1 + 0.9 * (1 + cos(pi t / (n-1))) / 2)."""
    import math

    import tensorflow as tf

    from tests.fixtures_model import fast_settings

    steps = 5
    with tf.Graph().as_default():
        w = tf.compat.v1.Variable(1.0)
        opt = tf.compat.v1.train.AdamOptimizer(ft._learning_rate(fast_settings(lr_schedule="cosine"), steps))
        apply = opt.minimize(tf.square(w))
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            seen = []
            for _ in range(steps + 1):
                seen.append(sess.run(opt._lr_t))  # the rate the next update uses
                sess.run(apply)
    want = [1e-3 * (0.1 + 0.9 * (1 + math.cos(math.pi * min(t / (steps - 1), 1))) / 2) for t in range(steps + 1)]
    assert np.allclose(seen, want, rtol=1e-4)
    assert seen[0] == pytest.approx(1e-3) and seen[-1] == pytest.approx(1e-4)


def test_cosine_schedule_needs_adam():
    from tests.fixtures_model import fast_settings

    with pytest.raises(ModelError, match="needs optimizer"):
        ft._learning_rate(fast_settings(lr_schedule="cosine", optimizer="sgd"), 10)


@pytest.mark.slow
def test_training_with_the_cosine_schedule_lowers_the_loss(tiny_model, tmp_path):
    r = finetune_tiny(tiny_model, tmp_path / "checkpoint", "cos", 8, lr_schedule="cosine", learning_rate=3e-3)
    assert [row[0] for row in r.losses] == list(range(1, 9))
    assert r.losses[-1][1] < r.losses[0][1]


def test_window_shortens_the_training_sequences(tiny_model, tmp_path, monkeypatch):
    """[train] window: gpt-2-simple's loop is fed 4 x 64-token sequences, trains, and its Sampler is restored."""
    from gpt_2_simple import gpt_2
    from gpt_2_simple.src import load_dataset

    original, lengths = gpt_2.Sampler, []
    real_sample = load_dataset.Sampler.sample

    def spy(self, length):
        out = real_sample(self, length)
        lengths.append(len(out))
        return out

    monkeypatch.setattr(load_dataset.Sampler, "sample", spy)  # the base class the window sampler calls
    r = finetune_tiny(tiny_model, tmp_path / "checkpoint", "win", 6, window=64, batch_size=4, learning_rate=3e-3)
    assert lengths == [64] * (6 * 4)
    assert r.losses[-1][1] < r.losses[0][1]
    assert gpt_2.Sampler is original
    sess, hparams, enc = ft.load_session(r.run_dir)
    sess.close()
    assert hparams.n_ctx == 1024  # the model keeps its context; only the training sequences are shorter


def test_window_sets_the_smallest_corpus(tiny_model, tmp_path):
    """A corpus shorter than 1024 tokens trains with a shorter window; the error names the window."""
    text = ["A DJ from Leeds who plays house, techno and garage at a basement club on Fridays."] * 12
    small = write_corpus(tmp_path / "small.txt", text)
    n = ft.check_corpus(small, tiny_model.models_dir / "tiny", window=64)
    assert 64 < n < 1024
    with pytest.raises(ModelError, match=f"{n} tokens is less than one 1024-token training window"):
        ft.check_corpus(small, tiny_model.models_dir / "tiny")
