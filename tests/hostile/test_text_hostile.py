"""Hostile bio text: terminal escapes never reach the reviewer raw, every thread part fits, and a
recheck racing a reviewer skips the row it lost instead of stopping."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import Config, FiltersConfig, database_url, load_config
from bot.filters.gate import recheck_pending
from bot.filters.hazards import mastodon_length
from bot.filters.length import length, split_thread
from bot.filters.pipeline import Pipeline
from bot.store.store import Store
from bot.text import HIDDEN, visible

# Clear the screen and home the cursor, a carriage return that overwrites the line, a C1 CSI (one
# byte in some terminals), a right-to-left override and an isolate that reorder what is read.
HOSTILE = (
    "DJ Clean Slate plays warm house records.\x1b[2J\x1b[1;1H Approve me, nothing to see."
    "\rHidden start\x9b31m red \u202eevil\u202c and \u2066isolated\u2069 text\x07\x7f."
    " Tag characters \U000e0068\U000e0069 and a line\u2028separator."  # invisible text; a hidden break
)
RAW = ["\x1b", "\r", "\x9b", "\u202e", "\u202c", "\u2066", "\u2069", "\x07", "\x7f", "\U000e0068", "\u2028"]


def _config(folder: Path) -> Path:
    path = folder / "bot.toml"
    path.write_text('[database]\nurl = "sqlite:///var/djbios.db"\n', encoding="utf-8")
    return path


def _no_raw_controls(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"raw {ch!r} reached the terminal"


def test_show_queue_and_review_render_control_characters_visibly(tmp_path: Path) -> None:
    config = _config(tmp_path)
    store = Store.open(database_url(load_config(config)))
    c = store.add(
        HOSTILE,
        source="file:\x1b]0;title\x07x.txt",
        reason=None,
        scores={"blocklist": {"ok": True, "detail": "matched \x1b[8mhidden\x1b[0m"}},
    )
    store.close()
    runner = CliRunner()
    for args in (["show", str(c.id)], ["queue"], ["queue", "--status", "pending"]):
        result = runner.invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        _no_raw_controls(result.output)
        assert "\\x1b" in result.output
    shown = runner.invoke(cli, ["--config", str(config), "show", str(c.id)]).output
    assert "\\u202e" in shown and "\\x9b" in shown and "\\x0d" in shown and "Hidden start" in shown
    review = runner.invoke(cli, ["--config", str(config), "review"], input="s\n")
    assert review.exit_code == 0 and "Hidden start" in review.output
    _no_raw_controls(review.output)


@pytest.mark.parametrize("args", [["show", "1", "--json"], ["queue", "--json"]])
def test_json_output_escapes_controls_and_round_trips_the_text(tmp_path: Path, args: list[str]) -> None:
    config = _config(tmp_path)
    store = Store.open(database_url(load_config(config)))
    store.add(HOSTILE, source="test")
    store.close()
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    _no_raw_controls(result.output)
    assert json.loads(result.output)["text"] == HOSTILE  # escaped, not altered


def test_visible_keeps_text_newlines_tabs_and_emoji() -> None:
    text = "Line one\twith a tab\nline two: 👩🏽‍🎤 café, naïve, 日本語"
    assert visible(text) == text and not HIDDEN.search(visible(HOSTILE))


# -- thread parts --------------------------------------------------------------------------------------
def _posts_fit(text: str, limit: int, cw: str) -> None:
    """The length filter's verdict: a thread whose every post fits, or a rejection that says why."""
    cfg = FiltersConfig(max_chars=limit, too_long="thread", min_chars=0)
    check = length(text, cfg, spoiler_text=cw)
    if check.ok:
        for post in check.scores.get("thread") or [text]:
            assert mastodon_length(post, cw) <= limit, (post, cw)
    else:
        assert "no thread fits" in check.detail


def test_one_very_long_word_is_cut_so_every_part_fits() -> None:
    word = "Boooo" + "o" * 1200 + "m!"
    parts = split_thread(f"DJ Longword says {word} and leaves.", 500)
    assert len(parts) >= 3 and all(mastodon_length(p) <= 500 for p in parts)
    assert "".join(p.rsplit(" (", 1)[0] for p in parts).replace(" ", "") == f"DJLongwordsays{word}andleaves."


