"""The dodge-proof blocklist: spelling tricks are caught, innocent words that contain a term are not.

Test terms are neutral words ("frobnicate", "quasar"), or cut at run time from the innocent word they
hide in, or picked at run time from the default list, so this file holds no slurs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.config import FiltersConfig
from bot.errors import ConfigError
from bot.filters.blocklist import (
    DEFAULT_RELAXED,
    Blocklist,
    Hit,
    blocklist_from_config,
    compile_blocklist,
    default_terms,
    normalise_for_match,
)

SAMPLES = Path(__file__).resolve().parents[2] / "training" / "data" / "sample_bios.jsonl"
TEST = compile_blocklist(["frobnicate", "quasar", "fog machine"], use_default=False)


def only_hit(bl: Blocklist, text: str) -> Hit:
    """The single hit in `text`; its span must give back its text."""
    hits = bl.find(text)
    assert len(hits) == 1, (text, hits)
    h = hits[0]
    assert text[h.start : h.end] == h.text
    return h


@pytest.mark.parametrize(
    "dodge",
    [
        "frobnicate",
        "Frobnicates",
        "FROBNICATING",
        "frobnicated",
        "frobnicater",
        "frobnicaters",
        "quasars",
        "quasarz",
        "quasarred",  # plural, slang plural, doubled consonant
        "f.r.o.b.n.i.c.a.t.e",
        "f r o b n i c a t e",
        "f-r-o-b-n-i-c-a-t-e",
        "f_r_o_b_n_i_c_a_t_e",
        "f*r*o*b*n*i*c*a*t*e",
        "f . r . o . b . n . i . c . a . t . e",
        "f r o b n i c a t e s",
        "fr0bn1c4te",
        "FR0BN!C@TE",
        "qu4$ar",
        "qua5ar",
        "$quasar",
        "@frobnicate",
        "F.R.0.B.N.1.C.4.T.E",
        "frooooobnicate",
        "frobniiiiicaaaate",
        "qu44444sar",  # stretched
        "fr\u043ebnicate",
        "frobnic\u0430te",
        "FR\u041eBNICATE",
        "fr\u03bfbnicate",  # Cyrillic, Greek o/a
        "\uff46\uff52\uff4f\uff42\uff4e\uff49\uff43\uff41\uff54\uff45",  # fullwidth
        "\U0001d41f\U0001d42b\U0001d428\U0001d41b\U0001d427\U0001d422\U0001d41c\U0001d41a\U0001d42d\U0001d41e",
        "\u24d5\u24e1\u24de\u24d1\u24dd\u24d8\u24d2\u24d0\u24e3\u24d4",  # circled letters
        "fr\u00f6bnic\u00e4te",
        "fro\u0301bnicate",  # accents, precomposed and combining
        "frob\u200bnicate",
        "frob\u00adnicate",
        "frob\u200dnic\u200cate",
        "f\u2060robnicate\ufeff",
        "fr\u034fobnicate",  # combining grapheme joiner (a mark of combining class 0)
        "frob\ufe0fnicate",  # variation selector
        "\ua730\u0280\u1d0f\u0299\u0274\u026a\u1d04\u1d00\u1d1b\u1d07",  # small capitals
        "fog machine",
        "fog-machines",
        "Fog  Machine",
        "fogmachine",
    ],
)
def test_dodges_are_caught(dodge: str) -> None:
    h = only_hit(TEST, f"She plays {dodge}, mostly.")
    assert h.text.strip("\ufeff") == dodge.strip("\ufeff")  # a trailing BOM is invisible: not in the span
    assert h.term in {"frobnicate", "quasar", "fog machine"}


@pytest.mark.parametrize(
    "text",
    [
        "a f r o b n i c a t e",
        "I f.r.o.b.n.i.c.a.t.e",
        "he is such a f-r-o-b-n-i-c-a-t-e!",
        "a f r o b n i c a t e I think",
        "f r o b n i c a t e a",
    ],
)
def test_spaced_letters_after_a_one_letter_word(text: str) -> None:
    assert (
        only_hit(TEST, text).text.replace(" ", "").replace(".", "").replace("-", "").strip("!").endswith("frobnicate")
    )


@pytest.mark.parametrize(
    "word, i, j",
    [
        ("Scunthorpe", 1, 5),
        ("assassin", 0, 3),
        ("classic", 2, 5),
        ("Dickens", 0, 4),
        ("cocktail", 0, 4),
        ("therapist", 3, 9),
        ("grape", 1, 5),
        ("analysis", 0, 4),
        ("shitake", 0, 4),
        ("Penistone", 0, 5),
        ("Essex", 2, 5),
        ("Sussex", 3, 6),
        ("Middlesex", 6, 9),
        ("cumulative", 0, 3),
        ("document", 2, 5),
        ("Hancock", 3, 7),
        ("Pakistan", 0, 4),
        ("homogenous", 0, 4),
        ("Niger", 0, 3),
        ("spiced", 0, 4),
        ("Spicer", 0, 4),
        ("titanic", 0, 3),
        ("Arsenal", 0, 4),
        ("Matsushita", 4, 8),
        ("Clitheroe", 0, 4),
        ("passion", 1, 4),
        ("butterscotch", 9, 12),
    ],
)
def test_innocent_words_containing_a_term_pass(word: str, i: int, j: int) -> None:
    bl = compile_blocklist([word[i:j].lower()], use_default=False)
    assert bl.find(f"Live in {word} tonight, then {word.upper()}; {word}'s finest.") == []
    assert bl.find(" ".join(word)) == []  # spaced out, the whole word is read, not a piece of it


@pytest.mark.parametrize(
    "term, text",
    [
        ("bob", "an old Roland 808s and the 909"),
        ("goy", "mid 90ies records"),
        ("iggos", "the 1990s"),
        ("frobnicate", "frob nicate"),
        ("frobnicate", "frobnicatexyz"),
        ("quasar", "quasarian"),
    ],
)
def test_numbers_and_other_words_pass(term: str, text: str) -> None:
    assert compile_blocklist([term], use_default=False).find(text) == []


def test_regex_entries_run_on_text_and_skeleton() -> None:
    bl = compile_blocklist([r"/fr[o0]b+n/", r"/\bq\w+r\b/"], use_default=False)
    assert [h.text for h in bl.find("fr0bbn and quasar")] == ["fr0bbn", "quasar"]
    h = only_hit(bl, "x fr\u043ebn y")  # Cyrillic o: matched on the skeleton, reported in the original
    assert (h.term, h.text, h.start, h.end) == (r"/fr[o0]b+n/", "fr\u043ebn", 2, 7)


def test_bad_regex_names_the_entry() -> None:
    with pytest.raises(ConfigError, match=r"\(unclosed"):
        compile_blocklist(["ok", "/(unclosed/"], use_default=False)


def test_offsets_map_back_to_the_original() -> None:
    norm, offsets = normalise_for_match("X\u00df\u200b\uff39 \u00e9")
    assert norm == "xssy e" and offsets == [0, 1, 1, 3, 4, 5]
    text = "Grew up in Stra\u00dfe. \u00a0Now: \uff26r\u200bo\u00adbnic\u0430tes!"
    h = only_hit(TEST, text)
    assert h.text == "\uff26r\u200bo\u00adbnic\u0430tes" and text[h.start - 5 : h.start] == "Now: "
    assert normalise_for_match("plain") == ("plain", [0, 1, 2, 3, 4])


def test_default_list_loads_and_catches_its_terms() -> None:
    terms = default_terms()
    assert len(terms) > 50 and not DEFAULT_RELAXED & set(terms)
    bl = compile_blocklist([])
    word = max((t for t in terms if t.isalpha()), key=len)  # picked at run time: no slur in this file
    for text in (word, word.upper() + "S", " ".join(word), word[0] + "\u200b" + word[1:]):
        assert only_hit(bl, f"the {text} now").term == word
    assert compile_blocklist([], use_default=False).find(word) == []


def test_default_list_passes_swearing_and_the_relaxed_words() -> None:
    text = "Hell of a set, damn sexy basslines, crazy drops, insane energy, skanking and kraut-rock."
    assert compile_blocklist([]).find(text) == []


def test_default_list_passes_every_sample_bio() -> None:
    bl = compile_blocklist([])
    hits = [
        (h.term, h.text)
        for line in SAMPLES.read_text(encoding="utf-8").splitlines()
        for h in bl.find(json.loads(line)["text"])
    ]
    assert hits == []


def test_allow_relaxes_the_default_list(caplog: pytest.LogCaptureFixture) -> None:
    word = default_terms()[0]
    assert compile_blocklist([]).find(word)
    assert compile_blocklist([], allow=[word.upper()]).find(word) == []
    assert compile_blocklist([word], allow=[word]).find(word)  # an explicit entry still blocks
    with caplog.at_level(logging.WARNING, logger="bot.filters.blocklist"):
        compile_blocklist([], allow=["frobnicate"])
    assert "frobnicate" in caplog.text


def test_compiled_once_per_config() -> None:
    assert compile_blocklist(["frobnicate"]) is compile_blocklist(("frobnicate",))
    assert compile_blocklist(["frobnicate"]) is not compile_blocklist(["frobnicate"], use_default=False)


def test_from_config() -> None:
    bl = blocklist_from_config(FiltersConfig(blocklist=["frobnicate"]))
    assert bl.find("frobnicates") and set(default_terms()) <= bl.terms
    assert len(blocklist_from_config(FiltersConfig())) == len(default_terms())
