"""The seed's failure shapes: a list naming one item twice, and pronouns that switch subject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.filters.shapes import list_repeats, pronoun_mix, subject_pronouns

SAMPLES = Path(__file__).resolve().parents[2] / "training" / "data" / "sample_bios.jsonl"


@pytest.mark.parametrize(
    "text, item",
    [
        # a list inside a longer sentence with other comma clauses
        ("Born in Lyon, she has played in France, Germany, Spain and France, and now lives in Berlin.", "france"),
        ("After years abroad, Tove has toured Chile, Peru, Chile and Bolivia, always with her own decks.", "chile"),
        # adjacent repeats
        ("She plays techno, dub, dub and house.", "dub"),
        ("His sets mix disco, disco, boogie and soul.", "disco"),
        # the same item with and without an article
        ("She toured the Netherlands, Belgium and Netherlands.", "netherlands"),
        ("He played Netherlands, Belgium, Germany and the Netherlands in one week.", "netherlands"),
        # joined with and / & / or / slash
        ("Expect house & techno & house from him.", "house"),
        ("Her label puts out ambient or drone or ambient tapes.", "ambient"),
        ("He plays house/techno/house all night.", "house"),
        ("She toured France, Belgium and France in May.", "france"),
        ("Her influences: dub, techno, dub.", "dub"),
        ("Releases on Kompakt, Warp, Tresor and Warp keep coming.", "warp"),
        # the last item has words after it, then a clause ("France over the years, and ...")
        ("She has played in Germany, France, Belgium and France over the years, and she loves it.", "france"),
        ("She has played in Germany, France, Belgium, and France over the years, and she loves it.", "france"),
        ("She has played in the Netherlands, Belgium and Netherlands over the years, and she loves it.", "netherlands"),
        ("She has played in Germany, France over the summer, Belgium and France, and she loves it.", "france"),
    ],
)
def test_a_list_naming_an_item_twice_is_found(text: str, item: str) -> None:
    assert list_repeats(text) == (item, 2)


@pytest.mark.parametrize(
    "text",
    [
        "Releases on Tresor Records, Ostgut Records, Kompakt Records and Warp Records.",
        "She plays house and techno and disco, and has done so for years.",
        "Tracks to dance to, on, and with.",
        "His sets run from dub to techno, from techno to dub.",  # a chiasmus, no list
        "She plays Detroit techno, dub and techno.",  # "Detroit techno" is not "techno"
        "He plays chutney soca, Bollywood edits, soca and house.",
        "He has played in New York, London and York.",
        "The scene rose, fell and rose again.",  # verbs, each a whole clause
        "Their sets are long, slow-building and very, very warm.",
        "Her tracks sit in 7/8 and 9/8 grooves.",
        "In 2010, after years abroad, she moved home, and in 2012, she started a label.",
        "She played Paris, then Berlin, then Paris again the next year.",
    ],
)
def test_normal_prose_is_not_a_repeated_list(text: str) -> None:
    assert list_repeats(text)[1] <= 1


def test_no_team_written_sample_bio_has_a_repeated_list() -> None:
    bios = [json.loads(line)["text"] for line in SAMPLES.read_text("utf-8").splitlines() if line.strip()]
    assert [(b[:60], list_repeats(b)) for b in bios if list_repeats(b)[1] > 1] == []


@pytest.mark.parametrize(
    "text, wanted, counts",
    [
        # a relative's possessive is the relative's: "her grandfather; his records"
        ("She learnt from her grandfather; his records fill her flat.", None, {"he": 0, "she": 3, "they": 0}),
        # a relative clause about another person: "her father, who ran his own label"
        ("Her father, who ran his own label, gave her his decks.", None, {"he": 0, "she": 2, "they": 0}),
        # a gendered relative carries into the next sentence
        ("Kai grew up with his mother. She taught him to mix.", None, {"he": 2, "she": 0, "they": 0}),
        ("Kai grew up with an uncle who played records. He taught her to mix.", "she", {"he": 0, "she": 1, "they": 0}),
        # a named other person introduced with "who" or a role
        ("She met Tomasz, who gave her his old decks.", None, {"he": 0, "she": 2, "they": 0}),
        ("They play records with producer Anna Li and her band.", "they", {"he": 0, "she": 0, "they": 1}),
        # a group: "her parents ... they"
        ("Her parents ran a bar; they let her play on Sundays.", None, {"he": 0, "she": 2, "they": 0}),
        # a plural thing: "records ... them"
        ("She plays records and sells them.", None, {"he": 0, "she": 1, "they": 0}),
        ("They make lush tracks. Their label is small.", None, {"he": 0, "she": 0, "they": 2}),
        ("Sol runs a label and he, himself, masters every record.", "he", {"he": 2, "she": 0, "they": 0}),
    ],
)
def test_pronouns_of_other_people_are_not_the_subject(text: str, wanted: str | None, counts: dict[str, int]) -> None:
    assert subject_pronouns(text, wanted) == counts


@pytest.mark.parametrize(
    "text, wanted, mix",
    [
        ("She is a DJ from Leeds. He now lives in Paris.", None, ["he", "she"]),
        ("Her father ran a bar. She played there. Years later he moved to Paris.", None, ["he", "she"]),
        ("Mina runs a label. Her mentor Tomasz gave him his first gig.", None, ["he", "she"]),  # "him" is no one else
        ("They run a label. She sings.", "they", ["she"]),
        ("She plays records. They are DJs now.", "she", ["they"]),
        ("Nadia plays dub. She runs a label and her sets are long.", "she", []),
    ],
)
def test_a_real_switch_is_still_a_mix(text: str, wanted: str | None, mix: list[str]) -> None:
    assert pronoun_mix(subject_pronouns(text, wanted), wanted) == mix


def test_the_given_name_is_the_subject_not_another_person() -> None:
    text = "Anna Li plays records. Her friend Tomas lent Anna Li his decks."
    assert subject_pronouns(text, name="Anna Li") == {"he": 0, "she": 1, "they": 0}


def test_sample_bios_rarely_count_two_families() -> None:
    """Of the 2,729 team bios, 3 count two families, none a real switch: a generic "they" twice ("until
    they stop him", "they paid me") and a trio whose member "she" follows two named others."""
    bios = [json.loads(line) for line in SAMPLES.read_text("utf-8").splitlines() if line.strip()]
    two = [b["name"] for b in bios if sum(1 for v in subject_pronouns(b["text"], name=b["name"]).values() if v) > 1]
    assert len(two) <= 3, two
