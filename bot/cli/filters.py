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
    from bot.filters.pipeline import build_pipeline, recheck_pending

    cfg = app.config
    max_chars = cfg.mastodon.max_characters or None
    if text is not None:
        pipe = build_pipeline(cfg, [])
        v = pipe.check(text, max_chars=max_chars)
        click.echo(f"text to post: {v.text}")
        click.echo("\n".join(explain(v)))
        return
    if not recheck:
        raise click.UsageError("say what to do: --recheck, or --text TEXT")
    store = app.store()
    pipe = build_pipeline(cfg, store.texts(("approved", "posting", "posted", "failed")))
    counts = recheck_pending(store, pipe, max_chars=max_chars)
    kept, skipped = counts.pop("pending", 0), counts.pop("skipped", 0)
    total = sum(counts.values())
    reasons = ", ".join(f"{r}: {n}" for r, n in counts.most_common())
    click.echo(f"rechecked {kept + total} pending: {kept} stay pending, {total} rejected"
               + (f" ({reasons})" if reasons else "")
               + (f"; skipped {skipped} changed by another process meanwhile" if skipped else ""))
