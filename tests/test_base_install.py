"""The base install (`pip install djbios`, no extras) runs queue, review and posting without TensorFlow.

How this is checked without building a venv from the network (tests stay offline): pyproject.toml's
base dependencies are resolved through their installed metadata (importlib.metadata, every
requirement transitively, markers evaluated, no extras) to the top-level modules a base install
would have. The commands then run in a subprocess whose import system refuses every module that is
neither in the standard library, nor djbios' own, nor in that set, and logs each refusal. So a
command passes only if it works with exactly what the base install brings, and the log shows it
never even tried TensorFlow. The model extra's commands must instead say which extra to install.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from bot.config import database_url, load_config
from bot.store.store import Store
from tests.fixtures_store import GOOD_BIOS

ROOT = Path(__file__).resolve().parent.parent
MODEL_STACK = {"tensorflow", "gpt-2-simple", "tokenizers", "matplotlib"}
FRESH_VENV = {"pip", "setuptools", "pkg_resources", "_distutils_hack"}  # what `python3.11 -m venv` holds

# Runs before djbios in the subprocess: a meta-path finder that refuses modules a base install lacks.
BASE_ONLY = """
import importlib.machinery, json, os, sys, sysconfig
allowed = set(json.load(open(os.environ["DJBIOS_ALLOWED"]))) | set(sys.stdlib_module_names) | {"bot", "training"}
stdlib = sysconfig.get_paths()["stdlib"] + os.sep  # the base interpreter's own library, not the venv
log = open(os.environ["DJBIOS_REFUSED"], "a")
class BaseInstallOnly:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in allowed or top in sys.builtin_module_names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(top)  # private stdlib modules (_sysconfigdata_...)
        if spec is not None and (spec.origin or "").startswith(stdlib):
            return None
        log.write(top + "\\n"); log.flush()
        raise ModuleNotFoundError(f"No module named {top!r}", name=top)
sys.meta_path.insert(0, BaseInstallOnly())
sys.argv[0] = "djbios"
from bot.cli import main
main()
"""


def base_requirements() -> list[str]:
    """pyproject.toml's [project] dependencies (the base install)."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def base_modules() -> set[str]:
    """Top-level modules of the base dependencies and everything they require (no extras)."""
    by_dist: dict[str, set[str]] = {}
    for module, dists in md.packages_distributions().items():
        for d in dists:
            by_dist.setdefault(_norm(d), set()).add(module)
    todo, seen = [Requirement(r) for r in base_requirements()], set()
    while todo:
        req = todo.pop()
        name = _norm(req.name)
        if name in seen or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        todo += [Requirement(r) for r in (md.requires(req.name) or [])]
    return {m for d in seen | FRESH_VENV for m in by_dist.get(d, set())} | FRESH_VENV


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_the_model_stack_and_psycopg_are_extras_only() -> None:
    base = {_norm(Requirement(r).name) for r in base_requirements()}
    assert not base & (MODEL_STACK | {"psycopg"})
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {_norm(Requirement(r).name) for r in extras["model"]} >= MODEL_STACK
    assert any(r.startswith("psycopg[binary]") for r in extras["postgres"])
    assert "tensorflow" not in base_modules()


def _djbios(tmp_path: Path, *args: str, stdin: str = "") -> tuple[subprocess.CompletedProcess[str], list[str]]:
    allowed, refused = tmp_path / "allowed.json", tmp_path / "refused.txt"
    if not allowed.exists():
        allowed.write_text(json.dumps(sorted(base_modules())))
    refused.write_text("")
    env = {
        "DJBIOS_ALLOWED": str(allowed),
        "DJBIOS_REFUSED": str(refused),
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
        "DJBIOS_CONFIG": str(tmp_path / "bot.toml"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", BASE_ONLY, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    return proc, refused.read_text().split()


def test_base_install_queues_reviews_and_posts_without_tensorflow(tmp_path: Path, mastodon) -> None:
    cfg = load_config(mastodon.write_config(tmp_path))
    store = Store.open(database_url(cfg))
    for bio in GOOD_BIOS[:3]:  # distinct bios that pass the filters review runs them through
        store.add(bio, source="t")
    store.close()
    runs = {
        "queue": _djbios(tmp_path, "queue"),
        "review": _djbios(tmp_path, "review", stdin="a\na\nr\nnot today\n"),
        "post": _djbios(tmp_path, "post"),
        "run": _djbios(tmp_path, "run", "--role", "post", "--once"),
    }
    for name, (proc, refused) in runs.items():
        assert proc.returncode == 0, (name, proc.stderr[-2000:])
        assert not {"tensorflow", "gpt_2_simple", "tokenizers", "matplotlib"} & set(refused), (name, refused)
    assert "posted bio 1" in runs["post"][0].stdout and "post: posted" in runs["run"][0].stdout
    assert len([s for s in mastodon.statuses() if s["visibility"] != "direct"]) == 2  # alerts are DMs


def test_a_command_that_needs_an_extra_names_it(tmp_path: Path, mastodon) -> None:
    mastodon.write_config(tmp_path)
    proc, refused = _djbios(tmp_path, "generate", "-n", "1")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith("pip install 'djbios[model]'"), proc.stderr
    proc, refused = _djbios(tmp_path, "run", "--role", "generate", "--once")
    assert proc.returncode == 1 and proc.stderr.strip().endswith("pip install 'djbios[model]'"), proc.stderr
    mastodon.write_config(tmp_path, {"database": {"url": "postgresql+psycopg://u@127.0.0.1:9/none"}})
    proc, refused = _djbios(tmp_path, "queue")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "psycopg" in refused
    assert proc.stderr.strip() == (
        "Error: this needs the 'postgres' extra (psycopg is not installed): pip install 'djbios[postgres]'"
    )


def test_doctor_checks_what_each_role_needs_and_names_a_missing_extra(tmp_path: Path, mastodon) -> None:
    mastodon.write_config(tmp_path, {"model": {"checkpoint_dir": "checkpoint", "run_name": "run1"}})
    # The posting box has no model files: --role post does not ask for them.
    proc, refused = _djbios(tmp_path, "doctor", "--role", "post")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "model" not in proc.stdout and "copy index" not in proc.stdout and "OK   token" in proc.stdout
    assert not {"tensorflow", "gpt_2_simple"} & set(refused), refused
    # With the model files there, the base install cannot read the vocabulary: a FAIL line naming the
    # extra, and the other checks still run.
    shutil.copytree(ROOT / "training" / "data" / "demo-model", tmp_path / "checkpoint" / "run1")
    proc, _ = _djbios(tmp_path, "doctor")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stdout.splitlines()
    assert (
        "FAIL vocabulary: this needs the 'model' extra (gpt_2_simple is not installed): pip install 'djbios[model]'"
        in lines
    )
    assert any(x.startswith("OK   token") for x in lines), lines
