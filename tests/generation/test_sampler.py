"""bot.generation (sampler, refill) and `djbios generate` against the real tiny gpt-2-simple checkpoint.

Tests that sample from the tiny model are marked slow (the fixture fine-tunes it once, ~10 s).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import default_max_tokens, load_config
from bot.errors import GenerationError, ModelError
from bot.generation.checkpoint import find_checkpoint
from bot.generation.graph import TEXT
from bot.generation.refill import generate_batch
from bot.generation.sampler import GPT2Generator, _token_kinds, split_text
from bot.store.store import Store

SAMPLING = {"temperature": 0.8, "top_k": 40, "top_p": 0.0}


@pytest.fixture(scope="module")
def gen(tiny_checkpoint):  # type: ignore[no-untyped-def]
    """The tiny checkpoint loaded once for the module, as the worker does."""
    g = GPT2Generator.load(tiny_checkpoint.run_dir)
    yield g
    g.close()


def write_config(tmp_path: Path, ckpt, extra: str = "") -> Path:  # type: ignore[no-untyped-def]
    """bot.toml pointing at the tiny checkpoint and a SQLite file in tmp_path."""
    path = tmp_path / "bot.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "djbios.db"}"\n'
        f'[model]\ncheckpoint_dir = "{ckpt.checkpoint_dir}"\nrun_name = "{ckpt.run_name}"\n'
        f'[corpus]\npath = "{tmp_path / "no-corpus.txt"}"\n'
        f"[generate]\nbatch_size = 4\nmax_tokens = 300\n{extra}",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [1, 4])
def test_batch_sizes_give_nsamples(gen, batch_size):  # type: ignore[no-untyped-def]
    samples = gen.generate(3, batch_size=batch_size, seed=5, max_tokens=40, **SAMPLING)
    assert len(samples) == 3
    assert all(0 < s.tokens <= 40 for s in samples)
    tokens = [s.tokens for s in samples]
    # one slot samples the bios one after another; 4 slots (3 used) sample them side by side
    assert gen.last_steps == (sum(tokens) if batch_size == 1 else max(tokens))


@pytest.mark.slow
def test_same_seed_same_texts_other_seed_other_texts(gen):  # type: ignore[no-untyped-def]
    a = gen.generate(4, batch_size=2, seed=11, max_tokens=60, **SAMPLING)
    b = gen.generate(4, batch_size=2, seed=11, max_tokens=60, **SAMPLING)
    c = gen.generate(4, batch_size=2, seed=12, max_tokens=60, **SAMPLING)
    assert [s.text for s in a] == [s.text for s in b]
    assert [s.text for s in a] != [s.text for s in c]
    assert [s.seed for s in a] == [11] * 4  # one run, one seed


@pytest.mark.slow
def test_early_stop_takes_fewer_steps_than_the_cap(gen):  # type: ignore[no-untyped-def]
    # One slot: the loop count is exactly the sum of the bios' lengths, so a bio that met the
    # delimiter shows its slot moved on right there, far below the cap.
    # The tiny model is barely trained (it ends roughly half its bios), hence 16 tries.
    samples = gen.generate(16, batch_size=1, seed=0, max_tokens=300, **SAMPLING)
    assert gen.last_steps == sum(s.tokens for s in samples)
    assert any(s.complete and s.tokens < 300 for s in samples)
    assert all(s.complete for s in samples if s.tokens < 300)  # only the delimiter stops early
    assert not any("endoftext" in s.text for s in samples if s.complete)


@pytest.mark.slow
def test_a_single_batch_stops_with_its_slowest_row(gen):  # type: ignore[no-untyped-def]
    samples = gen.generate(4, batch_size=4, seed=0, max_tokens=300, **SAMPLING)
    assert gen.last_steps == max(s.tokens for s in samples)
    assert all(s.tokens == 300 for s in samples if not s.complete)


@pytest.mark.slow
def test_a_slot_whose_bio_ended_starts_the_next_bio(gen):  # type: ignore[no-untyped-def]
    # Continuous batching: 12 bios in 3 slots. Without refilling, the run would take the sum of
    # the slowest bio of each group of 3; with it, about a third of all tokens.
    samples = gen.generate(12, batch_size=3, seed=0, max_tokens=120, **SAMPLING)
    tokens = [s.tokens for s in samples]
    assert len(samples) == 12 and all(0 < t <= 120 for t in tokens)
    assert -(-sum(tokens) // 3) <= gen.last_steps < sum(max(tokens[i : i + 3]) for i in range(0, 12, 3))
    assert all(s.complete for s in samples if s.tokens < 120)
    again = gen.generate(12, batch_size=3, seed=0, max_tokens=120, **SAMPLING)
    assert [s.text for s in again] == [s.text for s in samples]


@pytest.mark.slow
def test_every_bio_opens_with_text(gen):  # type: ignore[no-untyped-def]
    # Before a bio's first word only text tokens may be drawn: no step is spent on "\n<|startoftext|>".
    samples = gen.generate(8, batch_size=8, seed=4, max_tokens=30, **SAMPLING)
    assert all(s.text.strip() for s in samples)
    kinds = _token_kinds(gen._enc, gen._hp.n_vocab)
    assert sum(k != TEXT for k in kinds) >= 10  # newlines, spaces and delimiter pieces exist
    # 512 first tokens drawn almost uniformly (temperature 100, no top-k): unmasked, several would be
    # blanks or pieces.
    io = gen._io  # 64 slots for 512 one-token bios: every slot is refilled at every step
    feed = {
        io["context"]: gen._enc.encode("<|startoftext|>"),
        io["caps"]: [1] * 512,
        io["rows"]: 64,
        io["temperature"]: 100.0,
        io["top_k"]: gen._hp.n_vocab,
        io["top_p"]: 2.0,
        io["seed"]: 4,
        io["started"]: False,
    }
    gen._sess.run(io["fill"], feed)
    firsts = gen._sess.run(io["tokens"], feed)[:, 0]
    assert all(kinds[int(t)] == TEXT for t in firsts)


@pytest.mark.slow
def test_a_refilled_slot_writes_what_a_fresh_one_does(gen):  # type: ignore[no-untyped-def]
    # Greedy (top_k 1): every bio is the same text, whichever slot it gets and whenever it starts,
    # unless a refilled slot kept something of its last bio (position, previous token, cache, tail).
    greedy = {"temperature": 1.0, "top_k": 1, "top_p": 0.0}
    one = gen.generate(1, batch_size=1, seed=0, max_tokens=40, **greedy)[0].text
    for n, rows in ((6, 1), (12, 3), (5, 4)):
        texts = [s.text for s in gen.generate(n, batch_size=rows, seed=n, max_tokens=40, **greedy)]
        assert texts == [one] * n, (n, rows)


@pytest.mark.slow
def test_each_bio_can_have_its_own_cap(gen):  # type: ignore[no-untyped-def]
    caps = [1, 2, 3, 5, 8, 13]
    samples = gen.generate(6, batch_size=2, seed=0, max_tokens=caps, **SAMPLING)
    assert all(s.tokens <= cap for s, cap in zip(samples, caps))
    assert all(s.tokens == cap for s, cap in zip(samples, caps) if not s.complete)
    with pytest.raises(GenerationError, match="caps"):
        gen.generate(3, batch_size=2, max_tokens=[5, 5])
    with pytest.raises(GenerationError, match="at least 1"):
        gen.generate(2, batch_size=2, max_tokens=(0, 5))


@pytest.mark.slow
def test_cap_marks_unfinished_samples_incomplete(gen):  # type: ignore[no-untyped-def]
    samples = gen.generate(4, batch_size=4, seed=0, max_tokens=3, **SAMPLING)
    assert gen.last_steps == 3
    assert not all(s.complete for s in samples)


@pytest.mark.slow
def test_prompt_starts_the_bio(gen):  # type: ignore[no-untyped-def]
    samples = gen.generate(3, batch_size=3, seed=2, max_tokens=40, prefix="<|startoftext|>Stella Zekri", **SAMPLING)
    assert all(s.text.startswith("Stella Zekri") for s in samples)


@pytest.mark.slow
def test_top_p_and_no_top_k_still_sample(gen):  # type: ignore[no-untyped-def]
    samples = gen.generate(2, batch_size=2, seed=3, max_tokens=20, temperature=1.0, top_k=0, top_p=0.9)
    assert len(samples) == 2 and all(s.tokens > 0 for s in samples)


@pytest.mark.slow
def test_ten_batches_keep_the_graph_op_count_constant(gen):  # type: ignore[no-untyped-def]
    ops = gen.op_count
    for i in range(10):
        gen.generate(2, batch_size=2, seed=i, max_tokens=20, **SAMPLING)
    assert gen.op_count == ops
    assert gen._graph.finalized


@pytest.mark.slow
def test_twenty_batches_keep_memory_flat(gen):  # type: ignore[no-untyped-def]
    import psutil

    proc = psutil.Process()
    for i in range(5):  # warm-up: allocator pools, BPE cache
        gen.generate(4, batch_size=4, seed=i, max_tokens=60, **SAMPLING)
    before = proc.memory_info().rss
    for i in range(20):
        gen.generate(4, batch_size=4, seed=100 + i, max_tokens=60, **SAMPLING)
    assert proc.memory_info().rss - before <= 5 * 2**20


@pytest.mark.slow
def test_provenance_names_checkpoint_and_step(gen, tiny_checkpoint):  # type: ignore[no-untyped-def]
    assert gen.provenance["step"] == tiny_checkpoint.step
    assert gen.provenance["checkpoint"].startswith(str(tiny_checkpoint.run_dir))


def test_missing_checkpoint_is_one_line_naming_path_and_command(tmp_path):  # type: ignore[no-untyped-def]
    with pytest.raises(ModelError) as err:
        GPT2Generator.load(tmp_path / "checkpoint" / "run1")
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / "checkpoint" / "run1") in msg and "djbios train" in msg


@pytest.mark.slow
def test_unknown_step_lists_the_steps_there(tiny_checkpoint):  # type: ignore[no-untyped-def]
    with pytest.raises(ModelError, match="step 999 .*have: 20"):
        find_checkpoint(tiny_checkpoint.run_dir, 999)


@pytest.mark.slow
def test_corrupt_checkpoint_is_a_model_error(tiny_checkpoint, tmp_path):  # type: ignore[no-untyped-def]
    run = tmp_path / "run1"
    shutil.copytree(tiny_checkpoint.run_dir, run)
    for data in run.glob("*.data-*"):
        data.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError) as err:
        GPT2Generator.load(run)
    assert "\n" not in str(err.value) and "djbios train" in str(err.value)


@pytest.mark.parametrize(
    "raw, stopped, want",
    [
        ("A bio.<|endoftext|>junk", False, ("A bio.", True)),
        ("A bio.<|endoftext", True, ("A bio.", True)),
        ("A bio that goes on", False, ("A bio that goes on", False)),
        ("A bio.<|endoftext", False, ("A bio.<|endoftext", False)),
        ("A bio.<| in a", True, ("A bio.", True)),  # stopped at the delimiter's opening "<|"
        ("A bio.<|startoftext|>Another", True, ("A bio.", True)),
        ("A bio in thestartoftext|>", True, ("A bio in the", True)),  # the next bio began without an end
        ("\n<|startoftext|>A bio.<|endoftext", True, ("A bio.", True)),  # leading pieces are skipped
    ],
)
def test_split_text(raw, stopped, want):  # type: ignore[no-untyped-def]
    assert split_text(raw, stopped) == want


def test_default_cap_follows_the_posting_limit():
    assert default_max_tokens(500) < 1023
    assert default_max_tokens(500) * 3 >= 500


@pytest.mark.slow
def test_generate_batch_stores_provenance(gen, tiny_checkpoint, tmp_path):  # type: ignore[no-untyped-def]
    cfg = load_config(write_config(tmp_path, tiny_checkpoint))
    store = Store.open(f"sqlite:///{tmp_path / 'b.db'}")
    summary = generate_batch(cfg, store, gen, n=4, prompt="Stella Zekri", pronouns="she", seed=9)
    rows = store.list()
    assert summary.made == 4 and len(rows) + summary.rejected.get("empty", 0) == 4
    assert summary.queued == sum(r.status == "pending" for r in rows)
    for r in rows:
        assert (r.checkpoint, r.step, r.prompt, r.pronouns) == (gen.provenance["checkpoint"], 20, "Stella Zekri", "she")
        assert r.seed == 9 and r.batch_id == summary.batch_id
        assert r.params["temperature"] == cfg.generate.temperature and r.params["max_tokens"] == 300
        assert "generation_seconds" in r.scores
    store.close()


@pytest.mark.slow
def test_cli_generate_stores_candidates_and_prints_summary(tiny_checkpoint, tmp_path):  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, tiny_checkpoint)
    res = CliRunner().invoke(
        cli,
        ["--config", str(config), "generate", "-n", "4", "--seed", "3", "--prompt", "Ana Kraus", "--pronouns", "they"],
    )
    assert res.exit_code == 0, res.output
    assert "made 4" in res.output and "queued" in res.output and "rejected" in res.output
    store = Store.open(f"sqlite:///{tmp_path / 'djbios.db'}")
    rows = store.list()
    assert rows and all(r.step == 20 and r.seed == 3 and r.pronouns == "they" for r in rows)
    assert all(r.text.startswith("Ana Kraus") for r in rows)
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bios.txt", "bios.jsonl"])
def test_cli_to_file_writes_every_bio(tiny_checkpoint, tmp_path, name):  # type: ignore[no-untyped-def]
    config, out = write_config(tmp_path, tiny_checkpoint), tmp_path / name
    res = CliRunner().invoke(
        cli, ["--config", str(config), "generate", "-n", "5", "--seed", "1", "--to-file", str(out)]
    )
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    if name.endswith(".jsonl"):
        rows = [json.loads(line) for line in text.splitlines()]
        assert len(rows) == 5 and rows[0]["step"] == 20 and "complete" in rows[0]
    else:
        assert text.count("<|startoftext|>") == 5 and text.count("<|endoftext|>") == 5
    assert not (tmp_path / "djbios.db").exists()  # nothing stored in bulk mode


def test_cli_missing_checkpoint_is_one_line(tmp_path):  # type: ignore[no-untyped-def]
    config = tmp_path / "bot.toml"
    config.write_text(f'[model]\ncheckpoint_dir = "{tmp_path / "nowhere"}"\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["--config", str(config), "generate", "-n", "1"])
    assert res.exit_code == 1
    assert res.output.count("\n") == 1 and "djbios train" in res.output


def test_importing_bot_generate_does_not_load_tensorflow():
    code = "import sys, bot.generation.sampler, bot.generation.refill; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2]).returncode == 0


@pytest.mark.slow
def test_slot_step_matches_gpt2_simple_model(tiny_checkpoint):  # type: ignore[no-untyped-def]
    """Two slots at different positions, with stale keys beyond them, give the reference logits."""
    import numpy as np
    import tensorflow as tf
    from gpt_2_simple.src import model

    from bot.generation.checkpoint import load_vocab as _load_vocab
    from bot.generation.graph import decode_step as _step
    from bot.generation.graph import prefill as _prefill
    from bot.generation.graph import slot_cache

    _, hp = _load_vocab(tiny_checkpoint.run_dir)
    prefix, _ = find_checkpoint(tiny_checkpoint.run_dir)
    rng = np.random.RandomState(0)
    seqs = [rng.randint(0, hp.n_vocab, size=(1, n)) for n in (9, 6)]
    with tf.Graph().as_default():
        xs = [tf.constant(x, tf.int32) for x in seqs]
        refs = [model.model(hp, x, reuse=tf.compat.v1.AUTO_REUSE)["logits"][0, -1, :] for x in xs]
        slot_len, head = 12, hp.n_embd // hp.n_head
        cache, fill = slot_cache(tf, hp), []
        for pair, (ka, va), (kb, vb) in zip(cache, _prefill(tf, hp, xs[0][:, :-1]), _prefill(tf, hp, xs[1][:, :-1])):
            # What an earlier, longer bio left in the slot must be masked, not attended to.
            stale = lambda t: tf.concat(  # noqa: E731
                [t, tf.fill([1, hp.n_head, slot_len - t.shape[2], head], 3.0)], axis=2
            )
            fill += [
                tf.compat.v1.assign(pair[0], tf.concat([stale(ka), stale(kb)], 0), validate_shape=False),
                tf.compat.v1.assign(pair[1], tf.concat([stale(va), stale(vb)], 0), validate_shape=False),
            ]
        prev = tf.constant([seqs[0][0, -1], seqs[1][0, -1]], tf.int32)
        h = _step(tf, hp, prev, tf.constant([8, 5], tf.int32), cache, slot_len)
        wte = [v for v in tf.compat.v1.global_variables() if v.name == "model/wte:0"][0]
        ours = tf.matmul(h, wte, transpose_b=True)
        with tf.compat.v1.Session() as sess:
            tf.compat.v1.train.Saver(
                [v for v in tf.compat.v1.global_variables() if v.name.startswith("model/")]
            ).restore(sess, str(prefix))
            sess.run(fill)
            a, b = sess.run([tf.stack(refs), ours])
    assert np.allclose(a, b, atol=1e-4)
