"""Exact duplicates, connected components over candidate pairs, the kept document per cluster."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def exact_originals(keys: np.ndarray, first: int) -> np.ndarray:
    """For each new document (ordinals >= first) the ordinal of the earliest equal text, or -1.

    `keys` (n, 2) uint64 holds every document's 128-bit text hash in ordinal order.
    """
    n = len(keys)
    out = np.full(n - first, -1, np.int64)
    if n < 2:
        return out
    order = np.lexsort((np.arange(n), keys[:, 1], keys[:, 0]))  # by hash, then ordinal
    k = keys[order]
    same = np.concatenate([[False], (k[1:] == k[:-1]).all(axis=1)])
    head = np.maximum.accumulate(np.where(~same, np.arange(n), 0))
    dup_pos = np.flatnonzero(same)
    dup, orig = order[dup_pos], order[head[dup_pos]]
    keep = dup >= first
    out[dup[keep] - first] = orig[keep]
    return out


def save_npy(path: Path, arr: np.ndarray) -> None:
    """np.save to a temp name, then rename: the file is whole or absent."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, path)


@dataclass
class ExactJob:
    """One hash partition of the exact-duplicate pass (a task): the documents whose text hash
    falls in `part`, from every source, so equal texts always meet in the same task."""

    part: int
    parts: int
    sources: list[tuple[str, int]]  # (exact.npy, ordinal of its row 0), in ordinal order
    first: int  # ordinal of the first new document
    out: str  # .npy (E, 2) int64: (new duplicate, its earliest original)


def exact_partition(job: ExactJob) -> int:
    out = Path(job.out)
    if out.exists():
        return int(np.load(out, mmap_mode="r").shape[0])
    keys, ords = [], []
    for path, off in job.sources:
        k = np.load(path, mmap_mode="r")
        rows = np.flatnonzero(k[:, 0] % np.uint64(job.parts) == job.part)
        keys.append(np.asarray(k[rows]))
        ords.append(rows.astype(np.int64) + off)
    k = np.concatenate(keys) if keys else np.zeros((0, 2), np.uint64)
    o = np.concatenate(ords) if ords else np.zeros(0, np.int64)
    orig = exact_originals(k, 0)  # sources are in ordinal order, so row order = ordinal order
    dup = np.flatnonzero((orig >= 0) & (o >= job.first))
    pairs = np.stack([o[dup], o[orig[dup]]], axis=1)
    save_npy(out, pairs)
    return len(pairs)


def representatives(n: int, edges: np.ndarray) -> np.ndarray:
    """For each ordinal 0..n-1 the smallest ordinal of its connected component.

    Union-find in whole-array steps (hook, then pointer jumping) instead of scipy's
    connected_components: the same labels without importing scipy.sparse (over half a second in
    every process that loads the stage). Roots only ever hook onto smaller ids of their
    component, so each component's smallest id stays its root.
    """
    rep = np.arange(n, dtype=np.int64)
    if len(edges) == 0:
        return rep
    u, v = edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64)
    while True:
        ru, rv = rep[u], rep[v]
        split = ru != rv
        if not split.any():
            return rep
        ru, rv = ru[split], rv[split]
        u, v = u[split], v[split]  # joined edges stay joined: drop them
        np.minimum.at(rep, np.maximum(ru, rv), np.minimum(ru, rv))
        while True:  # every id points at its root again
            up = rep[rep]
            if np.array_equal(up, rep):
                break
            rep = up


def size_histogram(rep: np.ndarray) -> dict[str, int]:
    """Clusters by size (documents, the kept one included), in power-of-two bins: '1', '2', '3-4'..."""
    sizes = np.bincount(np.bincount(rep)[np.unique(rep)])
    out: dict[str, int] = {}
    lo = 1
    while lo < len(sizes):
        hi = lo if lo <= 2 else 2 * (lo - 1)  # 1, 2, 3-4, 5-8, 9-16, ...
        count = int(sizes[lo : hi + 1].sum())
        if count:
            out[str(lo) if lo == hi else f"{lo}-{hi}"] = count
        lo = hi + 1
    return out


def jaccard_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique hash arrays."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
