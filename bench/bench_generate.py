"""Generation speed and memory: stock gpt_2_simple.generate() vs djbios vs transformers, batch 8.

A 124M-shaped GPT-2 with random weights (speed does not depend on their values) is made once with
training.model.init_model; its BPE vocabulary is trained on the CC0 Discogs profiles in
$DJBIOS_PROFILES_DIR (read in place, never copied into the repo). Each engine runs in its own process so
RSS and TensorFlow's process-wide state stay separate.

Two cases:
- fixed: one batch of 8 bios of exactly --tokens tokens each (pure per-token speed; random weights
  never write the end delimiter, so djbios runs the full cap too);
- realistic: --bios bios (default 32) whose lengths are drawn from held-out Discogs profiles that fit a
  post (60-500 chars), tokenized with this vocabulary. Random weights never end a bio, so each bio's
  drawn length is given to djbios as that bio's own token cap: it ends exactly there, as if it had
  written the delimiter. Stock gpt-2-simple always samples `length` (128 here, as the issue measured).
  transformers runs the bios in batches of 8, each batch exactly as long as its longest bio (as if it
  stopped at the delimiter, e.g. via stop strings: this favours it). djbios runs them twice: "batches"
  (8 at a time, each batch as long as its slowest bio, like transformers) and "continuous" (the
  default: 8 slots, a slot starts the next bio as soon as its bio ends).

    .venv/bin/python bench/bench_generate.py            # ~10 min on 2 cores
    .venv/bin/python bench/bench_generate.py --skip-hf --rss-batches 5   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data import profiles as profile_file  # noqa: E402

TRAIN_PROFILES = profile_file("discogs_profiles_cc0.jsonl")  # the BPE is trained on these
HELDOUT_PROFILES = profile_file("discogs_profiles_cc0_2020_sample.jsonl")  # bio lengths measured on these
PREFIX = "<|startoftext|>"
SAMPLING = {"temperature": 0.8, "top_k": 40, "top_p": 0.0}
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def rss_mb() -> float:
    """Resident set size of this process in MB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def profiles(path: Path | None) -> list[str]:
    """Clean profile texts of a Discogs CC0 file."""
    if path is None:
        sys.exit("set DJBIOS_PROFILES_DIR to the folder of the CC0 Discogs profiles (bench/data.py)")
    with path.open(encoding="utf-8") as f:
        return [t for t in (json.loads(line).get("profile_clean", "").strip() for line in f) if t]


def prepare_model(model_dir: Path) -> Path:
    """The 124M-shaped random model, made once (BPE trained on the Discogs profiles)."""
    if not (model_dir / "checkpoint").is_file():
        from training.model import init_model

        corpus = model_dir.parent / "bench_corpus.txt"  # outside the repo
        corpus.parent.mkdir(parents=True, exist_ok=True)
        corpus.write_text("".join(f"{PREFIX}{t}<|endoftext|>\n" for t in profiles(TRAIN_PROFILES)), encoding="utf-8")
        init_model(model_dir, size="124M-shaped", corpus=corpus)
    if not (model_dir / MUTED).is_file():
        mute_delimiter_pieces(model_dir)
    return model_dir


MUTED = ".bench-delimiter-pieces-muted"


def mute_delimiter_pieces(model_dir: Path) -> None:
    """Zero the embeddings of delimiter pieces ("<|", "|>", "endoftext", ...) so no bio ends by chance.

    Random logits put one of them in the top 40 now and then, which ends that bio early in djbios
    (it stops at any delimiter piece) but not in the engines that run a fixed length. With zero
    embeddings their logit is 0, far below the top 40, so every engine does exactly the same work.
    """
    import tensorflow as tf
    from gpt_2_simple.src import encoder, model

    from bot.generation.graph import PIECE
    from bot.generation.sampler import _token_kinds

    hp = model.default_hparams()
    hp.override_from_dict(json.loads((model_dir / "hparams.json").read_text(encoding="utf-8")))
    ids = [i for i, k in enumerate(_token_kinds(encoder.get_encoder(str(model_dir)), hp.n_vocab)) if k == PIECE]
    with tf.Graph().as_default():
        model.model(hp, tf.compat.v1.placeholder(tf.int32, [1, None]))
        wte = [v for v in tf.compat.v1.global_variables() if v.name == "model/wte:0"][0]
        mute = tf.compat.v1.scatter_update(wte, ids, tf.zeros([len(ids), hp.n_embd]))
        saver = tf.compat.v1.train.Saver(save_relative_paths=True)
        with tf.compat.v1.Session() as sess:
            saver.restore(sess, str(model_dir / "model.ckpt"))
            sess.run(mute)
            saver.save(sess, str(model_dir / "model.ckpt"))
    (model_dir / MUTED).write_text(f"{len(ids)} token ids muted\n", encoding="utf-8")


