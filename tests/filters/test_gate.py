"""The one gate: add, edit, approve, recheck and auto-approval all run the filters (CLI, real SQLite)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.config import database_url, load_config
from bot.filters.pipeline import build_pipeline
from bot.store.store import Store
from tests.fixtures_store import GOOD_BIOS

SAMPLES = Path(__file__).resolve().parents[2] / "training" / "data" / "sample_bios.jsonl"
MENTION = GOOD_BIOS[0] + " Ping @alice@mastodon.social now, or see https://example.com/x."


def invoke(path: Path, *args: str, input: str | None = None) -> Result:
    """`djbios --config PATH ARGS`."""
    return CliRunner().invoke(cli, ["--config", str(path), *args], input=input, catch_exceptions=False)


def posts(mastodon) -> list:  # noqa: ANN001
    """The bot's public statuses (alerts to the operator are direct messages)."""
    return [s for s in mastodon.statuses() if s["visibility"] != "direct"]


def store_of(path: Path) -> Store:
    """The config's store."""
    return Store.open(database_url(load_config(path)))


def test_add_shows_the_verdict_and_keeps_failing_bios_pending(config_file: Path) -> None:
    r = invoke(config_file, "add", "-", input=f"{GOOD_BIOS[0]}\n\nTiny.\n")
    assert r.exit_code == 0 and "1 pass the filters, 1 fail" in r.output and "#2 fails" in r.output
    a, b = store_of(config_file).list(order="oldest")
    assert (a.status, a.reason, b.status) == ("pending", None, "pending")
    assert b.reason is not None and a.filter_fingerprint and a.quality is not None


def test_approve_refuses_a_failing_bio_unless_forced(config_file: Path) -> None:
    invoke(config_file, "add", "-", input="Tiny.\n")
    r = invoke(config_file, "approve", "1")
    assert r.exit_code == 1 and "fails the length filter" in r.output and "--force" in r.output
    assert store_of(config_file).get(1).status == "pending"
    r = invoke(config_file, "approve", "--force", "1")
    c = store_of(config_file).get(1)
    assert r.exit_code == 0 and c.status == "approved" and c.reviewed_by == "operator"
    assert c.history[-1]["force"] is True and c.history[-1]["failed"] == "length"


