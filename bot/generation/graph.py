"""The TensorFlow sampling graph: one tf.while_loop over batch slots with an in-place KV cache.

Built once per loaded model and finalized (any op added later raises instead of leaking memory).
Each slot owns a fixed-size region of the KV cache written in place; a slot whose bio has written the
end delimiter (or reached its cap) starts the next bio at the next step (continuous batching), so no
bio waits for the slowest of a batch, and the loop ends when the last bio is done.
TensorFlow is imported inside functions only: importing this module costs nothing.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

from bot.errors import ModelError
from bot.generation.checkpoint import MAKE_HINT

TEXT, PIECE, BLANK = 0, 1, 2  # token kinds: bio text, a piece of a delimiter, whitespace
_BUILD_LOCK = threading.Lock()  # the control-flow setting switched while a graph is built is process-wide


def build(hparams: Any, stop_ids: list[int], kinds: list[int], prefix: Path, *, threads: int) -> tuple[Any, Any, dict]:
    """The sampling graph in a fresh tf.Graph, restored from `prefix` and finalized."""
    import tensorflow as tf

    graph = tf.Graph()
    with _BUILD_LOCK, graph.as_default():
        v2 = tf.compat.v1.control_flow_v2_enabled()
        # v1 control flow (Enter/Merge/NextIteration) lets the loop write the cache's ref variables in
        # place; a v2 While turns captured variables into values. The setting is restored afterwards.
        tf.compat.v1.disable_control_flow_v2()
        try:
            io = sampling_graph(tf, hparams, stop_ids, kinds)
        finally:
            if v2:
                tf.compat.v1.enable_control_flow_v2()
        saver = tf.compat.v1.train.Saver(
            var_list=[v for v in tf.compat.v1.global_variables() if v.name.startswith("model/")]
        )
        graph.finalize()  # any op added later (a leak) raises instead of growing memory
    cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
    sess = tf.compat.v1.Session(graph=graph, config=cfg)
    try:
        saver.restore(sess, str(prefix))
        sess.run(io.pop("init"))
    except (tf.errors.OpError, ValueError) as exc:
        sess.close()
        raise ModelError(restore_error(prefix, exc)) from exc
    return graph, sess, io


# Lines of TensorFlow's error text that say where, not what: the cause is the first line after them.
_WHERE_LINES = (
    "Graph execution error",
    "Detected at node",
    "File ",
    "Node:",
    "[[",
    "Original stack trace",
    "Restoring from checkpoint failed",
    "Caused by op",
)
_DAMAGED = ("DataLossError", "OutOfRangeError")  # a truncated or garbled file


def restore_error(prefix: Path, exc: BaseException) -> str:
    """One line for a checkpoint that would not restore, with TensorFlow's actual cause in it."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cause = next((line for line in lines if not line.startswith(_WHERE_LINES)), "")
    kind = type(exc).__name__
    detail = f"{kind}: {cause}" if cause else kind
    if kind in _DAMAGED:
        return (
            f"{prefix}: the checkpoint files are truncated or damaged ({detail}); copy them again, "
            f"pick another step with [model] checkpoint_step, or {MAKE_HINT}"
        )
    return (
        f"{prefix}: corrupt or incompatible checkpoint ({detail}); check that hparams.json belongs "
        f"to these weights, or {MAKE_HINT}"
    )


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


def prefill(tf: Any, hp: Any, tokens: Any) -> list[tuple[Any, Any]]:
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


def decode_step(tf: Any, hp: Any, prev: Any, pos: Any, cache: list[tuple[Any, Any]], slot_len: Any) -> Any:
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
    where = tf.stack(
        [
            tf.tile(tf.range(rows)[:, tf.newaxis], [1, n_head]),
            tf.tile(tf.range(n_head)[tf.newaxis, :], [rows, 1]),
            tf.tile(pos[:, tf.newaxis], [1, n_head]),
        ],
        axis=-1,
    )  # [rows, head, 3]
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
        return v1.Variable(
            tf.zeros([0, hp.n_head, 0, feat]), validate_shape=False, use_resource=False, trainable=False, name=name
        )

    with v1.variable_scope("slot_cache"):
        return [(var(f"k{layer}"), var(f"v{layer}")) for layer in range(hp.n_layer)]


