"""Training's output: one progress bar and a line per checkpoint, loss.csv always; -v shows every step."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from training.progress import LossTap, Progress, TrainResult

GPT2_SIMPLE = """Loading checkpoint models/small/model.ckpt
Loading dataset...
dataset has 251234 tokens
Training...
For larger models, the recommended finetune() parameters are:
	use_memory_saving_gradients = True
	only_train_transformer_layers = True
	accumulate_gradients = 1

[1 | 1.20] loss=3.10 avg=3.10
[2 | 2.40] loss=3.00 avg=3.05
Saving checkpoint/run1/model-2
[3 | 3.60] loss=2.90 avg=3.00
"""


def feed(tap: LossTap, text: str) -> None:
    """Write in odd-sized pieces, as print() and tqdm do."""
    for i in range(0, len(text), 7):
        tap.write(text[i : i + 7])
    tap.close()


def test_default_shows_a_bar_and_a_line_per_checkpoint(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    result = TrainResult(run_dir=tmp_path)
    feed(LossTap(out, tmp_path / "loss.csv", result, Progress(0, 3, 1024, every=2, out=err)), GPT2_SIMPLE)
    shown = out.getvalue() + err.getvalue()
    assert "[2 | 2.40]" not in shown and "recommended finetune" not in shown and "dataset has" not in shown
    assert "step 2: loss 3.00, avg 3.05" in shown and "saving checkpoint/run1/model-2" in shown
    assert "training" in err.getvalue() and "3/3" in err.getvalue()
    rows = list(csv.reader((tmp_path / "loss.csv").open()))
    assert rows[0] == ["step", "loss", "avg", "seconds"] and len(rows) == 4
    assert [r[0] for r in result.losses] == [1, 2, 3]


def test_verbose_passes_every_line(tmp_path: Path) -> None:
    out = io.StringIO()
    feed(LossTap(out, tmp_path / "loss.csv", TrainResult(run_dir=tmp_path)), GPT2_SIMPLE)
    assert "[2 | 2.40] loss=3.00 avg=3.05" in out.getvalue() and "Saving checkpoint" in out.getvalue()
