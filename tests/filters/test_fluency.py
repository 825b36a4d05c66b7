"""The fluency score: word salad fails, every team-written sample bio passes, names stay neutral."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from bot.filters import fluency as FL

SAMPLES = Path(__file__).resolve().parents[2] / "training" / "data" / "sample_bios.jsonl"
MIN = FL.RECOMMENDED_MIN_SCORE
BIO = (
    "Odile Brack is a Rotterdam DJ who plays rolling techno, dub and the odd electro record. "
    "She started out at a squat bar near the harbour and now runs a monthly night in a former "
    "tram depot, where her sets often last six hours."
)
SALAD = (
    "Odile Brack is a Rotterdam DJ who splicants the fremorous trundle of wendery sorl. She "
    "drave out at a plonthy bar near the harbour and now graspels a monthly nimble in a "
    "former trabulous depot, where her sets often quindle six hours."
)


def test_a_plain_bio_scores_one() -> None:
    f = FL.fluency(BIO)
    assert f.score == 1.0 and f.unknown == () and f.fused == f.broken == 0 and f.counted > 25


def test_word_salad_is_rejected_and_named() -> None:
    ok, detail, scores = FL.check_fluency(SALAD, MIN)
    assert not ok and scores["score"] < 0.8
    assert detail.startswith("fluency 0.") and "unknown: splicants, fremorous" in detail
    assert json.loads(json.dumps(scores)) == scores


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_letters_are_rejected(seed: int) -> None:
    rng = random.Random(seed)
    salad = re.sub(r"\b[a-z]{4,}\b", lambda m: "".join(rng.sample(m.group(), len(m.group()))), BIO)
    assert not FL.check_fluency(salad, MIN)[0]


def test_every_sample_bio_passes_at_the_recommended_threshold() -> None:
    bios = [json.loads(line) for line in SAMPLES.read_text("utf-8").splitlines() if line.strip()]
    assert len(bios) >= 2000
    failed = [(b["name"], d) for b in bios for ok, d, _ in [FL.check_fluency(b["text"], MIN, [b["name"]])] if not ok]
    assert failed == []


@pytest.mark.parametrize(
    "text, names, unknown",
    [
        ("Ingii Petti is a producer from Slaanan who plays techno at the Vormhalle.", (), ()),  # capitals neutral
        ("ingii petti is a producer from slaanan who plays techno.", (), ("ingii", "slaanan")),
        ("ingii petti is a producer from slaanan who plays techno.", ("Ingii Petti",), ("slaanan",)),
        ("Splica is where she plays. Splica loves her.", (), ()),  # an unknown word opening a sentence: a name
        ("She plays techno. Splica, ranémessional, is here.", (), ("ranémessional",)),
        ("She plays splica and ranémessional records.", (), ("splica", "ranémessional")),
        ("dj halo-halo plays budots at parties.", ("dj halo-halo",), ("budots",)),
    ],
)
def test_names_are_neutral(text: str, names: tuple[str, ...], unknown: tuple[str, ...]) -> None:
    assert FL.fluency(text, names).unknown == unknown


def test_a_known_word_opening_a_sentence_counts() -> None:
    assert FL.fluency("The club is open. After midnight she plays.").counted == 8


@pytest.mark.parametrize(
    "text",
    [
        "She plays dubstep, techno, footwork, jungle, idm, breakbeat, acid, italo and electro.",
        'Djing since the 1990s, a remixer at 140 BPM on 12" records and 2-step plates.',
        "Her rain-soaked, bass-heavy sets run back-to-back with a crate-digger from the 80s.",
        "A hyperpop and gqom selecta with two sublabels and a microhouse groovebox.",
        "She doesn't stop; it's the artist's label and the DJs' favourite rock 'n' roll night.",
    ],
)
def test_domain_words_numbers_units_compounds_and_contractions_are_fine(text: str) -> None:
    f = FL.fluency(text)
    assert f.score == 1.0, f


@pytest.mark.parametrize(
    "text, form",
    [
        ("She does n't stop playing records.", "does n't"),
        ("It' s a long night of records.", "It' s"),
        ("The club' s owner plays records.", "club' s"),
        ("He 's the owner of the records.", "He 's"),
        ("They don t stop playing records.", "don t"),
        ("I m the one with the records.", "I m"),
        ("They 're the ones with records.", "They 're"),
    ],
)
def test_broken_contractions_fail_on_one(text: str, form: str) -> None:
    ok, detail, scores = FL.check_fluency(text + " " + BIO, MIN)
    assert not ok and scores["broken"] == 1 and scores["broken_forms"] == [form] and repr(form) in detail


@pytest.mark.parametrize(
    "word, fused",
    [
        ("ofthe", True),
        ("inthe", True),
        ("tothe", True),
        ("andthe", True),
        ("forhis", True),
        ("theclub", True),
        ("into", False),
        ("onto", False),
        ("onstage", False),
        ("theme", False),
        ("thesis", False),
        ("nightlife", False),
        ("within", False),
        ("another", False),
    ],
)
def test_fused_words(word: str, fused: bool) -> None:
    assert (FL.judge_lower(word) == "fused") is fused


def test_a_fused_word_fails_even_in_a_fluent_bio() -> None:
    ok, detail, _ = FL.check_fluency(BIO.replace("in a former", "inthe former"), MIN)
    assert not ok and detail.startswith("1 fused words")


def test_unknown_compounds_are_unknown_not_fused() -> None:
    f = FL.fluency("She runs a recordlabel in town with her friends and plays records.")
    assert f.unknown == ("recordlabel",) and f.fused == 0


def test_too_few_judged_words_fail() -> None:
    ok, detail, _ = FL.check_fluency("Ambro Mi-M", MIN)
    assert not ok and detail.startswith("only 1 judged words (need 5)")


def test_to_dict_is_json_safe_and_lists_the_first_unknown_words() -> None:
    text = " ".join(f"she plays blorv{c}x records" for c in "abcdefghijkl")
    d = FL.fluency(text).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert len(d["unknown"]) == FL.SHOW_UNKNOWN and d["n_unknown"] == 12


def test_lookups_are_cached_and_repeatable() -> None:
    """Cost sanity without timing: the second look at a text is served from the caches."""
    FL.warm()
    first = FL.fluency(SALAD)
    before = FL.judge_lower.cache_info().hits
    assert FL.fluency(SALAD) == first
    assert FL.judge_lower.cache_info().hits == before  # the token cache above it answered
    assert FL._judge.cache_info().hits > 0


def test_the_calibration_bench_still_runs() -> None:
    """bench/bench_fluency.py imported the module from its old home and failed before any number."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [sys.executable, str(root / "bench" / "bench_fluency.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "--bios" in r.stdout, r.stderr


