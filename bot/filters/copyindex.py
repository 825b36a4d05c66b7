"""N-gram index of the training corpus: finds runs of a candidate that were copied from one bio.

The index is one file beside the corpus (``corpus.idx``), memory-mapped on load:

    b"DJBIDX1\n", uint64 header length, JSON header (meta and where each part starts), then
    keys     sorted uint64: (hash of a normalised word 8-gram) << pos_bits | global word offset
    dir      int64, 2**dir_bits + 1: first key of each bucket of the top dir_bits (~16 keys each)
    starts   int64, nbios + 1: global word offset where each bio starts
    offsets  int64, nbios + 1: byte offset of each bio in `bios`
    names    JSON list: display name per bio (from the corpus manifest, else "bio #i")
    bios     the bios, UTF-8, back to back (for the excerpt shown to the reviewer)

Packing the word offset into the low bits of the key halves the memory of separate postings and
lets one in-place sort build the whole index (build RSS stays ~1.5x the key array). The hash keeps
64 - pos_bits bits (38 for a 78 MB corpus); a rare collision only yields a seed, and every seed is
verified word by word against the bio, so runs are exact.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ModelError
from bot.text import WORD, iter_bios, normalise

log = logging.getLogger(__name__)

VERSION = 2  # 2: bucket directory
MAGIC = b"DJBIDX1\n"
N = 8  # words per hashed n-gram; runs shorter than this cannot be seen
_CHUNK_BIOS = 500  # bios hashed per numpy pass (~0.7 MB of text; temporaries ~40 bytes/byte)
_SEED_BUDGET = 20_000  # postings gathered per check; the rarest n-grams are taken first
_EXCERPT = 160  # characters of bio context on each side of a copied run
_RNG = np.random.default_rng(20261127)  # fixed: hashes must match between build and check
_POW = np.cumprod(np.full(256, 0x100000001B3, np.uint64))  # FNV prime powers (wrap mod 2**64)
_MUL = _RNG.integers(1, 1 << 63, N, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd: bijective


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the high bits we keep."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def word_hashes(buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Hash the words of `buf` (separated by single spaces or newlines): (hashes, newlines before)."""
    b = np.frombuffer(buf, np.uint8)
    if b.size == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    sep = (b == 32) | (b == 10)
    start = ~sep
    start[1:] &= sep[:-1]
    tstart = np.flatnonzero(start)
    wpos = np.flatnonzero(~sep)
    tid = np.cumsum(start[wpos]) - 1  # token of each word byte
    k = np.minimum(wpos - tstart[tid], _POW.size - 1)  # byte position inside its token
    vals = b[wpos].astype(np.uint64) * _POW[k]
    seg = np.flatnonzero(start[wpos])
    h = np.add.reduceat(vals, seg) if seg.size else np.zeros(0, np.uint64)
    lines = np.cumsum(b == 10)[tstart] if 10 in buf else np.zeros(tstart.size, np.int64)
    return _mix(h + np.diff(np.append(seg, wpos.size)).astype(np.uint64)), lines


def ngram_hashes(h: np.ndarray) -> np.ndarray:
    """Hash of every run of N consecutive word hashes (len(h) - N + 1 values)."""
    m = h.size - N + 1
    if m <= 0:
        return np.zeros(0, np.uint64)
    g = h[:m] * _MUL[0]
    for j in range(1, N):
        g += h[j : j + m] * _MUL[j]
    return _mix(g)


def manifest_names(corpus_path: Path, nbios: int) -> list[str]:
    """Display names from the corpus manifest; "bio #i" where it has none."""
    names = [f"bio #{i}" for i in range(nbios)]
    mpath = corpus_path.with_suffix(".manifest.jsonl")
    if mpath.exists():
        with open(mpath, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line) if line.strip() else {}
                i = rec.get("corpus_index")
                if isinstance(i, int) and 0 <= i < nbios and rec.get("name"):
                    names[i] = str(rec["name"])
    return names


