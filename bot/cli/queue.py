"""Queue commands: add, queue, show, approve, reject, edit, review, stats. None of them imports TF."""

from __future__ import annotations

import json
import math
import sys
from datetime import timedelta
from typing import Any, BinaryIO

import click

from bot.cli.common import App, pass_app
from bot.cli.reviewer import HIDDEN, age, render, review_loop, visible
from bot.errors import BotError, InputError
from bot.store.candidate import STATES, Candidate, utcnow


def _explainer() -> Any:
    """The filters' reviewer view of scores (imported when a candidate is shown)."""
    from bot.filters.explain import explain_scores

    return explain_scores


@click.command()
@click.argument("file", type=click.File("rb"))
@pass_app
def add(app: App, file: BinaryIO) -> None:
    """Import bios from FILE (or - for stdin) as pending candidates.

    FILE holds <|startoftext|>…<|endoftext|> blocks, JSONL with a "text" field, or
    paragraphs separated by blank lines. Nothing is stored if any bio is unreadable. Every bio
    runs the filters: one that fails stays pending with its reason (approve --force to post it).

    \b
    Example:
      djbios add my_bios.txt
      printf 'First bio.\\n\\nSecond bio.\\n' | djbios add -
    """
    from bot.filters.gate import default_pipeline, import_bios
    from bot.store.importer import decode, parse_bios

    raw_name = getattr(file, "name", "-")
    name = "<stdin>" if raw_name in ("<stdin>", "-") else str(raw_name)
    data = file.read()
    if not data.strip():
        raise InputError(f"{name}: file is empty")
    bios = parse_bios(decode(data, name), name)
    store = app.store()
    added = import_bios(store, default_pipeline(app.config, store), bios, source=f"file:{name}")
    failing = [(c, v) for c, v in added if not v.ok]
    click.echo(f"added {len(added)} pending candidates (ids {added[0][0].id}-{added[-1][0].id}) from {name}; "
               f"{len(added) - len(failing)} pass the filters, {len(failing)} fail")
    for c, v in failing:
        click.echo(f"  #{c.id} fails {v.reason}: {v.scores[str(v.reason)]['detail']}")


@click.command()
@click.option("--status", "-s", type=click.Choice(STATES), default=None, help="Only this state.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (stable shape).")
@click.option("--limit", "-n", type=int, default=None, help="At most N rows.")
@click.option("--sort", type=click.Choice(["quality", "age"]), default="quality", show_default=True,
              help="Best quality first, or oldest first.")
@pass_app
def queue(app: App, status: str | None, as_json: bool, limit: int | None, sort: str) -> None:
    """List candidates, best first: id, status, quality, age, length, first words, reason.

    \b
    Example:
      djbios queue --status pending
      djbios queue --sort age --json | jq .text
    """
    order = "quality" if sort == "quality" else "oldest"
    rows = _fast_list(app, status=status, limit=limit, order=order)
    if rows is None:
        rows = app.store().list(status, limit=limit, order=order)
    if as_json:
        for c in rows:
            click.echo(json_text(c.to_json()))
        return
    if not rows:
        click.echo(f"no {status or ''} candidates".replace("  ", " "))
        return
    now = utcnow()
    click.echo(f"{'id':>5}  {'status':<9} {'qual':>4} {'age':>5} {'len':>5}  text / reason")
    for c in rows:
        words = " ".join(c.text.split()[:9])
        tail = f"  [{c.reason}]" if c.reason else ""
        q = f"{c.quality:.2f}" if c.quality is not None else "-"
        line = f"{c.id:>5}  {c.status:<9} {q:>4} {age(c.created_at, now):>5} {len(c.text):>5}  {words}…{tail}"
        click.echo(visible(line))


