"""training/evaluate.py: per-checkpoint metrics and the report, with real tiny models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import GenerateConfig
from bot.errors import ModelError
from tests.fixtures_model import TinyModel, finetune_tiny, write_corpus
from training import evaluate as ev
from training.model import init_model

# Three bios with no shared phrasing, so a 16-word run pins down one of them.
HANDFUL = [
    "Marla Quist grew up above a laundrette in Hull, where the spin cycle taught her everything "
    "about rhythm. She built her first sampler from a broken organ and now plays long, dusty dub "
    "sets on pirate radio every Sunday.",
    "Tobias Frenk is a modular synth obsessive from Graz who records thunderstorms and turns them "
    "into slow techno. His debut album was pressed on recycled vinyl and sold out at a single "
    "warehouse party.",
    "DJ Pellucid started as a wedding DJ in Cork before discovering acid house at a ferry terminal "
    "rave. They run a label for cassette-only releases and teach beat matching to pensioners on "
    "Thursdays.",
]
COOL = GenerateConfig(temperature=0.2, batch_size=8)  # near-greedy: an overfit model recites


@pytest.fixture(scope="module")
def overfit_run(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny model trained 10 steps (kept) and then 140 more on three bios: (run_dir, corpus)."""
    root = tmp_path_factory.mktemp("overfit")
    corpus = write_corpus(root / "corpus.txt", HANDFUL * 40)  # > 1 window of 1024 tokens
    write_corpus(corpus.with_suffix(".val.txt"), HANDFUL[:1])
    init_model(root / "models" / "tiny", size="tiny", corpus=corpus)
    model = TinyModel(models_dir=root / "models", model_name="tiny", corpus=corpus, val=corpus.with_suffix(".val.txt"))
    finetune_tiny(model, root / "checkpoint", "run1", 10, learning_rate=3e-3)
    finetune_tiny(model, root / "checkpoint", "run1", 140, learning_rate=3e-3, max_checkpoints=2)
    return root / "checkpoint" / "run1", corpus


@pytest.mark.slow
def test_overfit_model_copies_and_early_checkpoint_does_not(overfit_run):
    run_dir, corpus = overfit_run
    rep = ev.evaluate(run_dir, corpus=corpus, index_path=corpus.with_suffix(".idx"), samples=8, gen=COOL)
    early, late = rep.rows
    assert (early.step, late.step) == (10, 150)
    assert late.copy_rate >= 0.75 and late.longest_run >= 16
    assert early.copy_rate <= 0.25 and early.copy_rate < late.copy_rate
    assert late.val_loss < early.val_loss  # the val bio is one of the memorised three
    assert rep.recommended == 10 and "recommended checkpoint: step 10" in rep.recommendation
    out = rep.path.parent
    for name in ("report.md", "loss.png", "metrics.png", "samples-10.txt", "samples-150.txt", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    page = (out / "report.md").read_text()
    assert "| 150 |" in page and ev.RULE in page and "![loss](loss.png)" in page
    assert (out / "samples-150.txt").read_text().count("=== sample") == 8
    assert json.loads((out / "metrics.json").read_text())["checkpoints"][1]["step"] == 150


@pytest.mark.slow
def test_same_seeds_give_the_same_samples(tiny_checkpoint):
    a = ev.sample_texts(tiny_checkpoint.run_dir, 20, 3, COOL, max_tokens=60)
    b = ev.sample_texts(tiny_checkpoint.run_dir, 20, 3, COOL, max_tokens=60)
    assert a == b


@pytest.mark.slow
def test_cli_evaluate_latest(tiny_checkpoint, tmp_path):
    shutil.copytree(tiny_checkpoint.run_dir, tmp_path / "checkpoint" / "run1")
    cfg = tmp_path / "bot.toml"
    cfg.write_text(
        f'[corpus]\npath = "{tiny_checkpoint.corpus}"\n[model]\ncheckpoint_dir = "checkpoint"\n'
        "[generate]\nmax_tokens = 60\n"
    )
    r = CliRunner().invoke(cli, ["--config", str(cfg), "evaluate", "--checkpoint", "latest", "--samples", "4"])
    assert r.exit_code == 0, r.output
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("recommended checkpoint: step 20")
    assert (tmp_path / "checkpoint" / "run1" / "eval" / "report.md").is_file()


def test_unknown_checkpoint_lists_the_kept_ones(tiny_checkpoint):
    with pytest.raises(ModelError, match="kept: 20"):
        ev.choose_steps(tiny_checkpoint.run_dir, "7")


@pytest.mark.parametrize(
    "texts,n,expected",
    [
        (["a b c a b c"], 2, 3 / 5),
        (["a b", "a b"], 2, 1 / 2),
        (["a"], 2, 0.0),
    ],
)
def test_distinct(texts, n, expected):
    assert ev.distinct([t.split() for t in texts], n) == pytest.approx(expected)


def test_pronoun_shares():
    assert ev.pronoun_shares("She plays. Her sets. He runs his label.") == pytest.approx(
        {"he": 0.5, "she": 0.5, "they": 0.0}
    )
    assert ev.pronoun_shares("no pronouns here") == {"he": 0.0, "she": 0.0, "they": 0.0}


def _row(step: int, copy: float, val: float | None) -> ev.CheckpointEval:
    return ev.CheckpointEval(
        step=step,
        samples=10,
        copy_rate=copy,
        longest_run=0,
        distinct2=0.5,
        distinct3=0.5,
        mean_words=40,
        end_share=1.0,
        pronouns={},
        pronoun_gap=0.0,
        val_loss=val,
        train_avg=None,
    )


@pytest.mark.parametrize(
    "rows,best",
    [
        ([_row(100, 0.0, 3.0), _row(200, 0.1, 2.5), _row(300, 0.5, 2.0)], 200),  # lowest val among non-copiers
        ([_row(100, 0.0, None), _row(200, 0.05, None), _row(300, 0.5, None)], 200),  # no val: latest non-copier
        ([_row(100, 0.4, 3.0), _row(200, 0.3, 2.0), _row(300, 0.3, 1.0)], 200),  # all copy: least, earliest
    ],
)
def test_recommendation_rule(rows, best):
    assert ev.recommend(rows).step == best
