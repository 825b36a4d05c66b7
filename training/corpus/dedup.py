"""Duplicates: exact (same words) and near (MinHash LSH on word 5-grams, verified by exact Jaccard)."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.text import words

_SHINGLE = 5  # words per shingle


_PERMS, _BANDS = 64, 16  # 16 bands x 4 rows: a pair at Jaccard 0.8 is a candidate with p > 0.9998


def exact_key(words: list[str]) -> bytes:
    """Same words in the same order, ignoring case and punctuation (words: bot.text.words(text))."""
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).digest()


class _WordIds(dict):
    """word -> a stable 64-bit id (blake2b, so runs agree whatever PYTHONHASHSEED is), made on first use."""

    limit = 200_000  # words cached (~25 MB); cleared when full, since ids are recomputable

    def __missing__(self, w: str) -> int:
        if len(self) >= self.limit:
            self.clear()
        self[w] = v = int.from_bytes(hashlib.blake2b(w.encode("utf-8"), digest_size=8).digest(), "big") | 1
        return v


class NearDupIndex:
    """Kept bios' MinHash band keys in LSH buckets; candidates are checked by exact Jaccard, so hash
    collisions cost time, never a wrong answer."""

    def __init__(self, threshold: float, seed: int = 0) -> None:
        import numpy as np

        self.np, self.threshold = np, threshold
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 2**63, size=_PERMS, dtype=np.uint64) | np.uint64(1)  # odd multipliers
        self.b = rng.integers(0, 2**63, size=_PERMS, dtype=np.uint64)
        self.pos = rng.integers(1, 2**63, size=_SHINGLE, dtype=np.uint64) | np.uint64(1)
        self.mix = rng.integers(1, 2**63, size=_PERMS // _BANDS, dtype=np.uint64) | np.uint64(1)
        self.word_ids = _WordIds()
        self.buckets: list[dict[int, Any]] = [{} for _ in range(_BANDS)]  # band key -> doc | [docs]
        self.texts: list[str] = []  # kept bios (the caller holds them anyway); shingles are recomputed

    def _shingles(self, words: list[str]) -> Any:
        """Sorted unique 32-bit hashes of the word 5-grams (the whole text when shorter)."""
        np = self.np
        h = np.array(list(map(self.word_ids.__getitem__, words)) or [0], dtype=np.uint64)
        k = min(_SHINGLE, len(h))
        sh = sum(h[j : len(h) - k + 1 + j] * self.pos[j] for j in range(k))  # wraps mod 2**64 on purpose
        return np.unique((sh >> np.uint64(32)).astype(np.uint32))

    def sketch(self, words: list[str]) -> tuple[Any, list[int]]:
        """A bio's shingle set and its LSH band keys, for is_near_duplicate and add."""
        np = self.np
        sh = self._shingles(words)
        sig = (sh.astype(np.uint64)[:, None] * self.a[None, :] + self.b[None, :]).min(axis=0)
        return sh, (sig.reshape(_BANDS, -1) * self.mix[None, :]).sum(axis=1).tolist()

    def is_near_duplicate(self, sketch: tuple[Any, list[int]]) -> bool:
        """Jaccard >= threshold with a bio added before."""
        sh, keys = sketch
        cands: set[int] = set()
        for bucket, key in zip(self.buckets, keys):
            hit = bucket.get(key)
            if hit is not None:
                cands.update(hit) if isinstance(hit, list) else cands.add(hit)
        for d in sorted(cands):
            other = self._shingles(words(self.texts[d]))
            inter = len(self.np.intersect1d(sh, other, assume_unique=True))
            if inter / (len(sh) + len(other) - inter) >= self.threshold:
                return True
        return False

    def add(self, sketch: tuple[Any, list[int]], text: str) -> None:
        """Remember a kept bio."""
        doc = len(self.texts)
        for bucket, key in zip(self.buckets, sketch[1]):
            hit = bucket.get(key)
            if isinstance(hit, list):
                hit.append(doc)
            else:
                bucket[key] = doc if hit is None else [hit, doc]  # most buckets hold one bio: no list
        self.texts.append(text)
