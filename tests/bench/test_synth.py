"""The synthetic bio generator (bench/synth.py) and the team-written sample corpus."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest

from bench.synth import END, MAX_CHARS, MIN_CHARS, START, main, synth_bios, write_synth

SAMPLE = Path(__file__).resolve().parents[2] / "training" / "data" / "sample_bios.jsonl"
URL = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|net|org|io|fm)\b", re.I)
PRONOUNS = {  # family -> words that mark a bio as written about someone of that family
    "he": re.compile(r"\b(he|him|his|himself)\b", re.I),
    "she": re.compile(r"\b(she|her|hers|herself)\b", re.I),
    "they": re.compile(r"\b(they|them|their|theirs|themselves|themself)\b", re.I),
}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def test_same_seed_gives_same_bios() -> None:
    assert list(synth_bios(50, seed=7)) == list(synth_bios(50, seed=7))


def test_other_seed_gives_other_bios() -> None:
    a, b = list(synth_bios(20, seed=0)), list(synth_bios(20, seed=1))
    assert all(x["text"] != y["text"] for x, y in zip(a, b))


def test_prefix_is_stable_when_n_grows() -> None:
    # a benchmark that asks for more bios must see the smaller run's bios first
    assert list(synth_bios(10, seed=3)) == list(islice(synth_bios(100, seed=3), 10))


def test_500_bios_have_realistic_lengths() -> None:
    lengths = [len(b["text"]) for b in synth_bios(500, seed=0)]
    assert 1200 <= statistics.mean(lengths) <= 1650  # ~74 MB per 52,000 bios
    assert min(lengths) >= MIN_CHARS and max(lengths) <= MAX_CHARS
    assert sum(n < 400 for n in lengths) >= 10 and sum(n > 3000 for n in lengths) >= 10  # a spread


def test_bios_have_names_and_clean_text() -> None:
    for bio in synth_bios(200, seed=2):
        assert set(bio) == {"name", "text"} and bio["name"]
        assert "{" not in bio["text"] and "}" not in bio["text"]  # every slot was filled
        assert "  " not in bio["text"] and bio["text"] == bio["text"].strip()
        assert START not in bio["text"] and END not in bio["text"]


def test_unrelated_bios_share_no_16_word_run() -> None:
    seen: dict[tuple[str, ...], int] = {}
    shared = 0
    for i, bio in enumerate(synth_bios(1500, seed=0)):
        w = _words(bio["text"])
        grams = {tuple(w[j : j + 16]) for j in range(len(w) - 15)}
        shared += any(seen.get(g, i) != i for g in grams)
        seen.update((g, i) for g in grams if g not in seen)
    assert shared <= 3  # of 1500 bios (measured: 0 for seeds 1 and 5 at 20,000-30,000 bios)


@pytest.mark.parametrize("fmt", ["jsonl", "corpus"])
def test_write_is_byte_identical_for_a_seed(tmp_path: Path, fmt: str) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert write_synth(a, 40, seed=9, fmt=fmt) == write_synth(b, 40, seed=9, fmt=fmt)
    assert a.read_bytes() == b.read_bytes()


def test_corpus_format_is_one_delimited_bio_per_line(tmp_path: Path) -> None:
    out = tmp_path / "corpus.txt"
    assert main(["--n", "30", "--seed", "4", "--out", str(out), "--format", "corpus"]) == 0
    raw = out.read_text(encoding="utf-8")
    bios = re.findall(re.escape(START) + r"(.*?)" + re.escape(END) + "\n", raw, re.S)
    assert len(bios) == 30 and raw.startswith(START) and raw.endswith(END + "\n")
    assert bios == [b["text"] for b in synth_bios(30, seed=4)]


def test_jsonl_format_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "bios.jsonl"
    main(["--n", "25", "--seed", "5", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == list(synth_bios(25, seed=5))


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    """The team-written sample corpus, parsed."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_sample_corpus_parses_and_is_large_enough(sample: list[dict]) -> None:
    assert len(sample) >= 300
    assert all(set(b) == {"name", "text"} and b["name"] and b["text"] for b in sample)
    assert sum(len(b["text"]) for b in sample) >= 90_000  # characters a small GPT learns from


def test_sample_corpus_has_no_urls_or_handles(sample: list[dict]) -> None:
    bad = [b["name"] for b in sample if URL.search(b["text"]) or "@" in b["text"]]
    assert bad == []


def test_sample_corpus_names_are_unique(sample: list[dict]) -> None:
    dupes = [n for n, c in Counter(b["name"].casefold() for b in sample).items() if c > 1]
    assert dupes == []


def test_sample_corpus_lengths_suit_mastodon(sample: list[dict]) -> None:
    lengths = [len(b["text"]) for b in sample]
    assert sum(n <= 500 for n in lengths) / len(lengths) >= 0.6  # most fit one 500-char status
    # and some do not (threads, the length filter): 66 of the first 340, 84 of all 980
    assert 0.05 <= sum(500 < n <= 1200 for n in lengths) / len(lengths) <= 0.35


def test_sample_corpus_pronouns_are_mixed(sample: list[dict]) -> None:
    def family(text: str) -> str:
        counts = {f: len(p.findall(text)) for f, p in PRONOUNS.items()}
        best = max(counts, key=counts.get)
        return best if counts[best] else "none"

    share = Counter(family(b["text"]) for b in sample)
    for fam in PRONOUNS:
        assert 0.15 <= share[fam] / len(sample) <= 0.5, share


def test_sample_corpus_has_no_long_shared_runs(sample: list[dict]) -> None:
    owner: dict[tuple[str, ...], int] = {}
    for i, bio in enumerate(sample):
        w = _words(bio["text"])
        for j in range(len(w) - 15):
            assert owner.setdefault(tuple(w[j : j + 16]), i) == i, bio["name"]
