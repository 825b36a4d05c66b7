"""Broken files and machines give the operator one line naming the file and what to do, never a traceback.

Real broken things only: damaged and truncated SQLite files, read-only files and folders (made
read-only for the command even under root), a database that cannot grow (SQLite's own "disk is full"
through max_page_count), database URLs with no driver, and copies of the tiny checkpoint with wrong
hparams, a short encoder and truncated weights.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, event

from bot.cli import cli
from bot.config import database_url, load_config
from bot.errors import GenerationError, ModelError, StoreError
from bot.generation.checkpoint import load_vocab, read_hparams
from bot.store import fastread
from bot.store.store import Store
from tests.hostile.helpers import assert_one_line_error, djbios

BIO = "DJ Broken Sector plays dusty electro records in a basement club under a railway arch in Leeds."


def _config(folder: Path, url: str = "sqlite:///var/djbios.db") -> Path:
    path = folder / "bot.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return path


def _invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def _one_line(result: Result, *needles: str) -> None:
    """Exit 1 through click (not an exception escaping it), one line, holding each needle."""
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    for needle in needles:
        assert needle in result.output, result.output


def _filled_db(folder: Path, n: int = 60) -> Path:
    """A database with n pending bios, closed (its WAL folded into the file)."""
    db = folder / "var" / "djbios.db"
    store = Store.open(f"sqlite:///{db}")
    store.add_many([f"{BIO} Night {i}." for i in range(n)], source="test")
    store.close()
    return db


# -- the database file ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "damage, says", [("random", "is not a SQLite database"), ("truncated", "is damaged (corrupt or truncated)")]
)
def test_a_damaged_database_is_one_line_for_every_command(tmp_path: Path, damage: str, says: str) -> None:
    config = _config(tmp_path)
    db = _filled_db(tmp_path)
    data = db.read_bytes()
    db.write_bytes(random.Random(0).randbytes(len(data)) if damage == "random" else data[: len(data) // 2])
    (tmp_path / "bios.txt").write_text(BIO, encoding="utf-8")
    for args in (
        ["queue"],
        ["queue", "--json"],
        ["show", "3"],
        ["stats"],
        ["add", str(tmp_path / "bios.txt")],
        ["filter", "--recheck"],
    ):
        _one_line(_invoke(config, *args), str(db), says, "restore it from a backup")
    doctor = _invoke(config, "doctor")
    assert doctor.exit_code == 1 and f"FAIL database: database {db} {says}" in doctor.output


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[list[Path]]:
    """Paths to give back their write bits after the test (so pytest can clean up)."""
    paths: list[Path] = []
    yield paths
    for p in paths:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_database_fails_doctor_and_writes_in_one_line(
    tmp_path: Path, read_only: list[Path], what: str
) -> None:
    config = _config(tmp_path)
    db = _filled_db(tmp_path, n=3)
    target = db if what == "file" else db.parent
    target.chmod(0o444 if what == "file" else 0o555)
    read_only.append(target)
    (tmp_path / "bios.txt").write_text(BIO, encoding="utf-8")
    doctor = djbios("--config", str(config), "doctor", cwd=tmp_path, unprivileged=True)
    assert doctor.code == 1 and f"FAIL database: database {db} cannot be written" in doctor.out, doctor.text
    for args in (["add", "bios.txt"], ["approve", "1"]):
        run = djbios("--config", str(config), *args, cwd=tmp_path, unprivileged=True)
        if args[0] == "approve":  # approve reports per id, on one line each
            assert run.code == 1 and "Traceback" not in run.text and "cannot be written" in run.err, run.text
        else:
            assert_one_line_error(run, str(db), "cannot be written", "writable")
    assert Store.open(f"sqlite:///{db}").count_by_status()["pending"] == 3  # nothing changed


@contextlib.contextmanager
def database_cannot_grow() -> Iterator[None]:
    """Every SQLite connection opened meanwhile may not grow its file: SQLite's real SQLITE_FULL."""

    def cap(dbapi_conn: Any, _record: Any) -> None:
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")

    event.listen(Engine, "connect", cap)
    try:
        yield
    finally:
        event.remove(Engine, "connect", cap)