def test_edit_that_fails_moves_an_approved_bio_back_to_pending(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke(config_file, "add", "-", input=GOOD_BIOS[0] + "\n")
    assert invoke(config_file, "approve", "1").exit_code == 0
    editor = tmp_path / "ed.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'w').write('Now it says @someone@example.social hi')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    r = invoke(config_file, "edit", "1")
    c = store_of(config_file).get(1)
    assert "now pending" in r.output and c.status == "pending" and c.reason is not None


def test_added_mention_is_never_posted_live_in_auto_mode(tmp_path: Path, mastodon) -> None:
    path = mastodon.write_config(tmp_path, {"review": {"mode": "auto"}, "schedule": {"min_queue": 0}})
    assert invoke(path, "add", "-", input=MENTION + "\n").exit_code == 0
    r = invoke(path, "run", "--once")
    assert "post: posted" in r.output, r.output
    (status,) = posts(mastodon)
    assert status["mentions"] == [] and status["tags"] == [] and "<a href" not in status["content"]
    assert "example.com" not in status["content"]


def test_auto_mode_rechecks_a_verdict_made_under_other_settings(tmp_path: Path, mastodon) -> None:
    path = mastodon.write_config(tmp_path, {"review": {"mode": "auto"}, "schedule": {"min_queue": 0}})
    invoke(path, "add", "-", input=GOOD_BIOS[0] + "\n")
    stricter = mastodon.write_config(
        tmp_path, {"review": {"mode": "auto"}, "schedule": {"min_queue": 0}, "filters": {"blocklist": ["record shop"]}}
    )
    r = invoke(stricter, "run", "--once")
    c = store_of(stricter).get(1)
    assert "approved 0" in r.output and c.status == "pending" and c.reason == "blocklist"
    assert posts(mastodon) == []


def test_auto_mode_approves_the_best_up_to_the_daily_cap(tmp_path: Path, mastodon) -> None:
    path = mastodon.write_config(
        tmp_path, {"review": {"mode": "auto", "auto_max_per_day": 2}, "schedule": {"min_queue": 0}}
    )
    invoke(path, "add", "-", input="\n\n".join(GOOD_BIOS[:4]) + "\n")
    store = store_of(path)
    for cid, q in ((1, 0.2), (2, 0.9), (3, 0.5), (4, 0.95)):  # ranks as if the filters had scored them so
        with store.write_session() as s:
            from bot.store.tables import CandidateRow

            s.get(CandidateRow, cid).quality = q
    invoke(path, "run", "--once")
    invoke(path, "run", "--once")
    approved = {c.id for c in store.list(["approved", "posting", "posted"])}
    assert approved == {2, 4}, "the two best, and no more within 24 hours"
    assert all(c.reviewed_by == "auto" for c in store.list(["approved", "posted"]))


def test_recheck_skips_a_row_another_process_changed(config_file: Path) -> None:
    from bot.filters.gate import default_pipeline, recheck_pending

    invoke(config_file, "add", "-", input="\n\n".join(GOOD_BIOS[:2]) + "\n")
    store = store_of(config_file)
    pipe = default_pipeline(load_config(config_file), store)
    listed = store.list

    def list_then_race(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        rows = listed(*args, **kwargs)
        store.approve(rows[0].id)  # another reviewer acts between the listing and the re-check
        return rows

    store.list = list_then_race  # type: ignore[method-assign]
    counts = recheck_pending(store, pipe)
    assert counts["changed meanwhile"] == 1 and counts["pending"] == 1


def test_queue_lists_the_best_first(config_file: Path) -> None:
    invoke(config_file, "add", "-", input=f"Tiny.\n\n{GOOD_BIOS[0]}\n")
    rows = [json.loads(x) for x in invoke(config_file, "queue", "--json").output.splitlines()]
    assert [r["id"] for r in rows] == [2, 1] and rows[0]["quality"] >= rows[1]["quality"]
    rows = [json.loads(x) for x in invoke(config_file, "queue", "--sort", "age", "--json").output.splitlines()]
    assert [r["id"] for r in rows] == [1, 2]


def test_every_team_written_sample_bio_passes_every_filter() -> None:
    """No corpus indexes (the samples are the corpus): each bio alone passes everything else.

    Some sample bios are longer than one post; one is mostly Spanish place names, which the corpus
    builder drops as not English by the same rule (bot/filters/language.py), so the filter may too.
    """
    from bot.config import Config, CorpusConfig
    from bot.filters.language import LanguageCheck

    c = CorpusConfig()
    english = LanguageCheck(c.min_lang_prob, c.lang_prefix_chars, c.short_words)
    pipe = build_pipeline(Config(), [])
    failed = []
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        bio = rec["text"]
        v = pipe.check(bio, prompt=rec["name"])  # the bio's subject, as if asked for by name
        if v.reason == "language" and not english.is_english(bio):
            continue
        if not v.ok and v.reason != "length":
            failed.append((v.reason, bio[:60]))
    assert failed == []


def test_a_bio_naming_a_corpus_artist_is_rejected_until_asked_for(tmp_path: Path) -> None:
    from bot.filters.names import NameIndex

    idx = NameIndex(["Kirsi Valtonen", "Burial", "Zorbitrax"])  # "Burial" is an English word: skipped
    pipe = build_pipeline(load_config(_toml(tmp_path)), [])
    pipe.names = idx
    bio = GOOD_BIOS[1] + " He once opened for kirsi valtonen in a tent."
    v = pipe.check(bio)
    assert not v.ok and v.reason == "names" and "Kirsi Valtonen" in v.scores["names"]["detail"]
    assert pipe.check(bio, prompt="Kirsi Valtonen").scores["names"]["ok"]
    assert idx.find("A Burial-style record by zorbitrax.") == ["Zorbitrax"]


def test_corpus_exclude_removes_the_artist_and_keeps_them_out(tmp_path: Path) -> None:
    path = _toml(tmp_path)
    src = tmp_path / "in.jsonl"
    names = ["Ada Quist", "Bram Solvey", "Cleo Marand", "Dov Arlin"]
    src.write_text(
        "".join(
            json.dumps({"name": n, "text": f"{n} {b[b.index(' is ') if ' is ' in b else 5 :]}"}) + "\n"
            for n, b in zip(names, GOOD_BIOS)
        ),
        encoding="utf-8",
    )
    assert invoke(path, "corpus", "build", str(src)).exit_code == 0
    corpus = tmp_path / "data" / "corpus.txt"
    assert "Bram Solvey" in corpus.read_text(encoding="utf-8")
    r = invoke(path, "corpus", "exclude", "--name", "bram solvey", "--reason", "asked")
    assert r.exit_code == 0 and "removed 1 bios" in r.output
    assert "Bram Solvey" not in corpus.read_text(encoding="utf-8")
    manifest = [json.loads(x) for x in corpus.with_suffix(".manifest.jsonl").read_text().splitlines()]
    assert [m["reason"] for m in manifest if m["name"] == "Bram Solvey"] == ["excluded"]
    invoke(path, "corpus", "build", str(src))  # a rebuild from the same input keeps them out
    assert "Bram Solvey" not in corpus.read_text(encoding="utf-8")
    names_file = json.loads(corpus.with_suffix(".names.json").read_text())
    assert "Bram Solvey" in names_file["names"]  # the guard keeps rejecting bios that name them
    v = build_pipeline(load_config(path), []).check(GOOD_BIOS[4] + " She toured with Bram Solvey.")
    assert v.reason == "names" and "Bram Solvey" in v.scores["names"]["detail"]


def test_corpus_exclude_warns_when_no_bio_carries_the_name(tmp_path: Path) -> None:
    """A .txt corpus has no names (they come from the manifest): the takedown is kept for later
    builds, but the operator is told nothing was removed and how to remove it."""
    path = _toml(tmp_path)
    src = tmp_path / "in.txt"
    src.write_text("\n\n".join(GOOD_BIOS[:4]) + "\n", encoding="utf-8")
    assert invoke(path, "corpus", "build", str(src)).exit_code == 0
    corpus = tmp_path / "data" / "corpus.txt"
    before = corpus.read_text(encoding="utf-8")
    r = invoke(path, "corpus", "exclude", "--name", "Bram Solvey", "--reason", "asked")
    assert r.exit_code == 0 and "removed 0 bios" in r.output
    assert "warning: no bio in the corpus carries the name 'Bram Solvey'" in r.output
    assert "Names come from the manifest" in r.output and "--url" in r.output
    assert corpus.read_text(encoding="utf-8") == before
    (row,) = [json.loads(x) for x in corpus.with_suffix(".takedowns.jsonl").read_text().splitlines()]
    assert row["name"] == "Bram Solvey"  # still recorded: it keeps them out of a later build by name


def _toml(tmp_path: Path) -> Path:
    """A config in tmp_path whose corpus is data/corpus.txt, short bios allowed in the corpus."""
    path = tmp_path / "bot.toml"
    path.write_text(
        '[database]\nurl = "sqlite:///var/t.db"\n[corpus]\nmin_chars = 20\nvalidation_share = 0.0\n', encoding="utf-8"
    )
    return path


BASE = (
    "Sela Marwood is a DJ and producer from Bristol who has played warehouse parties for a decade. "
    "She runs a small label and keeps her sets slow and warm. "
)


@pytest.mark.parametrize(
    "tail, reason",
    [
        ("Born in Lyon, she has played in France, Germany, Spain and France, and now lives in Berlin.", "repetition"),
        ("Her records mix techno, dub, dub and house for late crowds.", "repetition"),
        ("She has toured the Netherlands, Belgium and Netherlands with a crate of dubplates.", "repetition"),
        ("She has played in Germany, France, Belgium and France over the years, and she loves it.", "repetition"),
        ("She has played in Germany, France, Belgium, and France over the years, and she loves it.", "repetition"),
        ("She has played in the Netherlands, Belgium and Netherlands over the years, and she loves it.", "repetition"),
        ("After the the show she went home.", "repetition"),
        ("He plays every Friday, and his records are loud.", "pronouns"),
    ],
    ids=[
        "list-in-long-sentence",
        "adjacent-repeat",
        "article-variant",
        "last-item-then-words",
        "last-item-then-words-oxford",
        "article-variant-then-words",
        "stutter",
        "switch-to-he",
    ],
)
def test_the_seeds_failure_shapes_are_rejected(tail: str, reason: str) -> None:
    from bot.config import Config

    v = build_pipeline(Config(), []).check(BASE + tail)
    assert not v.ok and v.reason == reason, v.scores[v.reason or "repetition"]["detail"]


@pytest.mark.parametrize(
    "tail",
    [
        "She learnt to mix from her grandfather; his old soul records still open every set.",
        "Her mentor Tomasz, who gave her his first decks, still comes to every show.",
        "She plays France, Spain and Italy every summer, and tours Japan in the winter.",
    ],
    ids=["relatives-pronoun", "mentor-who", "list-without-repeat"],
)
def test_near_misses_of_normal_prose_pass(tail: str) -> None:
    from bot.config import Config

    v = build_pipeline(Config(), []).check(BASE + tail)
    assert v.ok, (v.reason, v.scores.get(v.reason or "", {}).get("detail"))
