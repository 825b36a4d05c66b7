"""Base models in gpt-2-simple's layout: download OpenAI's GPT-2, or initialise one from scratch.

A model folder holds hparams.json, encoder.json, vocab.bpe and a TF checkpoint (model.ckpt.* plus
the `checkpoint` file), which is exactly what gpt_2_simple.finetune(model_name=...) copies and loads.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import ModelError
from bot.generation.checkpoint import RUN_FILES
from bot.text import END

if TYPE_CHECKING:  # requests is imported when a download starts
    import requests

log = logging.getLogger(__name__)

N_CTX = 1024  # gpt-2-simple samples 1024-token training windows, so a model needs at least that context

# Shapes of the from-scratch models. tiny: the tests' model; small: the demo's (128 wide beat 256 wide
# within the demo's training budget: bench/RESULTS.md, "Tuning small"); 124M-shaped: GPT-2 124M's
# shape with random weights, for benchmarks.
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"n_layer": 2, "n_embd": 128, "n_head": 4, "n_vocab": 2000},
    "small": {"n_layer": 4, "n_embd": 128, "n_head": 4, "n_vocab": 4000},
    "124M-shaped": {"n_layer": 12, "n_embd": 768, "n_head": 12, "n_vocab": 50257},
}

# What OpenAI publishes per model (the list gpt_2_simple.download_gpt2 fetches).
MODEL_FILES = (
    "checkpoint",
    "encoder.json",
    "hparams.json",
    "model.ckpt.data-00000-of-00001",
    "model.ckpt.index",
    "model.ckpt.meta",
    "vocab.bpe",
)
PRETRAINED = ("124M", "355M", "774M", "1558M")
DEFAULT_BASE_URL = "https://openaipublic.blob.core.windows.net/gpt-2"  # gpt-2-simple's source
COMPLETE_MARKER = ".download-complete.json"  # written last, so its presence means every file landed


def init_model(out_dir: Path, *, size: str, corpus: Path, vocab_size: int | None = None, seed: int = 0) -> Path:
    """Write a randomly initialised GPT-2 with a BPE vocabulary trained on `corpus`; return out_dir."""
    if size not in SIZES:
        raise ModelError(f"unknown model size {size!r}; use one of {', '.join(SIZES)}")
    if not corpus.is_file():
        raise ModelError(f"{corpus}: corpus file not found (run `djbios corpus build` first)")
    shape = dict(SIZES[size])
    n_vocab = vocab_size or shape.pop("n_vocab")
    shape.pop("n_vocab", None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder, merges = train_bpe(corpus, n_vocab)
    encoder = pad_vocab(encoder, n_vocab)
    write_vocab(out_dir, encoder, merges)
    hparams = {"n_vocab": len(encoder), "n_ctx": N_CTX, **shape}
    (out_dir / "hparams.json").write_text(json.dumps(hparams, indent=2) + "\n", encoding="utf-8")
    write_random_weights(out_dir, hparams, seed)
    log.info("initialised %s model in %s (%s)", size, out_dir, hparams)
    return out_dir


def train_bpe(corpus: Path, vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Train a byte-level BPE on the corpus text; return GPT-2 style (encoder, merges)."""
    from tokenizers import ByteLevelBPETokenizer

    text = corpus.read_text(encoding="utf-8", errors="replace")
    # No special tokens while training: the delimiters stay plain text, as gpt-2-simple's encoder
    # sees them, so BPE learns compact pieces for "<|", "endoftext", "|>".
    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    tok.train_from_iterator(
        text.splitlines(keepends=True), vocab_size=max(vocab_size - 1, 257), min_frequency=2, show_progress=False
    )
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_model(tmp)
        encoder = json.loads((Path(tmp) / "vocab.json").read_text(encoding="utf-8"))
        lines = (Path(tmp) / "merges.txt").read_text(encoding="utf-8").splitlines()
    merges = [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]
    encoder = dict(sorted(encoder.items(), key=lambda kv: kv[1]))
    encoder.setdefault(END, len(encoder))  # gpt-2-simple's generate() starts sampling from this token
    return encoder, merges  # type: ignore[return-value]


