"""`djbios doctor` over a real database and a real model folder: the liveness lines and the model checks."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import database_url, load_config
from bot.store.store import Store

BIO = "DJ Checkup plays the same three records in a different order every night at a ferry terminal."


def _doctor(path):
    return CliRunner().invoke(cli, ["--config", str(path), "doctor"])


def test_doctor_shows_the_liveness_lines(tmp_path, mastodon):
    far = {"schedule": {"post_every_minutes": 600.0, "min_queue": 0}}  # no post within a refill interval
    path = mastodon.write_config(tmp_path, far)
    store = Store.open(database_url(load_config(path)))
    r = _doctor(path)
    assert "OK   liveness: queue, failed bios and silence: nothing to report" in r.output, r.output
    c = store.approve(store.add(BIO, source="test").id)
    store.start_posting(c.id)
    store.mark_failed(c.id, error="HTTP 404: gone")  # no retry time: failed for good
    r = _doctor(path)
    assert f"WARN bio-failed:{c.id}: bio {c.id} failed and will not be retried; last error: HTTP 404" in r.output
    assert f"`djbios approve {c.id}` re-queues it" in r.output
    assert "liveness: queue, failed bios" not in r.output
    path = mastodon.write_config(tmp_path, {"schedule": {"post_every_minutes": 30.0, "min_queue": 0}})
    r = _doctor(path)
    assert "WARN queue-empty: no approved bio for the post due" in r.output  # it does not count as queue
    assert "liveness: queue, failed bios" not in r.output


def _model_config(tmp_path, mastodon, tiny):
    """A bot.toml whose model is a copy of the tiny run and whose copy index is built from its corpus."""
    from bot.filters.copyindex import build_index

    run_dir = tmp_path / "checkpoint" / "run1"
    shutil.copytree(tiny.run_dir, run_dir)
    corpus = tmp_path / "data" / "corpus.txt"
    corpus.parent.mkdir()
    shutil.copy(tiny.corpus, corpus)
    build_index(corpus, corpus.with_suffix(".idx"))
    path = mastodon.write_config(
        tmp_path,
        {
            "model": {"checkpoint_dir": str(run_dir.parent), "run_name": "run1"},
            "corpus": {"path": str(corpus)},
        },
    )
    return path, run_dir


@pytest.mark.slow
def test_doctor_passes_the_tiny_model_and_fails_a_corrupt_one(tmp_path, mastodon, request):
    tiny = request.getfixturevalue("tiny_checkpoint")
    path, run_dir = _model_config(tmp_path, mastodon, tiny)
    r = _doctor(path)
    assert r.exit_code == 0, r.output
    assert f"OK   model: {run_dir}" in r.output and "OK   vocabulary: " in r.output
    assert "FAIL" not in r.output

    hparams = run_dir / "hparams.json"
    good = hparams.read_text(encoding="utf-8")
    hparams.write_text("{not json", encoding="utf-8")
    r = _doctor(path)
    assert r.exit_code == 1 and "FAIL vocabulary: " in r.output and "unreadable hparams" in r.output

    hparams.write_text(good, encoding="utf-8")
    encoder = run_dir / "encoder.json"
    ids = json.loads(encoder.read_text(encoding="utf-8"))
    encoder.write_text(json.dumps(dict(list(ids.items())[:-10])), encoding="utf-8")  # ten ids short
    r = _doctor(path)
    assert r.exit_code == 1 and "FAIL vocabulary: " in r.output and "different models" in r.output


def test_doctor_for_the_generate_box_needs_no_token(tmp_path, mastodon):
    path = mastodon.write_config(tmp_path, {"mastodon": {"token_file": "missing-token"}})
    everything = CliRunner().invoke(cli, ["--config", str(path), "doctor"])
    assert everything.exit_code == 1 and "FAIL token" in everything.output
    generate = CliRunner().invoke(cli, ["--config", str(path), "doctor", "--role", "generate"])
    lines = generate.output.splitlines()
    assert not [x for x in lines if x.split(":")[0].split()[-1] in ("token", "instance", "profile", "schedule")]
    assert any(x.startswith("FAIL model:") for x in lines)  # this box needs the model, and has none yet
