"""Signatures per shard and LSH band buckets on disk.

Layout under the stage directory (every file appears by atomic rename):
  _sig/part-XXXXX/       exact.npy (n, 2) uint64 text hash; lsh.npy (n,) bool (has shingles);
                         bands.npy (bands, n) uint64 band keys; sig.npy (n, num_perm) uint32
  _buckets/band-XX.npz   one band's (key, ordinal) of every LSH document, sorted by key then ordinal
  _pairs/band-XX/        candidate pairs (earliest ordinal of the bucket, other), split by node
                         partition for the connected-components rounds (curate.dedup.components)

Ordinals number documents globally: first the documents of `against` indexes (0..M-1), then
every shard's rows in shard order. "Earliest" is the smallest ordinal, whatever the worker count.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.dedup.components import read_result, write_partitioned
from curate.dedup.minhash import (
    band_hashes,
    batch_shingles,
    exact_keys,
    jaccard_estimate,
    minhash,
    normalise_batch,
)

# Candidate pairs whose signatures are compared at once against the estimate floor: two
# (pairs, num_perm) uint32 gathers, ~115 MB at 112 hash functions.
_FLOOR_CHUNK = 131_072

# Documents per signature batch: ~2 MB of text at 1 KB each, ~30 MB of word arrays, whatever the
# row groups of the input are.
_BATCH_DOCS = 2048


@dataclass
class SigJob:
    """One shard's signature pass (sent to a worker)."""

    input: str
    out: str  # _sig/part-XXXXX
    ngram: int
    bands: int
    rows: int
    seed: int
    lsh: bool
    t2s: bool = False  # traditional -> simplified Chinese in the normalised text


