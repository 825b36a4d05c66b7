"""`djbios scrape` and `djbios corpus build|stats|index`: thin commands over training/scrape and corpus/."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import App, pass_app
from bot.errors import InputError


@click.command()
@click.option("--site", "site_name", default=None, help="Only this [[scrape.sites]] name (default: all).")
@click.option("--max-pages", type=click.IntRange(min=1), default=None, help="Stop after N network fetches.")
@click.option("--refetch", is_flag=True, help="Fetch pages again even when they are cached.")
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs).")
@pass_app
def scrape(app: App, site_name: str | None, max_pages: int | None, refetch: bool, no_progress: bool) -> None:
    """Crawl the configured sites politely into the page cache (resumes where it stopped).

    \b
    Example:
      djbios scrape --site example --max-pages 200
    """
    import requests

    from training.scrape import crawl, select_sites

    cfg = app.config
    with requests.Session() as session:
        for site in select_sites(cfg, site_name):
            st = crawl(cfg, site, max_pages=max_pages, session=session, refetch=refetch, progress=not no_progress)
            errors = ", ".join(f"{k} {v}" for k, v in sorted(st.errors.items())) or "none"
            click.echo(
                f"{site.name}: fetched {st.fetched}, from cache {st.from_cache}, robots-blocked "
                f"{st.robots_blocked}, off-site links {st.offsite}, still queued {st.queued}, errors: {errors}"
            )
    click.echo(f"cache: {cfg.scrape.cache_path}")


@click.group()
def corpus() -> None:
    """Build the training corpus, show its stats, index it for the copy filter.

    \b
    Example:
      djbios corpus build training/data/sample_bios.jsonl && djbios corpus stats
    """


@corpus.command()
@click.argument("inputs", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Corpus file to write (default: [corpus] path).",
)
@pass_app
def build(app: App, inputs: tuple[Path, ...], out: Path | None) -> None:
    """Clean, keep English, deduplicate and write the corpus (+ .val.txt, .manifest.jsonl, .idx).

    INPUT is .txt, .csv or .jsonl; with none, bios come from the scrape cache.

    \b
    Example:
      djbios corpus build training/data/sample_bios.jsonl --out data/corpus.txt
    """
    from training.corpus.build import build_corpus

    cfg = app.config
    if not inputs and not cfg.scrape.cache_path.exists():
        raise InputError(f"no scrape cache at {cfg.scrape.cache_path}: run `djbios scrape` or pass corpus files")
    st = build_corpus(list(inputs) or None, out or cfg.corpus.path, cfg)
    dropped = ", ".join(f"{k} {v}" for k, v in st["dropped"].items()) or "none"
    click.echo(
        f"{st['path']}: {st['kept']} bios kept, {st['validation']} held out for validation, "
        f"{sum(st['dropped'].values())} dropped ({dropped}) of {st['inputs']} in {st['seconds']:.1f} s"
    )


def _existing_corpus(app: App, path: Path | None) -> Path:
    """The --path given, else [corpus] path; an InputError saying how to make it if it is missing."""
    path = path or app.config.corpus.path
    if not path.exists():
        raise InputError(f"{path}: no corpus yet; run `djbios corpus build`")
    return path


@corpus.command()
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Corpus file (default: [corpus] path).",
)
@pass_app
def stats(app: App, path: Path | None) -> None:
    """Kept/dropped by reason, size, ~tokens, length distribution and the pronoun share.

    \b
    Example:
      djbios corpus stats
    """
    from training.corpus.stats import corpus_stats, format_stats

    path = _existing_corpus(app, path)
    click.echo(format_stats(corpus_stats(path)))


@corpus.command()
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Corpus file (default: [corpus] path); the index goes beside it as .idx.",
)
@pass_app
def index(app: App, path: Path | None) -> None:
    """Build the copy and name indexes the filters use (copied runs, names of real artists).

    \b
    Example:
      djbios corpus index
    """
    from bot.filters.copyindex import build_index
    from training.corpus.takedown import rebuild_names

    path = _existing_corpus(app, path)
    st = build_index(path, path.with_suffix(".idx"))
    click.echo(f"{path.with_suffix('.idx')}: " + ", ".join(f"{k} {v}" for k, v in st.items()))
    click.echo(f"{path.with_suffix('.names.json')}: {rebuild_names(path)} artist names for the real-artist guard")


@corpus.command()
@click.option("--name", default=None, help="The artist's name, as the corpus manifest has it.")
@click.option("--url", default=None, help="The artist page's URL, as scraped.")
@click.option("--reason", default="", help="Why (kept with the takedown).")
@pass_app
def exclude(app: App, name: str | None, url: str | None, reason: str) -> None:
    """Take an artist out of the corpus for good (a re-scrape does not bring them back).

    Removes their bios from the corpus and the validation split, rebuilds the copy and name
    indexes, and records the takedown beside the corpus. Bios naming them are rejected from now
    on; retrain (`djbios train --fresh`) for the model to forget them.

    \b
    Example:
      djbios corpus exclude --name "Nadia Ferro" --reason "asked by email"
    """
    from training.corpus.takedown import exclude as take_down

    st = take_down(app.config.corpus.path, name=name, url=url, reason=reason)
    click.echo(
        f"removed {st['removed']} bios; the name index holds {st['names']} names; "
        f"takedown recorded in {st['takedowns']}. Retrain for the model to forget them."
    )
    if not st["name_found"]:  # e.g. a corpus built from a .txt: nothing could match by name
        click.echo(
            f"warning: no bio in the corpus carries the name {name!r}, so none was removed. Names come from "
            "the manifest's input records: try --url with the page the bio came from, or, for a corpus built "
            "from a .txt (no names, no URLs), remove the bios from the input and rebuild."
        )
