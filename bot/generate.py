"""Batched GPT-2 sampling from a gpt-2-simple checkpoint: one graph per model, early stop, KV cache.

This is the only module of bot/ that imports TensorFlow, and only inside functions, so
`import bot.generate` stays cheap for the CLI's other commands.

Why not gpt_2_simple.generate(): it adds a new sampling graph on every call (memory and time grow
in a long-lived worker) and always samples `length` tokens. Here the graph is built once at load,
the graph is finalized (a guard against op leaks), and a tf.while_loop with the KV cache ("past")
stops as soon as every sequence of the batch has written the end delimiter.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.errors import GenerationError, ModelError

log = logging.getLogger(__name__)

START = "<|startoftext|>"
END = "<|endoftext|>"
CHARS_PER_TOKEN = 3.0  # conservative: GPT-2 BPE averages ~4 chars per English token
MARGIN_TOKENS = 16  # room for the end delimiter, which is several BPE tokens in a fine-tuned model
# Where a stopped sample is cut: any piece of a delimiter. "<|" and "|>" never occur in bio text,
# and a model that writes "startoftext" has begun the next bio, so each marks the end of this one.
_CUT_RE = re.compile(r"<\||\|>|endoftext|startoftext")
# Delimiter pieces and blanks a sample may open with (an overfit model often writes "\n<|startoftext|>"
# before its bio): skipped, both by the sampling loop and here.
_LEAD_RE = re.compile(r"^(?:\s|<\||\|>|endoftext|startoftext)+")
TEXT, PIECE, BLANK = 0, 1, 2  # token kinds for the sampling loop
_MAKE_HINT = "run `djbios train`, or `djbios model init` / `djbios model download`"


@dataclass(frozen=True)
class Sample:
    """One generated bio: text cut at the delimiter; complete=False if the delimiter never came."""

    text: str
    complete: bool
    tokens: int  # generated tokens, delimiter included
    seed: int  # the batch seed: generate(batch_size=same, seed=this) reproduces the batch


class Generator(Protocol):
    """What the worker and the CLI need from a text generator."""

    provenance: dict[str, Any]

    def generate(self, nsamples: int, *, batch_size: int, temperature: float, top_k: int,
                 top_p: float, seed: int | None, prefix: str = START,
                 max_tokens: int | None = None) -> list[Sample]:
        """Return nsamples samples."""
        ...


def default_max_tokens(max_chars: int) -> int:
    """Token cap for a post of at most max_chars characters (plus the delimiter)."""
    return math.ceil(max_chars / CHARS_PER_TOKEN) + MARGIN_TOKENS


def find_checkpoint(run_dir: Path, step: int | None = None) -> tuple[Path, int]:
    """The checkpoint prefix to restore (latest, or `step`) and its step; ModelError if none."""
    run_dir = Path(run_dir)
    if not (run_dir / "hparams.json").is_file():
        raise ModelError(f"{run_dir}: no model checkpoint (hparams.json missing); {_MAKE_HINT}")
    steps = {_step_of(p.name[: -len(".index")]): p for p in run_dir.glob("*.index")}
    if not steps:
        raise ModelError(f"{run_dir}: no checkpoint files (*.index); {_MAKE_HINT}")
    if step:
        if step not in steps:
            have = ", ".join(str(s) for s in sorted(steps))
            raise ModelError(f"{run_dir}: no checkpoint for step {step} (have: {have})")
        return steps[step].with_suffix(""), step
    latest = _latest_from_state(run_dir)
    if latest is not None:
        return latest
    best = max(steps)
    return steps[best].with_suffix(""), best


def _step_of(prefix: str) -> int:
    """gpt-2-simple names checkpoints model-<step>; a base model's model.ckpt counts as step 0."""
    m = re.search(r"-(\d+)$", prefix)
    return int(m.group(1)) if m else 0


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
    return prefix, _step_of(prefix.name)


def split_text(generated: str, stopped: bool) -> tuple[str, bool]:
    """Cut generated text at the end delimiter; return (text, complete)."""
    generated = _LEAD_RE.sub("", generated)
    m = _CUT_RE.search(generated) if stopped else None
    end = m.start() if m else generated.find(END)
    if end >= 0:
        return generated[:end].strip(), True
    return generated.strip(), False


