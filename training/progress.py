"""What training shows and keeps: gpt-2-simple's loss lines go to loss.csv and to one progress bar.

gpt-2-simple prints a line per step ("[12 | 3.41] loss=2.91 avg=3.02") and some advice; LossTap stands
in for stdout while it trains: it records each loss line in the run's loss.csv and, unless `-v` asked for
the per-step lines, shows one progress bar (step, loss, average loss, tokens/s, ETA) and a line at each
checkpoint instead. gpt-2-simple's start-up lines and its advice for larger models are dropped.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

LOSS_LINE = re.compile(r"^\[(\d+) \| ([\d.]+)\] loss=([\d.naif]+) avg=([\d.naif]+)")
# gpt-2-simple's own chatter (shown with -v): start-up, dataset loading, advice meant for GPT-2 355M+
_CHATTER = re.compile(
    r"^(For larger models, the recommended finetune|use_memory_saving_gradients|"
    r"only_train_transformer_layers|accumulate_gradients|Loading checkpoint|"
    r"Loading dataset|dataset has \d+ tokens|Training\.\.\.|\s*\d+%\|)"
)


@dataclass
class TrainResult:
    """What one `djbios train` did."""

    run_dir: Path
    first_step: int = 0
    last_step: int = 0
    interrupted: bool = False
    losses: list[tuple[int, float, float, float]] = field(default_factory=list)  # step, loss, avg, s
    kept: list[int] = field(default_factory=list)  # checkpoint steps on disk afterwards


class Progress:
    """One tqdm bar over this run's steps, with the loss, its running average and tokens/s."""

    def __init__(
        self, first_step: int, steps: int, tokens_per_step: int, every: int, out: TextIO | None = None
    ) -> None:
        from tqdm import tqdm

        self.first, self.tokens_per_step, self.every = first_step, tokens_per_step, every
        self.out = out or sys.stderr
        self.t0 = time.perf_counter()
        # Not a terminal (a log, the demo's pipe): redraw rarely, or the log fills with bar frames.
        tty = _is_terminal(self.out)
        self.bar: Any = tqdm(
            total=steps, unit="step", file=self.out, mininterval=0.5 if tty else 60, dynamic_ncols=True, desc="training"
        )

    def update(self, step: int, loss: float, avg: float) -> None:
        """A step finished."""
        done = step - self.first
        rate = done * self.tokens_per_step / max(time.perf_counter() - self.t0, 1e-9)
        self.bar.set_postfix_str(f"loss {loss:.2f} avg {avg:.2f} {rate:,.0f} tok/s", refresh=False)
        self.bar.update(max(0, done - self.bar.n))

    def note(self, text: str) -> None:
        """A line above the bar (a saved checkpoint)."""
        self.bar.write(text, file=self.out)

    def close(self) -> None:
        """Finish the bar."""
        self.bar.close()


def _is_terminal(out: TextIO) -> bool:
    """Whether `out` ends on a terminal; for stderr the real one, not the pipe bot/cli/quiet.py puts there."""
    if out is sys.stderr:
        from bot.cli.quiet import stderr_is_terminal

        return stderr_is_terminal()
    return hasattr(out, "isatty") and out.isatty()


class LossTap(io.TextIOBase):
    """A stdout stand-in: records gpt-2-simple's loss lines in loss.csv, shows them or a bar."""

    def __init__(self, out: TextIO, csv_path: Path, result: TrainResult, progress: Progress | None = None) -> None:
        self.out, self.csv_path, self.result, self.progress, self.buf = out, csv_path, result, progress, ""
        self.last: tuple[int, float, float, float] | None = None

    def write(self, s: str) -> int:
        """Parse complete lines; pass them on when there is no progress bar."""
        self.buf += s
        *lines, self.buf = self.buf.split("\n")
        for line in lines:
            self._line(line)
        return len(s)

    def flush(self) -> None:
        """Flush the real stdout."""
        self.out.flush()

    def close(self) -> None:
        """Finish: the last partial line, and the bar."""
        if self.buf:
            self._line(self.buf)
            self.buf = ""
        if self.progress is not None:
            self.progress.close()
        super().close()

    def _line(self, raw: str) -> None:
        """Record one loss line or the interrupt notice; show what the mode asks for."""
        line = raw.strip()
        if line == "interrupted":
            self.result.interrupted = True
        m = LOSS_LINE.match(line)
        if m:
            self._record((int(m[1]), float(m[3]), float(m[4]), float(m[2])))
        if self.progress is None:
            self.out.write(raw + "\n")
        elif line.startswith("Saving ") and self.last:
            step, loss, avg, seconds = self.last
            self.progress.note(f"step {step}: loss {loss:.2f}, avg {avg:.2f}, {seconds:.0f} s; {line.lower()}")
        elif not m and line and not _CHATTER.match(line):
            self.progress.note(line)

    def _record(self, row: tuple[int, float, float, float]) -> None:
        """Append a loss row to the CSV and move the bar."""
        self.last = row
        self.result.losses.append(row)
        new = not self.csv_path.exists()
        with self.csv_path.open("a", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            if new:
                w.writerow(["step", "loss", "avg", "seconds"])
            w.writerow(row)
        if self.progress is not None:
            self.progress.update(*row[:3])
