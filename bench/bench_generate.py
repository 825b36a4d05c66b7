"""Generation speed and memory: stock gpt_2_simple.generate() vs djbios vs transformers, batch 8.

A 124M-shaped GPT-2 with random weights (speed does not depend on their values) is made once with
training.model.init_model; its BPE vocabulary is trained on the CC0 Discogs profiles in
../shared/data (read in place, never copied into the repo). Each engine runs in its own process so
RSS and TensorFlow's process-wide state stay separate.

Two cases:
- fixed: every engine samples exactly --tokens tokens (pure per-token speed; random weights never
  write the end delimiter, so djbios runs the full cap too);
- realistic: bios end at the delimiter. Stock gpt-2-simple always samples `length` (128 here, as
  the issue measured); djbios and transformers stop when the slowest of the 8 bios ends, i.e. after
  S = E[min(cap, max of 8 bio lengths)] tokens, with bio lengths measured on held-out Discogs
  profiles that fit a post (60-500 chars) with this vocabulary. Both run exactly S tokens here.

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
DATA = ROOT.parent / "shared" / "data"
TRAIN_PROFILES = DATA / "discogs_profiles_cc0.jsonl"  # the BPE is trained on these
HELDOUT_PROFILES = DATA / "discogs_profiles_cc0_2020_sample.jsonl"  # bio lengths measured on these
PREFIX = "<|startoftext|>"
SAMPLING = {"temperature": 0.8, "top_k": 40, "top_p": 0.0}
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def rss_mb() -> float:
    """Resident set size of this process in MB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def profiles(path: Path) -> list[str]:
    """Clean profile texts of a Discogs CC0 file."""
    with path.open(encoding="utf-8") as f:
        return [t for t in (json.loads(line).get("profile_clean", "").strip() for line in f) if t]


def prepare_model(model_dir: Path) -> Path:
    """The 124M-shaped random model, made once (BPE trained on the Discogs profiles)."""
    if (model_dir / "checkpoint").is_file():
        return model_dir
    from training.model import init_model

    corpus = model_dir.parent / "bench_corpus.txt"  # outside the repo
    corpus.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text("".join(f"{PREFIX}{t}<|endoftext|>\n" for t in profiles(TRAIN_PROFILES)), encoding="utf-8")
    return init_model(model_dir, size="124M-shaped", corpus=corpus)


def realistic_steps(model_dir: Path, cap: int, batch: int, trials: int = 2000) -> dict:
    """Tokens per bio on held-out postable profiles, and E[steps] of a batch that stops with its slowest bio."""
    from gpt_2_simple.src import encoder

    enc = encoder.get_encoder(str(model_dir))
    bios = [t for t in profiles(HELDOUT_PROFILES) if 60 <= len(t) <= 500]
    lengths = [len(enc.encode(t + "<|endoftext|>")) for t in bios]
    rng = random.Random(0)
    steps = [min(cap, max(rng.choices(lengths, k=batch))) for _ in range(trials)]
    return {"bios": len(bios), "tokens_per_bio": statistics.mean(lengths),
            "chars_per_token": sum(map(len, bios)) / sum(lengths), "steps": round(statistics.mean(steps))}


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
        gpt2.generate(sess, model_name=a.model_dir.name, model_dir=str(a.model_dir.parent), prefix=PREFIX,
                      length=n, nsamples=a.batch, batch_size=a.batch, return_as_list=True, **SAMPLING)
        return time.perf_counter() - t

    call(4)  # warm-up
    for n in sorted(set(a.tokens_list)):
        out["runs"][n] = call(n)
    for _ in range(a.rss_batches):
        call(a.rss_tokens)
        out["rss"].append(rss_mb())
        out["ops"].append(len(tf.compat.v1.get_default_graph().get_operations()))
    return out