def signature_shard(job: SigJob) -> int:
    """Signature pass over one shard, a batch at a time; returns its document count."""
    out = Path(job.out)
    if out.is_dir():
        return int(np.load(out / "lsh.npy", mmap_mode="r").shape[0])
    work = out.with_name(f"{out.name}.inprogress-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    num_perm = job.bands * job.rows
    exact, has, bands, sigs = [], [], [], []
    pf = pq.ParquetFile(job.input)
    # Only the text column, in bounded batches (whatever the row groups), normalised and hashed
    # in numpy: no Python object per word.
    for batch in pf.iter_batches(batch_size=_BATCH_DOCS, columns=["text"]):
        norm = normalise_batch(batch.column(0), job.t2s)
        exact.append(exact_keys(norm))
        if not job.lsh:
            continue
        hashes, counts = batch_shingles(norm, job.ngram)
        sig = minhash(hashes, counts, num_perm, job.seed)
        has.append(counts > 0)
        bands.append(band_hashes(sig, job.bands, job.rows))
        sigs.append(sig)
    n = sum(len(e) for e in exact)
    np.save(work / "exact.npy", np.concatenate(exact) if exact else np.zeros((0, 2), np.uint64))
    np.save(work / "lsh.npy", np.concatenate(has) if has else np.zeros(n, bool))
    bands_arr = np.concatenate(bands, axis=1) if bands else np.zeros((job.bands, n), np.uint64)
    np.save(work / "bands.npy", bands_arr)
    np.save(work / "sig.npy", np.concatenate(sigs) if sigs else np.zeros((n, num_perm), np.uint32))
    os.replace(work, out)  # the whole directory appears at once
    return n


@dataclass
class BandJob:
    """One band's bucket pass: every document's key for this band, sorted; candidate pairs."""

    band: int
    sig_dirs: list[str]  # per shard, in shard order
    offsets: list[int]  # global ordinal of each shard's row 0
    exact_dup: str  # _exact.npy: per new ordinal (minus `first`) the exact original, or -1
    first: int  # ordinal of the first new document (= documents in `against` indexes)
    index_dirs: list[str]  # `against` indexes, their ordinals start at 0 in this order
    index_offsets: list[int]
    buckets: str  # _buckets/band-XX.npz
    pairs: str  # _pairs/band-XX/ (one file per node partition)
    parts: int  # node partitions of the components rounds
    floor: float = 0.0  # candidate pairs whose signature estimate is below this are dropped


def band_pass(job: BandJob) -> int:
    """Sort (key, ordinal) of one band and emit star edges bucket-first -> other; returns edge count."""
    pairs_dir = Path(job.pairs)
    if pairs_dir.is_dir() and Path(job.buckets).exists():
        return read_result(pairs_dir)["edges"]
    dup = np.load(job.exact_dup, mmap_mode="r")
    keys, ords = [], []
    for d, off in zip(job.index_dirs, job.index_offsets):
        keys.append(np.load(Path(d) / f"band-{job.band:02d}.npy"))
        ords.append(np.load(Path(d) / f"band-{job.band:02d}.ord.npy") + off)
    new_keys, new_ords = [], []
    for d, off in zip(job.sig_dirs, job.offsets):
        band = np.load(Path(d) / "bands.npy", mmap_mode="r")[job.band]
        rows = np.flatnonzero(
            np.load(Path(d) / "lsh.npy") & (dup[off - job.first : off - job.first + len(band)] < 0)
        )
        new_keys.append(np.asarray(band[rows]))
        new_ords.append(rows.astype(np.int64) + off)
    nk = np.concatenate(new_keys) if new_keys else np.zeros(0, np.uint64)
    no = np.concatenate(new_ords) if new_ords else np.zeros(0, np.int64)
    order = np.argsort(nk, kind="stable")  # ordinals were ascending: stays ascending per key
    nk, no = nk[order], no[order]
    tmp = Path(f"{job.buckets}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        np.savez(f, key=nk, ord=no)
    os.replace(tmp, job.buckets)
    if keys:  # merge the (already sorted) index entries in front: they are earlier
        k = np.concatenate(keys + [nk])
        o = np.concatenate(ords + [no])
        order = np.lexsort((o, k))
        nk, no = k[order], o[order]
    edges = star_edges(nk, no, job.first)
    candidates = len(edges)
    if job.floor > 0 and candidates:
        dirs = job.index_dirs + job.sig_dirs
        edges = above_floor(edges, np.array(job.index_offsets + job.offsets, np.int64), dirs, job.floor)
    write_partitioned(
        pairs_dir, edges, job.parts, {"edges": len(edges), "below_floor": candidates - len(edges)}
    )
    return len(edges)


def above_floor(edges: np.ndarray, offsets: np.ndarray, dirs: list[str], floor: float) -> np.ndarray:
    """The edges whose two signatures agree on at least `floor` of their values.

    A shared band is 8 equal values out of 112; two pages sharing only boilerplate (true Jaccard
    0.3-0.45) do that now and then, and their other values then agree ~0.4 of the time. The
    estimate over the whole signature (sd sqrt(J(1-J)/num_perm), 0.04 at 112) tells them from a
    near duplicate at no cost: the signatures are on disk already, no text is read again.
    """
    keep = np.zeros(len(edges), bool)
    for lo in range(0, len(edges), _FLOOR_CHUNK):
        chunk = edges[lo : lo + _FLOOR_CHUNK]
        a, b = gather_sigs(chunk[:, 0], offsets, dirs), gather_sigs(chunk[:, 1], offsets, dirs)
        keep[lo : lo + len(chunk)] = jaccard_estimate(a, b) >= floor
    return edges[keep]


def gather_sigs(ordinals: np.ndarray, offsets, dirs: list) -> np.ndarray:
    """The signatures of `ordinals` from per-part `sig.npy` files, part by part (memory-mapped).

    Part p holds ordinals offsets[p] .. offsets[p + 1] - 1 (offsets ascending).
    """
    part = np.searchsorted(offsets, ordinals, side="right") - 1
    out = None
    for p in np.unique(part):
        sig = np.load(Path(dirs[p]) / "sig.npy", mmap_mode="r")
        sel = part == p
        rows = sig[ordinals[sel] - offsets[p]]
        if out is None:
            out = np.empty((len(ordinals), sig.shape[1]), np.uint32)
        out[sel] = rows
    return out


def star_edges(keys: np.ndarray, ords: np.ndarray, first: int) -> np.ndarray:
    """(head, other) for every document in a bucket after its head (the bucket's earliest).

    Edges between two index documents (both < first) are dropped: those were settled earlier.
    """
    if len(keys) < 2:
        return np.zeros((0, 2), np.int64)
    start = np.concatenate([[True], keys[1:] != keys[:-1]])
    head_pos = np.maximum.accumulate(np.where(start, np.arange(len(keys)), 0))
    member = ~start
    edges = np.stack([ords[head_pos[member]], ords[member]], axis=1).astype(np.int64)
    return edges[edges[:, 1] >= first]


def candidate_probability(jaccard: float, bands: int, rows: int, floor: float = 0.0) -> float:
    """P(a pair at this Jaccard similarity is a near duplicate): some band of `rows` values agrees
    whole, and at least `floor` of all bands * rows values agree (each value agrees with
    probability `jaccard`, independently). floor 0 gives the usual 1 - (1 - J^rows)^bands."""
    from math import ceil, comb

    need = ceil(floor * bands * rows - 1e-9)
    per_band = [comb(rows, k) * jaccard**k * (1 - jaccard) ** (rows - k) for k in range(rows + 1)]
    # dist[full][total]: after some bands, P(total agreeing values, whether a band agreed whole)
    dist = [[1.0] + [0.0] * (bands * rows), [0.0] * (bands * rows + 1)]
    for _ in range(bands):
        new = [[0.0] * (bands * rows + 1) for _ in range(2)]
        for full in (0, 1):
            for total, p in enumerate(dist[full]):
                if p:
                    for k, q in enumerate(per_band):
                        new[full or k == rows][total + k] += p * q
        dist = new
    return sum(dist[1][need:])