def test_a_full_disk_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path)
    db = _filled_db(tmp_path, n=3)
    big = tmp_path / "big.txt"
    big.write_text("\n\n".join(f"{BIO} " * 20 + str(i) for i in range(60)), encoding="utf-8")
    with database_cannot_grow():
        _one_line(_invoke(config, "add", str(big)), str(db), "the disk is full", "free some space")
    assert Store.open(f"sqlite:///{db}").count_by_status()["pending"] == 3  # the file's bios: all or none


@pytest.mark.parametrize(
    "url, says",
    [
        ("foo://somewhere/db", "unknown kind of database"),
        ("not a url", "not a database URL"),
        ("mysql+pymysql://djbios:hunter2-secret@localhost/djbios", "its driver is not installed (pymysql)"),
    ],
)
def test_a_database_url_without_a_driver_is_one_line_and_hides_the_password(
    tmp_path: Path, url: str, says: str
) -> None:
    if "pymysql" in url and importlib.util.find_spec("pymysql"):
        pytest.skip("pymysql is installed here")
    result = _invoke(_config(tmp_path, url), "stats")
    _one_line(result, says, "[database] url" if "driver" not in says else "sqlite:///")
    assert "hunter2" not in result.output


@pytest.mark.parametrize("name", ["we?ird.db", "a#b.db", "per%41cent.db", "all ?#%20 of them.db"])
def test_question_hash_and_percent_in_the_database_path_name_one_file(tmp_path: Path, name: str) -> None:
    config = _config(tmp_path, f"sqlite:///var/{name}")
    (tmp_path / "bios.txt").write_text(BIO, encoding="utf-8")
    assert _invoke(config, "add", str(tmp_path / "bios.txt")).exit_code == 0
    assert (tmp_path / "var" / name).is_file()
    assert sorted(p.name for p in (tmp_path / "var").iterdir() if not p.name.endswith(("-wal", "-shm"))) == [name]
    fast = fastread.list_candidates(database_url(load_config(config)))
    assert fast is not None and [c.text for c in fast] == [BIO]  # the fast path reads the same file
    assert "Broken Sector" in _invoke(config, "queue").output


# -- bad input -----------------------------------------------------------------------------------------
def test_lone_surrogates_in_add_input_are_one_line_and_store_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path)
    bad = tmp_path / "bios.jsonl"
    bad.write_text(
        json.dumps({"text": BIO}) + "\n" + '{"text": "DJ \\ud83d half an emoji and more words"}\n', encoding="utf-8"
    )
    _one_line(_invoke(config, "add", str(bad)), str(bad), "bio 2", "lone surrogate \\ud83d", "nothing added")
    store = Store.open(database_url(load_config(config)))
    assert store.list() == []
    with pytest.raises(StoreError, match="lone surrogate"):
        store.add("DJ \udcff from a mis-decoded command line", source="test")


# -- the model -----------------------------------------------------------------------------------------
@pytest.fixture
def run_copy(tiny_checkpoint, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    run = tmp_path / "checkpoint" / "run1"
    shutil.copytree(tiny_checkpoint.run_dir, run)
    return run


def _model_config(folder: Path, run: Path) -> Path:
    path = folder / "bot.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///var/djbios.db"\n[model]\ncheckpoint_dir = "{run.parent}"\n'
        f'[corpus]\npath = "{folder / "no-corpus.txt"}"\n[generate]\nmax_tokens = 200\n'
        "[train]\nwindow = 256\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "change, says",
    [
        ({"n_head": "4"}, "'n_head' must be a positive integer, got '4'"),
        ({"n_embd": 130}, "'n_embd' (130) must be a multiple of 'n_head'"),
        ({"n_layer": 2.5}, "'n_layer' must be a positive integer, got 2.5"),
        ({"n_vocab": None}, "'n_vocab' must be a positive integer, got missing"),
        ({"n_ctx": True}, "'n_ctx' must be a positive integer, got True"),
        ([], "must hold a JSON object"),
    ],
)
def test_hparams_of_the_wrong_type_are_one_line(run_copy: Path, tmp_path: Path, change: object, says: str) -> None:
    path = run_copy / "hparams.json"
    hp = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(change, dict):
        hp = {**{k: v for k, v in hp.items() if k not in change}, **{k: v for k, v in change.items() if v is not None}}
    else:
        hp = change
    path.write_text(json.dumps(hp), encoding="utf-8")
    with pytest.raises(ModelError) as err:
        read_hparams(run_copy)
    assert says in str(err.value) and str(path) in str(err.value)
    _one_line(_invoke(_model_config(tmp_path, run_copy), "generate", "-n", "2"), says)


