"""The copy index: build/load round trip, recall of planted copies, no hits on unrelated text."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bench.synth import synth_bios
from bot.errors import ModelError
from bot.filters.copyindex import CopyIndex, build_index
from bot.text import WORD, iter_bios

HAND = [
    "Mara Lindqvist is a DJ and producer based in Berlin. She grew up in a small harbour town where "
    "the only club played slow dub records until dawn, and she spent her teenage summers copying those "
    "basslines onto cassette tapes borrowed from her older cousin.",
    "Tobi Okafor is a DJ and producer based in Berlin. His first records came out on a tiny Lagos label "
    "run from a barber shop, and his sets still mix highlife guitar loops with rattling electro drums "
    "that make the floor at four in the morning feel like noon.",
    "Café Röyksopp Night is a collective of three selectors who met while queueing for the last ferry "
    "home; they have thrown parties in laundrettes, a disused swimming pool and once, briefly, a bank.",
]


def write_corpus(path: Path, bios: list[str], names: list[str] | None = None) -> Path:
    """A corpus file in the training format, with a manifest when names are given."""
    path.write_text("".join(f"<|startoftext|>{b}<|endoftext|>\n" for b in bios), encoding="utf-8")
    if names:
        with open(path.with_suffix(".manifest.jsonl"), "w", encoding="utf-8") as f:
            for i, n in enumerate(names):
                f.write(json.dumps({"id": str(i), "name": n, "status": "kept", "corpus_index": i}) + "\n")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], CopyIndex]:
    """Three hand-written bios plus 400 synthetic ones, indexed."""
    d = tmp_path_factory.mktemp("corpus")
    bios = HAND + [b["text"] for b in synth_bios(400, seed=7)]
    names = ["Mara Lindqvist", "Tobi Okafor", "Cafe Night"] + [f"synth {i}" for i in range(400)]
    path = write_corpus(d / "corpus.txt", bios, names)
    build_index(path, path.with_suffix(".idx"))
    return bios, CopyIndex.load(path.with_suffix(".idx"))


def unrelated(seed: int, words: int = 300) -> str:
    """Synthetic text from another seed: the same style, none of the indexed bios."""
    text = " ".join(b["text"] for b in synth_bios(6, seed=1000 + seed))
    return " ".join(text.split()[:words])


def test_round_trip_keeps_bios_names_and_counts(corpus: tuple[list[str], CopyIndex]) -> None:
    bios, idx = corpus
    assert idx.nbios == len(bios)
    assert idx.bio(1) == bios[1]
    assert idx.name(0) == "Mara Lindqvist"
    assert idx.meta["words"] == sum(len(WORD.findall(b)) for b in bios)


def test_names_default_to_bio_number_without_manifest(tmp_path: Path) -> None:
    path = write_corpus(tmp_path / "c.txt", HAND)
    stats = build_index(path, tmp_path / "c.idx")
    idx = CopyIndex.load(tmp_path / "c.idx")
    assert stats["bios"] == 3 and idx.name(2) == "bio #2"


def test_corpus_reader_streams_across_block_edges(tmp_path: Path) -> None:
    path = write_corpus(tmp_path / "c.txt", HAND * 5)
    assert list(iter_bios(path, chunk=37)) == HAND * 5


@pytest.mark.parametrize("length", [16, 17, 24, 40])
def test_planted_copy_is_found_with_its_bio_and_span(corpus: tuple[list[str], CopyIndex], length: int) -> None:
    bios, idx = corpus
    words = bios[1].split()
    copied = " ".join(words[5 : 5 + length])
    text = f"{unrelated(1, 120)} {copied} {unrelated(2, 120)}"
    m = idx.check(text, run_words=16)
    assert m.bio_index == 1 and m.bio_name == "Tobi Okafor"
    assert m.longest_run >= len(WORD.findall(copied)) and m.copied
    assert copied.split()[1] in m.span
    assert "»" in m.matched_bio_excerpt and "«" in m.matched_bio_excerpt


def test_recall_of_planted_copies_is_complete(corpus: tuple[list[str], CopyIndex]) -> None:
    bios, idx = corpus
    rng = random.Random(3)
    for trial in range(60):
        b = rng.randrange(len(bios))
        toks = bios[b].split()
        if len(WORD.findall(bios[b])) < 20:
            continue
        s = rng.randrange(0, len(toks) - 20)
        copied = " ".join(toks[s : s + 20])
        n = len(WORD.findall(copied))
        m = idx.check(f"{unrelated(trial, 100)} {copied} {unrelated(trial + 99, 100)}")
        assert m.longest_run >= n, (b, copied, m)


@pytest.mark.parametrize("mangle", [str.upper, lambda s: s.replace(",", " ;").replace(" ", "\n  ")])
def test_case_punctuation_and_whitespace_are_normalised(corpus: tuple[list[str], CopyIndex], mangle) -> None:
    _, idx = corpus
    copied = "she spent her teenage summers copying those basslines onto cassette tapes borrowed from her"
    m = idx.check("Fresh words first. " + mangle(copied) + " and then something else entirely.")
    assert m.bio_index == 0 and m.longest_run == len(copied.split()) == 14


def test_unicode_words_match_after_case_folding(corpus: tuple[list[str], CopyIndex]) -> None:
    _, idx = corpus
    text = "CAFÉ RÖYKSOPP NIGHT is a collective of three selectors who met while queueing for the last"
    m = idx.check(text)
    assert m.bio_index == 2 and m.longest_run == len(text.split()) and m.span == text


@pytest.mark.parametrize("seed", range(5))
def test_unrelated_text_gives_no_long_run(corpus: tuple[list[str], CopyIndex], seed: int) -> None:
    _, idx = corpus
    m = idx.check(unrelated(seed), run_words=16)
    assert m.longest_run < 16 and m.copied is False and m.overlap < 0.2


def test_common_short_phrase_does_not_trigger(corpus: tuple[list[str], CopyIndex]) -> None:
    _, idx = corpus
    # Both hand-written bios share "is a DJ and producer based in Berlin" (8 words): a seed, not a copy.
    text = "Jo Park is a DJ and producer based in Berlin who mostly plays slow records."
    m = idx.check(text, run_words=min(15, round(0.7 * 15)) + 1)
    assert m.longest_run == 8 and m.copied is False


def test_whole_bio_has_full_overlap(corpus: tuple[list[str], CopyIndex]) -> None:
    bios, idx = corpus
    m = idx.check(bios[0])
    assert m.overlap == 1.0 and m.longest_run == len(WORD.findall(bios[0]))


@pytest.mark.parametrize("text", ["", "too short to hold an eight-gram", "!!! ???"])
def test_short_or_empty_text_has_no_match(corpus: tuple[list[str], CopyIndex], text: str) -> None:
    m = corpus[1].check(text)
    assert (m.longest_run, m.overlap, m.bio_index) == (0, 0.0, None)


def test_empty_corpus_builds_an_index_that_matches_nothing(tmp_path: Path) -> None:
    path = write_corpus(tmp_path / "c.txt", [])
    build_index(path, tmp_path / "c.idx")
    assert CopyIndex.load(tmp_path / "c.idx").check(HAND[0]).longest_run == 0


def test_rebuild_replaces_the_index(tmp_path: Path) -> None:
    path = write_corpus(tmp_path / "c.txt", HAND[:1])
    build_index(path, tmp_path / "c.idx")
    write_corpus(path, HAND[1:])
    build_index(path, tmp_path / "c.idx")
    idx = CopyIndex.load(tmp_path / "c.idx")
    assert idx.nbios == 2 and idx.bio(0) == HAND[1] and idx.check(HAND[0]).longest_run == 8
    assert not idx.stale(path)
    write_corpus(path, HAND)
    assert idx.stale(path)


@pytest.mark.parametrize("content", [None, b"not an index at all"])
def test_missing_or_foreign_index_says_how_to_build_it(tmp_path: Path, content: bytes | None) -> None:
    p = tmp_path / "corpus.idx"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ModelError, match="djbios corpus index"):
        CopyIndex.load(p)


def test_match_scores_are_json_safe(corpus: tuple[list[str], CopyIndex]) -> None:
    bios, idx = corpus
    d = idx.check(bios[1]).to_dict()
    assert json.loads(json.dumps(d))["bio_name"] == "Tobi Okafor"