def realistic_lengths(model_dir: Path, cap: int, n: int, seed: int = 0) -> dict:
    """n bio lengths in tokens (delimiter included, at most cap) drawn from held-out postable profiles."""
    from gpt_2_simple.src import encoder

    enc = encoder.get_encoder(str(model_dir))
    bios = [t for t in profiles(HELDOUT_PROFILES) if 60 <= len(t) <= 500]
    lengths = [len(enc.encode(t + "<|endoftext|>")) for t in bios]
    drawn = [min(cap, x) for x in random.Random(seed).choices(lengths, k=n)]
    return {
        "bios": len(bios),
        "tokens_per_bio": statistics.mean(lengths),
        "chars_per_token": sum(map(len, bios)) / sum(lengths),
        "lengths": drawn,
    }


def groups(lengths: list[int], batch: int) -> list[list[int]]:
    """The bios in batches of `batch`, in order."""
    return [lengths[i : i + batch] for i in range(0, len(lengths), batch)]


# -- engines: each runs in its own process and prints one JSON line -------------------------------
def run_stock(a: argparse.Namespace) -> dict:
    """gpt_2_simple.generate(), as a worker would call it: load once, generate per batch."""
    import gpt_2_simple as gpt2
    import tensorflow as tf

    t0 = time.perf_counter()
    sess = gpt2.start_tf_sess()
    gpt2.load_gpt2(sess, model_name=a.model_dir.name, model_dir=str(a.model_dir.parent))
    out = {"load_s": time.perf_counter() - t0, "runs": {}, "rss": [], "ops": []}

    def call(n: int) -> float:
        t = time.perf_counter()
        gpt2.generate(
            sess,
            model_name=a.model_dir.name,
            model_dir=str(a.model_dir.parent),
            prefix=PREFIX,
            length=n,
            nsamples=a.batch,
            batch_size=a.batch,
            return_as_list=True,
            **SAMPLING,
        )
        return time.perf_counter() - t

    call(4)  # warm-up
    out["runs"]["fixed"] = call(a.tokens)  # always `length` tokens: its realistic case is the same
    for _ in range(a.rss_batches):
        call(a.rss_tokens)
        out["rss"].append(rss_mb())
        out["ops"].append(len(tf.compat.v1.get_default_graph().get_operations()))
    return out


def run_djbios(a: argparse.Namespace) -> dict:
    """bot.generation.sampler.GPT2Generator: one graph, slot KV cache, continuous batching, early stop."""
    from bot.generation.sampler import GPT2Generator

    t0 = time.perf_counter()
    gen = GPT2Generator.load(a.model_dir)
    out = {"load_s": time.perf_counter() - t0, "runs": {}, "rss": [], "ops": []}

    def call(caps: list[int], seed: int, batch: int) -> float:
        t = time.perf_counter()
        samples = gen.generate(len(caps), batch_size=batch, seed=seed, prefix=PREFIX, max_tokens=caps, **SAMPLING)
        # random weights never write the delimiter: every bio runs exactly to its cap
        assert [s.tokens for s in samples] == caps, ([s.tokens for s in samples], caps)
        return time.perf_counter() - t

    for i in range(3):  # warm-up: allocator pools, BPE cache
        call([a.rss_tokens] * a.batch, i, a.batch)
    out["runs"]["fixed"] = call([a.tokens] * a.batch, 100, a.batch)
    out["steps_fixed"] = gen.last_steps
    out["runs"]["batches"] = sum(call(g, 200 + i, a.batch) for i, g in enumerate(groups(a.lengths, a.batch)))
    out["runs"]["continuous"] = call(a.lengths, 300, a.batch)
    out["steps_continuous"] = gen.last_steps
    for i in range(a.rss_batches):
        call([a.rss_tokens] * a.batch, 1000 + i, a.batch)
        out["rss"].append(rss_mb())
        out["ops"].append(gen.op_count)
    return out


