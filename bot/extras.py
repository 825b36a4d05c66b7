"""Which optional extra installs which module, and the one-line hint when one is missing.

The base install runs the queue, review and posting; `djbios[model]` adds the GPT-2 stack,
`djbios[postgres]` the PostgreSQL driver (pyproject.toml's optional-dependencies).
"""

from __future__ import annotations

import importlib.util

from bot.errors import ConfigError

# A top-level module that only an extra installs -> that extra.
EXTRA_OF: dict[str, str] = {
    "tensorflow": "model",
    "gpt_2_simple": "model",
    "tokenizers": "model",
    "matplotlib": "model",
    "psycopg": "postgres",
}


class MissingExtra(ConfigError):
    """A command needs an extra that is not installed; the message says what to install."""


def hint(extra: str, module: str) -> str:
    """The one line an operator reads: which extra, why, and the command."""
    return f"this needs the {extra!r} extra ({module} is not installed): pip install 'djbios[{extra}]'"


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The hint for a module an extra would install, or None for any other missing module."""
    top = (exc.name or "").split(".")[0]
    return hint(EXTRA_OF[top], top) if top in EXTRA_OF else None


def require(extra: str) -> None:
    """Raise MissingExtra unless every module of `extra` can be imported (nothing is imported)."""
    for module, of in EXTRA_OF.items():
        if of == extra and module in ("tensorflow", "gpt_2_simple", "psycopg") and not _installed(module):
            raise MissingExtra(hint(extra, module))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ModuleNotFoundError, ValueError):  # an import hook refused it, or a broken half-install
        return False
