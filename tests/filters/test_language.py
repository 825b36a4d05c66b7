"""The language filter reads a candidate through the corpus builder's window ([corpus] settings)."""

from __future__ import annotations

from pathlib import Path

from bot.config import FiltersConfig, load_config
from bot.filters.language import ENGLISH_WINDOW, language
from bot.filters.pipeline import Pipeline, build_pipeline

EN = "Mara Quell plays deep house records every Sunday at a harbour bar, and she runs a small label for her friends. "
DE = (
    "Sie spielt jeden Sonntag in einer kleinen Bar am Hafen und betreibt mit ihren Freunden ein kleines "
    "Label für elektronische Musik aus der Stadt. "
) * 4


def test_the_window_decides_how_much_of_the_text_is_read() -> None:
    assert language(EN + DE, FiltersConfig(), (110, 20)).ok
    assert not language(EN + DE, FiltersConfig(), ENGLISH_WINDOW).ok  # 600 chars: mostly German


def test_build_pipeline_uses_the_corpus_settings_and_they_count_in_the_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text("[corpus]\nlang_prefix_chars = 110\n", encoding="utf-8")
    pipe = build_pipeline(load_config(path), [])
    assert pipe.english_window == (110, 20)
    assert pipe.check(EN + DE).scores["language"]["prob"] == 1.0
    default = Pipeline(FiltersConfig())
    assert pipe.fingerprint != default.fingerprint  # a changed window means verdicts are made again
    assert Pipeline(FiltersConfig(), english_window=ENGLISH_WINDOW).fingerprint == default.fingerprint