def run_hf(a: argparse.Namespace) -> dict:
    """transformers GPT2LMHeadModel.generate() with the same shape and sampling settings."""
    import torch
    from gpt_2_simple.src import encoder
    from transformers import GPT2Config, GPT2LMHeadModel

    t0 = time.perf_counter()
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12)).eval()
    ids = torch.tensor([encoder.get_encoder(str(a.model_dir)).encode(PREFIX)] * a.batch)
    out = {
        "load_s": time.perf_counter() - t0,
        "runs": {},
        "rss": [],
        "ops": [],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }

    def call(n: int) -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                do_sample=True,
                max_new_tokens=n,
                min_new_tokens=n,
                pad_token_id=0,
                temperature=SAMPLING["temperature"],
                top_k=SAMPLING["top_k"],
                top_p=1.0,
            )
        return time.perf_counter() - t

    call(4)  # warm-up
    out["runs"]["fixed"] = call(a.tokens)
    # each batch of 8 as long as its longest bio: as if it stopped at the delimiter
    out["runs"]["batches"] = sum(call(max(g)) for g in groups(a.lengths, a.batch))
    for _ in range(a.rss_batches if a.hf_rss else 0):
        call(a.rss_tokens)
        out["rss"].append(rss_mb())
    return out


def run_bound(a: argparse.Namespace) -> dict:
    """The floor: only the matmuls of one 124M step (fp32 weights streamed once), no attention."""
    import numpy as np
    import tensorflow as tf

    with tf.Graph().as_default() as g:
        x = tf.compat.v1.placeholder(tf.float32, [a.batch, 768])
        h = x
        for _ in range(12):  # per layer: c_attn, c_proj, c_fc, mlp c_proj
            for n_in, n_out in ((768, 2304), (768, 768), (768, 3072), (3072, 768)):
                y = tf.matmul(
                    h if n_in == 768 else tf.tile(h, [1, 4]), tf.Variable(tf.random.normal([n_in, n_out], stddev=0.02))
                )
                h = y[:, :768]
        out = tf.matmul(h, tf.Variable(tf.random.normal([768, 50257], stddev=0.02)))
        sess = tf.compat.v1.Session(graph=g)
        sess.run(tf.compat.v1.global_variables_initializer())
    xv = np.random.rand(a.batch, 768).astype(np.float32)
    sess.run(out, {x: xv})
    t = time.perf_counter()
    for _ in range(20):
        sess.run(out, {x: xv})
    return {"load_s": 0.0, "runs": {"step": (time.perf_counter() - t) / 20}, "rss": [], "ops": []}


ENGINES = {"stock": run_stock, "djbios": run_djbios, "hf": run_hf, "bound": run_bound}


def spawn(engine: str, a: argparse.Namespace) -> dict:
    """Run one engine in a child process; return its JSON result."""
    cmd = [
        sys.executable,
        __file__,
        "--engine",
        engine,
        "--model-dir",
        str(a.model_dir),
        "--batch",
        str(a.batch),
        "--tokens",
        str(a.tokens),
        "--rss-batches",
        str(a.rss_batches),
        "--rss-tokens",
        str(a.rss_tokens),
        "--lengths",
        ",".join(map(str, a.lengths)),
    ]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"{engine} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(lines[-1][7:])
    res["loadavg"] = (load, os.getloadavg()[0])
    return res


def row(name: str, bios: int, tokens: int, seconds: float, base: dict[str, float]) -> str:
    """One table row: bios/min and tokens/s, with ratios against stock and transformers."""
    bpm = bios / seconds * 60
    ratios = " | ".join(f"{bpm / b:.2f}x" if b else "-" for b in base.values())
    return f"| {name} | {bios} | {tokens} | {seconds:.1f} | {tokens / seconds:.1f} | {bpm:.1f} | {ratios} |"


