"""The queue commands through click's CliRunner on a real SQLite file."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import COMMANDS, cli
from bot.cli.queue import posts_line
from bot.config import database_url, load_config
from bot.errors import IllegalTransition
from bot.store.candidate import utcnow
from bot.store.store import Store
from tests.fixtures_store import GOOD_BIOS


def bios(n: int) -> str:
    """n team-written bios that pass every filter, as `djbios add -` reads them."""
    return "\n\n".join(GOOD_BIOS[:n]) + "\n"


JSON_KEYS = {"id", "uuid", "status", "text", "reason", "scores", "created_at", "posted_url"}


@pytest.fixture
def run(config_file: Path):
    """Invoke `djbios --config <tmp bot.toml> ARGS` and return the click Result."""
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None) -> Result:
        return runner.invoke(cli, ["--config", str(config_file), *args], input=input)

    return invoke


def db(config_file: Path) -> Store:
    return Store.open(database_url(load_config(config_file)))


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "bios.txt",
            "<|startoftext|>One.<|endoftext|>\n<|startoftext|>Two\nlines.<|endoftext|>\n",
            ["One.", "Two\nlines."],
        ),
        ("bios.jsonl", '{"text": "One."}\n\n{"text": "Two.", "name": "x"}\n', ["One.", "Two."]),
        ("bios.md", "One.\n\n  \nTwo\nstill two.\n", ["One.", "Two\nstill two."]),
    ],
)
def test_add_each_format(run, config_file: Path, tmp_path: Path, name: str, content: str, expected: list[str]) -> None:
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    result = run("add", str(f))
    assert result.exit_code == 0, result.output
    cands = db(config_file).list()
    assert [c.text for c in cands] == expected
    assert {c.status for c in cands} == {"pending"}
    assert cands[0].source == f"file:{f}"


def test_add_from_stdin(run, config_file: Path) -> None:
    assert run("add", "-", input="A.\n\nB.\n").exit_code == 0
    assert len(db(config_file).list("pending")) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"   \n\n", "file is empty"),
        (b"caf\xe9 bio in latin-1\n", "not UTF-8"),
        (b'{"text": "ok"}\n{"txt": "bad"}\n', ":2: expected an object with a string 'text'"),
        (b'{"text": "ok"}\n{broken\n', ":2: not valid JSON"),
        (("x" * 20_001).encode(), "limit is 20000"),
        (b"<|startoftext|><|endoftext|>", "no bios found"),
        (b"<|startoftext|>A bio.<|endoftext|>\n<|startoftext|>Cut off", "text outside"),
    ],
)
def test_add_bad_input_is_one_line_and_stores_nothing(
    run, config_file: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    f = tmp_path / "in.txt"
    f.write_bytes(content)
    result = run("add", str(f))
    assert result.exit_code != 0
    assert message in result.output
    assert result.output.strip().count("\n") == 0
    assert db(config_file).list() == []


def test_add_unreadable_file(run, tmp_path: Path) -> None:
    result = run("add", str(tmp_path / "missing.txt"))
    assert result.exit_code != 0 and "No such file or directory" in result.output


def test_queue_lists_and_json_shape(run) -> None:
    run("add", "-", input="First bio with several words in it.\n\nSecond.\n")
    out = run("queue")
    assert out.exit_code == 0 and "First bio with several" in out.output and "pending" in out.output
    lines = run("queue", "--json").output.strip().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 2 and all(JSON_KEYS <= set(r) for r in rows)
    assert rows[0]["status"] == "pending" and rows[0]["created_at"].endswith("+00:00")
    shown = json.loads(run("show", "1", "--json").output)
    assert JSON_KEYS <= set(shown) and shown["text"] == "First bio with several words in it."


def test_queue_filters_by_status(run) -> None:
    run("add", "-", input=bios(2))
    run("approve", "2")
    out = run("queue", "--status", "approved", "--json").output.strip().splitlines()
    assert [json.loads(x)["id"] for x in out] == [2]


def test_approve_reject_and_illegal(run, config_file: Path) -> None:
    run("add", "-", input=bios(2))
    assert run("approve", "1").exit_code == 0
    assert run("reject", "2", "--reason", "dull").exit_code == 0
    again = run("approve", "1")
    assert again.exit_code == 1 and "candidate 1 is approved" in again.output
    unknown = run("approve", "7")
    assert unknown.exit_code == 1 and "no candidate with id 7" in unknown.output
    assert db(config_file).get(2).reason == "dull"


def test_approving_a_posted_bio_is_refused(run, config_file: Path) -> None:
    run("add", "-", input="A.\n")
    store = db(config_file)
    store.approve(1)
    store.start_posting(1)
    store.mark_posted(1, status_id="5", url="https://x/5")
    result = run("approve", "1")
    assert result.exit_code == 1 and "is posted" in result.output
    assert store.get(1).status == "posted"


def test_review_with_piped_keys(run, config_file: Path) -> None:
    run("add", "-", input=bios(4))
    result = run("review", input="a\nr\nnot funny\ns\nq\n")
    assert result.exit_code == 0, result.output
    assert "approved 1, rejected 1, edited 0, skipped 1" in result.output
    store = db(config_file)
    assert [c.status for c in store.list()] == ["approved", "rejected", "pending", "pending"]
    assert store.get(2).reason == "not funny"


def test_review_piped_reason_on_the_key_line(run, config_file: Path) -> None:
    run("add", "-", input=bios(3))
    result = run("review", input="rgibberish\nR  too long \na\n")
    assert "approved 1, rejected 2" in result.output, result.output
    store = db(config_file)
    assert sorted((c.status, c.reason) for c in store.list()) == [
        ("approved", None),
        ("rejected", "gibberish"),
        ("rejected", "too long"),
    ]


def test_review_piped_undo(run, config_file: Path) -> None:
    run("add", "-", input=bios(2))
    result = run("review", input="a\nu\nr\nmeh\nq\n")
    assert result.exit_code == 0, result.output
    assert "approved 0, rejected 1, edited 0, skipped 0, undone 1" in result.output
    store = db(config_file)
    assert sorted((c.status, c.reason) for c in store.list()) == [("pending", None), ("rejected", "meh")]


def test_review_empty_queue_names_the_next_step(run, config_file: Path) -> None:
    result = run("review")
    assert result.exit_code == 0
    assert result.output.startswith("nothing to review")
    assert f"`djbios --config {config_file} generate` makes" in result.output  # pasteable: the same config


@pytest.mark.parametrize("args", [("queue",), ("queue", "--json"), ("show", "1")])
def test_reading_a_missing_database_says_so_and_creates_nothing(run, config_file: Path, args: tuple[str, ...]) -> None:
    result = run(*args)
    path = config_file.parent / "var" / "test.db"
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert result.output == (
        f"Error: no database at {path} (config: {config_file}); run `djbios --config {config_file} generate` "
        f"or `djbios --config {config_file} add`, or pass --config\n"
    )
    assert not path.exists() and not path.parent.exists()
    assert run("add", "-", input=bios(1)).exit_code == 0 and path.exists()  # a writing command creates it


def test_a_missing_database_without_a_config_file_says_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DJBIOS_CONFIG", raising=False)
    result = CliRunner().invoke(cli, ["queue"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: no database at {tmp_path / 'var' / 'djbios.db'} (config: built-in")
    assert "run `djbios generate` or `djbios add`" in result.output and not (tmp_path / "var").exists()


def test_edit_that_fails_says_the_bio_stays_pending(
    run, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("add", "-", input=bios(1))
    editor = tmp_path / "ed.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'w').write('Far too short to post.')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    out = run("edit", "1").output
    assert "#1 edited (22 chars), now pending\nfails (length): stays pending\n" in out, out
    assert "rejected" not in out and db(config_file).get(1).status == "pending"


@pytest.mark.parametrize(
    "args", [("queue",), ("queue", "--json"), ("show", "1"), ("stats",), ("status",), ("requests",)]
)
def test_a_reader_that_stops_early_ends_a_listing_quietly(run, config_file: Path, args: tuple[str, ...]) -> None:
    """`djbios queue | head`: no "Error: Broken pipe", no traceback at exit; 141 as for SIGPIPE."""
    import os
    import subprocess

    run("add", "-", input=bios(2))
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is already gone: the first write fails, deterministically
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bot.cli", "--config", str(config_file), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_undo_only_takes_back_the_callers_own_decision(store: Store) -> None:
    c = store.add("A bio.", source="test")
    store.approve(c.id, by="auto")
    with pytest.raises(IllegalTransition, match="approved by auto, not operator"):
        store.undo_review(c.id, "approved")
    store.start_posting(c.id)
    with pytest.raises(IllegalTransition, match="is posting; unapprove needs approved"):
        store.undo_review(c.id, "approved", by="auto")


def test_review_edit_then_approve(run, config_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    editor = tmp_path / "ed.py"
    editor.write_text(f"import sys\nopen(sys.argv[1], 'w').write({GOOD_BIOS[1]!r})\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    run("add", "-", input="Original bio, too short to pass.\n")
    result = run("review", input="e\na\n")
    assert "edited 1" in result.output and "approved 1" in result.output
    c = db(config_file).get(1)
    assert c.text == GOOD_BIOS[1] and c.status == "approved"
    assert any(h.get("previous_text") == "Original bio, too short to pass." for h in c.history)


def test_review_stops_at_end_of_input(run) -> None:
    run("add", "-", input=bios(2))
    result = run("review", input="a\n")
    assert result.exit_code == 0 and "approved 1" in result.output


def test_stats_separates_auto_approval_from_review(run, config_file: Path) -> None:
    run("add", "-", input=bios(5))
    store = db(config_file)
    store.approve(1, by="auto")
    store.approve(2, by="auto")
    run("approve", "3")
    run("reject", "4")
    store.approve(5, by="dm:@ana")
    store.add("Cut off and rejected by the filters", source="generate", status="rejected", reason="length")
    out = run("stats").output
    assert out.splitlines()[0] == "candidates: 6 (2 rejected, 4 approved)"
    assert "auto-approved: 2" in out
    assert "reviewed by operator: 1 approved, 1 rejected (approval rate 50%)" in out
    assert "reviewed by dm:@ana: 1 approved, 0 rejected (approval rate 100%)" in out
    assert "rejected by the filters before any review: 1" in out
    assert "posted: none yet" in out


def _posted_at(store: Store, cid: int, when: datetime) -> None:
    store.approve(cid, when)
    store.start_posting(cid, when)
    store.mark_posted(cid, status_id=str(cid), url=f"https://x/{cid}", now=when)


def test_stats_rates_over_the_real_span(run, config_file: Path) -> None:
    """Two posts minutes apart are "2 posts in 3 minutes", not a daily rate from a 7-day window."""
    run("add", "-", input=bios(4))
    store = db(config_file)
    now = utcnow()
    _posted_at(store, 1, now - timedelta(minutes=5))
    assert "posted: 1 post, 5m ago" in run("stats").output
    _posted_at(store, 2, now - timedelta(minutes=2))
    assert "posted: 2 posts in 3 minutes; the last 2m ago" in run("stats").output
    _posted_at(store, 3, now - timedelta(days=6, minutes=5))  # a post a day would be 1.0 a day
    _posted_at(store, 4, now - timedelta(days=3, minutes=5))
    assert "posted: 4 posts in 6.0 days, 0.5 a day; the last 2m ago" in run("stats").output


def test_posts_line_units() -> None:
    now = datetime(2026, 1, 10, 12, 0)
    assert posts_line([], now) == "none yet"
    assert posts_line([now - timedelta(seconds=30), now], now) == "2 posts in 30 seconds; the last 0s ago"
    assert posts_line([now - timedelta(hours=5), now], now) == "2 posts in 5.0 hours; the last 0s ago"
    week = [now - timedelta(days=d) for d in range(7)]
    assert posts_line(week, now) == "7 posts in 6.0 days, 1.0 a day; the last 0s ago"


def test_malformed_config_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bot.toml"
    bad.write_text("[review]\nmode = 'maybe'\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "queue"])
    assert result.exit_code == 1
    assert f"{bad}: 'review.mode' must be one of" in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(name: str) -> None:
    cmd = cli.get_command(None, name)  # type: ignore[arg-type]
    if cmd is None:
        pytest.fail(f"command {name} is registered but its module does not import")
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output, f"`djbios {name} --help` has no example"


def test_queue_commands_do_not_import_tensorflow(config_file: Path) -> None:
    import subprocess

    code = (
        "import sys; from bot.cli import main\n"
        "try: main(['--config', sys.argv[1], 'queue'])\n"
        "except SystemExit: pass\n"
        "bad = [m for m in ('tensorflow', 'gpt_2_simple', 'numpy', 'sqlalchemy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code, str(config_file)], check=True)


def test_review_skips_a_bio_changed_by_another_process(run, config_file: Path) -> None:
    """Another reviewer approves #1 while it is on screen: the session goes on with #2."""
    run("add", "-", input=bios(2))
    store = db(config_file)
    asked = []

    def key(prompt: str) -> str | None:
        if not asked:
            store.approve(1)  # the other process acts before this reviewer presses a key
        asked.append(prompt)
        return "a" if len(asked) <= 2 else None

    from bot.cli.reviewer import Terminal, review_loop

    lines: list[str] = []
    from bot.filters.gate import default_pipeline

    term = Terminal(key=key, line=lambda p: None, say=lines.append, edit=lambda t: None)
    summary = review_loop(store, term, pipe=default_pipeline(load_config(config_file), store))
    assert any("candidate 1 is approved" in line for line in lines)
    assert summary.approved == 1 and store.get(2).status == "approved"
