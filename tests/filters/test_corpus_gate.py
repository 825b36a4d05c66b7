"""The filters against a real corpus built by `djbios corpus build` from team-written bios: the seed's
failure shapes, the real-artist guard, and `djbios corpus exclude --url` (real SQLite, the real CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.config import database_url, load_config
from bot.filters.names import write_name_index
from bot.store.candidate import Candidate
from bot.store.store import Store
from tests.filters.test_gate import BASE

OSKAR_URL = "https://bios.example/artists/oskar-vantreel"
# Fictional artists, written for these tests. Oskar has two bios: with validation_share 0.5 the
# deterministic split (sha256 of the text) puts the first in the corpus, the second in .val.txt.
CORPUS = [
    (
        "Oskar Vantreel",
        OSKAR_URL,
        "Oskar Vantreel grew up above a laundrette in Rotterdam and taught himself to mix on two broken "
        "cassette decks. His long sets crawl from rusted dub into bright Detroit chords while the sun comes "
        "up over the harbour cranes.",
    ),
    (
        "Oskar Vantreel",
        OSKAR_URL,
        "Oskar Vantreel is a selector and radio host who keeps a weekly show about forgotten Dutch synth "
        "records. He presses small runs of his own edits and gives most of them away at the door of the club.",
    ),
    (
        "Maud Kessling",
        "https://bios.example/artists/maud-kessling",
        "Maud Kessling is a cellist turned techno producer from Graz. Her tracks loop bowed strings "
        "through tape delay until they sound like engines idling in a tunnel.",
    ),
    (
        "Zorbitrax",
        "https://bios.example/artists/zorbitrax",
        "Zorbitrax is the alias of a former sound engineer who builds drum patterns from recordings of "
        "printing presses. The live show uses no laptop at all, only three samplers and a mixing desk.",
    ),
    (
        "Rafe Dunmore",
        "https://bios.example/artists/rafe-dunmore",
        "Rafe Dunmore hosts a monthly party in a converted boathouse on the Thames. He favours slow "
        "disco, Italian library music and anything with a good flute solo.",
    ),
]
OSKAR_RUN = (
    "taught himself to mix on two broken cassette decks. His long sets crawl from rusted dub into bright "
    "Detroit chords while the sun comes up"
)  # 26 words of Oskar's corpus bio, without his name
COPYING = f"Lars Dorsk is a DJ from Hull who {OSKAR_RUN} over the estuary. He plays every Saturday."
NAMING_OSKAR = BASE + "She once shared a bill with oskar vantreel in Ghent."


def setup(tmp_path: Path, validation_share: float = 0.0) -> tuple[Path, Path]:
    """bot.toml (database and corpus in tmp_path) and the input .jsonl; the corpus is built by the CLI."""
    path = tmp_path / "bot.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///var/t.db"\n[corpus]\nmin_chars = 20\nvalidation_share = {validation_share}\n',
        encoding="utf-8",
    )
    src = tmp_path / "artists.jsonl"
    src.write_text("".join(json.dumps({"name": n, "url": u, "text": t}) + "\n" for n, u, t in CORPUS), "utf-8")
    r = djbios(path, "corpus", "build", str(src))
    assert "0 dropped" in r.output, r.output  # every fixture bio is English, long enough and distinct
    return path, src


def djbios(path: Path, *args: str, input: str | None = None) -> Result:
    """`djbios --config PATH ARGS`, exit status 0 required."""
    r = CliRunner().invoke(cli, ["--config", str(path), *args], input=input, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def candidates(path: Path) -> list[Candidate]:
    """Every candidate of the config's database, oldest first."""
    return Store.open(database_url(load_config(path))).list(order="oldest")