ISSUE = (
    "Ingii Petti is a Slaanan producer who splica, ranémessional sound of the late 1990s. "
    "She has been playing around the world since the early days of the scene."
)


def test_an_unknown_word_where_a_verb_belongs_fails_a_fluent_bio() -> None:
    """The issue's own example scores 0.92 on the share: "who splica" is what gives it away."""
    ok, detail, scores = FL.check_fluency(ISSUE, MIN, ["Ingii Petti"])
    assert FL.fluency(ISSUE, ["Ingii Petti"]).score > MIN
    assert not ok and detail.startswith("1 unknown words where a verb belongs") and "'who splica'" in detail
    assert scores["verb_slot"] == 1 and scores["verb_slot_forms"] == ["who splica"]
    assert FL.check_fluency(ISSUE, MIN, ["Ingii Petti"], max_verb_slot=1)[0]  # the setting lets it through


@pytest.mark.parametrize(
    "text",
    [
        "She plays txalaparta and champeta at the port bar, and she still does every Friday.",
        "He, champeta in hand, plays records at the port bar every Friday with his friends.",  # not adjacent
        "Ingii Petti is a producer who plays splica and ranémessional records every night in town.",
        "She Splica is a name here, and she plays records at the port bar every Friday night.",  # capitalised
    ],
)
def test_an_unknown_word_elsewhere_is_only_counted_in_the_share(text: str) -> None:
    assert FL.fluency(text).verb_slot == 0


def test_the_verb_slot_setting_is_read_and_checked(tmp_path: Path) -> None:
    from bot.config import load_config
    from bot.errors import ConfigError

    path = tmp_path / "bot.toml"
    path.write_text("[filters]\nmax_unknown_verbs = 2\n", encoding="utf-8")
    assert load_config(path).filters.max_unknown_verbs == 2
    path.write_text("[filters]\nmax_unknown_verbs = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_unknown_verbs"):
        load_config(path)