@pytest.mark.slow
def test_an_encoder_smaller_than_the_vocabulary_is_refused_at_load(run_copy: Path, tmp_path: Path) -> None:
    path = run_copy / "encoder.json"
    enc = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(dict(list(enc.items())[:-50])), encoding="utf-8")
    with pytest.raises(ModelError, match="encoder.json has .* ids but hparams.json says n_vocab .*50 ids missing"):
        load_vocab(run_copy)
    config = _model_config(tmp_path, run_copy)
    _one_line(_invoke(config, "generate", "-n", "4", "--seed", "1"), "different models")
    db = tmp_path / "var" / "djbios.db"
    assert not db.exists() or Store.open(f"sqlite:///{db}").list() == []


@pytest.mark.slow
def test_a_batch_whose_sampling_fails_leaves_no_batch_row(tiny_checkpoint, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from bot.generation.refill import generate_batch
    from bot.generation.sampler import GPT2Generator
    from bot.store.tables import BatchRow

    cfg = load_config(_model_config(tmp_path, tiny_checkpoint.run_dir))
    store = Store.open(database_url(cfg))
    gen = GPT2Generator.load(tiny_checkpoint.run_dir)
    try:
        with pytest.raises(GenerationError, match="context"):  # a prompt longer than the model's context
            generate_batch(cfg, store, gen, n=2, prompt="beat " * 2000, seed=1)
    finally:
        gen.close()
    with store.read_session() as s:
        assert s.scalar(select(func.count()).select_from(BatchRow)) == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "part, cause", [("data-00000-of-00001", "OutOfRangeError: Read less bytes"), ("index", "DataLossError")]
)
def test_a_truncated_checkpoint_names_its_cause(run_copy: Path, tmp_path: Path, part: str, cause: str) -> None:
    from bot.generation.sampler import GPT2Generator

    weights = run_copy / f"model-20.{part}"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as err:
        GPT2Generator.load(run_copy)
    message = str(err.value)
    assert "truncated or damaged" in message and cause in message and str(run_copy) in message
    assert "\n" not in message and "Graph execution error" not in message


def test_the_store_error_never_shows_the_database_password(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        Store.open("postgresql://djbios:s3cret-pass@127.0.0.1:1/djbios")
    assert "s3cret" not in str(err.value) and "127.0.0.1:1" in str(err.value)
    assert os.linesep not in str(err.value)


def test_a_database_path_that_is_a_folder_or_a_fifo_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    _one_line(_invoke(_config(tmp_path, "sqlite:///adir"), "queue"), "adir is not a database file")
    os.mkfifo(tmp_path / "pipe")  # opening it would wait for a writer forever
    _one_line(_invoke(_config(tmp_path, "sqlite:///pipe"), "show", "1"), "pipe is not a database file")


def test_another_programs_database_is_refused_not_migrated(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        conn.commit()
    for args in (["queue"], ["add", "-"]):
        result = CliRunner().invoke(cli, ["--config", str(_config(tmp_path, "sqlite:///other.db")), *args], input=BIO)
        _one_line(result, "another program's tables (invoices)", "a database of its own")
    with contextlib.closing(sqlite3.connect(other)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"invoices"}  # nothing of djbios' was added to it


def test_an_id_past_64_bits_is_not_found(tmp_path: Path) -> None:
    config = _config(tmp_path)
    Store.open(database_url(load_config(config))).add(BIO, source="test")
    for command in ("show", "approve", "reject"):
        result = _invoke(config, command, str(2**70))
        assert result.exit_code == 1 and f"no candidate with id {2**70}" in result.output, result.output
        assert not isinstance(result.exception, OverflowError)
