"""bot.toml values that cannot work are refused at load, with the key and the file named.

NaN passes every `<`/`>` bound check, infinity and huge numbers overflow the scheduler's timedeltas,
crossed min/max pairs reject every bio, and a NaN that reached the database made `queue --json`
print invalid JSON. The float cases are generated from the dataclasses, so a new setting is covered
the day it is added.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import Config, ScheduleConfig, SiteConfig, load_config
from bot.errors import ConfigError
from bot.store.store import Store


def _settings(kind: type) -> list[str]:
    """Every 'section.key' of type `kind` in bot.toml (site profiles as [[scrape.sites]])."""
    out = []
    for section in dataclasses.fields(Config):
        if section.name == "source":
            continue
        hints = typing.get_type_hints(type(getattr(Config(), section.name)))
        out += [f"{section.name}.{name}" for name, tp in hints.items() if tp is kind]
    return out + [f"scrape.sites.{name}" for name, tp in typing.get_type_hints(SiteConfig).items() if tp is kind]


def _toml(key: str, value: str) -> str:
    """A bot.toml setting one key (a site profile's key inside one [[scrape.sites]])."""
    if key.startswith("scrape.sites."):
        return f"[[scrape.sites]]\n{key.rsplit('.', 1)[1]} = {value}\n"
    section, name = key.split(".")
    return f"[{section}]\n{name} = {value}\n"


def _refused(tmp_path: Path, toml: str, *needles: str) -> str:
    path = tmp_path / "bot.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


FLOATS = _settings(float)


def test_there_are_float_settings_to_check() -> None:
    assert "generate.temperature" in FLOATS and "schedule.retry_base_s" in FLOATS and len(FLOATS) > 15


@pytest.mark.parametrize("key", FLOATS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1" + "0" * 400])
def test_no_float_setting_takes_nan_infinity_or_overflow(tmp_path: Path, key: str, value: str) -> None:
    short = key.rsplit(".", 1)[1]
    _refused(tmp_path, _toml(key, value), short)


@pytest.mark.parametrize("key", _settings(int))
def test_no_int_setting_takes_more_than_64_bits(tmp_path: Path, key: str) -> None:
    _refused(tmp_path, _toml(key, str(2**64)), key.rsplit(".", 1)[1], "out of range")


@pytest.mark.parametrize(
    "key, value",
    [
        ("schedule.jitter_seconds", 10**12),
        ("schedule.misfire_grace_s", 10**12),
        ("schedule.post_every_minutes", 1e12),
        ("schedule.refill_every_minutes", 1e12),
        ("schedule.retry_base_s", 1e300),
        ("scrape.timeout_s", 1e300),
        ("model.download_timeout_s", 1e300),
        ("schedule.lease_stale_s", 1e300),  # the heartbeat's datetime arithmetic overflowed
        ("alerts.repeat_hours", 1e300),  # the alert was sent but never recorded
        ("alerts.silent_hours", 1e300),
        ("generate.timeout_s", 1e300),  # Popen.communicate(timeout=...) overflowed
        ("generate.top_k", 2**62),  # tf.nn.top_k fails past the vocabulary
        ("generate.seed", 2**40),  # numpy and TensorFlow take 32-bit seeds
        ("train.seed", 2**32),
    ],
)
def test_periods_beyond_what_the_scheduler_holds_are_refused(tmp_path: Path, key: str, value: float) -> None:
    _refused(tmp_path, _toml(key, repr(value)), f"'{key}' must be <=")


@pytest.mark.parametrize("key, value", [("train.seed", -5), ("generate.seed", -2)])
def test_seeds_below_what_numpy_takes_are_refused(tmp_path: Path, key: str, value: int) -> None:
    _refused(tmp_path, _toml(key, repr(value)), f"'{key}' must be >=")


def test_the_longest_allowed_periods_build_a_working_schedule(tmp_path: Path) -> None:
    """Every schedule maximum at once still makes triggers that compute their next run."""
    from apscheduler.triggers.interval import IntervalTrigger

    from bot.posting.schedule import post_trigger

    meta = {f.name: f.metadata for f in dataclasses.fields(ScheduleConfig)}
    keys = ("refill_every_minutes", "post_every_minutes", "jitter_seconds", "misfire_grace_s", "retry_base_s")
    path = tmp_path / "bot.toml"
    path.write_text("[schedule]\n" + "".join(f"{k} = {meta[k]['max']}\n" for k in keys), encoding="utf-8")
    cfg = load_config(path)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for trigger in (post_trigger(cfg), IntervalTrigger(minutes=cfg.schedule.refill_every_minutes)):
        assert trigger.get_next_fire_time(None, now) > now
    cron = load_config(_write(tmp_path, '[schedule]\npost_cron = "0 9 * * *"\njitter_seconds = 86400\n'))
    assert post_trigger(cron).get_next_fire_time(None, now) >= now


@pytest.mark.parametrize("section", ["filters", "corpus"])
def test_min_chars_above_max_chars_is_refused(tmp_path: Path, section: str) -> None:
    _refused(
        tmp_path,
        f"[{section}]\nmin_chars = 300\nmax_chars = 200\n",
        f"'{section}.min_chars' = 300 is above '{section}.max_chars' = 200",
    )


@pytest.mark.parametrize(
    "hours, needle",
    [
        ("[24]", "'schedule.quiet_hours[0]' must be <= 23"),
        ("[3, -1]", "'schedule.quiet_hours[1]' must be >= 0"),
        (str(list(range(24))), "every hour of the day"),
    ],
)
def test_quiet_hours_outside_the_day_are_refused(tmp_path: Path, hours: str, needle: str) -> None:
    _refused(tmp_path, f"[schedule]\nquiet_hours = {hours}\n", needle)


@pytest.mark.parametrize(
    "toml, key",
    [
        ('[generate]\nprefix = "<|startoftext|>\\u0000"\n', "generate.prefix"),
        ('[corpus]\npath = "data/c\\u0000.txt"\n', "corpus.path"),
    ],
)
def test_a_nul_character_is_refused(tmp_path: Path, toml: str, key: str) -> None:
    _refused(tmp_path, toml, f"'{key}' holds a NUL")


def test_a_config_path_that_is_a_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    with pytest.raises(ConfigError, match="is a folder, not a config file"):
        load_config(tmp_path / "conf")
    monkeypatch.setenv("DJBIOS_CONFIG", str(tmp_path / "conf"))
    result = CliRunner().invoke(cli, ["queue"])
    assert result.exit_code == 1 and "is a folder" in result.output and result.output.count("\n") == 1


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_bytes(b'[review]\nmode = "auto\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8 .*offset 21"):
        load_config(path)


def test_queue_json_is_valid_json_even_for_old_rows_with_nan(tmp_path: Path) -> None:
    """A row stored before NaN was refused (params.temperature = NaN) still lists as strict JSON."""
    config = _write(tmp_path, '[database]\nurl = "sqlite:///var/test.db"\n')
    store = Store.open(f"sqlite:///{tmp_path / 'var' / 'test.db'}")
    store.add(
        "DJ Not A Number plays records that loop forever at a tempo nobody can measure.",
        source="old",
        params={"temperature": math.nan, "top_p": math.inf},
        scores={"fluency": {"score": -math.inf}},
    )
    store.close()

    def strict(text: str) -> object:
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in --json output"))

    runner = CliRunner()
    for args in (["queue", "--json"], ["show", "1", "--json"]):
        result = runner.invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        row = strict(result.output)
        assert row["params"] == {"temperature": None, "top_p": None}  # type: ignore[index]
        assert row["scores"]["fluency"]["score"] is None  # type: ignore[index]


def _write(folder: Path, text: str) -> Path:
    path = folder / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return path
