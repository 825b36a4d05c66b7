"""Where models live on disk: checkpoint discovery, hparams and the BPE vocabulary (gpt-2-simple's layout).

A run folder (checkpoint_dir/run_name) holds model-<step>.{index,data-*,meta}, the `checkpoint` state
file, hparams.json, encoder.json and vocab.bpe; a base model folder holds the same with model.ckpt.*.
This is the one home of those rules: the generator, training, evaluation and `doctor` import them.
Reading the vocabulary imports gpt-2-simple's encoder (no TensorFlow); nothing heavy at import time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bot.errors import ModelError

MAKE_HINT = "run `djbios train`, or `djbios model init` / `djbios model download`"
RUN_FILES = ("checkpoint", "hparams.json", "encoder.json", "vocab.bpe")  # beside the weights
_STEP = re.compile(r"^model-(\d+)$")


def _prefixes(run_dir: Path) -> dict[int, Path]:
    """Checkpoint prefixes by step: model-<step>, and a base model's model.ckpt as step 0."""
    out = {}
    for index in Path(run_dir).glob("*.index"):
        prefix = index.with_suffix("")
        m = _STEP.match(prefix.name)
        out[int(m[1]) if m else 0] = prefix
    return out


def list_steps(run_dir: Path) -> list[int]:
    """Trained checkpoint steps on disk (model-<step>.index), ascending."""
    return sorted(s for s, p in _prefixes(run_dir).items() if _STEP.match(p.name))


def latest_step(run_dir: Path) -> int | None:
    """The newest trained checkpoint step, or None for a run that has none yet."""
    steps = list_steps(run_dir)
    return steps[-1] if steps else None


def find_checkpoint(run_dir: Path, step: int | None = None) -> tuple[Path, int]:
    """The checkpoint prefix to restore (latest, or `step`) and its step; ModelError if none."""
    run_dir = Path(run_dir)
    if not (run_dir / "hparams.json").is_file():
        raise ModelError(f"{run_dir}: no model checkpoint (hparams.json missing); {MAKE_HINT}")
    prefixes = _prefixes(run_dir)
    if not prefixes:
        raise ModelError(f"{run_dir}: no checkpoint files (*.index); {MAKE_HINT}")
    if step:
        if step not in prefixes:
            have = ", ".join(str(s) for s in sorted(prefixes))
            raise ModelError(f"{run_dir}: no checkpoint for step {step} (have: {have})")
        return prefixes[step], step
    return _latest_from_state(run_dir) or (prefixes[max(prefixes)], max(prefixes))


def _latest_from_state(run_dir: Path) -> tuple[Path, int] | None:
    """The `checkpoint` file's latest entry, by basename (its paths may be relative to another cwd)."""
    state = run_dir / "checkpoint"
    if not state.is_file():
        return None
    m = re.search(r'^model_checkpoint_path:\s*"(.*)"', state.read_text(encoding="utf-8"), re.M)
    if not m:
        return None
    prefix = run_dir / Path(m.group(1)).name
    if not prefix.with_name(prefix.name + ".index").is_file():
        return None
    step = _STEP.match(prefix.name)
    return prefix, int(step[1]) if step else 0


def missing_files(run_dir: Path) -> list[str]:
    """The files of RUN_FILES that run_dir lacks (empty when the run can be loaded)."""
    return [f for f in RUN_FILES if not (Path(run_dir) / f).is_file()]


def read_hparams(model_dir: Path) -> Any:
    """gpt-2-simple's HParams from model_dir/hparams.json; ModelError if unreadable."""
    from gpt_2_simple.src import model

    path = Path(model_dir) / "hparams.json"
    try:
        hparams = model.default_hparams()
        hparams.override_from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{path}: unreadable hparams ({exc}); {MAKE_HINT}") from exc
    return hparams


def load_encoder(model_dir: Path) -> Any:
    """gpt-2-simple's BPE Encoder for a model or run folder; ModelError if its files are missing."""
    from gpt_2_simple.src import encoder

    model_dir = Path(model_dir)
    if not (model_dir / "encoder.json").is_file():
        raise ModelError(f"{model_dir}: no encoder.json; {MAKE_HINT}")
    try:
        return encoder.get_encoder(str(model_dir))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{model_dir}: unreadable encoder.json or vocab.bpe ({exc}); {MAKE_HINT}") from exc


def load_vocab(run_dir: Path) -> tuple[Any, Any]:
    """(Encoder, HParams) of a run folder."""
    return load_encoder(run_dir), read_hparams(run_dir)