class GPT2Generator:
    """A gpt-2-simple checkpoint loaded once into its own graph and session, serving batches."""

    def __init__(self, graph: Any, session: Any, io: dict[str, Any], enc: Any, hparams: Any,
                 checkpoint: Path, step: int) -> None:
        self._graph, self._sess, self._io, self._enc, self._hp = graph, session, io, enc, hparams
        self.provenance = {"checkpoint": str(checkpoint), "step": step}
        self.last_steps: list[int] = []  # loop iterations per batch of the last generate() call

    @classmethod
    def load(cls, run_dir: Path, step: int | None = None, *, threads: int = 0) -> GPT2Generator:
        """Restore run_dir's latest checkpoint (or `step`) and build the sampling graph once."""
        prefix, found = find_checkpoint(Path(run_dir), step)
        enc, hparams = _load_vocab(Path(run_dir))
        stop_ids = _stop_ids(enc, run_dir)
        kinds = _token_kinds(enc, hparams.n_vocab)
        graph, sess, io = _build(hparams, stop_ids, kinds, prefix, threads=threads)
        log.info("loaded %s (step %s, %s ops)", prefix, found, len(graph.get_operations()))
        return cls(graph, sess, io, enc, hparams, prefix, found)

    @property
    def op_count(self) -> int:
        """Operations in the graph; constant across batches because the graph is finalized."""
        return len(self._graph.get_operations())

    def close(self) -> None:
        """Free the session's memory."""
        self._sess.close()

    def generate(self, nsamples: int, *, batch_size: int, temperature: float = 0.8, top_k: int = 40,
                 top_p: float = 0.0, seed: int | None = None, prefix: str = START,
                 max_tokens: int | None = None) -> list[Sample]:
        """Sample nsamples bios in batches; batch b uses seed + b so a seed reproduces the texts."""
        context = self._enc.encode(prefix or START)
        room = self._hp.n_ctx - len(context)
        cap = min(max_tokens or default_max_tokens(500), room)
        if cap < 1:
            raise GenerationError(f"prompt is {len(context)} tokens; the model's context is {self._hp.n_ctx}")
        base = secrets.randbits(31) if seed is None else seed
        self.last_steps = []
        out: list[Sample] = []
        for b, rows in enumerate(_batches(nsamples, batch_size)):
            bseed = (base + b) % 2**63
            out.extend(self._batch(context, rows, cap, bseed, temperature, top_k, top_p))
        return out

    def _batch(self, context: list[int], rows: int, cap: int, seed: int, temperature: float,
               top_k: int, top_p: float) -> list[Sample]:
        """One sess.run of the while_loop for `rows` sequences."""
        io = self._io
        feed = {
            io["context"]: [context] * rows,
            io["max_steps"]: cap,
            io["temperature"]: float(temperature),
            io["top_k"]: top_k if 0 < top_k < self._hp.n_vocab else self._hp.n_vocab,
            io["top_p"]: top_p if top_p > 0 else 2.0,  # 2.0: the nucleus cut keeps everything
            io["seed"]: seed,
            io["started"]: bool(_strip_start(self._enc.decode(context)).strip()),
        }
        try:
            tokens, lengths, done, steps = self._sess.run(
                [io["tokens"], io["lengths"], io["done"], io["steps"]], feed_dict=feed)
        except Exception as exc:  # tf.errors.OpError; TF is not imported at module level
            raise GenerationError(f"sampling failed: {type(exc).__name__}: {exc}") from exc
        self.last_steps.append(int(steps))
        head = self._enc.decode(context)
        samples = []
        for row, n, stopped in zip(tokens, lengths, done):
            gen = self._enc.decode([int(t) for t in row[len(context): len(context) + int(n)]])
            text, complete = split_text(_strip_start(head) + gen, bool(stopped))
            samples.append(Sample(text=text, complete=complete, tokens=int(n), seed=seed))
        return samples


def _strip_start(head: str) -> str:
    """The prompt as it appears in the bio: the prefix without its <|startoftext|>."""
    return head.replace(START, "", 1).lstrip()


def _batches(nsamples: int, batch_size: int) -> Iterator[int]:
    """Row counts of each batch; the last one may be smaller."""
    if nsamples < 1 or batch_size < 1:
        raise GenerationError("nsamples and batch_size must be at least 1")
    for start in range(0, nsamples, batch_size):
        yield min(batch_size, nsamples - start)


