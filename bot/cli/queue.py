"""Queue commands: add, queue, show, approve, reject, edit, review, stats. None of them imports TF."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

import click

from bot.cli.common import App, listing, pass_app
from bot.cli.reviewer import age, nothing_to_review, render, review_loop
from bot.cli.tally import posts_line, reviewer_lines
from bot.cli.terminal import piped_terminal, tty_terminal, wrap
from bot.errors import BotError, InputError
from bot.store.candidate import STATES, Candidate, utcnow
from bot.text import HIDDEN, visible


def _explainer() -> Callable[[dict[str, Any]], list[str]]:
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
    click.echo(
        f"added {len(added)} pending candidates (ids {added[0][0].id}-{added[-1][0].id}) from {name}; "
        f"{len(added) - len(failing)} pass the filters, {len(failing)} fail"
    )
    for c, v in failing:
        click.echo(f"  #{c.id} fails {v.reason}: {v.scores[str(v.reason)]['detail']}")


@click.command()
@click.option("--status", "-s", type=click.Choice(STATES), default=None, help="Only this state.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (stable shape).")
@click.option("--limit", "-n", type=int, default=None, help="At most N rows.")
@click.option(
    "--sort",
    type=click.Choice(["quality", "age"]),
    default="quality",
    show_default=True,
    help="Best quality first, or oldest first.",
)
@pass_app
@listing
def queue(app: App, status: str | None, as_json: bool, limit: int | None, sort: str) -> None:
    """List candidates, best first: id, status, quality, age, length, first words, reason.

    \b
    Example:
      djbios queue --status pending
      djbios queue --sort age --json | jq .text
    """
    app.require_database()
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
@listing
def show(app: App, cid: int, as_json: bool) -> None:
    """Show one candidate with its scores and provenance.

    \b
    Example:
      djbios show 42 --json
    """
    app.require_database()
    found = _fast_list(app, cid=cid)
    c = found[0] if found else app.store().get(cid)  # the store raises NotFound with the message
    if as_json:
        click.echo(json_text(c.to_json(), indent=2))
        return
    click.echo(render(c, _explainer()))
    for label, value in _provenance(c):
        click.echo("\n".join(wrap(visible(f"{label}: {value}"), indent="    ")))


def json_text(obj: Any, indent: int | None = None) -> str:
    """Always valid JSON: NaN/infinity (older rows stored them) become null, and the characters a
    terminal would act on (bot.text.HIDDEN; JSON escapes only C0 itself) are written as \\u escapes."""
    text = json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False, indent=indent)
    return HIDDEN.sub(lambda m: _json_escape(m[0]), text)


def _json_escape(ch: str) -> str:
    """One character as JSON's \\u escape: a surrogate pair past U+FFFF (the tag characters)."""
    units = ch.encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2))


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
    pairs = [
        ("uuid", c.uuid),
        ("checkpoint", c.checkpoint),
        ("step", c.step),
        ("seed", c.seed),
        ("prompt", c.prompt),
        ("pronouns", c.pronouns),
        ("batch", c.batch_id),
        ("params", c.params or None),
        ("attempts", c.attempts or None),
        ("last error", c.last_error),
        ("posted", c.posted_url),
    ]
    return [(k, v) for k, v in pairs if v is not None]


def _each(ids: tuple[int, ...], action: Callable[[int], Candidate]) -> None:
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
    from bot.filters.explain import explain_scores
    from bot.filters.gate import default_pipeline
    from bot.filters.gate import edit as gate_edit

    store = app.store()
    before = store.get(cid)
    new = click.edit(before.text, require_save=True)
    if new is None or new.strip() == before.text:
        click.echo("unchanged")
        return
    c, verdict = gate_edit(store, default_pipeline(app.config, store), cid, new.strip())
    click.echo(f"#{c.id} edited ({len(c.text)} chars), now {c.status}")
    # the state the edit left, not "rejected": a failing edit of a pending bio leaves it pending
    moved = "stays" if c.status == before.status else "now"
    click.echo("verdict: pass" if verdict.ok else f"fails ({verdict.reason}): {moved} {c.status}")
    click.echo("\n".join(explain_scores(verdict.scores)))


@click.command()
@pass_app
def review(app: App) -> None:
    """Review pending candidates one by one, best first.

    Keys: a approve, r reject (then a reason, as a line), e edit in $EDITOR, s skip, u undo the last
    approve or reject, q quit. On a terminal each is one key press; piped input gives one line per key,
    and a rejection's reason may follow its r on the same line ("r not funny").

    \b
    Example:
      djbios review
      printf 'a\\nr not funny\\ns\\nq\\n' | djbios review
    """
    store = app.store()
    if not store.list("pending", limit=1):  # say so before loading the filters (seconds)
        click.echo(nothing_to_review(store, app.command))
        return
    from bot.filters.gate import default_pipeline

    term = tty_terminal() if sys.stdin.isatty() else piped_terminal(sys.stdin)
    review_loop(store, term, pipe=default_pipeline(app.config, store))


@click.command()
@pass_app
@listing
def stats(app: App) -> None:
    """Counts by status, who approved and rejected what, and how often bios went out.

    \b
    Example:
      djbios stats
    """
    store = app.store()
    counts = store.count_by_status()
    parts = [f"{n} {st}" for st, n in counts.items() if n]
    click.echo(f"candidates: {sum(counts.values())}{' (' + ', '.join(parts) + ')' if parts else ''}")
    for line in reviewer_lines(store.list()):
        click.echo(line)
    click.echo(f"posted: {posts_line(store.posted_times(), utcnow())}")
    from bot.store.requests import count_by_state  # follower requests (bot/posting/replies.py)

    click.echo("requests: " + (", ".join(f"{st} {n}" for st, n in count_by_state(store).items() if n) or "none"))