def pad_vocab(encoder: dict[str, int], n_vocab: int) -> dict[str, int]:
    """Fill unused ids up to n_vocab so every id the model can sample decodes to something."""
    out = dict(encoder)
    i = 0
    while len(out) < n_vocab:
        out.setdefault(f"<|unused{i}|>", len(out))
        i += 1
    return out


def write_vocab(out_dir: Path, encoder: dict[str, int], merges: list[tuple[str, str]]) -> None:
    """encoder.json and vocab.bpe exactly as gpt_2_simple.src.encoder.get_encoder reads them."""
    (out_dir / "encoder.json").write_text(json.dumps(encoder, ensure_ascii=False), encoding="utf-8")
    # get_encoder drops the first line (version header) and the last (empty after the final "\n").
    body = "".join(f"{a} {b}\n" for a, b in merges)
    (out_dir / "vocab.bpe").write_text("#version: 0.2\n" + body, encoding="utf-8")


def write_random_weights(out_dir: Path, hparams: dict[str, int], seed: int) -> None:
    """Build gpt-2-simple's model graph, initialise it, and save it as model.ckpt."""
    import tensorflow as tf
    from gpt_2_simple.src import model as gmodel

    hp = gmodel.default_hparams()
    hp.override_from_dict(hparams)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        context = tf.compat.v1.placeholder(tf.int32, [1, None])
        gmodel.model(hparams=hp, X=context)
        # Relative paths in the `checkpoint` file keep the model folder movable.
        saver = tf.compat.v1.train.Saver(save_relative_paths=True)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(out_dir / "model.ckpt"))


def is_complete(model_dir: Path) -> bool:
    """True when a model folder has every file a finetune needs, with non-empty weights."""
    model_dir = Path(model_dir)
    if not all((model_dir / f).is_file() for f in RUN_FILES):
        return False
    marker = model_dir / COMPLETE_MARKER
    if marker.is_file():
        sizes = json.loads(marker.read_text(encoding="utf-8"))
        return all((model_dir / f).is_file() and (model_dir / f).stat().st_size == n for f, n in sizes.items())
    data = list(model_dir.glob("model.ckpt*.data-*"))
    return bool(data) and all(p.stat().st_size > 0 for p in data) and bool(list(model_dir.glob("model.ckpt*.index")))


def download_model(name: str, models_dir: Path, *, base_url: str = DEFAULT_BASE_URL, timeout_s: float = 10.0) -> Path:
    """Fetch OpenAI's GPT-2 `name` into models_dir/name unless a complete copy is there; return it."""
    import requests

    if name not in PRETRAINED:
        raise ModelError(f"unknown GPT-2 model {name!r}; use one of {', '.join(PRETRAINED)}")
    out = Path(models_dir) / name
    if is_complete(out):
        log.info("%s is already downloaded; nothing to do", out)
        return out
    out.mkdir(parents=True, exist_ok=True)
    url = f"{base_url.rstrip('/')}/models/{name}"
    session = requests.Session()
    try:  # a short probe, so an offline machine fails in seconds instead of hanging
        session.head(f"{url}/hparams.json", timeout=timeout_s).raise_for_status()
        sizes = {f: _fetch(session, f"{url}/{f}", out / f, timeout_s) for f in MODEL_FILES}
    except requests.RequestException as exc:
        raise ModelError(
            f"cannot download GPT-2 {name} from {base_url}: {type(exc).__name__} "
            "(no network? try again online, or use `djbios model init --size small`)"
        ) from exc
    (out / COMPLETE_MARKER).write_text(json.dumps(sizes, indent=2) + "\n", encoding="utf-8")
    return out


def _fetch(session: requests.Session, url: str, dest: Path, timeout_s: float) -> int:
    """Stream one file to dest via a .part file; return its size in bytes."""
    part = dest.with_name(dest.name + ".part")
    with session.get(url, stream=True, timeout=timeout_s) as r:
        r.raise_for_status()
        expected = int(r.headers.get("content-length", -1))
        with part.open("wb") as f:
            for chunk in r.iter_content(chunk_size=1 << 20):  # 1 MiB
                f.write(chunk)
    size = part.stat().st_size
    if expected >= 0 and size != expected:
        raise ModelError(f"{url}: got {size} of {expected} bytes; run `djbios model download` again")
    part.replace(dest)
    log.info("fetched %s (%s bytes)", dest, size)
    return size
