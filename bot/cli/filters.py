"""`djbios filter`: re-run the filters on pending candidates, or explain the verdict on one text."""

from __future__ import annotations

import click

from bot.cli.common import App, pass_app


@click.command("filter")
@click.option("--recheck", is_flag=True, help="Re-run the filters on every pending candidate.")
@click.option("--text", "text", default=None, help="Check this text and explain the verdict (stores nothing).")
@pass_app
def filter_cmd(app: App, recheck: bool, text: str | None) -> None:
    """Re-run the filters on pending candidates after thresholds change.

    Pending candidates that now fail become rejected with the new reason; the
    others stay pending with fresh scores (and defused text).

    \b
    Example:
      djbios filter --recheck
      djbios filter --text "DJ Foo is a producer from Leeds. Follow @foo!"
    """
    from bot.filters.explain import explain
    from bot.filters.gate import default_pipeline, recheck_pending
    from bot.filters.pipeline import build_pipeline

    cfg = app.config
    if text is not None:
        pipe = build_pipeline(cfg, [], max_chars=cfg.mastodon.max_characters or None)
        v = pipe.check(text)
        click.echo(f"text to post: {v.text}")
        click.echo("\n".join(explain(v)))
        return
    if not recheck:
        raise click.UsageError("say what to do: --recheck, or --text TEXT")
    store = app.store()
    counts = recheck_pending(store, default_pipeline(cfg, store))
    kept, changed = counts.pop("pending", 0), counts.pop("changed meanwhile", 0)
    total = sum(counts.values())
    reasons = ", ".join(f"{r}: {n}" for r, n in counts.most_common())
    click.echo(
        f"rechecked {kept + total} pending: {kept} stay pending, {total} rejected"
        + (f" ({reasons})" if reasons else "")
        + (f"; {changed} changed by another process meanwhile (skipped)" if changed else "")
    )
