"""Optional check of candidate pairs by the true Jaccard similarity of their shingle sets.

LSH proposes pairs whose signatures agree on a whole band; some are below the threshold. For
pairs of this run the shingle sets of the documents involved (only those) are rebuilt from the
text, shard by shard; a pair with an `against` index document, whose text is gone, is checked
on the MinHash estimate from the stored signatures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup.clusters import jaccard_sorted
from curate.dedup.minhash import batch_shingles, normalise_batch


@dataclass
class ShingleJob:
    input: str
    rows: np.ndarray  # sorted row numbers within the shard
    ngram: int
    t2s: bool = False  # the same normalisation as the signatures (traditional -> simplified)


def shingle_sets(job: ShingleJob) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique shingle hashes of the given rows: (values, offsets) with len(rows) + 1 offsets."""
    texts = pq.read_table(job.input, columns=["text"]).column(0)
    hashes, counts = batch_shingles(normalise_batch(texts.take(pa.array(job.rows)), job.t2s), job.ngram)
    vals, offs, start = [], [0], 0
    for c in counts:
        u = np.unique(hashes[start : start + c])
        vals.append(u)
        offs.append(offs[-1] + len(u))
        start += c
    return (np.concatenate(vals) if vals else np.zeros(0, np.uint64)), np.array(offs, np.int64)


def verify_new_pairs(
    edges: np.ndarray,
    offsets: np.ndarray,
    inputs: list[str],
    ngram: int,
    threshold: float,
    map_fn,
    t2s: bool = False,
) -> np.ndarray:
    """The rows of `edges` (global ordinals, all of this run) whose true Jaccard >= threshold."""
    if len(edges) == 0:
        return np.zeros(0, bool)
    involved = np.unique(edges)
    shard = np.searchsorted(offsets, involved, side="right") - 1
    jobs, order = [], []
    for s in np.unique(shard):
        rows = involved[shard == s] - offsets[s]
        jobs.append(ShingleJob(inputs[s], rows, ngram, t2s))
        order.append(involved[shard == s])
    vals_all, offs_all, base = [], [], 0
    for vals, offs in map_fn(shingle_sets, jobs):
        vals_all.append(vals)
        offs_all.append(offs[:-1] + base)
        base += len(vals)
    vals = np.concatenate(vals_all)
    starts = np.concatenate(offs_all + [np.array([base])])
    pos = {int(o): i for i, o in enumerate(np.concatenate(order))}
    keep = np.zeros(len(edges), bool)
    for e, (u, v) in enumerate(edges):
        i, j = pos[int(u)], pos[int(v)]
        a, b = vals[starts[i] : starts[i + 1]], vals[starts[j] : starts[j + 1]]
        keep[e] = jaccard_sorted(a, b) >= threshold
    return keep
