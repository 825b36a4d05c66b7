"""The tiny gpt-2-simple model, made offline once per test session (owned by the model area).

`tiny_model`: a from-scratch tiny model folder (models_dir/tiny) with its own BPE vocabulary.
`tiny_checkpoint`: that model fine-tuned 20 steps with the real gpt-2-simple into
checkpoint_dir/run_name/. Both are shared by the session: copy the folder before training it further.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SAMPLE_BIOS = Path(__file__).resolve().parent.parent / "training" / "data" / "sample_bios.jsonl"
MIN_CORPUS_CHARS = 20_000  # well over one 1024-token window even for a byte-level vocabulary
TINY_STEPS = 20
TINY_BIOS = 980  # gpt-2-simple re-encodes the corpus in Python on every train call: keep the tests' one fixed


@dataclass(frozen=True)
class TinyModel:
    """Where the tiny base model and its corpus live."""

    models_dir: Path
    model_name: str
    corpus: Path  # <|startoftext|>BIO<|endoftext|>\n per bio
    val: Path  # the validation split beside it (corpus.with_suffix(".val.txt"))

    @property
    def path(self) -> Path:
        """models_dir / model_name."""
        return self.models_dir / self.model_name

    def __getitem__(self, key: str) -> Any:
        """Dict-style access too: fixture["checkpoint_dir"]."""
        return getattr(self, key)


@dataclass(frozen=True)
class TinyCheckpoint(TinyModel):
    """A fine-tuned run of the tiny model in gpt-2-simple's checkpoint layout."""

    checkpoint_dir: Path = Path()
    run_name: str = "run1"
    step: int = TINY_STEPS

    @property
    def run_dir(self) -> Path:
        """checkpoint_dir / run_name."""
        return self.checkpoint_dir / self.run_name


def fake_bios(n: int, seed: int = 0) -> list[str]:
    """Template bios written for the tests (no real person's text)."""
    rng = random.Random(seed)
    genres = ["techno", "house", "drum and bass", "ambient", "electro", "garage", "dub", "trance"]
    cities = ["Berlin", "Detroit", "Leeds", "Osaka", "Chicago", "Bristol", "Lisbon", "Quito"]
    labels = ["Night Shift", "Low Tide", "Copper Room", "Static Bloom", "Field Line", "Moth Tapes"]
    names = ["Ana Kraus", "Marco Vega", "Kenji Moss", "Lena Byrne", "Ayo Reyes", "Nils Okafor"]
    pronouns = [("he", "his"), ("she", "her"), ("they", "their")]
    out = []
    for _ in range(n):
        p, pp = rng.choice(pronouns)
        g1, g2 = rng.sample(genres, 2)
        city = rng.choice(cities)
        out.append(
            f"{rng.choice(names)} is a DJ and producer from {city}. Known for {g1} sets that drift "
            f"into {g2}, {p} has released records on {rng.choice(labels)} and played clubs across "
            f"Europe. {pp.capitalize()} first EP came out in {rng.randint(1990, 2023)}, and {p} "
            f"still runs a monthly night in {city}."
        )
    return out


def corpus_bios() -> list[str]:
    """The team's sample bios if present (the first TINY_BIOS), else template bios."""
    if SAMPLE_BIOS.is_file():
        lines = SAMPLE_BIOS.read_text(encoding="utf-8").splitlines()[:TINY_BIOS]
        bios = [json.loads(line)["text"].strip() for line in lines if line.strip()]
        if bios:
            return bios
    return fake_bios(200)


def write_corpus(path: Path, bios: list[str]) -> Path:
    """Write bios in the corpus file format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"<|startoftext|>{b}<|endoftext|>\n" for b in bios), encoding="utf-8")
    return path


def make_tiny_model(root: Path) -> TinyModel:
    """Corpus (+ val split) and a from-scratch tiny model under root."""
    from training.model import init_model

    bios = corpus_bios()
    val, train = bios[:5], bios[5:]
    while sum(map(len, train)) < MIN_CORPUS_CHARS:  # a short sample file is repeated, not refused
        train = train + train
    corpus = write_corpus(root / "data" / "corpus.txt", train)
    write_corpus(corpus.with_suffix(".val.txt"), val)
    init_model(root / "models" / "tiny", size="tiny", corpus=corpus)
    return TinyModel(models_dir=root / "models", model_name="tiny", corpus=corpus, val=corpus.with_suffix(".val.txt"))


def fast_settings(**overrides: Any) -> Any:
    """TrainConfig for tests: 1 window per step, lr 1e-3, no periodic saves or samples."""
    from bot.config import TrainConfig

    base = {
        "learning_rate": 1e-3,
        "accumulate_gradients": 1,
        "sample_every": 0,
        "save_every": 10**6,
        "max_checkpoints": 3,
        "seed": 0,
    }
    return TrainConfig(**{**base, **overrides})


def finetune_tiny(model: TinyModel, checkpoint_dir: Path, run_name: str, steps: int, **overrides: Any) -> Any:
    """Fine-tune with training.finetune (the real gpt-2-simple loop) in its own graph."""
    from training.finetune import train

    return train(
        model.corpus,
        models_dir=model.models_dir,
        model_name=model.model_name,
        checkpoint_dir=checkpoint_dir,
        run_name=run_name,
        settings=fast_settings(**overrides),
        steps=steps,
    )


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """A from-scratch tiny model (about 5 s to make) shared by the session."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> TinyCheckpoint:
    """tiny_model fine-tuned 20 steps into checkpoint_dir/run1/ (about 10 s)."""
    checkpoint_dir = tmp_path_factory.mktemp("tiny_checkpoint") / "checkpoint"
    finetune_tiny(tiny_model, checkpoint_dir, "run1", TINY_STEPS)
    return TinyCheckpoint(
        models_dir=tiny_model.models_dir,
        model_name=tiny_model.model_name,
        corpus=tiny_model.corpus,
        val=tiny_model.val,
        checkpoint_dir=checkpoint_dir,
        run_name="run1",
        step=TINY_STEPS,
    )
