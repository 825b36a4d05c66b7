"""Batched GPT-2 sampling from a gpt-2-simple checkpoint: one graph per model, early stop, KV cache.

This is the only module of bot/ that imports TensorFlow, and only inside functions, so
`import bot.generate` stays cheap for the CLI's other commands.

Why not gpt_2_simple.generate(): it adds a new sampling graph on every call (memory and time grow
in a long-lived worker) and always samples `length` tokens. Here the graph is built once at load,
the graph is finalized (a guard against op leaks), and one tf.while_loop samples every bio of a call:
batch_size slots, each with a fixed-size KV-cache region written in place; a slot whose bio has written
the end delimiter (or reached its cap) starts the next bio at the next step (continuous batching), so
nobody waits for the slowest bio of a batch, and the loop ends when the last bio is done.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import threading
from collections.abc import Sequence
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
# Delimiter pieces and blanks a text may open with (an overfit model often writes "\n<|startoftext|>"
# before its bio): the sampling loop never draws them before a bio's first word; here they are stripped.
_LEAD_RE = re.compile(r"^(?:\s|<\||\|>|endoftext|startoftext)+")
TEXT, PIECE, BLANK = 0, 1, 2  # token kinds for the sampling loop
_MAKE_HINT = "run `djbios train`, or `djbios model init` / `djbios model download`"
_BUILD_LOCK = threading.Lock()  # the control-flow setting switched while a graph is built is process-wide


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

    def generate(self, nsamples: int, *, batch_size: int, temperature: float, top_k: int,
                 top_p: float, seed: int | None, prefix: str = START,
                 max_tokens: int | Sequence[int] | None = None) -> list[Sample]:
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
    """A gpt-2-simple checkpoint loaded once into its own graph and session, serving batches.

    The KV cache lives in the session's variables, so generate() calls take turns (a lock).
    """

    def __init__(self, graph: Any, session: Any, io: dict[str, Any], enc: Any, hparams: Any,
                 checkpoint: Path, step: int) -> None:
        self._graph, self._sess, self._io, self._enc, self._hp = graph, session, io, enc, hparams
        self._lock = threading.Lock()  # fill and loop share the cache variables: one run at a time
        self.provenance = {"checkpoint": str(checkpoint), "step": step}
        self.last_steps = 0  # loop iterations (token steps) of the last generate() call

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
                 max_tokens: int | Sequence[int] | None = None) -> list[Sample]:
        """Sample nsamples bios, batch_size at a time, in one continuous run; a seed reproduces them.

        max_tokens caps every bio, or each bio on its own when it is a list of nsamples caps.
        """
        if nsamples < 1 or batch_size < 1:
            raise GenerationError("nsamples and batch_size must be at least 1")
        context = self._enc.encode(prefix or START)
        room = self._hp.n_ctx - len(context)
        if max_tokens is None or isinstance(max_tokens, int):
            caps = [max_tokens or default_max_tokens(500)] * nsamples
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
                    [io["tokens"], io["lengths"], io["done"], io["steps"]], feed_dict=feed)
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
    """Per token id: TEXT, PIECE of a delimiter ("<|", "|>", "startoftext", "endoftext") or BLANK.

    A weak model often writes "<|" and fumbles the rest of <|endoftext|>, or starts the next bio
    without ending this one; no piece occurs in bio text, so once a bio has begun each marks its end.
    """
    def kind(i: int) -> int:
        s = enc.decode([i]) if i < len(enc.decoder) else " "
        if "<|" in s or "|>" in s or "startoftext" in s or "endoftext" in s:
            return PIECE
        return BLANK if not s.strip() else TEXT

    return [kind(i) for i in range(n_vocab)]


def _build(hparams: Any, stop_ids: list[int], kinds: list[int], prefix: Path, *,
           threads: int) -> tuple[Any, Any, dict]:
    """The sampling graph in a fresh tf.Graph, restored from `prefix` and finalized."""
    import tensorflow as tf

    graph = tf.Graph()
    with _BUILD_LOCK, graph.as_default():
        v2 = tf.compat.v1.control_flow_v2_enabled()
        # v1 control flow (Enter/Merge/NextIteration) lets the loop write the cache's ref variables in
        # place; a v2 While turns captured variables into values. The setting is restored afterwards.
        tf.compat.v1.disable_control_flow_v2()
        try:
            io = _sampling_graph(tf, hparams, stop_ids, kinds)
        finally:
            if v2:
                tf.compat.v1.enable_control_flow_v2()
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


def _embed(tf: Any, hp: Any) -> tuple[Any, Any]:
    """gpt-2-simple's token and position embeddings (wte, wpe)."""
    v1 = tf.compat.v1
    with v1.variable_scope("model", reuse=v1.AUTO_REUSE):
        return v1.get_variable("wte", [hp.n_vocab, hp.n_embd]), v1.get_variable("wpe", [hp.n_ctx, hp.n_embd])