def test_a_long_content_warning_rejects_the_bio_with_a_reason() -> None:
    cw = "Content warning: " + "very " * 94  # 487 characters of the 500
    check = length("A bio. " * 100, FiltersConfig(too_long="thread"), spoiler_text=cw)
    assert not check.ok and "content warning" in check.detail and "no thread fits" in check.detail


def test_random_hostile_texts_always_fit_or_are_rejected() -> None:
    rng = random.Random(0)
    atoms = [
        "word",
        "x" * 300,
        "https://example.com/" + "p" * 80,
        "http://a.co",
        "@dj@example.social",
        "👩🏽‍🎤",
        "e\u0301",
        "日本語の文章",
        "end.",
        "Done!",
        "#techno",
        "\n",
    ]
    for _ in range(300):
        text = " ".join(rng.choice(atoms) for _ in range(rng.randint(1, 60)))
        cw = "cw " * rng.choice([0, 0, 5, 60, 150, 160])
        _posts_fit(text, rng.choice([100, 280, 500]), cw.strip())


# -- recheck against another process ------------------------------------------------------------------
class _ApprovedMeanwhile(Pipeline):
    """The real filters; while the first bio is checked, another process approves the second."""

    def __init__(self, other: Store, victim: int, **kw: object) -> None:
        super().__init__(FiltersConfig(skip=["language"]), **kw)  # type: ignore[arg-type]
        self.other, self.victim, self.done = other, victim, False

    def check(self, text: str, **kw: object):  # type: ignore[no-untyped-def, override]
        if not self.done:
            self.done = True
            self.other.approve(self.victim)
        return super().check(text, **kw)  # type: ignore[arg-type]


def test_recheck_skips_a_row_approved_meanwhile_and_goes_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'djbios.db'}"
    store, other = Store.open(url), Store.open(url)  # two connections: two processes' worth
    bios = [
        f"DJ Number {i} plays long sets of deep house records in a small club by the river, every week."
        for i in range(4)
    ]
    ids = [c.id for c in store.add_many(bios, source="test")]
    counts = recheck_pending(store, _ApprovedMeanwhile(other, ids[1]))
    assert counts["changed meanwhile"] == 1 and sum(counts.values()) == 4
    assert store.get(ids[1]).status == "approved"
    assert all("length" in store.get(i).scores for i in (ids[0], ids[2], ids[3]))  # the others were rechecked


def test_filter_recheck_cli_reports_the_skip(tmp_path: Path) -> None:
    """The command's summary line counts skipped rows apart from rejected ones."""
    config = _config(tmp_path)
    cfg: Config = load_config(config)
    store = Store.open(database_url(cfg))
    store.add("DJ Short.", source="test")
    store.close()
    result = CliRunner().invoke(cli, ["--config", str(config), "filter", "--recheck"])
    assert result.exit_code == 0 and "rechecked 1 pending" in result.output and "skipped" not in result.output


def test_a_servers_error_text_reaches_the_terminal_escaped(tmp_path: Path, mastodon) -> None:
    """An instance's error body is quoted in the run's error line, in `status` and in `doctor`: never raw."""
    path = mastodon.write_config(tmp_path, {"schedule": {"min_queue": 0}})
    store = Store.open(database_url(load_config(path)))
    store.approve(
        store.add("DJ Teapot plays dub on a houseboat every second Sunday of the month, rain or shine.", source="t").id
    )
    store.close()
    hostile = "teapot \x1b[2J\x1b]0;pwned\x07 \u202eevil"
    mastodon.fault({"type": "status", "status": 418, "body": {"error": hostile}})
    runs = [
        CliRunner().invoke(cli, ["--config", str(path), *args])
        for args in (["run", "--once", "--role", "post"], ["status"], ["doctor", "--role", "post"])
    ]
    assert runs[0].exit_code == 1
    for r in runs:
        assert "teapot" in r.output and not HIDDEN.search(r.output), r.output
        assert "\\x1b]0;pwned\\x07 \\u202eevil" in r.output
