"""`djbios generate`: sample a batch from the fine-tuned checkpoint, filter it, queue it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import App, pass_app

if TYPE_CHECKING:  # the model stays unimported until a command needs it
    from bot.generation.sampler import Generator

_ISO = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"]  # isoformat()


@click.command()
@click.option("-n", "n", type=click.IntRange(min=1), default=None, help="How many bios (default: [generate] nsamples).")
@click.option("--prompt", default=None, help="Start each bio with this text, e.g. a name.")
@click.option(
    "--pronouns",
    type=click.Choice(["she", "he", "they"]),
    default=None,
    help="Pronouns the bio should use (checked by the filters).",
)
@click.option("--seed", type=int, default=None, help="Seed; the same seed gives the same bios.")
@click.option(
    "--to-file",
    "to_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the bios to this file (.jsonl = JSON lines) instead of the queue.",
)
@click.option(
    "--step",
    type=click.IntRange(min=1),
    default=None,
    help="Use this checkpoint step (default: [model] checkpoint_step, else the latest).",
)
@click.option(
    "--for-refill",
    "for_refill",
    is_flag=True,
    hidden=True,
    help="The worker's refill child: print one summary line for the worker to read.",
)
@click.option(
    "--now",
    "now",
    type=click.DateTime(_ISO),
    default=None,
    hidden=True,
    help="The worker's clock (stored as the candidates' time).",
)
@click.option(
    "--answer-requests",
    "answer",
    is_flag=True,
    hidden=True,
    help="The worker's request child: answer new follower requests, print one summary line.",
)
@click.option(
    "--max-chars",
    "max_chars",
    type=click.IntRange(min=1),
    default=None,
    hidden=True,
    help="The instance's status limit, when below [filters] max_chars.",
)
@pass_app
def generate(
    app: App,
    n: int | None,
    prompt: str | None,
    pronouns: str | None,
    seed: int | None,
    to_file: Path | None,
    step: int | None,
    for_refill: bool = False,
    now: datetime | None = None,
    max_chars: int | None = None,
    answer: bool = False,
) -> None:
    """Generate bios with the fine-tuned model, filter them, and queue the good ones as pending.

    Every candidate is stored (rejected ones with their reason) with its checkpoint, step, seed,
    sampling settings and prompt. --to-file skips the queue: the bulk "500 bios" mode.

    \b
    Example:
      djbios generate -n 8
      djbios generate -n 4 --prompt "Stella Zekri" --pronouns she --seed 7
      djbios generate -n 500 --to-file samples/bios.txt
    """
    from bot.extras import require
    from bot.generation.refill import generate_batch, generate_to_file, load_generator

    require("model")  # before the checkpoint checks: a base install learns what to install first
    cfg = app.config
    if max_chars is not None and max_chars < cfg.filters.max_chars:
        cfg = dataclasses.replace(cfg, filters=dataclasses.replace(cfg.filters, max_chars=max_chars))
    if answer:  # bot/generation/child.py reads the line; the model loads only if a request needs a bio
        from bot.generation.child import answer_line
        from bot.posting.replies import answer_requests

        loaded: list[Generator] = []  # loaded once, on the first request that needs a bio

        def load() -> Generator:
            if not loaded:
                loaded.append(load_generator(cfg, step))
            return loaded[0]

        click.echo(answer_line(answer_requests(cfg, app.store(), load, now or datetime.now(UTC))))
        return
    n = n or cfg.generate.nsamples
    generator = load_generator(cfg, step)
    if to_file is not None:
        summary = generate_to_file(cfg, generator, to_file, n=n, prompt=prompt, seed=seed)
        click.echo(
            f"wrote {summary.made} bios to {to_file} in {summary.seconds:.1f} s "
            f"({summary.rejected.get('incomplete', 0)} incomplete, seed {summary.seed})"
        )
        return
    summary = generate_batch(cfg, app.store(), generator, n=n, prompt=prompt, pronouns=pronouns, seed=seed, now=now)
    if for_refill:  # bot/generation/child.py reads this line; the worker never loads the model itself
        from bot.generation.child import summary_line

        click.echo(summary_line(summary))
        return
    for line in summary.lines():
        click.echo(line)