def _load_vocab(run_dir: Path) -> tuple[Any, Any]:
    """gpt-2-simple's Encoder and HParams for run_dir; ModelError if unreadable."""
    from gpt_2_simple.src import encoder, model

    try:
        enc = encoder.get_encoder(str(run_dir))
        hparams = model.default_hparams()
        hparams.override_from_dict(json.loads((run_dir / "hparams.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{run_dir}: unreadable encoder or hparams ({exc}); {_MAKE_HINT}") from exc
    return enc, hparams


def _stop_ids(enc: Any, run_dir: Path) -> list[int]:
    """Token ids of `endoftext`: the part of the delimiter whose BPE never depends on its neighbours."""
    try:
        ids = enc.encode("endoftext")
    except KeyError as exc:
        raise ModelError(f"{run_dir}: the vocabulary cannot encode {END}; {_MAKE_HINT}") from exc
    if enc.decode(ids) != "endoftext":
        raise ModelError(f"{run_dir}: the vocabulary does not round-trip {END}; {_MAKE_HINT}")
    return ids


def _token_kinds(enc: Any, n_vocab: int) -> list[int]:
    """Per token id: TEXT, PIECE of a delimiter ("<|", "|>", "startoftext") or BLANK (whitespace).

    A weak model often writes "<|" and fumbles the rest of <|endoftext|>, or starts the next bio
    without ending this one; no piece occurs in bio text, so once a bio has begun each marks its end.
    """
    def kind(i: int) -> int:
        s = enc.decode([i]) if i < len(enc.decoder) else " "
        if "<|" in s or "|>" in s or "startoftext" in s:
            return PIECE
        return BLANK if not s.strip() else TEXT

    return [kind(i) for i in range(n_vocab)]


def _build(hparams: Any, stop_ids: list[int], kinds: list[int], prefix: Path, *,
           threads: int) -> tuple[Any, Any, dict]:
    """The sampling graph in a fresh tf.Graph, restored from `prefix` and finalized."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        io = _sampling_graph(tf, hparams, stop_ids, kinds)
        saver = tf.compat.v1.train.Saver(var_list=[v for v in tf.compat.v1.global_variables()
                                                   if v.name.startswith("model/")])
        graph.finalize()  # any op added later (a leak) raises instead of growing memory
    cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads,
                                   inter_op_parallelism_threads=threads)
    sess = tf.compat.v1.Session(graph=graph, config=cfg)
    try:
        saver.restore(sess, str(prefix))
        sess.run(io.pop("init"))
    except (tf.errors.OpError, ValueError) as exc:
        sess.close()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{prefix}: corrupt or incompatible checkpoint ({first}); {_MAKE_HINT}") from exc
    return graph, sess, io


def _forward(tf: Any, hp: Any, tokens: Any, cache: list | None) -> tuple[Any, list]:
    """GPT-2 on tokens [batch, seq] after `cache`; returns the last hidden state and the new cache.

    Same variables as gpt_2_simple.src.model.model (so its checkpoints restore), but the cache is
    one (k, v) pair of [batch, head, seq, features] per layer: one concat per step instead of
    model()'s unstack/stack of a 6-D `past` (several full copies of the cache per token).
    """
    from gpt_2_simple.src import model as m

    v1 = tf.compat.v1
    with v1.variable_scope("model", reuse=v1.AUTO_REUSE):
        wpe = v1.get_variable("wpe", [hp.n_ctx, hp.n_embd])
        wte = v1.get_variable("wte", [hp.n_vocab, hp.n_embd])
        past_len = 0 if cache is None else tf.shape(cache[0][0])[2]
        h = tf.gather(wte, tokens) + tf.gather(wpe, m.positions_for(tokens, past_len))
        new = []
        for layer in range(hp.n_layer):
            with v1.variable_scope(f"h{layer}"):
                a, kv = _attn(tf, m, m.norm(h, "ln_1"), hp, None if cache is None else cache[layer])
                h = h + a
                h = h + m.mlp(m.norm(h, "ln_2"), "mlp", hp.n_embd * 4, hparams=hp)
            new.append(kv)
        return m.norm(h, "ln_f")[:, -1, :], new


def _attn(tf: Any, m: Any, x: Any, hp: Any, past: tuple | None) -> tuple[Any, tuple]:
    """Multi-head self-attention with gpt-2-simple's variable names; past = (k, v) or None."""
    heads = lambda t: tf.transpose(m.split_states(t, hp.n_head), [0, 2, 1, 3])  # noqa: E731
    with tf.compat.v1.variable_scope("attn"):
        q, k, v = map(heads, tf.split(m.conv1d(x, "c_attn", hp.n_embd * 3), 3, axis=2))
        if past is not None:
            k, v = tf.concat([past[0], k], axis=2), tf.concat([past[1], v], axis=2)
        w = tf.matmul(q, k, transpose_b=True) * (1.0 / math.sqrt(hp.n_embd // hp.n_head))
        if past is None:  # the prompt attends causally; a one-token step sees the whole cache
            _, _, nd, ns = m.shape_list(w)
            b = tf.reshape(m.attention_mask(nd, ns, dtype=w.dtype), [1, 1, nd, ns])
            w = w * b - 1e10 * (1 - b)
        a = m.merge_states(tf.transpose(tf.matmul(tf.nn.softmax(w), v), [0, 2, 1, 3]))
        return m.conv1d(a, "c_proj", hp.n_embd), (k, v)


def _sampling_graph(tf: Any, hp: Any, stop_ids: list[int], kinds: list[int]) -> dict[str, Any]:
    """Placeholders in, tokens out: a while_loop over one-token steps with the KV cache."""
    v1 = tf.compat.v1
    io = {
        "context": v1.placeholder(tf.int32, [None, None], name="context"),
        "max_steps": v1.placeholder(tf.int32, [], name="max_steps"),
        "temperature": v1.placeholder(tf.float32, [], name="temperature"),
        "top_k": v1.placeholder(tf.int32, [], name="top_k"),
        "top_p": v1.placeholder(tf.float32, [], name="top_p"),
        "seed": v1.placeholder(tf.int64, [], name="seed"),
        "started": v1.placeholder(tf.bool, [], name="started"),  # the prompt already holds bio text
    }
    context = io["context"]
    rows = tf.shape(context)[0]
    # The prompt minus its last token fills the cache; the loop starts from the last token.
    _, cache0 = _forward(tf, hp, context[:, :-1], None)
    with v1.variable_scope("model", reuse=True):
        wte = v1.get_variable("wte")
    # The LM head as [embd, vocab], made once after restore: matmul(h, wte, transpose_b=True)
    # re-transposes 150 MB every token on CPU (~3x slower for the 124M model).
    wte_t = v1.Variable(tf.transpose(wte), trainable=False, name="lm_head_t")
    io["init"] = wte_t.initializer
    stop = tf.constant(stop_ids, tf.int32)
    kind_of = tf.constant(kinds, tf.int32)

    def body(i, cache, prev, tokens, tail, done, lengths, started):  # type: ignore[no-untyped-def]
        h, cache = _forward(tf, hp, prev[:, tf.newaxis], cache)
        nxt = _pick(tf, tf.matmul(h, wte_t) / io["temperature"], io, i)
        tail = tf.concat([tail[:, 1:], nxt[:, tf.newaxis]], axis=1)
        lengths += tf.cast(tf.logical_not(done), tf.int32)
        kind = tf.gather(kind_of, nxt)
        delim = tf.logical_or(tf.reduce_all(tf.equal(tail, stop), axis=1), tf.equal(kind, PIECE))
        done = tf.logical_or(done, tf.logical_and(started, delim))  # pieces before any text are skipped
        started = tf.logical_or(started, tf.equal(kind, TEXT))
        return (i + 1, cache, nxt, tf.concat([tokens, nxt[:, tf.newaxis]], axis=1), tail, done, lengths,
                started)

    def cond(i, cache, prev, tokens, tail, done, lengths, started):  # type: ignore[no-untyped-def]
        return tf.logical_and(i < io["max_steps"], tf.logical_not(tf.reduce_all(done)))

    kv = tf.TensorShape([None, hp.n_head, None, hp.n_embd // hp.n_head])
    loop_vars = (tf.constant(0), cache0, context[:, -1], context,
                 tf.fill([rows, len(stop_ids)], -1), tf.zeros([rows], tf.bool), tf.zeros([rows], tf.int32),
                 tf.fill([rows], io["started"]))
    invariants = (tf.TensorShape([]), [(kv, kv)] * hp.n_layer, tf.TensorShape([None]),
                  tf.TensorShape([None, None]), tf.TensorShape([None, len(stop_ids)]),
                  tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([None]))
    steps, _, _, tokens, _, done, lengths, _ = tf.nest.map_structure(
        tf.stop_gradient, tf.while_loop(cond, body, loop_vars, shape_invariants=invariants))
    io.update(steps=steps, tokens=tokens, done=done, lengths=lengths)
    return io


def _pick(tf: Any, logits: Any, io: dict[str, Any], i: Any) -> Any:
    """Top-k, then nucleus (top-p) on the sorted survivors, then a stateless draw seeded (seed, step)."""
    values, indices = tf.nn.top_k(logits, k=io["top_k"])  # sorted, largest first
    cum = tf.cumsum(tf.nn.softmax(values), axis=1, exclusive=True)
    values = tf.where(cum < io["top_p"], values, tf.fill(tf.shape(values), -1e10))
    seed = tf.stack([io["seed"], tf.cast(i, tf.int64)])
    choice = tf.random.stateless_categorical(values, 1, seed=seed, dtype=tf.int32)
    return tf.gather(indices, choice, batch_dims=1)[:, 0]
