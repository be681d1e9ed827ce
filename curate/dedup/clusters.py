"""Exact duplicates, connected components over candidate pairs, the kept document per cluster."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


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


def unique_edges(edges: np.ndarray) -> np.ndarray:
    if len(edges) == 0:
        return edges.reshape(0, 2)
    return np.unique(edges, axis=0)


def representatives(n: int, edges: np.ndarray) -> np.ndarray:
    """For each ordinal 0..n-1 the smallest ordinal of its connected component."""
    if len(edges) == 0:
        return np.arange(n, dtype=np.int64)
    graph = coo_matrix((np.ones(len(edges), np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # np.unique's return_index gives each label's first (= smallest) ordinal.
    _, first_of_label = np.unique(labels, return_index=True)
    lut = np.empty(labels.max() + 1, np.int64)
    lut[labels[first_of_label]] = first_of_label
    return lut[labels]


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
