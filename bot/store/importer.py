"""Parse a file of bios for `djbios add`: delimiter blocks, JSONL with `text`, or blank-line paragraphs."""

from __future__ import annotations

import json
import re

from bot.errors import InputError
from bot.text import END, START, bio_problem

_BLOCK = re.compile(re.escape(START) + r"(.*?)" + re.escape(END), re.S)


def decode(data: bytes, name: str) -> str:
    """UTF-8 text of `data`, or an InputError naming the file and the byte offset."""
    try:
        return data.decode("utf-8-sig")  # tolerate a BOM from Windows editors
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 (bad byte at offset {exc.start}); re-save it as UTF-8") from exc


def parse_bios(text: str, name: str) -> list[str]:
    """Split `text` into bios by its format; raise InputError if nothing usable is inside."""
    if START in text or END in text:
        bios = [b.strip() for b in _BLOCK.findall(text)]
        if _BLOCK.sub("", text).strip():  # an unclosed block, or bios outside the markers
            raise InputError(f"{name}: text outside {START}…{END} blocks (an unclosed block?); nothing added")
    elif text.lstrip().startswith("{"):
        bios = _jsonl(text, name)
    else:
        bios = [p.strip() for p in re.split(r"\n\s*\n", text)]
    bios = [b for b in bios if b]
    if not bios:
        raise InputError(
            f"{name}: no bios found (expected {START}…{END} blocks, JSONL with a "
            "'text' field, or paragraphs separated by blank lines)"
        )
    for i, bio in enumerate(bios, 1):
        problem = bio_problem(bio)  # a lone surrogate comes only from a JSON escape without its pair
        if problem:
            raise InputError(f"{name}: bio {i} {problem}; nothing added")
    return bios


def _jsonl(text: str, name: str) -> list[str]:
    """One JSON object per line with a string `text` field."""
    bios = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}:{n}: not valid JSON: {exc.msg}") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise InputError(f"{name}:{n}: expected an object with a string 'text' field")
        bios.append(obj["text"])
    return bios
