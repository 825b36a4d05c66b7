"""Hazards in generated text: mentions, hashtags, links, e-mail addresses, phone numbers.

They are defused (or removed, or rejected, as [filters] says): the defused text is exactly what is
posted, so nobody is notified, no tag or link is made, and nobody's contact details go out.
"""

from __future__ import annotations

import re
from collections import Counter

from bot.config import FiltersConfig
from bot.filters.check import Check

ZWSP = "\u200b"  # zero-width space: "@\u200bname" is not a mention, nobody is notified


_ARTEFACT = re.compile(r"\[\s*email[\s\u00a0]*(?:&#160;)?\s*protected\s*\]", re.I)


_EMAIL = re.compile(r"(?<![\w.+@-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")  # not "@user@host": a mention


_TAIL = r"[^\s<>\"]*[^\s<>\".,;:!?)\]'’]"  # a URL does not end in sentence punctuation


# Bare domains only with common TLDs written in lower case ("back.To London" is a typo, not a
# link), or with any TLD when a path follows ("label.bandcamp.xyz/album").
URL_RE = re.compile(rf"(?:https?://|www\.){_TAIL}|(?<![@\w.-])(?-i:\b(?:[a-z0-9-]+\.)+"
                  rf"(?:com|net|org|info|io|fm|de|nl|fr|uk|ru|jp|tv|eu|es|ch|ly)\b)(?:/{_TAIL})?"
                  rf"|(?<![@\w.-])\b(?:[a-z0-9-]+\.)+[a-z]{{2,6}}/{_TAIL}", re.I)


_PHONE = re.compile(r"(?<![\w+])(?:\+|\b0)\d[\d ()./-]{6,}\d\b|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")


_MENTION = re.compile(r"(?<![\w@/])@(?=\w)")


_HASHTAG = re.compile(r"(?<![\w#&/])#(?=\w*[^\W\d_])")  # "#1" is no hashtag: it needs a letter


_PLACEHOLDER = {"url": "[link]", "email": "[e-mail]", "phone": "[phone]"}


def defuse(text: str, cfg: FiltersConfig) -> tuple[str, Check]:
    """Defuse mentions, hashtags, URLs, e-mail addresses, phone numbers and e-mail artefacts."""
    counts: Counter[str] = Counter()
    out = _ARTEFACT.sub(lambda m: counts.update(["artefact"]) or "", text)
    for kind, rx in (("email", _EMAIL), ("url", URL_RE), ("phone", _PHONE)):
        out = rx.sub(lambda m, k=kind: counts.update([k]) or _contact(k, cfg.urls), out)  # type: ignore[misc]
    for kind, rx, mode in (("mention", _MENTION, cfg.mentions), ("hashtag", _HASHTAG, cfg.hashtags)):
        found = len(rx.findall(out))
        counts[kind] += found
        if mode == "defuse" and found:
            out = rx.sub(lambda m: m.group() + ZWSP, out)
    if out != text:
        out = _tidy(out)
    bad = [k for k, mode in (("mention", cfg.mentions), ("hashtag", cfg.hashtags)) if mode == "reject" and counts[k]]
    bad += [k for k in ("url", "email", "phone") if cfg.urls == "reject" and counts[k]]
    detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n) or "none"
    if bad:
        return text, Check(False, f"contains {', '.join(bad)} (configured to reject)", dict(counts))
    return out, Check(True, f"defused: {detail}" if out != text else f"found: {detail}", dict(counts))


def _contact(kind: str, mode: str) -> str:
    """What replaces a URL, e-mail address or phone number."""
    return _PLACEHOLDER[kind] if mode == "placeholder" else ""


def _tidy(text: str) -> str:
    """Clean the gaps left by removed pieces: double spaces, empty brackets, space before commas."""
    text = re.sub(r"\(\s*[,;:]?\s*\)|\[\s*\]", "", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[ \t]*[,;:]+(?=\s*(?:$|\n|[.!?]))", "", text, flags=re.M)
    return "\n".join(line.strip() for line in text.split("\n")).strip()