def build_index(corpus_path: Path, index_path: Path) -> dict[str, Any]:
    """Build the copy index of `corpus_path` into the file `index_path`; return its stats."""
    corpus_path, index_path = Path(corpus_path), Path(index_path)
    size = corpus_path.stat().st_size if corpus_path.exists() else 0
    pos_bits = max(1, (size // 2 + 1).bit_length())  # a word takes >= 2 bytes with its separator
    keys = np.empty(size // 2 + 1, np.uint64)  # untouched pages cost no RSS
    bios_tmp = index_path.with_name(index_path.name + ".bios.tmp")
    starts, offsets, nk, nw = [0], [0], 0, 0
    with open(bios_tmp, "wb") as out:
        batch: list[str] = []
        for bio in iter_bios(corpus_path):
            batch.append(bio)
            if len(batch) >= _CHUNK_BIOS:
                nk, nw = _add_chunk(batch, keys, nk, nw, pos_bits, starts, offsets, out)
                batch = []
        nk, nw = _add_chunk(batch, keys, nk, nw, pos_bits, starts, offsets, out)
    keys = keys[:nk]
    keys.sort()  # in place: no second copy of the biggest array
    nbios = len(starts) - 1
    names = json.dumps(manifest_names(corpus_path, nbios)).encode("utf-8")
    dir_bits = max(1, min(20, nk.bit_length() - 4))  # ~16 keys per bucket, at most 8 MB
    buckets = np.arange(1 << dir_bits, dtype=np.uint64) << np.uint64(64 - dir_bits)
    directory = np.append(np.searchsorted(keys, buckets), nk).astype(np.int64)
    stats = {
        "version": VERSION,
        "n": N,
        "pos_bits": pos_bits,
        "dir_bits": dir_bits,
        "bios": nbios,
        "words": nw,
        "ngrams": nk,
        "corpus": str(corpus_path),
        "corpus_bytes": size,
    }
    parts = [
        ("keys", keys),
        ("dir", directory),
        ("starts", np.array(starts, np.int64)),
        ("offsets", np.array(offsets, np.int64)),
        ("names", names),
    ]
    _write(index_path, stats, parts, bios_tmp)
    log.info("copy index: %s bios, %s words, %s %s-grams -> %s", nbios, nw, nk, N, index_path)
    return stats


def _write(path: Path, meta: dict[str, Any], parts: list[tuple[str, Any]], bios_tmp: Path) -> None:
    """Write header, arrays and bios into one file, atomically (tmp file, then rename)."""
    table, at = {}, 0
    for name, data in [*parts, ("bios", None)]:
        at = -(-at // 64) * 64  # 64-byte aligned parts
        n = bios_tmp.stat().st_size if data is None else len(data) * getattr(data, "itemsize", 1)
        table[name] = [at, n]
        at += n
    head = json.dumps({**meta, "parts": table}).encode("utf-8")
    base = -(-(len(MAGIC) + 8 + len(head)) // 64) * 64
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + len(head).to_bytes(8, "little") + head)
        for name, data in [*parts, ("bios", None)]:
            f.seek(base + table[name][0])
            if data is None:
                with open(bios_tmp, "rb") as src:
                    shutil.copyfileobj(src, f, 1 << 22)
            else:
                f.write(data if isinstance(data, bytes) else memoryview(data))  # no copy
    os.replace(tmp, path)
    bios_tmp.unlink()


def _add_chunk(
    batch: list[str], keys: np.ndarray, nk: int, nw: int, pos_bits: int, starts: list[int], offsets: list[int], out: Any
) -> tuple[int, int]:
    """Hash one batch of bios into `keys` at `nk`; return the new key and word counts."""
    if not batch:
        return nk, nw
    lines = [" ".join(normalise(WORD.findall(bio))) for bio in batch]
    h, line_of = word_hashes("\n".join(lines).encode("utf-8"))
    counts = np.bincount(line_of, minlength=len(batch))
    for bio, c in zip(batch, counts.tolist()):
        data = bio.encode("utf-8")
        out.write(data)
        offsets.append(offsets[-1] + len(data))
        starts.append(starts[-1] + c)
    g = ngram_hashes(h)
    ok = line_of[: g.size] == line_of[N - 1 :]  # n-grams never cross two bios
    pos = np.flatnonzero(ok).astype(np.uint64) + np.uint64(nw)
    new = ((g[ok] >> np.uint64(pos_bits)) << np.uint64(pos_bits)) | pos
    keys[nk : nk + new.size] = new
    return nk + new.size, nw + h.size


@dataclass(frozen=True)
class CopyMatch:
    """The longest run of a candidate found in one training bio, and the share of 8-grams found."""

    longest_run: int  # words
    overlap: float  # share of the candidate's 8-grams found anywhere in the corpus (0..1)
    bio_index: int | None  # position of the bio in the corpus file
    bio_name: str | None
    span: str  # the copied run, as written in the candidate
    matched_bio_excerpt: str  # the bio around the run, the run marked »like this«
    span_chars: tuple[int, int] | None = None  # character range of `span` in the candidate
    words: int = 0  # words in the candidate
    copied: bool | None = None  # longest_run >= run_words, when run_words was given

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the candidate's scores."""
        d = asdict(self)
        d["span_chars"] = list(self.span_chars) if self.span_chars else None
        d["overlap"] = round(self.overlap, 4)
        return d


class CopyIndex:
    """A loaded (memory-mapped) copy index."""

    def __init__(self, path: Path, meta: dict[str, Any], base: int) -> None:
        self.path, self.meta = path, meta
        self.pos_bits = int(meta["pos_bits"])
        self._parts = {k: (base + a, n) for k, (a, n) in meta["parts"].items()}
        self._keys = self._array("keys", np.uint64)
        self._dir = self._array("dir", np.int64)
        self._dir_shift = np.uint64(64 - int(meta["dir_bits"]))
        self._starts = np.array(self._array("starts", np.int64))
        self._offsets = np.array(self._array("offsets", np.int64))
        self._names: list[str] | None = None

    def _array(self, name: str, dtype: Any) -> np.ndarray:
        """A part of the file as a read-only memory map (empty arrays cannot be mapped)."""
        at, n = self._parts[name]
        if n == 0:
            return np.zeros(0, dtype)
        return np.memmap(self.path, dtype, "r", at, (n // np.dtype(dtype).itemsize,))

    def _read(self, name: str, start: int = 0, n: int | None = None) -> bytes:
        """Bytes of a part of the file."""
        at, size = self._parts[name]
        with open(self.path, "rb") as f:
            f.seek(at + start)
            return f.read(size - start if n is None else n)

    @classmethod
    def load(cls, path: Path) -> CopyIndex:
        """Open the index file; raise ModelError telling how to build it when missing or stale."""
        path = Path(path)
        try:
            with open(path, "rb") as f:
                if f.read(len(MAGIC)) != MAGIC:
                    raise ValueError("not a djbios copy index")
                head = f.read(int.from_bytes(f.read(8), "little"))
            meta = json.loads(head)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: no usable copy index ({exc}); run `djbios corpus index`") from exc
        if meta.get("version") != VERSION or meta.get("n") != N:
            raise ModelError(f"{path}: copy index of another version; run `djbios corpus index`")
        return cls(path, meta, -(-(len(MAGIC) + 8 + len(head)) // 64) * 64)

    def stale(self, corpus_path: Path) -> bool:
        """True when the corpus file is not the one indexed (its size changed)."""
        p = Path(corpus_path)
        return not p.exists() or p.stat().st_size != self.meta.get("corpus_bytes")

    @property
    def nbios(self) -> int:
        """Number of bios indexed."""
        return len(self._starts) - 1

    def name(self, i: int) -> str:
        """Display name of bio `i`."""
        if self._names is None:
            self._names = json.loads(self._read("names"))
        return self._names[i]

    def bio(self, i: int) -> str:
        """The text of bio `i`."""
        a, z = int(self._offsets[i]), int(self._offsets[i + 1])
        return self._read("bios", a, z - a).decode("utf-8")

    def check(self, text: str, run_words: int | None = None) -> CopyMatch:
        """Longest run of `text` copied from one bio, and the share of its 8-grams in the corpus."""
        words = normalise(WORD.findall(text))
        g = ngram_hashes(word_hashes(" ".join(words).encode("utf-8"))[0])
        if g.size == 0 or self._keys.size == 0:
            return self._match(text, len(words), 0.0, None, run_words)
        mask = np.uint64((1 << self.pos_bits) - 1)
        lo_key = (g >> np.uint64(self.pos_bits)) << np.uint64(self.pos_bits)
        # Both ends at once; no key has offset == mask (offsets < corpus bytes / 2 < mask).
        lo, hi = self._search(np.concatenate([lo_key, lo_key | mask])).reshape(2, -1)
        counts = hi - lo
        overlap = float(np.count_nonzero(counts)) / g.size
        best = self._best_run(words, lo, counts, mask)
        return self._match(text, len(words), overlap, best, run_words)

    def _search(self, q: np.ndarray) -> np.ndarray:
        """np.searchsorted(keys, q), but binary search only inside each query's directory bucket.

        The bucket (top dir_bits of the key) holds ~16 keys on one page, so a query costs ~2 cache
        misses instead of ~14 for a search over the whole memory-mapped array (bench/RESULTS.md, "Copy index").
        """
        b = (q >> self._dir_shift).astype(np.int64)
        lo, hi = self._dir[b], self._dir[b + 1]
        last = max(0, self._keys.size - 1)
        while (act := lo < hi).any():
            mid = (lo + hi) >> 1
            go = (self._keys[np.minimum(mid, last)] < q) & act
            lo, hi = np.where(go, mid + 1, lo), np.where(go | ~act, hi, mid)
        return lo

    def _seeds(self, lo: np.ndarray, counts: np.ndarray, mask: np.uint64) -> tuple[Any, ...]:
        """(candidate n-gram, global offset) pairs, rarest first within the budget; any dropped?"""
        order = np.argsort(counts, kind="stable")
        order = order[counts[order] > 0]
        kept = order[np.cumsum(counts[order]) <= _SEED_BUDGET] if order.size else order
        c = counts[kept]
        qi = np.repeat(kept, c)
        first = np.repeat(lo[kept] - (np.cumsum(c) - c), c)
        pos = (self._keys[first + np.arange(c.sum())] & mask).astype(np.int64)
        return qi.astype(np.int64), pos, kept.size < order.size

    def _best_run(
        self, words: list[str], lo: np.ndarray, counts: np.ndarray, mask: np.uint64
    ) -> tuple[Any, ...] | None:
        """The longest verified run: (start word, length, bio, (bio text, start char, end char))."""
        qi, pos, dropped = self._seeds(lo, counts, mask)
        if qi.size == 0:
            return None
        diag = pos - qi
        o = np.lexsort((qi, diag))
        qi, diag = qi[o], diag[o]
        brk = np.flatnonzero((np.diff(diag) != 0) | (np.diff(qi) != 1)) + 1
        sizes = np.diff(np.concatenate(([0], brk, [qi.size])))
        heads = np.concatenate(([0], brk))
        best = None
        for h in heads[np.argsort(-sizes, kind="stable")[:8]].tolist():  # the 8 longest streaks
            run = self._verify(words, int(qi[h]), int(diag[h] + qi[h]))
            if run and (best is None or run[1] > best[1]):
                best = run
            if best and not dropped:
                break  # every posting was seen: the longest streak is the longest run
        return best

    def _verify(self, words: list[str], i: int, p: int) -> tuple[Any, ...] | None:
        """Extend the seed (candidate word i = global word p) word by word in its bio."""
        b = int(np.searchsorted(self._starts, p, "right") - 1)
        bio = self.bio(b)
        bm = list(WORD.finditer(bio))
        bwords = normalise([m.group() for m in bm])
        j = p - int(self._starts[b])
        if words[i : i + N] != bwords[j : j + N]:
            return None  # a hash collision, not a copy
        s, t = i, j
        while s > 0 and t > 0 and words[s - 1] == bwords[t - 1]:
            s, t = s - 1, t - 1
        e = i + N
        while e < len(words) and e - s + t < len(bwords) and words[e] == bwords[e - s + t]:
            e += 1
        return s, e - s, b, (bio, bm[t].start(), bm[t + e - s - 1].end())

    def _match(
        self, text: str, nwords: int, overlap: float, best: tuple[Any, ...] | None, run_words: int | None
    ) -> CopyMatch:
        """Assemble the CopyMatch with the candidate span and the bio excerpt."""
        if best is None:
            return CopyMatch(0, overlap, None, None, "", "", None, nwords, False if run_words else None)
        s, length, b, (bio, ba, bz) = best
        spans = [m.span() for m, _ in zip(WORD.finditer(text), range(s + length))]
        a, z = spans[s][0], spans[-1][1]
        lead = "…" if ba > _EXCERPT else ""
        tail = "…" if bz + _EXCERPT < len(bio) else ""
        excerpt = f"{lead}{bio[max(0, ba - _EXCERPT) : ba]}»{bio[ba:bz]}«{bio[bz : bz + _EXCERPT]}{tail}"
        copied = length >= run_words if run_words else None
        return CopyMatch(length, overlap, b, self.name(b), text[a:z], excerpt, (a, z), nwords, copied)


def ensure_index(corpus: Path, index_path: Path) -> CopyIndex | None:
    """The corpus copy index, (re)built when missing or stale; None when there is no corpus."""
    if Path(index_path).exists():
        try:
            idx = CopyIndex.load(index_path)
            if not idx.stale(corpus):
                return idx
            log.warning("%s does not match %s; rebuilding it", index_path, corpus)
        except ModelError as exc:
            log.warning("%s; rebuilding it", exc)
    if not Path(corpus).is_file():
        return None
    stats = build_index(corpus, index_path)
    log.info("built copy index %s: %s", index_path, stats)
    return CopyIndex.load(index_path)
