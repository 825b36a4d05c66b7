"""`djbios review` and `show` in a real pseudo-terminal (pexpect): single keys, the reason line, undo,
the empty queue, a refused approval, and wrapping to the terminal's width."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.cli.reviewer import KEYS
from bot.config import database_url, load_config
from bot.store.store import Store
from tests.fixtures_store import GOOD_BIOS

ROOT = Path(__file__).resolve().parents[2]
PROMPT = re.escape(KEYS)
LONG_BIO = (
    GOOD_BIOS[0] + " Her Sunday sets run for six hours, drifting from old disco edits into slow acid, "
    "and she keeps a notebook of every record she has ever played twice in one night."
)  # several lines


def add(config_file: Path, *bios: str) -> None:
    """Queue bios through `djbios add -` (so they carry the filters' verdicts)."""
    result = CliRunner().invoke(cli, ["--config", str(config_file), "add", "-"], input="\n\n".join(bios) + "\n")
    assert result.exit_code == 0, result.output


def spawn(config_file: Path, *args: str, cols: int = 80) -> pexpect.spawn:
    """`djbios ARGS` in a pty of 24 rows and `cols` columns (no $COLUMNS: the pty's size decides)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "DJBIOS_CONFIG")}
    env["PYTHONPATH"] = str(ROOT)
    return pexpect.spawn(
        sys.executable,
        ["-m", "bot.cli", "--config", str(config_file), *args],
        cwd=str(ROOT),
        env=env,
        dimensions=(24, cols),
        encoding="utf-8",
        timeout=60,
    )


def on_screen(child: pexpect.spawn, n: int, total: int) -> int:
    """Wait for candidate n of total and its key prompt; its id."""
    child.expect(rf"\[{n}/{total}\] #(\d+) ")
    cid = int(child.match.group(1))
    child.expect(PROMPT)
    return cid


def finish(child: pexpect.spawn) -> str:
    """Everything the process still prints; it must exit 0."""
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def db(config_file: Path) -> Store:
    return Store.open(database_url(load_config(config_file)))


def test_single_keys_approve_reject_with_reason_skip_quit(config_file: Path) -> None:
    add(config_file, *GOOD_BIOS[:4])
    child = spawn(config_file, "review")
    first = on_screen(child, 1, 4)
    child.send("a")  # one key, no Enter
    second = on_screen(child, 2, 4)
    child.send("r")
    child.expect(r"reason \(optional\) > ")
    child.sendline("as if")  # a and s typed at the reason prompt are the reason, not keys
    on_screen(child, 3, 4)
    child.send("s")
    on_screen(child, 4, 4)
    child.send("q")
    assert "approved 1, rejected 1, edited 0, skipped 1" in finish(child)
    store = db(config_file)
    assert store.get(first).status == "approved" and store.get(first).reviewed_by == "operator"
    assert store.get(second).status == "rejected" and store.get(second).reason == "as if"
    assert [c.status for c in store.list()].count("pending") == 2


def test_enter_alone_waits_for_a_key(config_file: Path) -> None:
    add(config_file, GOOD_BIOS[0])
    child = spawn(config_file, "review")
    on_screen(child, 1, 1)
    child.send("\r")
    child.send("s")
    out = finish(child)
    assert "unknown key" not in out and "skipped 1" in out


def test_undo_takes_back_approve_and_reject(config_file: Path) -> None:
    add(config_file, *GOOD_BIOS[:2])
    child = spawn(config_file, "review")
    first = on_screen(child, 1, 2)
    child.send("u")
    child.expect("nothing to undo")
    child.send("a")
    on_screen(child, 2, 2)
    child.send("u")
    child.expect(f"#{first} is pending again")
    assert on_screen(child, 1, 2) == first  # the bio taken back is on screen again
    child.send("r")
    child.expect(r"reason \(optional\) > ")
    child.sendline("dull")
    on_screen(child, 2, 2)
    child.send("u")
    child.expect(f"#{first} is pending again")
    on_screen(child, 1, 2)
    child.send("q")
    assert "approved 0, rejected 0, edited 0, skipped 0, undone 2" in finish(child)
    c = db(config_file).get(first)
    assert c.status == "pending" and c.reason is None and c.reviewed_by is None and c.reviewed_at is None
    events = [(h["event"], h.get("by")) for h in c.history if h["event"] != "set_verdict"]
    assert events == [
        ("approve", "operator"),
        ("unapprove", "operator"),
        ("reject", "operator"),
        ("unreject", "operator"),
    ]


def test_empty_queue_says_so_with_the_next_step(config_file: Path) -> None:
    child = spawn(config_file, "review")
    out = finish(child)
    assert "nothing to review" in out and f"djbios --config {config_file} generate" in out
    assert "approved 0" not in out


def test_a_refused_approval_keeps_the_bio_on_screen(config_file: Path) -> None:
    add(config_file, "Far too short to post.")
    child = spawn(config_file, "review")
    cid = on_screen(child, 1, 1)
    child.send("a")
    child.expect("fails the length filter")
    child.expect(PROMPT)  # still deciding on the same bio
    child.send("s")
    assert "approved 0, rejected 0, edited 0, skipped 1" in finish(child)
    assert db(config_file).get(cid).status == "pending"


# logging's lines (the test config has no copy index, so review warns)
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


def screen_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


@pytest.mark.parametrize("cols", [60, 120])
def test_show_and_review_wrap_to_the_terminal(config_file: Path, cols: int) -> None:
    add(config_file, LONG_BIO)
    child = spawn(config_file, "show", "1", cols=cols)
    shown = screen_lines(finish(child))
    child = spawn(config_file, "review", cols=cols)
    child.expect(PROMPT)
    reviewed = screen_lines(str(child.before))
    child.send("q")
    finish(child)
    for lines in (shown, reviewed):
        body = [line for line in lines if line.strip() and not LOG_LINE.match(line)]
        assert max(map(len, body)) <= cols
        assert max(map(len, body)) > cols - 20  # it uses the width it has
        assert not [line for line in body if line != line.rstrip()], "trailing spaces"
        start = next(i for i, line in enumerate(body) if re.match(r"(\[1/1\] )?#1 ", line)) + 1
        end = next(i for i, line in enumerate(body) if line[:1] in "✓✗")
        assert " ".join(body[start:end]) == LONG_BIO  # every word, in order, nothing else
        assert not [line for line in body[start:end] if line.startswith(" ")], "stray leading spaces"


def test_columns_variable_sets_the_width(config_file: Path) -> None:
    add(config_file, LONG_BIO)
    out = CliRunner().invoke(cli, ["--config", str(config_file), "show", "1"], env={"COLUMNS": "60"}).output
    assert max(map(len, out.splitlines())) <= 60


def test_wrap_adds_no_spaces_and_keeps_blank_lines() -> None:
    from bot.cli.terminal import wrap

    assert wrap("one two three   \n\n  four five", 9) == ["one two", "three", "", "  four", "  five"]
    assert wrap("✗ copy: a long detail line", 12, indent="    ") == ["✗ copy: a", "    long", "    detail", "    line"]