def sampling_graph(tf: Any, hp: Any, stop_ids: list[int], kinds: list[int]) -> dict[str, Any]:
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
    prompt_kv = prefill(tf, hp, context[tf.newaxis, :-1])
    pad = lambda t: tf.pad(tf.tile(t, [rows, 1, 1, 1]), [[0, 0], [0, 0], [0, slot_len - fed], [0, 0]])  # noqa: E731
    cache = slot_cache(tf, hp)
    # Every slot's region starts with the prompt's keys and values: run io["fill"] before the loop
    # (a control dependency does not order reads of a variable by reference inside a v1 loop).
    fill = [
        v1.assign(var, pad(t), validate_shape=False) for pair, kv in zip(cache, prompt_kv) for var, t in zip(pair, kv)
    ]
    wte, _ = _embed(tf, hp)
    # The LM head as [embd, vocab], made once after restore: matmul(h, wte, transpose_b=True)
    # re-transposes the whole embedding (150 MB for 124M) every token on CPU (bench/RESULTS.md, "Generation").
    wte_t = v1.Variable(tf.transpose(wte), trainable=False, name="lm_head_t")
    io["init"] = wte_t.initializer
    stop = tf.constant(stop_ids, tf.int32)
    is_piece = tf.constant([k == PIECE for k in kinds], tf.bool)
    not_text = tf.constant([k != TEXT for k in kinds], tf.bool)
    cap_of = tf.concat([caps, [2**30]], axis=0)  # index n: the bio of an idle slot, never finishes

    def body(i, prev, pos, bio, length, tail, nxt_bio, out, lengths, done):  # type: ignore[no-untyped-def]
        h = decode_step(tf, hp, prev, pos, cache, slot_len)
        logits = tf.matmul(h, wte_t) / io["temperature"]
        # Until a bio has its first word, only text tokens may be drawn. A small model often answers
        # "<|startoftext|>" with "\n<|startoftext|>" again (in training "|>" is followed by a newline
        # as often as by a name): those steps were skipped but spent, up to the whole cap. So a bio has
        # begun once it has a token (or its prompt holds text), and no piece can come before that.
        started = tf.logical_or(io["started"], length > 0)
        banned = tf.logical_and(tf.logical_not(started)[:, tf.newaxis], not_text[tf.newaxis, :])
        logits = tf.where(banned, tf.fill(tf.shape(logits), -1e10), logits)
        tok = pick(tf, logits, io, i)
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
        return (
            i + 1,
            fresh(tf.fill([rows], first), tok),
            fresh(tf.fill([rows], fed), pos),
            bio,
            fresh(tf.zeros([rows], tf.int32), length),
            tf.where(finished[:, tf.newaxis], tf.fill([rows, head], -1), tail),
            nxt_bio,
            out,
            lengths,
            done,
        )

    def cond(i, prev, pos, bio, *_):  # type: ignore[no-untyped-def]
        return tf.reduce_any(bio < n)

    slots = tf.range(rows)
    loop_vars = (
        tf.constant(0),
        tf.fill([rows], first),
        tf.fill([rows], fed),
        tf.where(slots < n, slots, n),
        tf.zeros([rows], tf.int32),
        tf.fill([rows, head], -1),
        tf.minimum(rows, n),
        tf.zeros([n + 1, tf.reduce_max(caps)], tf.int32),
        tf.zeros([n + 1], tf.int32),
        tf.zeros([n + 1], tf.bool),
    )
    vec = tf.TensorShape([None])
    invariants = (
        tf.TensorShape([]),
        vec,
        vec,
        vec,
        vec,
        tf.TensorShape([None, head]),
        tf.TensorShape([]),
        tf.TensorShape([None, None]),
        vec,
        vec,
    )
    steps, *_, out, lengths, done = tf.nest.map_structure(
        tf.stop_gradient, tf.while_loop(cond, body, loop_vars, shape_invariants=invariants, parallel_iterations=1)
    )  # each step reads the last one's writes
    io.update(fill=tf.group(fill), steps=steps, tokens=out[:n], lengths=lengths[:n], done=done[:n])
    return io


def pick(tf: Any, logits: Any, io: dict[str, Any], i: Any) -> Any:
    """Top-k, then nucleus (top-p) on the sorted survivors, then a stateless draw seeded (seed, step)."""
    values, indices = tf.nn.top_k(logits, k=io["top_k"])  # sorted, largest first
    cum = tf.cumsum(tf.nn.softmax(values), axis=1, exclusive=True)
    values = tf.where(cum < io["top_p"], values, tf.fill(tf.shape(values), -1e10))
    seed = tf.stack([io["seed"], tf.cast(i, tf.int64)])
    choice = tf.random.stateless_categorical(values, 1, seed=seed, dtype=tf.int32)
    return tf.gather(indices, choice, batch_dims=1)[:, 0]
