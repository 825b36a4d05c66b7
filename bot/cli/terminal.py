"""The reviewer's terminal: single keys or piped lines, a reason as a line, text wrapped to the width.

On a terminal a key is one key press (click.getchar); piped input gives one line per key (a reason may
follow the key on its line). Wrapping
follows the terminal's width ($COLUMNS wins, as shutil.get_terminal_size reads it).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import textwrap
from collections.abc import Callable
from typing import TextIO

import click

MIN_WIDTH = 20  # columns: narrower terminals still get words, not letters, per line


@dataclasses.dataclass
class Terminal:
    """How the loop talks to the reviewer."""

    key: Callable[[str], str | None]  # one key (lower case) after a prompt; "" = none; None = end of input
    line: Callable[[str], str | None]  # a line (a rejection's reason); None = end of input
    say: Callable[[str], None]
    edit: Callable[[str], str | None]  # the text in $EDITOR; None = unchanged


def tty_terminal() -> Terminal:
    """Single keys from the terminal, the reason as a line, $EDITOR for edits."""
    return Terminal(key=_tty_key, line=_tty_line, say=click.echo, edit=lambda t: click.edit(t))


def piped_terminal(stream: TextIO | None = None) -> Terminal:
    """Keys and reasons from piped lines: the first letter of a line is its key, the rest its reason.

    "r too long" rejects with the reason "too long"; a bare "r" takes the reason from the next line.
    """
    src = stream or sys.stdin
    rest: list[str] = []  # what followed the last key on its line, for the reason asked next

    def read(_prompt: str) -> str | None:
        got = src.readline()
        return got.rstrip("\n") if got else None

    def key(prompt: str) -> str | None:
        rest.clear()  # only the key just read may hand its line's rest to a reason
        got = read(prompt)
        if got is None:
            return None
        got = got.strip()
        if got[1:].strip():
            rest.append(got[1:].strip())
        return got.lower()[:1]

    def line(prompt: str) -> str | None:
        return rest.pop() if rest else read(prompt)

    return Terminal(key=key, line=line, say=click.echo, edit=lambda t: click.edit(t))


def _tty_key(prompt: str) -> str | None:
    """One key press, echoed; Enter alone waits for a key; Ctrl-C and Ctrl-D end the session."""
    click.echo(prompt, nl=False)
    while True:
        try:
            ch = click.getchar()
        except (KeyboardInterrupt, EOFError):
            click.echo()
            return None
        if ch not in ("\r", "\n"):
            click.echo(ch if ch.isprintable() else repr(ch))
            return ch.lower()


def _tty_line(prompt: str) -> str | None:
    """A line typed after a prompt (the terminal's own line editing); Ctrl-C or Ctrl-D gives None.

    Not click.prompt: input() writes its prompt to stderr, which bot/cli/quiet.py passes on a line at
    a time, so the prompt would only appear after Enter.
    """
    click.echo(prompt, nl=False)
    try:
        got = sys.stdin.readline()
    except KeyboardInterrupt:
        got = ""
    if not got:
        click.echo()
        return None
    return got.rstrip("\n")


def term_width() -> int:
    """The columns to wrap to: $COLUMNS, else the terminal's width, else 80."""
    return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def wrap(text: str, width: int | None = None, indent: str = "") -> list[str]:
    """`text` wrapped at spaces to `width` (default: the terminal's), each of its lines on its own.

    Blank lines stay; no line starts or ends with a stray space; continuation lines get `indent`.
    """
    w = width or term_width()
    out: list[str] = []
    for para in text.split("\n"):
        lead = para[: len(para) - len(para.lstrip(" "))]  # a line's own indent (explain's sub-lines)
        out += textwrap.wrap(
            para.strip(), w, initial_indent=lead, subsequent_indent=lead + indent, break_on_hyphens=False
        ) or [""]
    return out
