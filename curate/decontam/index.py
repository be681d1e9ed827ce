"""The benchmark n-gram index: sorted uint64 hashes with the item each came from.

Built once in the driver and saved as .npy files in a directory that appears by atomic rename,
so every worker process memory-maps the same arrays instead of rebuilding them. Lookups are a
vectorised `searchsorted` over the sorted keys (measured faster than a Python set of ints once
the document's n-grams are a numpy array: no per-n-gram Python object is ever made).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curate.decontam.benchmarks import BenchmarkItem
from curate.decontam.ngrams import NgramHasher

META = "meta.json"


@dataclass
class NgramIndex:
    keys: np.ndarray  # uint64, sorted (a key shared by several items appears once per item)
    item: np.ndarray  # int32 item index of each key
    lengths: list[int]  # distinct key lengths in words: n, plus those of short items
    ngram: int
    items: list[tuple[str, str]]  # (benchmark, item id) per item index
    info: dict
    # A bitmap over the top `bits` bits of the keys (~1.5% full): almost every n-gram of a clean
    # document is rejected with one memory access instead of a binary search over the keys.
    bitmap: np.ndarray | None = None

    @property
    def bits(self) -> int:
        return int(np.log2(len(self.bitmap) * 8)) if self.bitmap is not None else 0

    # ----------------------------------------------------------------- lookups
    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positions in `hashes` that are keys, first and end key row of each match)."""
        if len(self.keys) == 0 or len(hashes) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        cand = np.arange(len(hashes))
        if self.bitmap is not None:
            top = (hashes >> np.uint64(64 - self.bits)).astype(np.int64)
            cand = np.flatnonzero((self.bitmap[top >> 3] >> (top & 7).astype(np.uint8)) & 1)
        h = hashes[cand]
        pos = np.searchsorted(self.keys, h)
        hit = self.keys[np.minimum(pos, len(self.keys) - 1)] == h
        q = cand[hit]
        lo = pos[hit]
        hi = np.searchsorted(self.keys, hashes[q], side="right")
        return q, lo, hi

    def benchmark_of(self, item: int) -> str:
        return self.items[item][0]

    # ----------------------------------------------------------------- storage
    def save(self, path: Path) -> None:
        """Write to `path` atomically: a temp directory renamed into place."""
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "keys.npy", self.keys)
        np.save(tmp / "item.npy", self.item)
        if self.bitmap is not None:
            np.save(tmp / "bitmap.npy", self.bitmap)
        meta = {"ngram": self.ngram, "lengths": self.lengths, "items": self.items, "info": self.info}
        (tmp / META).write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, ignore: np.ndarray | None = None) -> NgramIndex:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        keys = np.load(path / "keys.npy", mmap_mode="r")
        item = np.load(path / "item.npy", mmap_mode="r")
        if ignore is not None and len(ignore):
            keep = ~np.isin(keys, ignore)
            keys, item = np.asarray(keys[keep]), np.asarray(item[keep])
        items = [tuple(x) for x in meta["items"]]
        bitmap = np.load(path / "bitmap.npy", mmap_mode="r") if (path / "bitmap.npy").exists() else None
        return cls(keys, item, meta["lengths"], meta["ngram"], items, meta["info"], bitmap)

    @staticmethod
    def exists(path: Path) -> bool:
        return (path / META).is_file()


def build_index(
    items: list[BenchmarkItem],
    ngram: int,
    min_words: int = 1,
    max_item_frequency: int | None = None,
    cjk_ngram: int | None = None,
    t2s: bool = False,
) -> NgramIndex:
    """Hash every item; drop keys shared by more than `max_item_frequency` items (boilerplate).

    Chinese and Japanese items are keyed by `cjk_ngram` characters (curate.decontam.ngrams)."""
    hasher = NgramHasher(ngram, min_words, cjk_ngram, t2s)
    hashes, item, lengths = hasher.item_hashes([it.text for it in items])
    # one row per (key, item): an n-gram repeated inside an item counts once
    pairs = np.unique(np.stack([hashes, item.astype(np.uint64)], axis=1), axis=0)
    keys, owner = pairs[:, 0], pairs[:, 1].astype(np.int32)
    dropped = 0
    if max_item_frequency is not None and len(keys):
        uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        keep = counts[inverse] <= max_item_frequency
        dropped = int(np.sum(counts > max_item_frequency))
        keys, owner = keys[keep], owner[keep]
    indexed = set(np.unique(owner).tolist())
    per_bench = Counter(it.benchmark for it in items)
    short = Counter(it.benchmark for i, it in enumerate(items) if i not in indexed)
    info = {
        "items": dict(per_bench),
        "items_not_indexed": dict(short),  # fewer than min_words words, or only boilerplate keys
        "keys": int(len(keys)),
        "keys_dropped_item_frequency": dropped,
        "t2s": t2s,  # documents are normalised the same way when scanned
    }
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    return NgramIndex(
        keys=keys,
        item=np.ascontiguousarray(owner, dtype=np.int32),
        lengths=sorted({int(x) for x in np.unique(lengths)}) if len(lengths) else [ngram],
        ngram=ngram,
        items=[(it.benchmark, it.item_id) for it in items],
        info=info,
        bitmap=make_bitmap(keys),
    )


def make_bitmap(keys: np.ndarray) -> np.ndarray:
    """Bit (top `bits` bits of the key) set for every key; about 64 bits per key, 1 KiB at least."""
    bits = int(min(max(np.ceil(np.log2(max(len(keys), 1) * 64)), 13), 32))
    bitmap = np.zeros(1 << (bits - 3), dtype=np.uint8)
    top = (keys >> np.uint64(64 - bits)).astype(np.int64)
    np.bitwise_or.at(bitmap, top >> 3, (1 << (top & 7)).astype(np.uint8))
    return bitmap
