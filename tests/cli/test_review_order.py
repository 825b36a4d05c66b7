"""`djbios review` through click's CliRunner with piped keys, on real SQLite and a corpus built by
`djbios corpus build`: the best bio first, fluency deciding when the language scores tie, and an edit
that fails the filters staying pending with its reasons."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.config import database_url, load_config
from bot.filters.quality import WEIGHTS
from bot.store.store import Store
from tests.filters.test_fluency_cli import SALAD
from tests.fixtures_store import GOOD_BIOS

# A fictional artist's bio (team-written), the whole corpus.
CORPUS_BIO = (
    "Pell Arvane plays long sets of broken techno in a disused tram depot outside Turin. Every record "
    "in the bag has been bought second hand, and most of them came from a single market stall."
)
RUN = "every record in the bag has been bought second hand, and most"  # 12 words of it (limit 16)
FLUENT_COPYING = (  # every word English; a 13-word run of the corpus ("... most of"): passes, near the limit
    f"Cora Belling spins soul and house at a riverside bar in Leeds, and {RUN} of her favourites came "
    "from a church jumble sale. She still sends a postcard to every promoter who books her."
)
TWO_UNKNOWN = (  # no copied run; fluency 0.94 ("plosk" and "varnet" are not words)
    "Ruth Hallam is a producer from Leeds whose sets fill the floor with plosk and varnet grooves. She "
    "started out behind the bar of a small club and now plays loud, warm records for late crowds."
)


def djbios(path: Path, *args: str, input: str | None = None) -> Result:
    """`djbios --config PATH ARGS`, exit status 0 required."""
    r = CliRunner().invoke(cli, ["--config", str(path), *args], input=input, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def with_corpus(tmp_path: Path) -> Path:
    """bot.toml in tmp_path whose corpus (and copy index) `djbios corpus build` made from CORPUS_BIO."""
    path = tmp_path / "bot.toml"
    path.write_text('[database]\nurl = "sqlite:///var/t.db"\n[corpus]\nvalidation_share = 0.0\n', encoding="utf-8")
    src = tmp_path / "corpus.jsonl"
    src.write_text(json.dumps({"name": "Pell Arvane", "text": CORPUS_BIO}) + "\n", encoding="utf-8")
    assert "1 bios kept" in djbios(path, "corpus", "build", str(src)).output
    return path


def test_review_shows_the_best_first_and_fluency_decides_when_language_ties(tmp_path: Path) -> None:
    path = with_corpus(tmp_path)
    djbios(path, "add", "-", input="\n\n".join([SALAD, TWO_UNKNOWN, FLUENT_COPYING]) + "\n")
    salad, unknown, copying = Store.open(database_url(load_config(path))).list(order="oldest")
    assert (salad.reason, unknown.reason, copying.reason) == ("fluency", None, None)
    cp = copying.scores["copy"]
    assert 12 <= cp["longest_run"] < cp["run_limit"] and unknown.scores["copy"]["longest_run"] < 8
    (lang,) = {c.scores["language"]["prob"] for c in (salad, unknown, copying)}  # a tie: only fluency orders them
    for c in (salad, unknown, copying):
        expected = WEIGHTS["fluency"] * c.scores["fluency"]["score"] + WEIGHTS["language"] * lang
        assert c.quality == pytest.approx(expected, abs=1e-4)
    # The copied run and the failed filter do not move a bio: fluency 1.0, then 0.94, then 0.71.
    out = djbios(path, "review", input="s\ns\ns\n").output
    shown = [int(n) for n in re.findall(r"\[\d/3\] #(\d+) ", out)]
    assert shown == [copying.id, unknown.id, salad.id], out
    assert "skipped 3" in out


def test_an_edit_that_fails_in_review_stays_pending_with_its_reasons(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "ed.py"
    editor.write_text(f"import sys\nopen(sys.argv[1], 'w').write({SALAD!r})\n", encoding="utf-8")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    djbios(config_file, "add", "-", input=GOOD_BIOS[0] + "\n")
    out = djbios(config_file, "review", input="e\na\nq\n").output
    assert "reason: fluency" in out and "✗ fluency: fluency 0.71 (min 0.88); unknown: plontic" in out
    assert "#1 fails the fluency filter" in out  # the approval after the edit is refused
    assert "approved 0, rejected 0, edited 1, skipped 0" in out
    c = Store.open(database_url(load_config(config_file))).get(1)
    assert (c.status, c.reason, c.text) == ("pending", "fluency", SALAD)
    assert not c.scores["fluency"]["ok"] and "plontic" in c.scores["fluency"]["unknown"]
    assert any(h.get("previous_text") == GOOD_BIOS[0] for h in c.history)
