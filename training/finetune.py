"""Fine-tune a base model with gpt-2-simple; log the loss as CSV; keep max_checkpoints; load a step.

Layout (gpt-2-simple's): checkpoint_dir/run_name/ holds model-<step>.*, `checkpoint`, `counter`,
hparams.json, encoder.json, vocab.bpe, plus our loss.csv (step, loss, avg, seconds): gpt-2-simple's
printed loss and running average (2 decimals), and seconds since that training session started.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.config import Config, TrainConfig
from bot.errors import ModelError
from bot.filters.copyindex import ensure_index
from bot.generation.checkpoint import find_checkpoint, latest_step, list_steps, load_encoder, load_vocab, write_state
from training.model import is_complete
from training.progress import LossTap, Progress, TrainResult

log = logging.getLogger(__name__)

WINDOW = 1024  # gpt-2-simple samples 1024-token windows; its Sampler needs at least one more token
LOSS_CSV = "loss.csv"
NEVER = 10**9  # gpt-2-simple takes `counter % every`, so "never" must be a huge period, not 0
MIN_LR_SHARE = 0.1  # lr_schedule "cosine" ends at this share of learning_rate


def train_from_config(cfg: Config, *, steps: int | None = None, fresh: bool = False, verbose: int = 0) -> TrainResult:
    """`djbios train`: fine-tune cfg.model.base_model on cfg.corpus.path into checkpoint_dir/run_name."""
    ensure_index(cfg.corpus.path, cfg.index_path)
    return train(
        cfg.corpus.path,
        models_dir=cfg.model.models_dir,
        model_name=cfg.model.base_model,
        checkpoint_dir=cfg.model.checkpoint_dir,
        run_name=cfg.model.run_name,
        settings=cfg.train,
        steps=steps,
        fresh=fresh,
        protect=cfg.model.checkpoint_step or None,
        verbose=verbose,
    )


def train(
    corpus: Path,
    *,
    models_dir: Path,
    model_name: str,
    checkpoint_dir: Path,
    run_name: str,
    settings: TrainConfig,
    steps: int | None = None,
    fresh: bool = False,
    protect: int | None = None,
    verbose: int = 0,
) -> TrainResult:
    """Run gpt_2_simple.finetune in a fresh graph; resume unless `fresh`; return what happened.

    `protect` is a step pruning never deletes: the one the bot is pinned to ([model] checkpoint_step).
    `verbose` >= 1 prints gpt-2-simple's line per step instead of the progress bar.
    """
    n = steps if steps is not None else settings.steps
    if n < 1:  # gpt-2-simple treats 0 as "train until Ctrl-C"
        raise ModelError(f"steps must be at least 1, got {n}")
    model_dir = Path(models_dir) / model_name
    if not is_complete(model_dir):
        raise ModelError(
            f"{model_dir}: no complete base model; run `djbios model init --size small` "
            f"or `djbios model download 124M` and set [model] base_model"
        )
    check_corpus(corpus, model_dir, settings.window)
    run_dir = Path(checkpoint_dir) / run_name
    if fresh and run_dir.exists():
        archive = run_dir.with_name(f"{run_name}-prev-{time.strftime('%Y%m%d-%H%M%S')}")
        run_dir.rename(archive)
        log.warning("--fresh: moved the old run to %s", archive)
    result = TrainResult(run_dir=run_dir, first_step=latest_step(run_dir) or 0)
    bar = (
        None
        if verbose
        else Progress(result.first_step, n, settings.batch_size * settings.window, every=settings.save_every)
    )
    tap = LossTap(sys.stdout, run_dir / LOSS_CSV, result, bar)
    try:
        with contextlib.redirect_stdout(tap):
            _finetune(corpus, model_dir, run_dir, settings, n)
    finally:
        tap.close()
    result.kept = prune_checkpoints(run_dir, settings.max_checkpoints, protect=protect)
    result.last_step = result.kept[-1] if result.kept else result.first_step
    log.info("trained %s: steps %s..%s, kept %s", run_dir, result.first_step, result.last_step, result.kept)
    return result


def _finetune(corpus: Path, model_dir: Path, run_dir: Path, s: TrainConfig, steps: int) -> None:
    """gpt-2-simple's own training loop (it saves on Ctrl-C itself), seeded, in its own graph."""
    import gpt_2_simple as gpt2
    import numpy as np
    import tensorflow as tf

    run_dir.mkdir(parents=True, exist_ok=True)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(s.seed)
        random.seed(s.seed)  # the Sampler picks windows with `random`
        np.random.seed(s.seed)
        sess = gpt2.start_tf_sess()
        try:
            with _window(s.window):
                gpt2.finetune(
                    sess,
                    str(corpus),
                    steps=steps,
                    model_name=model_dir.name,
                    model_dir=str(model_dir.parent),
                    checkpoint_dir=str(run_dir.parent),
                    run_name=run_dir.name,
                    batch_size=s.batch_size,
                    learning_rate=_learning_rate(s, steps),
                    accumulate_gradients=s.accumulate_gradients,
                    sample_every=s.sample_every or NEVER,
                    save_every=s.save_every,
                    max_checkpoints=s.max_checkpoints,
                    restore_from="latest",
                    only_train_transformer_layers=s.only_train_transformer_layers,
                    optimizer=s.optimizer,
                    sample_length=min(200, s.window - 1),
                )
        finally:
            sess.close()