SHAPES = [
    ("Born in Lyon, she has played in France, Germany, Spain and France, and now lives in Berlin.", "repetition"),
    ("Her records mix techno, dub, dub and house for late crowds.", "repetition"),
    ("She learnt to mix from her grandfather; his old soul records still open every set.", None),
    ("Her mentor Tomasz, who gave her his first decks, still comes to every show.", None),
    ("She once shared a bill with oskar vantreel in Ghent.", "names"),
    ("Her favourite producer is Zorbitrax, whose printing-press drums she plays often.", "names"),
    ("She has a soft spot for maud kessling and her bowed strings.", "names"),
]


def test_seed_shapes_and_corpus_names_through_add(tmp_path: Path) -> None:
    path, _ = setup(tmp_path)
    djbios(path, "add", "-", input="\n\n".join(BASE + tail for tail, _ in SHAPES) + "\n")
    got = candidates(path)
    assert [(c.status, c.reason) for c in got] == [("pending", reason) for _, reason in SHAPES], [
        c.scores[c.reason]["detail"] for c in got if c.reason
    ]
    assert all(c.scores["names"]["checked"] and c.scores["copy"]["checked"] for c in got)  # the built indexes
    assert "france" in got[0].scores["repetition"]["detail"] and "dub" in got[1].scores["repetition"]["detail"]
    named = [c.scores["names"]["names"] for c in got if c.reason == "names"]
    assert named == [["Oskar Vantreel"], ["Zorbitrax"], ["Maud Kessling"]]  # the corpus's spelling


def test_exclude_by_url_takes_the_artist_out_and_rebuilds_both_indexes(tmp_path: Path) -> None:
    path, src = setup(tmp_path, validation_share=0.5)
    corpus = tmp_path / "data" / "corpus.txt"
    val, manifest = corpus.with_suffix(".val.txt"), corpus.with_suffix(".manifest.jsonl")
    oskar = [t for n, _, t in CORPUS if n == "Oskar Vantreel"]
    assert oskar[0] in corpus.read_text("utf-8") and oskar[1] in val.read_text("utf-8")  # one in each file
    djbios(path, "add", "-", input=f"{COPYING}\n\n{NAMING_OSKAR}\n")
    copying, naming = candidates(path)
    assert (copying.reason, naming.reason) == ("copy", "names")
    assert copying.scores["copy"]["bio_name"] == "Oskar Vantreel"
    idx_before = corpus.with_suffix(".idx").read_bytes()

    r = djbios(path, "corpus", "exclude", "--url", OSKAR_URL, "--reason", "asked by email")
    assert "removed 2 bios" in r.output
    assert not any(t in corpus.read_text("utf-8") + val.read_text("utf-8") for t in oskar)
    records = [json.loads(x) for x in manifest.read_text("utf-8").splitlines()]
    assert [r["reason"] for r in records if r["url"] == OSKAR_URL] == ["excluded", "excluded"]
    assert sum(r["status"] == "kept" for r in records) == len(CORPUS) - 2  # nobody else went
    assert corpus.with_suffix(".idx").read_bytes() != idx_before

    # The copy index no longer holds his text; the name index keeps his name (the model still knows it).
    out = djbios(path, "filter", "--recheck").output
    assert "1 stay pending, 1 rejected (names: 1)" in out
    copying, naming = candidates(path)
    assert (copying.status, copying.reason) == ("pending", None) and copying.scores["copy"]["checked"]
    assert (naming.status, naming.reason) == ("rejected", "names")
    assert naming.scores["names"]["names"] == ["Oskar Vantreel"]

    djbios(path, "corpus", "build", str(src))  # a rebuild from the same input keeps him out, by his URL
    assert not any(t in corpus.read_text("utf-8") + val.read_text("utf-8") for t in oskar)


@pytest.mark.parametrize("order", [["Oskar Vantreel", "oskar  vantreel"], ["OSKAR VANTREEL", "Oskar Vantreel"]])
def test_a_name_in_two_cases_is_one_entry_spelled_as_first_given(tmp_path: Path, order: list[str]) -> None:
    path = tmp_path / "c.names.json"
    assert write_name_index(path, order) == 1
    assert json.loads(path.read_text("utf-8"))["names"] == [order[0]]
