"""`djbios model download|init`, `djbios train`, `djbios evaluate`: thin wrappers over training/."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import App, pass_app


@click.group()
def model() -> None:
    """Get a base model: download OpenAI's GPT-2 or initialise one from scratch.

    \b
    Example:
      djbios model download 124M
      djbios model init --size small
    """


@model.command()
@click.argument("name", type=click.Choice(["124M", "355M", "774M", "1558M"]))
@pass_app
def download(app: App, name: str) -> None:
    """Download GPT-2 NAME into [model] models_dir (skipped when already complete).

    \b
    Example:
      djbios model download 124M
    """
    from training.model import download_model

    m = app.config.model
    out = download_model(name, m.models_dir, base_url=m.download_base_url, timeout_s=m.download_timeout_s)
    click.echo(f"{name} is ready in {out}")


@model.command()
@click.option(
    "--size",
    type=click.Choice(["tiny", "small", "124M-shaped"]),
    required=True,
    help="tiny: tests (~0.1 s/step); small: the CPU demo; 124M-shaped: benchmarks.",
)
@click.option(
    "--corpus",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Text to train the BPE vocabulary on (default: [corpus] path).",
)
@click.option("--vocab-size", type=int, default=None, help="BPE vocabulary size (default: by size).")
@pass_app
def init(app: App, size: str, corpus: Path | None, vocab_size: int | None) -> None:
    """Initialise a random GPT-2 with its own BPE vocabulary in models_dir/SIZE.

    \b
    Example:
      djbios model init --size small --corpus data/corpus.txt
    """
    from training.model import init_model

    cfg = app.config
    out = init_model(
        cfg.model.models_dir / size,
        size=size,
        corpus=corpus or cfg.corpus.path,
        vocab_size=vocab_size,
        seed=cfg.train.seed,
    )
    click.echo(f'initialised {size} model in {out} (set [model] base_model = "{size}" to train it)')


@click.command()
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Steps to train now (default: [train] steps).")
@click.option("--fresh", is_flag=True, help="Start again from the base model (the old run is kept aside).")
@pass_app
def train(app: App, steps: int | None, fresh: bool) -> None:
    """Fine-tune [model] base_model on the corpus with gpt-2-simple; resumes the latest checkpoint.

    Ctrl-C saves a checkpoint and stops. Shows one progress bar; -v prints gpt-2-simple's line per step.

    \b
    Example:
      djbios train --steps 500
    """
    from training.finetune import train_from_config

    r = train_from_config(app.config, steps=steps, fresh=fresh, verbose=app.verbose)
    last = r.losses[-1] if r.losses else None
    loss = f", loss {last[1]:.2f} (avg {last[2]:.2f})" if last else ""
    how = "interrupted and saved" if r.interrupted else "saved"
    click.echo(f"{how} step {r.last_step} in {r.run_dir}{loss}; kept checkpoints: {', '.join(map(str, r.kept))}")


@click.command()
@click.option("--checkpoint", "which", default="all", show_default=True, help="all, latest, or a step number.")
@click.option("--samples", type=int, default=20, show_default=True, help="Samples per checkpoint.")
@pass_app
def evaluate(app: App, which: str, samples: int) -> None:
    """Sample each kept checkpoint with fixed seeds, measure copying and variety, write a report.

    \b
    Example:
      djbios evaluate --checkpoint all --samples 20
    """
    from training.evaluate import evaluate_from_config

    report = evaluate_from_config(app.config, which=which, samples=samples)
    click.echo(f"report: {report.path}")
    click.echo(report.recommendation)
