"""`corpus stats`: kept/dropped by reason, size, length percentiles and the pronoun balance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.text import pronoun_counts, read_bios, words

BIAS_SHARE = 0.6  # warn when one pronoun family dominates more than this share of gendered bios


LABELS = {"he": "he/him", "she": "she/her", "they": "they/them"}  # how `corpus stats` names a family


def pronoun_family(text: str) -> str:
    """The pronoun family used most in a bio: he/him, she/her, they/them, mixed (a tie) or none."""
    counts = pronoun_counts(words(text))
    best = max(counts.values())
    top = [LABELS[f] for f, n in counts.items() if n == best]
    return "none" if best == 0 else top[0] if len(top) == 1 else "mixed"


def corpus_stats(path: Path) -> dict[str, Any]:
    """Kept/dropped by reason (manifest), size, ~tokens (chars / 4), lengths, pronoun shares."""
    import numpy as np

    bios = read_bios(path)
    reasons: dict[str, int] = {}
    mpath = path.with_suffix(".manifest.jsonl")
    if mpath.exists():
        for line in mpath.read_text(encoding="utf-8").splitlines():
            m = json.loads(line)
            key = m["reason"] if m["status"] == "dropped" else m["reason"] or "kept"
            reasons[key] = reasons.get(key, 0) + 1
    lengths = np.array([len(b) for b in bios] or [0])
    fams: dict[str, int] = {}
    for b in bios:
        f = pronoun_family(b)
        fams[f] = fams.get(f, 0) + 1
    gendered = sum(n for f, n in fams.items() if f in LABELS.values())
    return {
        "bios": len(bios),
        "manifest": dict(sorted(reasons.items())),
        "mb": path.stat().st_size / 1e6,
        "approx_tokens": int(lengths.sum() / 4),  # GPT-2 BPE averages ~4 characters per token in English
        "chars_percentiles": {p: int(np.percentile(lengths, p)) for p in (0, 5, 25, 50, 75, 95, 100)},
        "pronouns": dict(sorted(fams.items())),
        "pronoun_share": {f: round(fams.get(f, 0) / gendered, 3) if gendered else 0.0 for f in LABELS.values()},
    }


def format_stats(s: dict[str, Any]) -> str:
    """corpus_stats as the lines `djbios corpus stats` prints, with a warning on pronoun bias."""
    lines = [
        f"bios in corpus: {s['bios']}   size: {s['mb']:.2f} MB   ~tokens: {s['approx_tokens']:,} (chars/4)",
        "manifest: " + (", ".join(f"{k} {v}" for k, v in s["manifest"].items()) or "none found"),
        "length (chars) percentiles: " + "  ".join(f"p{p}={v}" for p, v in s["chars_percentiles"].items()),
        "pronouns (dominant family per bio): " + ", ".join(f"{k} {v}" for k, v in s["pronouns"].items()),
        "share of gendered bios: " + ", ".join(f"{k} {v:.0%}" for k, v in s["pronoun_share"].items()),
    ]
    for fam, share in s["pronoun_share"].items():
        if share > BIAS_SHARE:
            lines.append(
                f"WARNING: {share:.0%} of the bios with pronouns use {fam}: the model will learn this "
                "bias; add bios of other people or prompt with --pronouns"
            )
    return "\n".join(lines)
