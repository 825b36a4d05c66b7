"""Fine-tuning overhead: plain gpt_2_simple.finetune (anchor) vs training.finetune.train (ours).

Ours adds the corpus-size guard, the loss CSV tap on stdout and checkpoint pruning around the same
gpt-2-simple loop, so the ratio should be ~1.0. Each run is a fresh process on a fresh copy of the
same from-scratch model; modes alternate so machine load hits both alike.

    .venv/bin/python bench/bench_train.py --size tiny --steps 30 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANCHOR = """
import sys, gpt_2_simple as gpt2, tensorflow as tf
root, steps = sys.argv[1], int(sys.argv[2])
with tf.Graph().as_default():
    sess = gpt2.start_tf_sess()
    gpt2.finetune(sess, root + "/corpus.txt", steps=steps, model_name="m", model_dir=root + "/models",
                  checkpoint_dir=root + "/ck", run_name="run1", learning_rate=1e-3,
                  accumulate_gradients=1, sample_every=10**9, save_every=10**9, max_checkpoints=3)
"""
OURS = """
import sys
from pathlib import Path
from bot.config import TrainConfig
from training.finetune import train
root, steps = Path(sys.argv[1]), int(sys.argv[2])
s = TrainConfig(learning_rate=1e-3, accumulate_gradients=1, sample_every=0, save_every=10**6,
                max_checkpoints=3)
train(root / "corpus.txt", models_dir=root / "models", model_name="m", checkpoint_dir=root / "ck",
      run_name="run1", settings=s, steps=steps)
"""


def run(code: str, root: Path, steps: int) -> float:
    """Wall seconds of one fresh-process fine-tune (imports, graph build, training, save)."""
    shutil.rmtree(root / "ck", ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(root), str(steps)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - t0


def main() -> None:
    """Make the model once, time both modes alternately, print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    from tests.fixtures_model import corpus_bios, write_corpus
    from training.model import init_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(root / "corpus.txt", corpus_bios())
        init_model(root / "models" / "m", size=a.size, corpus=root / "corpus.txt")
        times: dict[str, list[float]] = {"anchor": [], "ours": []}
        for _ in range(a.repeats):
            times["anchor"].append(run(ANCHOR, root, a.steps))
            times["ours"].append(run(OURS, root, a.steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"fine-tune {a.steps} steps, size {a.size}, batch 1, no accumulation (median of {a.repeats})")
    print(f"{'mode':<8}{'wall s':>10}{'s/step':>10}")
    for k, v in med.items():
        print(f"{k:<8}{v:>10.1f}{v / a.steps:>10.2f}")
    print(f"ratio ours/anchor: {med['ours'] / med['anchor']:.2f}")
    print(json.dumps(times))


if __name__ == "__main__":
    main()
