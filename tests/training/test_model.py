"""training/model.py: from-scratch models in gpt-2-simple's layout, and the download guard."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from bot.errors import ModelError
from bot.generation.checkpoint import load_encoder
from bot.text import END
from training import model as tm


def test_init_tiny_writes_gpt2_simple_layout(tiny_model):
    d = tiny_model.path
    for name in ("hparams.json", "encoder.json", "vocab.bpe", "checkpoint", "model.ckpt.index"):
        assert (d / name).is_file(), name
    hp = json.loads((d / "hparams.json").read_text())
    assert hp == {"n_vocab": 2000, "n_ctx": 1024, "n_layer": 2, "n_embd": 128, "n_head": 4}
    enc = json.loads((d / "encoder.json").read_text())
    assert END in enc and len(enc) == hp["n_vocab"]
    assert sorted(enc.values()) == list(range(hp["n_vocab"]))  # every sampled id decodes
    assert tm.is_complete(d)


def test_gpt2_simple_encoder_round_trips_the_corpus(tiny_model):
    enc = load_encoder(tiny_model.path)
    text = tiny_model.corpus.read_text(encoding="utf-8")
    ids = enc.encode(text)
    assert enc.decode(ids) == text
    assert len(ids) < len(text.encode("utf-8")) * 0.6  # the learnt merges really compress
    assert enc.decode(enc.encode("Ünïcode ✓ 東京\n")) == "Ünïcode ✓ 東京\n"  # any byte survives


@pytest.mark.slow
def test_checkpoint_loads_with_load_gpt2_and_generates(tiny_checkpoint):
    import gpt_2_simple as gpt2
    import tensorflow as tf

    with tf.Graph().as_default():
        sess = gpt2.start_tf_sess()
        gpt2.load_gpt2(sess, run_name=tiny_checkpoint.run_name, checkpoint_dir=str(tiny_checkpoint.checkpoint_dir))
        texts = gpt2.generate(
            sess,
            run_name=tiny_checkpoint.run_name,
            checkpoint_dir=str(tiny_checkpoint.checkpoint_dir),
            return_as_list=True,
            length=40,
            seed=1,
            prefix="<|startoftext|>",
        )
        sess.close()
    assert len(texts) == 1 and texts[0].startswith("<|startoftext|>") and len(texts[0]) > 20


def test_unknown_size_is_refused(tmp_path):
    with pytest.raises(ModelError, match="unknown model size"):
        tm.init_model(tmp_path / "m", size="huge", corpus=tmp_path / "c.txt")


def test_missing_corpus_is_refused(tmp_path):
    with pytest.raises(ModelError, match="corpus build"):
        tm.init_model(tmp_path / "m", size="tiny", corpus=tmp_path / "nope.txt")


def _dead_url() -> str:
    """A 127.0.0.1 port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/gpt-2"


def test_download_fails_fast_without_network(tmp_path):
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="cannot download GPT-2 124M.*no network"):
        tm.download_model("124M", tmp_path, base_url=_dead_url(), timeout_s=2.0)
    assert time.monotonic() - t0 < 5.0


def test_download_skips_a_complete_copy(tmp_path):
    d = tmp_path / "124M"
    d.mkdir()
    sizes = {}
    for name in tm.MODEL_FILES:
        (d / name).write_bytes(b"x" * 10)
        sizes[name] = 10
    (d / tm.COMPLETE_MARKER).write_text(json.dumps(sizes))
    # the dead address would fail: returning proves nothing was fetched
    assert tm.download_model("124M", tmp_path, base_url=_dead_url()) == d
    (d / "model.ckpt.index").write_bytes(b"")  # a truncated file is not complete
    assert not tm.is_complete(d)


def test_download_unknown_name_is_refused(tmp_path):
    with pytest.raises(ModelError, match="unknown GPT-2 model"):
        tm.download_model("9B", tmp_path)


def test_model_module_imports_no_tensorflow():
    import subprocess
    import sys

    code = "import sys, training.model; print('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_download_fetches_every_file_once_from_a_local_server(tmp_path):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    site = tmp_path / "site" / "models" / "124M"
    site.mkdir(parents=True)
    for i, name in enumerate(tm.MODEL_FILES):
        (site / name).write_bytes(bytes([i]) * (1000 + i))
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        out = tm.download_model("124M", tmp_path / "models", base_url=base, timeout_s=5)
    finally:
        server.shutdown()
        server.server_close()
    for i, name in enumerate(tm.MODEL_FILES):
        assert (out / name).read_bytes() == bytes([i]) * (1000 + i)
    assert not list(out.glob("*.part")) and tm.is_complete(out)
    # the server is gone: a second call must not need it
    assert tm.download_model("124M", tmp_path / "models", base_url=base, timeout_s=1) == out