def _layers(tf: Any, hp: Any, h: Any, attend: Any) -> Any:
    """The transformer blocks and ln_f on h [rows, seq, embd]; attend(layer, q, k, v) does attention."""
    from gpt_2_simple.src import model as m

    v1 = tf.compat.v1
    heads = lambda t: tf.transpose(m.split_states(t, hp.n_head), [0, 2, 1, 3])  # noqa: E731
    with v1.variable_scope("model", reuse=v1.AUTO_REUSE):
        for layer in range(hp.n_layer):
            with v1.variable_scope(f"h{layer}"):
                x = m.norm(h, "ln_1")
                with v1.variable_scope("attn"):
                    qkv = tf.split(m.conv1d(x, "c_attn", hp.n_embd * 3), 3, axis=2)
                    a = attend(layer, *map(heads, qkv))  # [rows, head, seq, features]
                    h = h + m.conv1d(m.merge_states(tf.transpose(a, [0, 2, 1, 3])), "c_proj", hp.n_embd)
                h = h + m.mlp(m.norm(h, "ln_2"), "mlp", hp.n_embd * 4, hparams=hp)
        return m.norm(h, "ln_f")


def _prefill(tf: Any, hp: Any, tokens: Any) -> list[tuple[Any, Any]]:
    """The (k, v) of every layer for tokens [rows, seq] attending causally: [rows, head, seq, features]."""
    from gpt_2_simple.src import model as m

    wte, wpe = _embed(tf, hp)
    kv: list[tuple[Any, Any]] = []

    def attend(layer: int, q: Any, k: Any, v: Any) -> Any:
        kv.append((k, v))
        w = tf.matmul(q, k, transpose_b=True) * (1.0 / math.sqrt(hp.n_embd // hp.n_head))
        _, _, nd, ns = m.shape_list(w)
        b = tf.reshape(m.attention_mask(nd, ns, dtype=w.dtype), [1, 1, nd, ns])
        return tf.matmul(tf.nn.softmax(w * b - 1e10 * (1 - b)), v)

    _layers(tf, hp, tf.gather(wte, tokens) + tf.gather(wpe, m.positions_for(tokens, 0)), attend)
    return kv


def _step(tf: Any, hp: Any, prev: Any, pos: Any, cache: list[tuple[Any, Any]], slot_len: Any) -> Any:
    """One token per slot: prev [rows] at its own position pos [rows]; returns h [rows, embd].

    cache holds one (k, v) pair of variables of [rows, head, slot_len, features] per layer: a fixed-size
    region per slot. Each slot writes its new key and value at index `pos` in place and attends to
    indices <= pos; what a finished bio left beyond that is masked, so a slot can start a new bio
    without clearing anything. Measured alternatives all copy the whole cache every token: a concat
    (the old loop), a functional tensor_scatter_nd_update inside the loop, and a resource variable
    (its scatter switches reads to copy-on-read). A ref variable's scatter returns the written buffer.
    """
    wte, wpe = _embed(tf, hp)
    rows, n_head = tf.shape(prev)[0], hp.n_head
    where = tf.stack([tf.tile(tf.range(rows)[:, tf.newaxis], [1, n_head]),
                      tf.tile(tf.range(n_head)[tf.newaxis, :], [rows, 1]),
                      tf.tile(pos[:, tf.newaxis], [1, n_head])], axis=-1)  # [rows, head, 3]
    hidden = tf.where(tf.range(slot_len)[tf.newaxis, :] <= pos[:, tf.newaxis], 0.0, -1e10)
    hidden = hidden[:, tf.newaxis, tf.newaxis, :]  # [rows, 1, 1, slot_len]

    def attend(layer: int, q: Any, k: Any, v: Any) -> Any:
        keys = tf.compat.v1.scatter_nd_update(cache[layer][0], where, k[:, :, 0, :])  # the written buffer
        values = tf.compat.v1.scatter_nd_update(cache[layer][1], where, v[:, :, 0, :])
        keys.set_shape(k.shape[:2].concatenate([None, k.shape[3]]))  # the variables' shape is open
        values.set_shape(keys.shape)
        w = tf.matmul(q, keys, transpose_b=True) * (1.0 / math.sqrt(hp.n_embd // hp.n_head)) + hidden
        return tf.matmul(tf.nn.softmax(w), values)

    h = _layers(tf, hp, (tf.gather(wte, prev) + tf.gather(wpe, pos))[:, tf.newaxis, :], attend)
    return h[:, 0, :]


def slot_cache(tf: Any, hp: Any) -> list[tuple[Any, Any]]:
    """Per layer a (k, v) pair of ref variables whose shape each run sets with its first assign."""
    v1, feat = tf.compat.v1, hp.n_embd // hp.n_head

    def var(name: str) -> Any:
        return v1.Variable(tf.zeros([0, hp.n_head, 0, feat]), validate_shape=False,
                           use_resource=False, trainable=False, name=name)

    with v1.variable_scope("slot_cache"):
        return [(var(f"k{layer}"), var(f"v{layer}")) for layer in range(hp.n_layer)]


def _sampling_graph(tf: Any, hp: Any, stop_ids: list[int], kinds: list[int]) -> dict[str, Any]:
    """Placeholders in, bios out: a while_loop of one-token steps over `rows` slots (continuous batching).

    All bios share the prompt, whose cache is computed once and copied into every slot. When a slot's
    bio ends (delimiter or its cap) the same step hands the slot the next bio, so a batch never waits
    for its slowest bio while the others idle; the loop ends when every bio is done.
    """
    v1 = tf.compat.v1
    io = {
        "context": v1.placeholder(tf.int32, [None], name="context"),  # the prompt's tokens
        "caps": v1.placeholder(tf.int32, [None], name="caps"),  # per bio: at most this many tokens
        "rows": v1.placeholder(tf.int32, [], name="rows"),  # slots sampled together (the batch size)
        "temperature": v1.placeholder(tf.float32, [], name="temperature"),
        "top_k": v1.placeholder(tf.int32, [], name="top_k"),
        "top_p": v1.placeholder(tf.float32, [], name="top_p"),
        "seed": v1.placeholder(tf.int64, [], name="seed"),
        "started": v1.placeholder(tf.bool, [], name="started"),  # the prompt already holds bio text
    }
    context, caps, rows = io["context"], io["caps"], io["rows"]
    n, head = tf.size(caps), len(stop_ids)
    fed = tf.size(context) - 1  # the prompt minus its last token fills the cache; a bio starts there
    first = context[-1]
    slot_len = fed + tf.reduce_max(caps)
    prompt_kv = _prefill(tf, hp, context[tf.newaxis, :-1])
    pad = lambda t: tf.pad(tf.tile(t, [rows, 1, 1, 1]), [[0, 0], [0, 0], [0, slot_len - fed], [0, 0]])  # noqa: E731
    cache = slot_cache(tf, hp)
    # Every slot's region starts with the prompt's keys and values: run io["fill"] before the loop
    # (a control dependency does not order reads of a variable by reference inside a v1 loop).
    fill = [v1.assign(var, pad(t), validate_shape=False) for pair, kv in zip(cache, prompt_kv)
            for var, t in zip(pair, kv)]
    wte, _ = _embed(tf, hp)
    # The LM head as [embd, vocab], made once after restore: matmul(h, wte, transpose_b=True)
    # re-transposes 150 MB every token on CPU (~3x slower for the 124M model).
    wte_t = v1.Variable(tf.transpose(wte), trainable=False, name="lm_head_t")
    io["init"] = wte_t.initializer
    stop = tf.constant(stop_ids, tf.int32)
    is_piece = tf.constant([k == PIECE for k in kinds], tf.bool)
    not_text = tf.constant([k != TEXT for k in kinds], tf.bool)
    cap_of = tf.concat([caps, [2**30]], axis=0)  # index n: the bio of an idle slot, never finishes

    def body(i, prev, pos, bio, length, tail, nxt_bio, out, lengths, done):  # type: ignore[no-untyped-def]
        h = _step(tf, hp, prev, pos, cache, slot_len)
        logits = tf.matmul(h, wte_t) / io["temperature"]
        # Until a bio has its first word, only text tokens may be drawn. A small model often answers
        # "<|startoftext|>" with "\n<|startoftext|>" again (in training "|>" is followed by a newline
        # as often as by a name): those steps were skipped but spent, up to the whole cap. So a bio has
        # begun once it has a token (or its prompt holds text), and no piece can come before that.
        started = tf.logical_or(io["started"], length > 0)
        banned = tf.logical_and(tf.logical_not(started)[:, tf.newaxis], not_text[tf.newaxis, :])
        logits = tf.where(banned, tf.fill(tf.shape(logits), -1e10), logits)
        tok = _pick(tf, logits, io, i)
        at = tf.stack([bio, tf.minimum(length, tf.shape(out)[1] - 1)], 1)  # idle slots: spare row n
        out = tf.tensor_scatter_nd_update(out, at, tok)
        length += 1
        tail = tf.concat([tail[:, 1:], tok[:, tf.newaxis]], axis=1)
        ended = tf.logical_or(tf.reduce_all(tf.equal(tail, stop), axis=1), tf.gather(is_piece, tok))
        finished = tf.logical_and(bio < n, tf.logical_or(ended, length >= tf.gather(cap_of, bio)))
        slot = tf.where(finished, bio, n)[:, tf.newaxis]  # unfinished slots write to the spare row n
        lengths = tf.tensor_scatter_nd_update(lengths, slot, length)
        done = tf.tensor_scatter_nd_update(done, slot, ended)
        # Finished slots take the next bios in slot order; past the last bio a slot idles (bio = n).
        rank = tf.cumsum(tf.cast(finished, tf.int32), exclusive=True)
        bio = tf.where(finished, tf.minimum(nxt_bio + rank, n), bio)
        nxt_bio += tf.reduce_sum(tf.cast(finished, tf.int32))
        fresh = lambda new, old: tf.where(finished, new, old)  # noqa: E731
        pos = tf.minimum(pos + 1, slot_len - 1)  # an idle slot keeps writing its last index
        return (i + 1, fresh(tf.fill([rows], first), tok), fresh(tf.fill([rows], fed), pos), bio,
                fresh(tf.zeros([rows], tf.int32), length),
                tf.where(finished[:, tf.newaxis], tf.fill([rows, head], -1), tail), nxt_bio, out, lengths, done)

    def cond(i, prev, pos, bio, *_):  # type: ignore[no-untyped-def]
        return tf.reduce_any(bio < n)

    slots = tf.range(rows)
    loop_vars = (tf.constant(0), tf.fill([rows], first), tf.fill([rows], fed),
                 tf.where(slots < n, slots, n), tf.zeros([rows], tf.int32), tf.fill([rows, head], -1),
                 tf.minimum(rows, n),
                 tf.zeros([n + 1, tf.reduce_max(caps)], tf.int32), tf.zeros([n + 1], tf.int32),
                 tf.zeros([n + 1], tf.bool))
    vec = tf.TensorShape([None])
    invariants = (tf.TensorShape([]), vec, vec, vec, vec,
                  tf.TensorShape([None, head]), tf.TensorShape([]), tf.TensorShape([None, None]), vec, vec)
    steps, *_, out, lengths, done = tf.nest.map_structure(
        tf.stop_gradient, tf.while_loop(cond, body, loop_vars, shape_invariants=invariants,
                                        parallel_iterations=1))  # each step reads the last one's writes
    io.update(fill=tf.group(fill), steps=steps, tokens=out[:n], lengths=lengths[:n], done=done[:n])
    return io


def _pick(tf: Any, logits: Any, io: dict[str, Any], i: Any) -> Any:
    """Top-k, then nucleus (top-p) on the sorted survivors, then a stateless draw seeded (seed, step)."""
    values, indices = tf.nn.top_k(logits, k=io["top_k"])  # sorted, largest first
    cum = tf.cumsum(tf.nn.softmax(values), axis=1, exclusive=True)
    values = tf.where(cum < io["top_p"], values, tf.fill(tf.shape(values), -1e10))
    seed = tf.stack([io["seed"], tf.cast(i, tf.int64)])
    choice = tf.random.stateless_categorical(values, 1, seed=seed, dtype=tf.int32)
    return tf.gather(indices, choice, batch_dims=1)[:, 0]