def run_djbios(a: argparse.Namespace) -> dict:
    """bot.generate.GPT2Generator: one graph, KV cache, early stop."""
    from bot.generate import GPT2Generator

    t0 = time.perf_counter()
    gen = GPT2Generator.load(a.model_dir)
    out = {"load_s": time.perf_counter() - t0, "runs": {}, "rss": [], "ops": []}

    def call(n: int, seed: int) -> float:
        t = time.perf_counter()
        gen.generate(a.batch, batch_size=a.batch, seed=seed, prefix=PREFIX, max_tokens=n, **SAMPLING)
        assert gen.last_steps == [n], gen.last_steps  # random weights: no early stop, exactly n steps
        return time.perf_counter() - t

    for i in range(3):  # warm-up: allocator pools, BPE cache
        call(a.rss_tokens, i)
    for n in sorted(set(a.tokens_list)):
        out["runs"][n] = call(n, 100 + n)
    for i in range(a.rss_batches):
        call(a.rss_tokens, 1000 + i)
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
    model = GPT2LMHeadModel(GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12,
                                       n_head=12)).eval()
    ids = torch.tensor([encoder.get_encoder(str(a.model_dir)).encode(PREFIX)] * a.batch)
    out = {"load_s": time.perf_counter() - t0, "runs": {}, "rss": [], "ops": [],
           "torch": torch.__version__, "threads": torch.get_num_threads()}

    def call(n: int) -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, max_new_tokens=n,
                           min_new_tokens=n, pad_token_id=0, temperature=SAMPLING["temperature"],
                           top_k=SAMPLING["top_k"], top_p=1.0)
        return time.perf_counter() - t

    call(4)  # warm-up
    for n in sorted(set(a.tokens_list)):
        out["runs"][n] = call(n)
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
                y = tf.matmul(h if n_in == 768 else tf.tile(h, [1, 4]),
                              tf.Variable(tf.random.normal([n_in, n_out], stddev=0.02)))
                h = y[:, :768]
        out = tf.matmul(h, tf.Variable(tf.random.normal([768, 50257], stddev=0.02)))
        sess = tf.compat.v1.Session(graph=g)
        sess.run(tf.compat.v1.global_variables_initializer())
    xv = np.random.rand(a.batch, 768).astype(np.float32)
    sess.run(out, {x: xv})
    t = time.perf_counter()
    for _ in range(20):
        sess.run(out, {x: xv})
    return {"load_s": 0.0, "runs": {1: (time.perf_counter() - t) / 20}, "rss": [], "ops": []}


ENGINES = {"stock": run_stock, "djbios": run_djbios, "hf": run_hf, "bound": run_bound}


def spawn(engine: str, a: argparse.Namespace, tokens: list[int]) -> dict:
    """Run one engine in a child process; return its JSON result."""
    cmd = [sys.executable, __file__, "--engine", engine, "--model-dir", str(a.model_dir),
           "--batch", str(a.batch), "--rss-batches", str(a.rss_batches), "--rss-tokens", str(a.rss_tokens),
           "--tokens-list", ",".join(map(str, tokens))]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"{engine} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(lines[-1][7:])
    res["runs"] = {int(k): v for k, v in res["runs"].items()}
    res["loadavg"] = (load, os.getloadavg()[0])
    return res


def row(name: str, tokens: int, seconds: float, batch: int, base: dict[str, float]) -> str:
    """One table row: bios/min and tokens/s, with ratios against stock and transformers."""
    bpm = batch / seconds * 60
    ratios = " | ".join(f"{bpm / b:.2f}x" if b else "-" for b in base.values())
    return f"| {name} | {tokens} | {seconds:.1f} | {batch * tokens / seconds:.1f} | {bpm:.1f} | {ratios} |"


