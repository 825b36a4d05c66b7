"""Batched GPT-2 sampling from a gpt-2-simple checkpoint: one graph per model, early stop, KV cache.

Why not gpt_2_simple.generate(): it adds a new sampling graph on every call (memory and time grow
in a long-lived worker) and always samples `length` tokens. Here the graph (bot/generation/graph.py) is
built once at load and finalized, and one tf.while_loop samples every bio of a call.
TensorFlow is imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.config import default_max_tokens
from bot.errors import GenerationError, ModelError
from bot.generation.checkpoint import MAKE_HINT, find_checkpoint, load_vocab
from bot.generation.graph import BLANK, PIECE, TEXT, build
from bot.text import DELIMITER_PIECES, END, MASTODON_MAX_CHARS, START

log = logging.getLogger(__name__)

_PIECES = "|".join(map(re.escape, DELIMITER_PIECES))
# Where a stopped sample is cut: any piece of a delimiter. "<|" and "|>" never occur in bio text,
# and a model that writes "startoftext" has begun the next bio, so each marks the end of this one.
_CUT_RE = re.compile(_PIECES)
# Delimiter pieces and blanks a text may open with (an overfit model often writes "\n<|startoftext|>"
# before its bio): the sampling loop never draws them before a bio's first word; here they are stripped.
_LEAD_RE = re.compile(rf"^(?:\s|{_PIECES})+")


@dataclass(frozen=True)
class Sample:
    """One generated bio: text cut at the delimiter; complete=False if the delimiter never came."""

    text: str
    complete: bool
    tokens: int  # generated tokens, delimiter included
    seed: int  # the run's seed: generate(same n, batch_size and settings, seed=this) reproduces it


class Generator(Protocol):
    """What the worker and the CLI need from a text generator."""

    provenance: dict[str, Any]

    def generate(
        self,
        nsamples: int,
        *,
        batch_size: int,
        temperature: float,
        top_k: int,
        top_p: float,
        seed: int | None,
        prefix: str = START,
        max_tokens: int | Sequence[int] | None = None,
    ) -> list[Sample]:
        """Return nsamples samples."""
        ...


def split_text(generated: str, stopped: bool) -> tuple[str, bool]:
    """Cut generated text at the end delimiter; return (text, complete)."""
    generated = _LEAD_RE.sub("", generated)
    m = _CUT_RE.search(generated) if stopped else None
    end = m.start() if m else generated.find(END)
    if end >= 0:
        return generated[:end].strip(), True
    return generated.strip(), False


class GPT2Generator:
    """A gpt-2-simple checkpoint loaded once into its own graph and session, serving batches.

    The KV cache lives in the session's variables, so generate() calls take turns (a lock).
    """

    def __init__(
        self, graph: Any, session: Any, io: dict[str, Any], enc: Any, hparams: Any, checkpoint: Path, step: int
    ) -> None:
        self._graph, self._sess, self._io, self._enc, self._hp = graph, session, io, enc, hparams
        self._lock = threading.Lock()  # fill and loop share the cache variables: one run at a time
        self.provenance = {"checkpoint": str(checkpoint), "step": step}
        self.last_steps = 0  # loop iterations (token steps) of the last generate() call

    @classmethod
    def load(cls, run_dir: Path, step: int | None = None, *, threads: int = 0) -> GPT2Generator:
        """Restore run_dir's latest checkpoint (or `step`) and build the sampling graph once."""
        prefix, found = find_checkpoint(Path(run_dir), step)
        enc, hparams = load_vocab(Path(run_dir))
        stop_ids = _stop_ids(enc, run_dir)
        kinds = _token_kinds(enc, hparams.n_vocab)
        graph, sess, io = build(hparams, stop_ids, kinds, prefix, threads=threads)
        log.info("loaded %s (step %s, %s ops)", prefix, found, len(graph.get_operations()))
        return cls(graph, sess, io, enc, hparams, prefix, found)

    @property
    def op_count(self) -> int:
        """Operations in the graph; constant across batches because the graph is finalized."""
        return len(self._graph.get_operations())

    def close(self) -> None:
        """Free the session's memory."""
        self._sess.close()

    def generate(
        self,
        nsamples: int,
        *,
        batch_size: int,
        temperature: float = 0.8,
        top_k: int = 40,
        top_p: float = 0.0,
        seed: int | None = None,
        prefix: str = START,
        max_tokens: int | Sequence[int] | None = None,
    ) -> list[Sample]:
        """Sample nsamples bios, batch_size at a time, in one continuous run; a seed reproduces them.

        max_tokens caps every bio, or each bio on its own when it is a list of nsamples caps.
        """
        if nsamples < 1 or batch_size < 1:
            raise GenerationError("nsamples and batch_size must be at least 1")
        context = self._enc.encode(prefix or START)
        room = self._hp.n_ctx - len(context)
        if max_tokens is None or isinstance(max_tokens, int):
            caps = [max_tokens or default_max_tokens(MASTODON_MAX_CHARS)] * nsamples
        else:
            caps = [int(c) for c in max_tokens]
        if len(caps) != nsamples:
            raise GenerationError(f"{len(caps)} caps for {nsamples} samples")
        if min(caps) < 1:
            raise GenerationError(f"max_tokens must be at least 1, got {min(caps)}")
        if room < 1:
            raise GenerationError(f"prompt is {len(context)} tokens; the model's context is {self._hp.n_ctx}")
        caps = [min(c, room) for c in caps]
        seed = secrets.randbits(31) if seed is None else seed % 2**63
        head = _strip_start(self._enc.decode(context))  # the prompt's bio text, if any
        io = self._io
        feed = {
            io["context"]: context,
            io["caps"]: caps,
            io["rows"]: min(batch_size, nsamples),
            io["temperature"]: float(temperature),
            io["top_k"]: top_k if 0 < top_k < self._hp.n_vocab else self._hp.n_vocab,
            io["top_p"]: top_p if top_p > 0 else 2.0,  # 2.0: the nucleus cut keeps everything
            io["seed"]: seed,
            io["started"]: bool(head.strip()),
        }
        try:
            with self._lock:
                self._sess.run(io["fill"], feed_dict=feed)
                tokens, lengths, done, steps = self._sess.run(
                    [io["tokens"], io["lengths"], io["done"], io["steps"]], feed_dict=feed
                )
        except Exception as exc:  # tf.errors.OpError; TF is not imported at module level
            raise GenerationError(f"sampling failed: {type(exc).__name__}: {exc}") from exc
        self.last_steps = int(steps)
        samples = []
        for row, n, stopped in zip(tokens, lengths, done):
            text, complete = split_text(head + self._enc.decode([int(t) for t in row[: int(n)]]), bool(stopped))
            samples.append(Sample(text=text, complete=complete, tokens=int(n), seed=seed))
        return samples


