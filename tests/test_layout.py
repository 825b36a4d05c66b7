"""The repository's layout rules, checked on every run: module size, no import cycles, one home per fact."""

from __future__ import annotations

import ast
import graphlib
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "training")
MAX_LINES = 400  # the house limit; ~300 is the aim
DELIMITERS = ("<|startoftext|>", "<|endoftext|>")
TEXT_HOME = ROOT / "bot" / "text.py"  # the one home of the delimiters and the seeded language detector


def _sources() -> list[Path]:
    """Every .py file of the packages."""
    return sorted(f for pkg in PACKAGES for f in (ROOT / pkg).rglob("*.py"))


def _rel(f: Path) -> str:
    return f.relative_to(ROOT).as_posix()


def test_every_module_is_at_most_400_lines() -> None:
    long = {_rel(f): n for f in _sources() if (n := len(f.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


# -- import cycles ---------------------------------------------------------------------------------


def _modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages (migrations left out: Alembic loads them)."""
    files = {}
    for pkg in packages:
        for f in (root / pkg).rglob("*.py"):
            if "migrations" in f.parts:
                continue
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = f
    return files


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imported(mod: str, f: Path, files: dict[str, Path]) -> set[str]:
    """The package modules `mod` imports anywhere (functions included), except under `if TYPE_CHECKING:`."""
    tree = ast.parse(f.read_text(encoding="utf-8"))
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node)
        for b in node.body
        for n in ast.walk(b)
    }
    targets: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                pkg = mod.split(".") if f.name == "__init__.py" else mod.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            targets += [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
    out = set()
    for t in targets:
        while t and t not in files:  # `bot.text.WORD` -> `bot.text`; outside the packages -> ""
            t = t.rpartition(".")[0]
        if t and t != mod and not mod.startswith(t + "."):  # importing one's own package is no cycle
            out.add(t)
    return out


def import_cycle(root: Path, packages: tuple[str, ...]) -> list[str] | None:
    """One import cycle among the packages' modules (as a path a -> b -> a), or None."""
    files = _modules(root, packages)
    graph = {mod: _imported(mod, f, files) for mod, f in files.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_no_import_cycles() -> None:
    cycle = import_cycle(ROOT, PACKAGES)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def test_cycle_check_sees_function_imports_but_not_type_checking(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def f():\n    from pkg.a import x\n",  # a function-level import still counts
            "typed/__init__.py": "",
            "typed/a.py": "from typed.b import y\n",
            "typed/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from typed.a import x\n",
            "rel/__init__.py": "from . import c\n",  # a package importing its module: no cycle
            "rel/c.py": "from .d import z\n",
            "rel/d.py": "from ..rel import c\n",
        },
    )
    assert sorted(import_cycle(tmp_path, ("pkg",)) or []) == ["pkg.a", "pkg.a", "pkg.b"]
    assert import_cycle(tmp_path, ("typed",)) is None
    assert sorted(set(import_cycle(tmp_path, ("rel",)) or [])) == ["rel.c", "rel.d"]


# -- one home per fact -----------------------------------------------------------------------------


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (help text and prose may name the delimiters; code must import them)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


@pytest.mark.parametrize("delimiter", DELIMITERS)
def test_delimiter_literals_live_only_in_bot_text(delimiter: str) -> None:
    found = []
    for f in _sources():
        if f == TEXT_HOME:
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                if delimiter in node.value:
                    found.append(f"{_rel(f)}:{node.lineno}")
    assert not found, f"{delimiter} written out in code (import START/END from bot.text): {found}"


def test_language_detector_is_seeded_in_one_place() -> None:
    found = [_rel(f) for f in _sources() if f != TEXT_HOME and "DetectorFactory" in f.read_text(encoding="utf-8")]
    assert not found, f"DetectorFactory outside bot/text.py (use bot.text's detector): {found}"


def test_no_tracked_file_mentions_the_design_notes() -> None:
    needle = b"DESIGN" + b".md"  # split, so this file does not mention it
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    tracked = [ROOT / p for p in listed.decode("utf-8").split("\0") if p]
    assert tracked, "git ls-files listed nothing: run the tests in a git checkout"
    found = [_rel(f) for f in tracked if f.is_file() and needle in f.read_bytes()]
    assert not found, f"tracked files mention {needle.decode()}: {found}"
