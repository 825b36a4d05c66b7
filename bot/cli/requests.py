"""`djbios requests`: what followers asked for and what became of it."""

from __future__ import annotations

import json

import click

from bot.cli.common import App, listing, pass_app
from bot.store.requests import REQUEST_STATES


@click.command("requests")
@click.option("--state", "-s", type=click.Choice(REQUEST_STATES), default=None, help="Only this state.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (stable shape).")
@click.option("--limit", "-n", type=int, default=50, show_default=True, help="The newest N requests.")
@pass_app
@listing
def requests_cmd(app: App, state: str | None, as_json: bool, limit: int) -> None:
    """List follower requests, oldest first: who asked, for which name, and what happened.

    \b
    States: new (waiting for its bios), queued (a reply waits for review or posting), answered,
    failed, ignored (with why), command / done (the operator's direct messages).
    Example:
      djbios requests --state ignored
      djbios requests --json | jq .reason
    """
    from bot.store.requests import list_requests, reply_candidates

    store = app.store()
    rows = list_requests(store, state, limit=limit)
    if as_json:
        for r in rows:
            replies = [{"id": i, "status": st, "reason": why} for i, st, why in reply_candidates(store, r.id)]
            click.echo(json.dumps({**r.to_json(), "candidates": replies}, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"no {state or ''} requests".replace("  ", " "))
        return
    click.echo(f"{'id':>5}  {'state':<9} {'from':<24} {'asked for':<28} reply / reason")
    for r in rows:
        live = [f"#{i} {st}" for i, st, why in reply_candidates(store, r.id) if why != "not chosen"]
        asked = f"{r.name} ({r.pronouns})" if r.name and r.pronouns else (r.name or "-")
        tail = ", ".join(live[-1:]) + (f"  [{r.reason}]" if r.reason else "")
        click.echo(f"{r.id:>5}  {r.state:<9} {'@' + r.acct:<24.24} {asked:<28.28} {tail}")