def report(a: argparse.Namespace, real: dict, res: dict[str, dict]) -> str:
    """The Markdown tables printed at the end."""
    b, n, lengths = a.batch, len(a.lengths), a.lengths
    st, dj, hf = res.get("stock"), res["djbios"], res.get("hf")
    useful = sum(lengths)  # tokens that end up in bios
    padded = sum(max(g) * len(g) for g in groups(lengths, b))  # rows x steps of batches that wait
    lines = [
        f"realistic case: {n} bios drawn from {real['bios']} held-out postable profiles "
        f"(mean {real['tokens_per_bio']:.1f} tokens/bio, {real['chars_per_token']:.2f} chars/token); "
        f"drawn lengths: mean {statistics.mean(lengths):.1f}, max {max(lengths)}, cap {a.cap}; "
        f"sum {useful} tokens; batches of {b} that wait for their slowest bio sample {padded}",
        "",
        "| engine | bios | tokens in bios | seconds | tokens/s | bios/min | vs stock | vs transformers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    fx = b * a.tokens
    base = {"stock": b / st["runs"]["fixed"] * 60 if st else 0.0, "hf": b / hf["runs"]["fixed"] * 60 if hf else 0.0}
    if st:
        lines.append(row("fixed: stock gpt_2_simple.generate()", b, fx, st["runs"]["fixed"], base))
    if hf:
        lines.append(row("fixed: transformers generate()", b, fx, hf["runs"]["fixed"], base))
    lines.append(row("fixed: djbios", b, fx, dj["runs"]["fixed"], base))
    base["hf"] = n / hf["runs"]["batches"] * 60 if hf else 0.0
    if st:  # stock always samples its 128 tokens: bios/min as in the fixed case
        lines.append(
            row(
                f"realistic: stock gpt_2_simple.generate() (always {a.tokens} tokens)", b, fx, st["runs"]["fixed"], base
            )
        )
    if hf:
        lines.append(row("realistic: transformers generate(), batches of 8", n, useful, hf["runs"]["batches"], base))
    lines.append(row("realistic: djbios, batches of 8", n, useful, dj["runs"]["batches"], base))
    lines.append(row("realistic: djbios, continuous (default)", n, useful, dj["runs"]["continuous"], base))
    lines += [
        "",
        f"djbios loop steps: fixed {dj['steps_fixed']} (= {a.tokens}); continuous {dj['steps_continuous']} "
        f"(ideal {-(-useful // b)}, batches {sum(max(g) for g in groups(lengths, b))})",
    ]
    if "bound" in res:
        floor = res["bound"]["runs"]["step"]
        lines += [
            "",
            f"fp32 floor: the bare matmuls of one step take {floor * 1000:.0f} ms; djbios takes "
            f"{dj['runs']['fixed'] / a.tokens * 1000:.0f} ms per step"
            + (f", transformers {hf['runs']['fixed'] / a.tokens * 1000:.0f} ms" if hf else ""),
        ]
    lines += [
        "",
        f"RSS over {a.rss_batches} consecutive batches ({a.rss_tokens} tokens each, after warm-up):",
        "",
        "| engine | load s | RSS first MB | RSS last MB | growth MB | graph ops first -> last | loadavg |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in res.items():
        if r["rss"]:
            ops = f"{r['ops'][0]} -> {r['ops'][-1]}" if r["ops"] else "-"
            lines.append(
                f"| {name} | {r['load_s']:.1f} | {r['rss'][0]:.0f} | {r['rss'][-1]:.0f} | "
                f"{r['rss'][-1] - r['rss'][0]:+.1f} | {ops} | "
                f"{r['loadavg'][0]:.1f} -> {r['loadavg'][1]:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    """Parse arguments; run one engine (child) or the whole comparison (parent)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", choices=sorted(ENGINES))
    p.add_argument("--model-dir", type=Path, default=Path("/tmp/djbios-bench/124M-shaped"))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--tokens", type=int, default=128, help="fixed case: tokens per bio")
    p.add_argument("--bios", type=int, default=32, help="realistic case: bios per engine")
    p.add_argument("--cap", type=int, default=0, help="djbios's token cap (0 = from a 500-char post)")
    p.add_argument("--rss-batches", type=int, default=20)
    p.add_argument("--rss-tokens", type=int, default=4, help="tokens per bio in the RSS series")
    p.add_argument("--lengths", default="", help="(child) the realistic bio lengths")
    p.add_argument("--engines", default="stock,djbios,hf,bound", help="which engines to run")
    p.add_argument("--skip-hf", action="store_true")
    p.add_argument("--hf-rss", action="store_true", help="also record transformers' RSS series")
    a = p.parse_args()
    if a.engine:
        a.lengths = [int(t) for t in a.lengths.split(",") if t]
        print("RESULT " + json.dumps(ENGINES[a.engine](a)), flush=True)
        return
    from bot.config import default_max_tokens

    a.cap = a.cap or default_max_tokens(500)
    prepare_model(a.model_dir)
    real = realistic_lengths(a.model_dir, a.cap, a.bios)
    a.lengths = real["lengths"]
    print(
        f"# bench_generate {time.strftime('%Y-%m-%d %H:%M')} | {os.cpu_count()} cpus | lengths {a.lengths}", flush=True
    )
    res: dict[str, dict] = {}
    if "djbios" not in a.engines.split(","):
        raise SystemExit("--engines must include djbios: the report compares against it")
    for engine in a.engines.split(","):
        if engine == "hf" and (a.skip_hf or _missing("transformers", "torch")):
            continue
        t = time.perf_counter()
        res[engine] = spawn(engine, a)
        print(f"{engine}: {res[engine]['runs']} ({time.perf_counter() - t:.0f} s)", flush=True)
    print(report(a, real, res))


def _missing(*modules: str) -> bool:
    """True when any module is not importable (checked without importing it)."""
    import importlib.util

    return any(importlib.util.find_spec(m) is None for m in modules)


if __name__ == "__main__":
    main()
