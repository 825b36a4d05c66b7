"""The fluency filter through the real `djbios` CLI on a real SQLite file: word salad is held
pending with reason `fluency`, and each of its [filters] settings takes effect on `filter --recheck`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.config import database_url, load_config
from bot.store.candidate import Candidate
from bot.store.store import Store

# Team-written: English grammar and function words around invented non-words (langdetect still says
# English, p ~1.0); 8 of 28 judged words are unknown, fluency 0.71.
SALAD = (
    "Velna Orrik is a plontic producer whose sets vrindle the flosk with pramish and varnet grooves. "
    "She skrelled out among the crelbs in a smarvy club and now plorps loud, garny records for the "
    "crowds every weekend."
)
PLAIN = (
    "Velna Orrik is a producer from Leeds who plays nothing but slow house in small rooms. She started "
    "out behind the bar of a club and now plays loud, warm records for late crowds every weekend."
)
BROKEN = PLAIN.replace("plays nothing but", "does n't play anything but")  # one broken contraction
FUSED = PLAIN.replace("in small rooms", "in ofthe small rooms")  # one glued function word
ONE_UNKNOWN = PLAIN.replace("every weekend.", "every weekend, plosk.")  # fluency 0.97
VERB_SLOT = PLAIN.replace("She started", "She plorped")  # an unknown word where a verb belongs, fluency 0.97


def write_config(tmp_path: Path, **filters: object) -> Path:
    """bot.toml in tmp_path (same database every time) with these [filters] settings."""
    path = tmp_path / "bot.toml"
    lines = ['[database]\nurl = "sqlite:///var/t.db"\n[filters]\n']
    lines += [f"{k} = {v!r}\n" for k, v in filters.items()]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def djbios(path: Path, *args: str, input: str | None = None) -> Result:
    """`djbios --config PATH ARGS`, exit status 0 required."""
    r = CliRunner().invoke(cli, ["--config", str(path), *args], input=input, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def only(path: Path) -> Candidate:
    """The one candidate the config's database holds."""
    (c,) = Store.open(database_url(load_config(path))).list()
    return c


def test_word_salad_is_held_pending_until_min_fluency_is_lowered(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    r = djbios(path, "add", "-", input=SALAD + "\n")
    assert "0 pass the filters, 1 fail" in r.output and "#1 fails" in r.output
    c = only(path)
    assert (c.status, c.reason) == ("pending", "fluency")
    assert c.scores["fluency"]["score"] < 0.88 and c.scores["fluency"]["min"] == 0.88
    assert "plontic" in c.scores["fluency"]["unknown"] and c.scores["language"]["ok"]  # fluency alone fails it
    assert "fails the fluency filter" in CliRunner().invoke(cli, ["--config", str(path), "approve", "1"]).output
    before = c.filter_fingerprint

    path = write_config(tmp_path, min_fluency=0.6, max_unknown_verbs=1)  # "She skrelled"
    assert "1 stay pending, 0 rejected" in djbios(path, "filter", "--recheck").output
    c = only(path)
    assert (c.status, c.reason) == ("pending", None) and c.scores["fluency"]["min"] == 0.6
    assert c.filter_fingerprint != before  # the verdict records the settings it was made under
    assert "min 0.6" in djbios(path, "filter", "--text", SALAD).output
    djbios(path, "approve", "1")  # the lowered threshold is the one approval checks against
    assert only(path).status == "approved"


@pytest.mark.parametrize(
    ("text", "setting", "evidence"),
    [
        (BROKEN, "max_broken_contractions", "1 broken contractions"),
        (FUSED, "max_fused_words", "1 fused words"),
        (VERB_SLOT, "max_unknown_verbs", "1 unknown words where a verb belongs: 'she plorped'"),
    ],
    ids=["broken-contraction", "fused-word", "unknown-verb"],
)
def test_count_limits_take_effect_on_recheck(tmp_path: Path, text: str, setting: str, evidence: str) -> None:
    path = write_config(tmp_path)
    djbios(path, "add", "-", input=text + "\n")
    c = only(path)
    assert (c.status, c.reason) == ("pending", "fluency") and evidence in c.scores["fluency"]["detail"]
    assert c.scores["fluency"]["score"] >= 0.88  # the share alone would pass it: the count fails it

    path = write_config(tmp_path, **{setting: 1})
    assert "1 stay pending, 0 rejected" in djbios(path, "filter", "--recheck").output
    assert (only(path).status, only(path).reason) == ("pending", None)


def test_a_raised_min_fluency_rejects_on_recheck(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    djbios(path, "add", "-", input=ONE_UNKNOWN + "\n")
    assert (only(path).status, only(path).reason) == ("pending", None)
    path = write_config(tmp_path, min_fluency=0.99)
    assert "0 stay pending, 1 rejected (fluency: 1)" in djbios(path, "filter", "--recheck").output
    assert (only(path).status, only(path).reason) == ("rejected", "fluency")


def test_skipping_fluency_records_the_score_but_never_rejects(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    djbios(path, "add", "-", input=SALAD + "\n")
    path = write_config(tmp_path, skip=["fluency"])
    assert "1 stay pending" in djbios(path, "filter", "--recheck").output
    c = only(path)
    assert c.reason is None and c.scores["fluency"]["detail"].startswith("skipped (fluency 0.71")
