"""Near-duplicates: a candidate too similar to a text already queued, posted or retracted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.filters.check import Check
from bot.text import words


class NearDuplicates:
    """Exact and near duplicates (Jaccard on word 5-grams) against texts already queued or posted."""

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._texts: list[str] = []
        self._sets: list[set[int]] = []
        self._exact: dict[str, int] = {}
        self._post: dict[int, list[int]] = {}  # 5-gram hash -> texts holding it (in-process hash)
        self._gone: set[int] = set()  # texts forgotten: a candidate judged again is not its own duplicate
        for t in texts:
            self.add(t)

    @staticmethod
    def shingles(text: str) -> set[int]:
        """Hashes of the word 5-grams (the whole text when shorter)."""
        w = words(text)
        return {hash(tuple(w[i : i + 5])) for i in range(max(1, len(w) - 4))} if w else set()

    def add(self, text: str) -> None:
        """Remember a text."""
        i, sh = len(self._texts), self.shingles(text)
        self._texts.append(text)
        self._sets.append(sh)
        self._exact.setdefault(" ".join(words(text)), i)
        for g in sh:
            self._post.setdefault(g, []).append(i)

    def forget(self, text: str) -> None:
        """Forget one remembered copy of `text` (a stored candidate about to be judged again)."""
        key = " ".join(words(text))
        i = next((k for k, t in enumerate(self._texts) if k not in self._gone and " ".join(words(t)) == key), None)
        if i is None:
            return
        self._gone.add(i)
        if self._exact.get(key) == i:
            del self._exact[key]

    def check(self, text: str, threshold: float) -> Check:
        """Fail on an exact duplicate or a Jaccard similarity at or above `threshold`."""
        key = " ".join(words(text))
        if key in self._exact:
            return Check(False, "exact duplicate", {"jaccard": 1.0, "of": self._texts[self._exact[key]][:80]})
        sh = self.shingles(text)
        hits = Counter(i for g in sh for i in self._post.get(g, ()) if i not in self._gone)
        best, j = None, 0.0
        for i, inter in hits.items():
            sim = inter / (len(sh) + len(self._sets[i]) - inter)
            if sim > j:
                best, j = i, sim
        s = {"jaccard": round(j, 4), "of": self._texts[best][:80] if best is not None else None, "threshold": threshold}
        ok = j < threshold
        return Check(ok, f"max Jaccard {j:.2f} (threshold {threshold})", s)
