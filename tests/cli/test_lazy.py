"""The lazy command group: a command whose module is broken fails loudly, never vanishes from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]
# Command modules broken in the ways a refactor breaks them: a name gone from an import, a module
# that imports something not installed, a command renamed in its module.
BROKEN = {
    "brokenname": ("from bot.text import NO_SUCH_NAME\n", ImportError, "NO_SUCH_NAME"),
    "brokenmodule": ("import no_such_module_djbios\n", ModuleNotFoundError, "no_such_module_djbios"),
    "renamed": ("import click\n\n@click.command()\ndef other():\n    pass\n", AttributeError, "queue"),
}


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path holding the broken command modules."""
    for name, (source, _, _) in BROKEN.items():
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("module", sorted(BROKEN))
def test_a_broken_command_module_raises_instead_of_no_such_command(
    broken: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    _, error, names = BROKEN[module]
    monkeypatch.setitem(COMMANDS, "queue", f"{module}:queue")
    result = CliRunner().invoke(cli, ["queue"])
    assert result.exit_code != 0
    assert isinstance(result.exception, error) and names in str(result.exception)
    assert "No such command" not in result.output


def test_help_fails_rather_than_leaving_the_broken_command_out(broken: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COMMANDS, "queue", "brokenname:queue")
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code != 0 and isinstance(result.exception, ImportError)


@pytest.mark.parametrize("module", ["brokenname", "brokenmodule"])
def test_the_real_entry_point_exits_non_zero_with_the_cause(broken: Path, module: str) -> None:
    """main(), as the console script runs it: a traceback naming the module and the missing name."""
    code = f"import bot.cli as c; c.COMMANDS['queue'] = '{module}:queue'; c.main(['queue'])"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(broken), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode != 0
    assert f"{module}.py" in done.stderr and BROKEN[module][2] in done.stderr
    assert "No such command" not in done.stderr