@click.command()
@click.argument("cid", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the full record as JSON.")
@pass_app
def show(app: App, cid: int, as_json: bool) -> None:
    """Show one candidate with its scores and provenance.

    \b
    Example:
      djbios show 42 --json
    """
    found = _fast_list(app, cid=cid)
    c = found[0] if found else app.store().get(cid)  # the store raises NotFound with the message
    if as_json:
        click.echo(json_text(c.to_json(), indent=2))
        return
    click.echo(render(c, _explainer()))
    for label, value in _provenance(c):
        click.echo(visible(f"{label}: {value}"))


def json_text(obj: Any, indent: int | None = None) -> str:
    """Always valid JSON: NaN/infinity (older rows stored them) become null, and the characters a
    terminal would act on (reviewer.HIDDEN; JSON escapes only C0 itself) are written as \\u escapes."""
    text = json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False, indent=indent)
    return HIDDEN.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _finite(value: Any) -> Any:
    """`value` with every non-finite float, however deep, replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _fast_list(app: App, **query: Any) -> list[Candidate] | None:
    """The SQLAlchemy-free read path (bot/store/fastread.py); None when it does not apply."""
    from bot.config import database_url
    from bot.store.fastread import list_candidates

    return list_candidates(database_url(app.config), **query)


def _provenance(c: Candidate) -> list[tuple[str, Any]]:
    """The non-empty provenance fields, for people."""
    pairs = [("uuid", c.uuid), ("checkpoint", c.checkpoint), ("step", c.step), ("seed", c.seed),
             ("prompt", c.prompt), ("pronouns", c.pronouns), ("batch", c.batch_id),
             ("params", c.params or None), ("attempts", c.attempts or None),
             ("last error", c.last_error), ("posted", c.posted_url)]
    return [(k, v) for k, v in pairs if v is not None]


def _each(ids: tuple[int, ...], action: Any) -> None:
    """Apply `action` to every id; report each failure and exit non-zero if any failed."""
    failed = 0
    for cid in ids:
        try:
            c = action(cid)
            click.echo(f"#{c.id} {c.status}")
        except BotError as exc:
            failed += 1
            click.echo(f"error: {exc}", err=True)
    if failed:
        sys.exit(1)


@click.command()
@click.argument("ids", metavar="ID...", type=int, nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Approve even when a filter fails (recorded in the history).")
@pass_app
def approve(app: App, ids: tuple[int, ...], force: bool) -> None:
    """Approve pending candidates for posting, or re-queue a failed one (it keeps its place).

    Each is checked by the filters first.

    \b
    Example:
      djbios approve 12 13 17
      djbios approve --force 18     # a bio a filter rejects, posted anyway
    """
    from bot.filters.gate import approve as gate_approve
    from bot.filters.gate import default_pipeline

    store = app.store()
    pipe = default_pipeline(app.config, store)
    _each(ids, lambda cid: gate_approve(store, pipe, cid, force=force))


@click.command()
@click.argument("ids", metavar="ID...", type=int, nargs=-1, required=True)
@click.option("--reason", default="", help="Why (kept with the candidate).")
@pass_app
def reject(app: App, ids: tuple[int, ...], reason: str) -> None:
    """Reject candidates; they are kept but never posted.

    \b
    Example:
      djbios reject 14 --reason "names a real club"
    """
    store = app.store()
    _each(ids, lambda cid: store.reject(cid, reason=reason))


@click.command()
@click.argument("cid", metavar="ID", type=int)
@pass_app
def edit(app: App, cid: int) -> None:
    """Edit a candidate's text in $EDITOR, then check it; the original stays in its history.

    An edit that fails a filter moves an approved bio back to pending with the reason.

    \b
    Example:
      EDITOR=nano djbios edit 42
    """
    from bot.filters.explain import explain
    from bot.filters.gate import default_pipeline
    from bot.filters.gate import edit as gate_edit

    store = app.store()
    c = store.get(cid)
    new = click.edit(c.text, require_save=True)
    if new is None or new.strip() == c.text:
        click.echo("unchanged")
        return
    c, verdict = gate_edit(store, default_pipeline(app.config, store), cid, new.strip())
    click.echo(f"#{c.id} edited ({len(c.text)} chars), now {c.status}")
    click.echo("\n".join(explain(verdict)))


@click.command()
@pass_app
def review(app: App) -> None:
    """Review pending candidates one by one, oldest first.

    Keys: a approve, r reject (then an optional reason), e edit in $EDITOR, s skip, q quit.
    Reads keys from stdin, so it also works with piped input.

    \b
    Example:
      djbios review
      printf 'a\\nr\\nnot funny\\n' | djbios review
    """
    interactive = sys.stdin.isatty()

    def ask(prompt: str) -> str | None:
        if interactive:
            return click.prompt(prompt, default="", show_default=False, prompt_suffix="")
        line = sys.stdin.readline()
        return line.rstrip("\n") if line else None

    from bot.filters.gate import default_pipeline

    store = app.store()
    review_loop(store, ask, click.echo, lambda t: click.edit(t), _explainer(),
                pipe=default_pipeline(app.config, store))


@click.command()
@pass_app
def stats(app: App) -> None:
    """Counts by status, the approval rate and posts per day.

    \b
    Example:
      djbios stats
    """
    store = app.store()
    counts = store.count_by_status()
    for st in STATES:
        click.echo(f"{st:<9} {counts[st]:>6}")
    passed = counts["approved"] + counts["posting"] + counts["posted"] + counts["failed"]
    reviewed = passed + sum(1 for c in store.list("rejected") if c.reviewed_at)
    rate = f"{100 * passed / reviewed:.0f}%" if reviewed else "n/a"
    click.echo(f"approval rate: {rate} of {reviewed} reviewed")
    click.echo(f"posts per day: {_per_day(store.posted_times())}")
    from bot.store.requests import count_by_state  # follower requests (bot/posting/replies.py)

    click.echo("requests: " + (", ".join(f"{st} {n}" for st, n in count_by_state(store).items() if n) or "none"))


def _per_day(times: list[Any]) -> str:
    """Posts per day over the last 7 days, and over all time."""
    if not times:
        return "none yet"
    now = utcnow()
    week = sum(1 for t in times if t >= now - timedelta(days=7)) / 7
    days = max(1.0, (now - min(times)).total_seconds() / 86400)
    return f"{week:.1f} (last 7 days), {len(times) / days:.1f} (all time)"
