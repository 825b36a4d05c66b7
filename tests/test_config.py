"""bot/config.py: defaults, path resolution, and one clear line for every kind of bad value."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from bot.config import Config, database_url, load_config, read_token
from bot.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bot.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_repo_bot_toml_loads_and_matches_defaults() -> None:
    """The shipped bot.toml is valid and states exactly the dataclass defaults."""
    import dataclasses

    from bot.config_parse import build as _build

    path = (Path(__file__).parent.parent / "bot.toml").resolve()
    shipped = dataclasses.replace(load_config(path), source=None)
    assert shipped == _build(Config, {}, "", path.parent, path)


def test_empty_file_gives_defaults_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, ""))
    assert cfg.corpus.path == tmp_path / "data" / "corpus.txt"
    assert cfg.model.models_dir == tmp_path / "models"
    assert cfg.index_path == tmp_path / "data" / "corpus.idx"
    assert database_url(cfg) == f"sqlite:///{tmp_path}/var/djbios.db"


def test_absolute_paths_and_urls_are_kept(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[corpus]\npath = "/srv/c.txt"\n[database]\nurl = "postgresql://x/y"\n'))
    assert cfg.corpus.path == Path("/srv/c.txt")
    assert database_url(cfg) == "postgresql://x/y"


def test_env_var_picks_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJBIOS_CONFIG", str(write(tmp_path, '[review]\nmode = "auto"\n')))
    assert load_config().review.mode == "auto"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[review]\nmood = 'auto'\n", "unknown key 'review.mood'"),
        ("[nosuch]\nx = 1\n", "unknown key 'nosuch'"),
        ("[filters]\nmax_chars = 'many'\n", "'filters.max_chars' must be int"),
        ("[filters]\nmax_chars = 0\n", "'filters.max_chars' must be >= 1"),
        ("[generate]\ntop_p = 1.5\n", "'generate.top_p' must be <= 1.0"),
        ("[review]\nmode = 'sometimes'\n", "'review.mode' must be one of 'manual', 'auto'"),
        ("[train]\nonly_train_transformer_layers = 1\n", "must be bool"),
        ("[filters]\nblocklist = 'x'\n", "'filters.blocklist' must be a list"),
        ("[[scrape.sites]]\nnam = 'x'\n", "unknown key 'scrape.sites[0].nam'"),
        ("review = 3\n", "[review] must be a table"),
        ("[review\n", "not valid TOML"),
        ("[database]\nurl = 5\n", "'database.url' must be str"),
        ("[train]\nwindow = 2048\n", "'train.window' must be <= 1024"),
        ("[train]\nwindow = 128\n", "'train.window' = 128 is shorter than a generated bio (183 tokens"),
        ("[train]\nwindow = 300\n[generate]\nmax_tokens = 300\n", "raise it to at least 308 or lower the cap"),
    ],
)
def test_bad_values_name_the_key_and_the_file(tmp_path: Path, toml: str, message: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_a_short_training_window_fits_the_default_bio() -> None:
    """The demo's 256-token window holds the default cap (500 characters -> 183 tokens) and the prompt."""
    from bot.config import _check_window

    cfg = Config()
    _check_window(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, window=256)), Path("bot.toml"))


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, ""))
    with pytest.raises(AttributeError):
        cfg.review.mode = "auto"  # type: ignore[misc]


class TestToken:
    def test_env_wins(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DJBIOS_ACCESS_TOKEN", "tok-env")
        assert read_token(load_config(write(tmp_path, ""))) == "tok-env"

    def test_0600_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("DJBIOS_ACCESS_TOKEN", raising=False)
        tok = tmp_path / "token"
        tok.write_text("tok-file\n")
        os.chmod(tok, 0o600)
        cfg = load_config(write(tmp_path, '[mastodon]\ntoken_file = "token"\n'))
        assert read_token(cfg) == "tok-file"

    def test_group_readable_file_is_refused(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("DJBIOS_ACCESS_TOKEN", raising=False)
        tok = tmp_path / "token"
        tok.write_text("secret-value")
        os.chmod(tok, 0o640)
        cfg = load_config(write(tmp_path, '[mastodon]\ntoken_file = "token"\n'))
        with pytest.raises(ConfigError, match="chmod 600") as err:
            read_token(cfg)
        assert "secret-value" not in str(err.value)

    def test_no_token_says_what_to_do(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("DJBIOS_ACCESS_TOKEN", raising=False)
        with pytest.raises(ConfigError, match="djbios login"):
            read_token(load_config(write(tmp_path, "")))


def test_bot_toml_documents_every_key() -> None:
    """Each dataclass field appears in the shipped bot.toml (set, or shown commented for sites)."""
    import dataclasses
    import re

    text = (Path(__file__).parent.parent / "bot.toml").read_text()
    missing = []
    for section in dataclasses.fields(Config):
        if section.name == "source":
            continue
        cls = type(getattr(Config(), section.name))
        for f in dataclasses.fields(cls):
            if not re.search(rf"^#? ?{f.name} = ", text, re.M) and f.name != "sites":
                missing.append(f"{section.name}.{f.name}")
    from bot.config import SiteConfig

    for f in dataclasses.fields(SiteConfig):
        if not re.search(rf"^# {f.name} = ", text, re.M):
            missing.append(f"scrape.sites.{f.name}")
    assert not missing, f"bot.toml does not document: {missing}"