@contextlib.contextmanager
def _window(window: int) -> Iterator[None]:
    """Train on `window`-token sequences instead of gpt-2-simple's fixed 1024.

    finetune() hard-codes `data_sampler.sample(1024)`, but its context placeholder has no fixed length,
    so a Sampler that cuts the length is all it takes. Bios are ~100 tokens: attention over 1024
    positions mostly relates unrelated bios, and shorter sequences train more tokens per second on a
    CPU (measured in bench/RESULTS.md, "Fine-tuning"). Positions past `window`
    stay untrained, so generated bios must fit in the window (load_config checks [generate]'s cap).
    """
    if window >= WINDOW:
        yield
        return
    from gpt_2_simple import gpt_2 as g

    base = g.Sampler

    class WindowSampler(base):  # type: ignore[misc, valid-type]
        def sample(self, length: int) -> Any:
            return super().sample(min(length, window))

    g.Sampler = WindowSampler
    try:
        yield
    finally:
        g.Sampler = base


def _learning_rate(s: TrainConfig, steps: int) -> Any:
    """[train] learning_rate, or for lr_schedule "cosine" a callable the optimizer turns into a tensor.

    gpt-2-simple's loop has no step counter in the graph, but Adam keeps beta2_power = beta2^(t+1)
    for its bias correction, so the update count t is recoverable from it. Adam's slots are not
    checkpointed, so the schedule spans the steps of one `djbios train` run (a resume starts it over).
    """
    if s.lr_schedule == "constant":
        return s.learning_rate
    if s.optimizer != "adam":
        raise ModelError(f'lr_schedule {s.lr_schedule!r} needs optimizer "adam", not {s.optimizer!r}')

    def schedule() -> Any:
        import tensorflow as tf

        found = [v for v in tf.compat.v1.global_variables() if v.op.name == "beta2_power"]
        if not found:
            raise ModelError("lr_schedule: Adam's beta2_power variable not found (TensorFlow changed?)")
        beta2 = 0.999  # AdamOptimizer's default, which gpt-2-simple uses
        # float32 beta2_power underflows after ~87,000 updates: t becomes inf and the rate sits at the floor
        t = tf.math.log(tf.cast(found[0], tf.float64)) / math.log(beta2) - 1.0
        done = tf.clip_by_value(t / max(steps - 1, 1), 0.0, 1.0)
        cosine = 0.5 * (1.0 + tf.cos(math.pi * done))
        return tf.cast(s.learning_rate * (MIN_LR_SHARE + (1 - MIN_LR_SHARE) * cosine), tf.float32)

    return schedule


def check_corpus(corpus: Path, model_dir: Path, window: int = WINDOW) -> int:
    """Refuse a missing corpus or one shorter than a training window; return a token count (> window)."""
    if not Path(corpus).is_file():
        raise ModelError(f"{corpus}: corpus file not found (run `djbios corpus build` first)")
    enc = load_encoder(model_dir)
    text = Path(corpus).read_text(encoding="utf-8", errors="ignore")
    n = len(enc.encode(text[:40_000]))  # enough text for one window; the full encode is slow
    if n <= window:
        n = len(enc.encode(text))
    if n <= window:
        raise ModelError(
            f"{corpus}: {n} tokens is less than one {window}-token training window; "
            "add more bios (`djbios corpus build`) before training"
        )
    return n


def prune_checkpoints(run_dir: Path, keep: int, protect: int | None = None) -> list[int]:
    """Keep the newest `keep` checkpoints (and `protect`) across resumed runs; rewrite the index file."""
    steps = list_steps(run_dir)
    for step in steps[:-keep]:
        if step == protect:
            continue  # the bot generates from this one; deleting it would stop the worker
        for p in run_dir.glob(f"model-{step}.*"):
            p.unlink()
    kept = sorted({*steps[-keep:], *([protect] if protect in steps else [])})
    if kept:
        write_state(run_dir, kept)
    return kept


def load_session(run_dir: Path, step: int | None = None) -> tuple[Any, Any, Any]:
    """Restore one checkpoint (latest by default) in its own graph: (sess, hparams, enc).

    The graph holds placeholder "context:0" ([batch, time] int32) and "logits:0" from model().
    """
    import gpt_2_simple as gpt2  # also turns off eager execution, as its graphs need
    import tensorflow as tf
    from gpt_2_simple.src import model as gmodel

    run_dir = Path(run_dir)
    prefix, step = find_checkpoint(run_dir, step)  # "latest" means what the generator restores too
    enc, hparams = load_vocab(run_dir)
    graph = tf.Graph()
    with graph.as_default():
        context = tf.compat.v1.placeholder(tf.int32, [None, None], name="context")
        out = gmodel.model(hparams=hparams, X=context)
        tf.identity(out["logits"], name="logits")
        sess = gpt2.start_tf_sess()
        tf.compat.v1.train.Saver().restore(sess, str(prefix))
    return sess, hparams, enc
