"""Every filter and defusing rule, the Pipeline's verdicts, explain, and `djbios filter --recheck`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import FiltersConfig
from bot.errors import ConfigError
from bot.filters.blocklist import blocklist, compile_blocklist
from bot.filters.content import completeness, pronouns, repetition
from bot.filters.copies import copies, copy_run_limit
from bot.filters.copyindex import CopyIndex, build_index
from bot.filters.duplicates import NearDuplicates
from bot.filters.explain import explain, explain_scores
from bot.filters.hazards import hazards as defuse
from bot.filters.language import language
from bot.filters.length import length, mastodon_length, split_thread
from bot.filters.pipeline import ORDER, Pipeline

CFG = FiltersConfig()
BIO = (
    "Nadia Brook is a DJ and producer from Leeds. She started out playing soul records at her "
    "aunt's bar, then moved to Glasgow to study sound engineering. Her sets now run from slow dub "
    "to fast electro, and her monthly radio show has a loyal late-night audience."
)
TRAINING = (
    "Okko Varga grew up above a bakery in Szeged and learned to mix on two broken turntables "
    "that his uncle rescued from a wedding band. He later ran a small tape label that released "
    "forty cassettes of hissing minimal techno before the whole stock was lost in a flood."
)


def cfg(**kw) -> FiltersConfig:
    """The default filter settings with some changed."""
    return dataclasses.replace(CFG, **kw)


@pytest.mark.parametrize(
    "text, complete, ok",
    [
        (BIO, True, True),
        (BIO, False, False),
        ("   \n ", True, False),
        (BIO + "<|endoftext|>", True, False),
        ("<|startoftext|>" + BIO, True, False),
        (BIO + " Croducer in thestartoftext|>", True, False),  # a fumbled delimiter from a weak model
        (BIO + " endoftext", True, False),
    ],
)
def test_completeness(text: str, complete: bool, ok: bool) -> None:
    assert completeness(text, complete).ok is ok


@pytest.mark.parametrize(
    "text, settings, posted",
    [
        ("Contact [email protected] for bookings.", {}, "Contact for bookings."),
        ("Mail [email\u00a0protected] now.", {}, "Mail now."),
        ("Follow @djfakename for news.", {}, "Follow @\u200bdjfakename for news."),
        ("Thanks @crew@fake.example.social!", {}, "Thanks @\u200bcrew@\u200bfake.example.social!"),  # every sigil
        ("Follow @djfakename for news.", {"mentions": "keep"}, "Follow @djfakename for news."),
        ("Big in #techno circles.", {}, "Big in #\u200btechno circles."),
        ("Voted #1 in 1999.", {}, "Voted #1 in 1999."),
        ("Big in #techno circles.", {"hashtags": "keep"}, "Big in #techno circles."),
        ("Hear her at soundcloud.com/djfakename-9 today.", {}, "Hear her at today."),
        ("Like facebook.com/djfakename.page and more.", {}, "Like and more."),
        ("Mixes: https://www.mixcloud.com/fake-dj/mix-1/?x=1, weekly.", {}, "Mixes: weekly."),
        ("Mixes at www.fakesite.de.", {"urls": "placeholder"}, "Mixes at [link]."),
        ("Write to booking.fake@agency-example.com or call +49 30 1234567.", {}, "Write to or call."),
        ("Call (555) 123-4567 today.", {"urls": "placeholder"}, "Call [phone] today."),
        ("Active 1994-2001 and 2005 - 2010 in 3 cities.", {}, "Active 1994-2001 and 2005 - 2010 in 3 cities."),
        ("She came back.To London she went.", {}, "She came back.To London she went."),
    ],
)
def test_defusing(text: str, settings: dict, posted: str) -> None:
    out, check = defuse(text, cfg(**settings))
    assert check.ok and out == posted


@pytest.mark.parametrize(
    "text, settings",
    [
        ("Follow @djfakename now.", {"mentions": "reject"}),
        ("Big in #techno circles.", {"hashtags": "reject"}),
        ("See soundcloud.com/djfakename now.", {"urls": "reject"}),
        ("Mail dj@fake-agency.com now.", {"urls": "reject"}),
    ],
)
def test_hazards_configured_to_reject_fail(text: str, settings: dict) -> None:
    out, check = defuse(text, cfg(**settings))
    assert not check.ok and out == text


def test_defusing_twice_changes_nothing() -> None:
    once, _ = defuse("Ask @djfakename about #house at fake.example.com/x.", CFG)
    assert defuse(once, CFG)[0] == once


@pytest.mark.parametrize(
    "text, spoiler, expected",
    [
        ("short", "", 5),
        ("see https://example.com/" + "x" * 100 + " now", "", 4 + 23 + 4),
        ("hi @someone@far.example.social", "", len("hi @someone")),
        ("body", "CW: fake bio", 4 + 12),
        ("e\u0301te\u0301", "", 3),  # combining accents are not extra characters
    ],
)
def test_mastodon_length(text: str, spoiler: str, expected: int) -> None:
    assert mastodon_length(text, spoiler) == expected


@pytest.mark.parametrize(
    "text, settings, max_chars, ok",
    [
        (BIO, {}, None, True),
        ("Too short.", {}, None, False),
        (BIO * 3, {}, None, False),
        (BIO, {}, 100, False),  # the instance's lower limit wins
        (BIO * 3, {"too_long": "thread"}, None, True),
    ],
)
def test_length(text: str, settings: dict, max_chars: int | None, ok: bool) -> None:
    assert length(text, cfg(**settings), max_chars).ok is ok


@pytest.mark.parametrize("limit", [80, 120, 500])
def test_split_thread_numbers_parts_within_limit(limit: int) -> None:
    text = " ".join([BIO] * 3)
    parts = split_thread(text, limit)
    assert all(mastodon_length(p) <= limit for p in parts)
    assert parts[0].endswith(f"(1/{len(parts)})") and len(parts) > 1
    body = " ".join(p.rsplit(" (", 1)[0] for p in parts)
    assert body.split() == text.split()


def test_thread_parts_are_in_the_scores() -> None:
    check = length(BIO * 3, cfg(too_long="thread", max_chars=200))
    assert len(check.scores["thread"]) >= 4


@pytest.mark.parametrize(
    "entries, text, ok",
    [
        (["fascist"], "A proud Fascist DJ.", False),
        (["ass"], "A bass-heavy class act.", True),
        (["/\\bn[a4]zi/"], "n4zi imagery", False),
        ([], "anything", True),
    ],
)
def test_blocklist(entries: list[str], text: str, ok: bool) -> None:
    assert blocklist(text, compile_blocklist(entries)).ok is ok


def test_bad_blocklist_regex_names_the_entry() -> None:
    with pytest.raises(ConfigError, match=r"\(unclosed"):
        compile_blocklist(["/(unclosed/"])


@pytest.mark.parametrize(
    "text, ok",
    [
        (BIO, True),
        (
            "Nadia Brook ist eine DJ und Produzentin aus Leipzig. Sie legt seit zehn Jahren in kleinen "
            "Clubs auf und betreibt eine Radiosendung über Dub und Elektro.",
            False,
        ),
        ("12345 67890 !!!", False),
    ],
)
def test_language(text: str, ok: bool) -> None:
    assert language(text, CFG).ok is ok


RANT = "\n".join(
    f"I HATE {x.upper()}." for x in ["mondays", "techno", "cdjs", "promoters", "fog machines", "guestlists", "encores"]
)


@pytest.mark.parametrize(
    "text, ok, what",
    [
        (BIO, True, ""),
        (RANT, False, "7 of 7 lines open with 'i hate'"),
        (" ".join(f"Kai Moreno played {x}." for x in "ABCDE") + f" {BIO} {TRAINING}", True, ""),  # 5 of 10: a style
        ("He played at Fabric.\nHe played at Fabric.\nHe played at Fabric.", False, "line repeated 3"),
        ("She toured the Netherlands, Belgium, Germany, Netherlands and France.", False, "netherlands"),
        ("He played Netherlands, Belgium, Germany and the Netherlands in one week.", False, "netherlands"),
        ("Releases on Tresor Records, Ostgut Records, Kompakt Records and Warp Records.", True, ""),
        ("She plays house and techno and disco, and has done so for years.", True, ""),
        ("Tracks to dance to, on, and with.", True, ""),  # lists of stop words only
        ("the sound of the city " * 5, False, "phrase repeated"),
    ],
)
def test_repetition(text: str, ok: bool, what: str) -> None:
    check = repetition(text, CFG)
    assert check.ok is ok and what in check.detail


@pytest.mark.parametrize(
    "text, wanted, ok",
    [
        (BIO, None, True),
        (BIO, "she", True),
        (BIO, "he", False),
        (BIO + " He now lives in Paris.", None, False),
        ("They run a label. Their sound is wide and their parties are long.", "they", True),
        ("They run a label. She sings.", "they", False),
        ("Kai runs a label and plays records.", "she", True),
    ],
)
def test_pronouns(text: str, wanted: str | None, ok: bool) -> None:
    assert pronouns(text, wanted).ok is ok


@pytest.mark.parametrize("words, limit", [(300, 16), (22, 16), (10, 8), (3, 3)])
def test_copy_run_limit_is_markovify_rule(words: int, limit: int) -> None:
    assert copy_run_limit(words, 16) == limit


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> CopyIndex:
    """A copy index of a two-bio corpus with a manifest."""
    d = tmp_path_factory.mktemp("idx")
    corpus = d / "corpus.txt"
    corpus.write_text(f"<|startoftext|>{TRAINING}<|endoftext|>\n<|startoftext|>{BIO}<|endoftext|>\n", "utf-8")
    corpus.with_suffix(".manifest.jsonl").write_text(
        json.dumps({"id": "1", "name": "Okko Varga", "corpus_index": 0}) + "\n", "utf-8"
    )
    build_index(corpus, corpus.with_suffix(".idx"))
    return CopyIndex.load(corpus.with_suffix(".idx"))


COPY = (
    "Mika Sato plays records in Osaka. He later ran a small tape label that released forty "
    "cassettes of hissing minimal techno before moving on to run a record shop by the river."
)


@pytest.mark.parametrize(
    "text, settings, ok",
    [
        (COPY, {}, False),  # a 16-word run from Okko Varga's bio
        (COPY, {"copy_run_words": 30, "copy_overlap_max": 1.0}, True),
        (COPY, {"copy_run_words": 30, "copy_overlap_max": 0.2}, False),
        ("Mika Sato plays records in Osaka and runs a record shop by the river with her cat.", {}, True),
    ],
)
def test_copies(index: CopyIndex, text: str, settings: dict, ok: bool) -> None:
    assert copies(text, index, cfg(**settings)).ok is ok


def test_copy_scores_name_the_bio_and_span(index: CopyIndex) -> None:
    s = copies(COPY, index, CFG).scores
    assert s["bio_name"] == "Okko Varga" and s["bio_index"] == 0 and s["longest_run"] >= 16
    assert s["span"].startswith("He later ran") and "»He later ran" in s["span_in_context"]


@pytest.mark.parametrize(
    "text, ok",
    [
        (BIO, False),  # exact
        (BIO.upper().replace(".", " !"), False),  # exact after normalising
        (BIO.replace("Leeds", "Hull").replace("Glasgow", "Cardiff"), False),  # near
        (TRAINING, True),
    ],
)
def test_duplicates(text: str, ok: bool) -> None:
    assert NearDuplicates([BIO]).check(text, 0.6).ok is ok


def test_pipeline_reason_is_the_first_failing_filter_and_scores_hold_all(index: CopyIndex) -> None:
    pipe = Pipeline(CFG, index, [])
    v = pipe.check(COPY + " Follow @mikasato!", pronouns="she")
    assert not v.ok and v.reason == "pronouns"  # "he" in the copied part; copy also fails
    assert not v.scores["copy"]["ok"] and set(ORDER) <= set(v.scores)
    assert json.loads(json.dumps(v.scores)) == v.scores
    assert "@\u200bmikasato" in v.text


def test_pipeline_passes_a_clean_bio_and_remembers_it(index: CopyIndex) -> None:
    pipe = Pipeline(CFG, index, [])
    text = BIO.replace("Nadia Brook", "Ines Ferro").replace("Leeds", "Porto").replace("Glasgow", "Lisbon")
    text = text.replace("soul records", "fado records").replace("slow dub", "dusty ambient")
    v = pipe.check(text)
    assert v.ok and v.reason is None and v.text == text
    pipe.remember(v.text)
    assert pipe.check(text).reason == "duplicate"


def test_skipped_filters_are_recorded_but_never_fail() -> None:
    v = Pipeline(cfg(skip=["pronouns", "language"]), None, []).check(BIO + " He left. Das ist gut.")
    assert v.ok and v.scores["pronouns"]["detail"].startswith("skipped (mixes")


def test_unknown_skipped_filter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'pronoun'"):
        Pipeline(cfg(skip=["pronoun"]))


def test_language_check_is_off_at_zero_probability() -> None:
    assert language("zzz qqq", cfg(min_lang_prob=0.0)).ok


def test_pipeline_without_index_does_not_check_copies() -> None:
    v = Pipeline(CFG, None, []).check(COPY)
    assert v.scores["copy"]["checked"] is False


def test_explain_shows_the_copied_span_beside_the_bio(index: CopyIndex) -> None:
    v = Pipeline(CFG, index, []).check(COPY)
    lines = explain(v)
    assert lines[0] == "verdict: rejected (copy)"
    assert any(line.lstrip().startswith("candidate: ") and "»He later ran" in line for line in lines)
    assert any("Okko Varga" in line and "»He later ran" in line for line in lines)
    assert explain_scores({"tokens": 12, "complete": True}) == []


def test_filter_recheck_rejects_pending_that_now_fail(tmp_path: Path) -> None:
    from bot.store.store import Store

    (tmp_path / "bot.toml").write_text(
        '[database]\nurl = "sqlite:///djbios.db"\n[filters]\nblocklist = ["electro"]\n', encoding="utf-8"
    )
    store = Store.open(f"sqlite:///{tmp_path / 'djbios.db'}")
    a = store.add(BIO, source="test")
    b = store.add(TRAINING + " Ask @okko.", source="test", scores={"tokens": 50, "complete": True})
    store.approve(store.add(TRAINING, source="test").id)
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "bot.toml"), "filter", "--recheck"])
    assert result.exit_code == 0, result.output
    assert "2 pending: 0 stay pending, 2 rejected" in result.output
    assert store.get(a.id).status == "rejected" and store.get(a.id).reason == "blocklist"
    cb = store.get(b.id)
    assert cb.reason == "duplicate" and cb.scores["tokens"] == 50  # the approved copy is existing


def test_filter_text_explains_without_storing(tmp_path: Path) -> None:
    (tmp_path / "bot.toml").write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "bot.toml"), "filter", "--text", BIO + " @x"])
    assert result.exit_code == 0, result.output
    assert "verdict: pass" in result.output and "@\u200bx" in result.output