def report(a: argparse.Namespace, real: dict, res: dict[str, dict]) -> str:
    """The Markdown tables printed at the end."""
    fixed, s, b = a.tokens, real["steps"], a.batch
    st, dj, hf = res.get("stock"), res["djbios"], res.get("hf")
    lines = [f"realistic case: {real['bios']} held-out postable bios, {real['tokens_per_bio']:.1f} tokens/bio "
             f"({real['chars_per_token']:.2f} chars/token); a batch of {b} stops after S = {s} tokens "
             f"(cap {a.cap})", "",
             "| engine | tokens sampled | s/batch | tokens/s | bios/min | vs stock | vs transformers |",
             "|---|---|---|---|---|---|---|"]
    for case, n_dj, n_st in (("fixed", fixed, fixed), ("realistic", s, fixed)):
        base = {"stock": b / st["runs"][n_st] * 60 if st else 0.0,
                "hf": b / hf["runs"][n_dj] * 60 if hf else 0.0}
        if st:
            lines.append(row(f"{case}: stock gpt_2_simple.generate()", n_st, st["runs"][n_st], b, base))
        if hf:
            lines.append(row(f"{case}: transformers generate()", n_dj, hf["runs"][n_dj], b, base))
        lines.append(row(f"{case}: djbios", n_dj, dj["runs"][n_dj], b, base))
    if "bound" in res:
        floor = res["bound"]["runs"][1]
        lines += ["", f"fp32 floor: the bare matmuls of one step take {floor * 1000:.0f} ms; djbios takes "
                  f"{dj['runs'][fixed] / fixed * 1000:.0f} ms per step"
                  + (f", transformers {hf['runs'][fixed] / fixed * 1000:.0f} ms" if hf else "")]
    lines += ["", f"RSS over {a.rss_batches} consecutive batches ({a.rss_tokens} tokens each, after warm-up):", "",
              "| engine | load s | RSS first MB | RSS last MB | growth MB | graph ops first -> last | loadavg |",
              "|---|---|---|---|---|---|---|"]
    for name, r in res.items():
        if r["rss"]:
            ops = f"{r['ops'][0]} -> {r['ops'][-1]}" if r["ops"] else "-"
            lines.append(f"| {name} | {r['load_s']:.1f} | {r['rss'][0]:.0f} | {r['rss'][-1]:.0f} | "
                         f"{r['rss'][-1] - r['rss'][0]:+.1f} | {ops} | {r['loadavg'][0]:.1f} -> {r['loadavg'][1]:.1f} |")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments; run one engine (child) or the whole comparison (parent)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", choices=sorted(ENGINES))
    p.add_argument("--model-dir", type=Path, default=Path("/tmp/djbios-bench/124M-shaped"))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--tokens", type=int, default=128, help="fixed case: tokens per batch")
    p.add_argument("--cap", type=int, default=0, help="djbios's token cap (0 = from a 500-char post)")
    p.add_argument("--rss-batches", type=int, default=20)
    p.add_argument("--rss-tokens", type=int, default=4, help="tokens per batch in the RSS series")
    p.add_argument("--tokens-list", default="")
    p.add_argument("--skip-hf", action="store_true")
    p.add_argument("--hf-rss", action="store_true", help="also record transformers' RSS series")
    a = p.parse_args()
    if a.engine:
        a.tokens_list = [int(t) for t in a.tokens_list.split(",") if t]
        print("RESULT " + json.dumps(ENGINES[a.engine](a)), flush=True)
        return
    from bot.generate import default_max_tokens

    a.cap = a.cap or default_max_tokens(500)
    prepare_model(a.model_dir)
    real = realistic_steps(a.model_dir, a.cap, a.batch)
    print(f"# bench_generate {time.strftime('%Y-%m-%d %H:%M')} | {os.cpu_count()} cpus | {real}", flush=True)
    res: dict[str, dict] = {}
    for engine, tokens in (("stock", [a.tokens]), ("djbios", [a.tokens, real["steps"]]),
                           ("hf", [a.tokens, real["steps"]]), ("bound", [])):
        if engine == "hf" and (a.skip_hf or _missing("transformers", "torch")):
            continue
        t = time.perf_counter()
        res[engine] = spawn(engine, a, tokens)
        print(f"{engine}: {res[engine]['runs']} ({time.perf_counter() - t:.0f} s)", flush=True)
    print(report(a, real, res))


def _missing(*modules: str) -> bool:
    """True when any module is not importable (checked without importing it)."""
    import importlib.util

    return any(importlib.util.find_spec(m) is None for m in modules)


if __name__ == "__main__":
    main()
