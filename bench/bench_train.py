"""Fine-tuning: plain gpt_2_simple.finetune (anchor) vs training.finetune.train (ours).

With the defaults ours adds only the corpus-size guard, the loss CSV tap on stdout and checkpoint
pruning around the same gpt-2-simple loop, so the ratio should be ~1.0. With `--window 256 --batch 4`
ours trains on 4 sequences of 256 tokens per step instead of the anchor's one of 1024 ([train] window):
the same tokens per step, less attention. Each run is a fresh process on a fresh copy of the same
from-scratch model; modes alternate so machine load hits both alike. Steady s/step comes from
gpt-2-simple's own "[step | elapsed]" lines (start-up excluded).

    .venv/bin/python bench/bench_train.py --size tiny --steps 30 --repeats 2
    .venv/bin/python bench/bench_train.py --size small --steps 60 --window 256 --batch 4
"""

from __future__ import annotations

import argparse
import json
import re
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
root, steps, window, batch = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = TrainConfig(learning_rate=1e-3, accumulate_gradients=1, sample_every=0, save_every=10**6,
                max_checkpoints=3, window=window, batch_size=batch)
train(root / "corpus.txt", models_dir=root / "models", model_name="m", checkpoint_dir=root / "ck",
      run_name="run1", settings=s, steps=steps)
"""


STEP_LINE = re.compile(r"^\[(\d+) \| ([\d.]+)\]", re.M)


def run(code: str, root: Path, steps: int, *args: int) -> tuple[float, float]:
    """Wall seconds of one fresh-process fine-tune, and its steady seconds per step."""
    shutil.rmtree(root / "ck", ignore_errors=True)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, str(root), str(steps), *map(str, args)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    wall = time.perf_counter() - t0
    marks = [(int(n), float(t)) for n, t in STEP_LINE.findall(out.stdout)]
    skip = min(5, len(marks) // 4)  # the first steps include graph warm-up
    (n0, t0_), (n1, t1) = marks[skip], marks[-1]
    return wall, (t1 - t0_) / (n1 - n0)


def main() -> None:
    """Make the model once, time both modes alternately, print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--window", type=int, default=1024, help="ours: [train] window")
    ap.add_argument("--batch", type=int, default=1, help="ours: [train] batch_size")
    a = ap.parse_args()
    from tests.fixtures_model import corpus_bios, write_corpus
    from training.model import init_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(root / "corpus.txt", corpus_bios())
        init_model(root / "models" / "m", size=a.size, corpus=root / "corpus.txt")
        times: dict[str, list[tuple[float, float]]] = {"anchor": [], "ours": []}
        for _ in range(a.repeats):
            times["anchor"].append(run(ANCHOR, root, a.steps))
            times["ours"].append(run(OURS, root, a.steps, a.window, a.batch))
    tokens = {"anchor": 1024, "ours": a.window * a.batch}  # per step
    print(
        f"fine-tune {a.steps} steps, size {a.size}, no accumulation (median of {a.repeats}); "
        f"anchor: 1 x 1024 tokens per step, ours: {a.batch} x {a.window}"
    )
    print(f"{'mode':<8}{'wall s':>10}{'s/step':>10}{'tokens/s':>10}")
    med = {}
    for k, v in times.items():
        wall, per_step = statistics.median(w for w, _ in v), statistics.median(p for _, p in v)
        med[k] = (wall, tokens[k] / per_step)
        print(f"{k:<8}{wall:>10.1f}{per_step:>10.3f}{med[k][1]:>10.0f}")
    print(
        f"ratio ours/anchor: wall {med['ours'][0] / med['anchor'][0]:.2f}, "
        f"tokens/s {med['ours'][1] / med['anchor'][1]:.2f}"
    )
    print(json.dumps(times))


if __name__ == "__main__":
    main()
