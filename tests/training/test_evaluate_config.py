"""`djbios evaluate` judges and caps samples as bot.toml says, with the worker's own rule and cap."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import FiltersConfig, default_max_tokens, load_config, max_tokens_for
from bot.filters.copies import copy_run_limit
from bot.filters.copyindex import ensure_index
from bot.text import WORD
from tests.fixtures_model import TinyCheckpoint, write_corpus
from training import evaluate as ev

RUN_WORDS = 8  # [filters] copy_run_words, not the default 16: the shortest run the 8-gram index can see
CAP = 40  # [generate] max_tokens, well under the default cap, so it cuts some samples
PLANTED = 10  # words of a sample planted in the corpus: a copy at RUN_WORDS, none at the default
SAMPLES = 8
FILLER = "Zorblat quenched the vantablack marimba twice at Pluvio Hall"  # words no sample has


def _config(root: Path, corpus: Path) -> Path:
    path = root / "bot.toml"
    path.write_text(
        f'[corpus]\npath = "{corpus}"\n[model]\ncheckpoint_dir = "checkpoint"\n'
        f"[generate]\nmax_tokens = {CAP}\n[filters]\ncopy_run_words = {RUN_WORDS}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_evaluate_follows_copy_run_words_and_the_token_cap(tiny_checkpoint: TinyCheckpoint, tmp_path: Path) -> None:
    run_dir = tmp_path / "checkpoint" / "run1"
    shutil.copytree(tiny_checkpoint.run_dir, run_dir)
    corpus = tmp_path / "corpus.txt"
    cfg = load_config(_config(tmp_path, corpus))
    assert cfg.filters.copy_run_words == RUN_WORDS and max_tokens_for(cfg) == CAP < default_max_tokens(500)

    # What the worker's generator gives at this config's cap (sampling is seeded: evaluate gets the same).
    texts, complete = ev.sample_texts(run_dir, tiny_checkpoint.step, SAMPLES, cfg.generate, max_tokens_for(cfg))
    assert not all(complete), "the cap should cut some samples"
    # Long samples get their first PLANTED words into a corpus bio: a run the config's rule rejects
    # (limit RUN_WORDS) and the default allows (limit 16, or 0.7 of the sample's words + 1).
    planted = [t for t in texts if len(WORD.findall(t)) >= 14]
    assert planted, "no sample long enough to plant a run in"
    for t in planted:
        n = len(WORD.findall(t))
        assert copy_run_limit(n, RUN_WORDS) <= PLANTED < copy_run_limit(n, FiltersConfig().copy_run_words)
    write_corpus(corpus, [f"{FILLER} {' '.join(WORD.findall(t)[:PLANTED])} {FILLER}." for t in planted])

    report = ev.evaluate_from_config(cfg, which="latest", samples=SAMPLES)

    (row,) = report.rows
    assert row.texts == texts  # generated at the config's cap, not evaluate's default one
    assert all(len(WORD.findall(t)) <= CAP for t in row.texts)  # a word is at least one token
    assert row.copy_rate == pytest.approx(len(planted) / SAMPLES)
    assert row.longest_run >= PLANTED
    index = ensure_index(corpus, cfg.index_path)
    assert index is not None
    default = ev.measure(row.step, texts, complete, index, row.pronouns, FiltersConfig())
    assert default.copy_rate == 0.0  # the same samples pass the default rule: the config made the difference
