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
HPARAM_KEYS = ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer")  # gpt-2-simple's model sizes
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
    try:
        text = state.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # damaged: the newest model-<step> on disk will do
        return None
    m = re.search(r'^model_checkpoint_path:\s*"(.*)"', text, re.M)
    if not m:
        return None
    prefix = run_dir / Path(m.group(1)).name
    if not prefix.with_name(prefix.name + ".index").is_file():
        return None
    step = _STEP.match(prefix.name)
    return prefix, int(step[1]) if step else 0


def write_state(run_dir: Path, steps: list[int]) -> None:
    """TensorFlow's `checkpoint` state file listing `steps`, the last as latest (what find_checkpoint reads)."""
    names = [f"model-{s}" for s in steps]
    lines = [f'model_checkpoint_path: "{names[-1]}"'] + [f'all_model_checkpoint_paths: "{n}"' for n in names]
    (Path(run_dir) / "checkpoint").write_text("\n".join(lines) + "\n", encoding="utf-8")


def missing_files(run_dir: Path) -> list[str]:
    """The files of RUN_FILES that run_dir lacks (empty when the run can be loaded)."""
    return [f for f in RUN_FILES if not (Path(run_dir) / f).is_file()]


def read_hparams(model_dir: Path) -> Any:
    """gpt-2-simple's HParams from model_dir/hparams.json; ModelError if unreadable or ill-typed.

    gpt-2-simple copies whatever the file says (a string, a float, nothing at all) and TensorFlow
    fails much later, deep in graph construction; so every size is checked here.
    """
    from gpt_2_simple.src import model

    path = Path(model_dir) / "hparams.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or not UTF-8
        raise ModelError(f"{path}: unreadable hparams ({exc}); {MAKE_HINT}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path}: must hold a JSON object of model sizes; {MAKE_HINT}")
    hparams = model.default_hparams()
    hparams.override_from_dict(data)
    for key in HPARAM_KEYS:
        value = getattr(hparams, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            shown = repr(data[key]) if key in data else "missing"
            raise ModelError(f"{path}: '{key}' must be a positive integer, got {shown}; {MAKE_HINT}")
    if hparams.n_embd % hparams.n_head:
        raise ModelError(
            f"{path}: 'n_embd' ({hparams.n_embd}) must be a multiple of 'n_head' ({hparams.n_head}); {MAKE_HINT}"
        )
    return hparams


def load_encoder(model_dir: Path) -> Any:
    """gpt-2-simple's BPE Encoder for a model or run folder; ModelError if its files are missing."""
    from gpt_2_simple.src import encoder

    model_dir = Path(model_dir)
    if not (model_dir / "encoder.json").is_file():
        raise ModelError(f"{model_dir}: no encoder.json; {MAKE_HINT}")
    try:
        enc = encoder.get_encoder(str(model_dir))
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:  # Attribute/Type: not a dict
        raise ModelError(f"{model_dir}: unreadable encoder.json or vocab.bpe ({exc}); {MAKE_HINT}") from exc
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in enc.decoder):
        raise ModelError(f"{model_dir}/encoder.json: every token id must be an integer; {MAKE_HINT}")
    return enc


def load_vocab(run_dir: Path) -> tuple[Any, Any]:
    """(Encoder, HParams) of a run folder; ModelError unless the encoder names every id the model has.

    An id the model can sample but the encoder cannot decode fails in the middle of a batch; an id
    the encoder makes but the model has no row for fails on the prompt. Either way the files come
    from different models, which is said at load.
    """
    enc, hparams = load_encoder(run_dir), read_hparams(run_dir)
    ids = set(enc.decoder)
    if ids != set(range(hparams.n_vocab)):
        missing = hparams.n_vocab - len(ids & set(range(hparams.n_vocab)))
        extra = len(ids) - (hparams.n_vocab - missing)
        raise ModelError(
            f"{run_dir}: encoder.json has {len(ids)} token ids but hparams.json says n_vocab = "
            f"{hparams.n_vocab} ({missing} ids missing, {extra} beyond it): the files come from "
            f"different models; copy the matching encoder.json and vocab.bpe, or {MAKE_HINT}"
        )
    return enc, hparams