def _strip_start(head: str) -> str:
    """The prompt as it appears in the bio: the prefix without its <|startoftext|>."""
    return head.replace(START, "", 1).lstrip()


def _stop_ids(enc: Any, run_dir: Path) -> list[int]:
    """Token ids of `endoftext`: the part of the delimiter whose BPE never depends on its neighbours."""
    try:
        ids = enc.encode("endoftext")
    except KeyError as exc:
        raise ModelError(f"{run_dir}: the vocabulary cannot encode {END}; {MAKE_HINT}") from exc
    if enc.decode(ids) != "endoftext":
        raise ModelError(f"{run_dir}: the vocabulary does not round-trip {END}; {MAKE_HINT}")
    return ids


def _token_kinds(enc: Any, n_vocab: int) -> list[int]:
    """Per token id: TEXT, PIECE of a delimiter ("<|", "|>", "startoftext", "endoftext") or BLANK.

    A weak model often writes "<|" and fumbles the rest of <|endoftext|>, or starts the next bio
    without ending this one; no piece occurs in bio text, so once a bio has begun each marks its end.
    """

    def kind(i: int) -> int:
        s = enc.decode([i]) if i < len(enc.decoder) else " "
        if any(piece in s for piece in DELIMITER_PIECES):
            return PIECE
        return BLANK if not s.strip() else TEXT

    return [kind(i) for i in range(n_vocab)]
