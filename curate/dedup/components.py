"""Connected components of the candidate-pair graph as rounds of tasks over node partitions.

No process ever holds the whole graph: documents (nodes) are split into `parts` partitions by
ordinal modulo `parts`, and partition p holds every edge leaving its nodes, in both directions
((u, v) and (v, u) for each pair). Each round, one task per partition contracts its edges: a
union-find over them joins every path that runs through the partition's nodes, and every node
it saw gets one edge to the smallest ordinal of its local component. The new edges go to the
partitions of their two ends for the next round. This is the local-contraction idea of the
MapReduce connected-components algorithms (Kiveris et al., "Connected Components in MapReduce
and Beyond", SoCC 2014; Rastogi et al.'s Hash-to-Min): edges only ever move towards smaller
ordinals, so the graph ends as one star per component, centred on its smallest ordinal (the
document kept). Each round shrinks a path by about the length of the runs a partition sees,
so rounds grow with log L for a path of length L and with the partition count (a 20,000-node
path in random order: 2 rounds with 1 partition, 3 with 2, 6 with 5, 9 with 16); dedup graphs,
made of the band buckets' stars, mostly need 2 or 3.
A round whose input is already final (every node with a smaller neighbour has only that one
neighbour, which each partition checks for its own nodes) ends the loop.

Files (each task's output directory appears by atomic rename, so a killed run resumes):
  <root>/rRR/tPPP/to-QQQ.npy   (E, 2) int64 edges written by task PPP of round RR for partition QQQ
  <root>/rRR/tPPP/result.json  {"star": input already final, "pairs": distinct undirected input edges}
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curate.dedup.clusters import representatives

MapFn = Callable[[Callable, list], list]


def write_partitioned(out: Path, edges: np.ndarray, parts: int, extra: dict | None = None) -> None:
    """Write undirected `edges` (E, 2) as directed rows into out/to-QQQ.npy by source partition.

    The directory appears whole (written under a temporary name, then renamed).
    """
    work = out.with_name(f"{out.name}.inprogress-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    both = np.concatenate([edges, edges[:, ::-1]]).astype(np.int64, copy=False)
    both = both[both[:, 0] != both[:, 1]]
    dest = both[:, 0] % parts
    order = np.argsort(dest, kind="stable")
    both, dest = both[order], dest[order]
    bounds = np.searchsorted(dest, np.arange(parts + 1))
    for q in range(parts):
        if bounds[q + 1] > bounds[q]:
            np.save(work / f"to-{q:03d}.npy", both[bounds[q] : bounds[q + 1]])
    (work / "result.json").write_text(json.dumps(extra or {}), encoding="utf-8")
    try:
        os.replace(work, out)
    except OSError:
        if not out.is_dir():  # else another attempt of the same task finished first: same content
            raise
        shutil.rmtree(work, ignore_errors=True)


def read_result(task_dir: str | Path) -> dict:
    """The result.json that `write_partitioned` left in a finished task's directory."""
    return json.loads((Path(task_dir) / "result.json").read_text(encoding="utf-8"))


def read_partition(dirs: Sequence[str | Path], part: int) -> np.ndarray:
    """Every edge sent to partition `part` by the task directories `dirs`, sorted and distinct."""
    chunks = []
    for d in dirs:
        f = Path(d) / f"to-{part:03d}.npy"
        if f.exists():
            chunks.append(np.load(f))
    if not chunks:
        return np.zeros((0, 2), np.int64)
    return sorted_unique(np.concatenate(chunks))


def sorted_unique(edges: np.ndarray) -> np.ndarray:
    """Distinct rows of (E, 2) non-negative int64, sorted by (u, v).

    One 64-bit key per row when both ends fit in 32 bits (np.unique on rows is many times slower).
    """
    if len(edges) == 0:
        return edges.reshape(0, 2)
    if edges.max() < 2**32:
        key = np.sort((edges[:, 0].astype(np.uint64) << np.uint64(32)) | edges[:, 1].astype(np.uint64))
        key = key[np.concatenate([[True], key[1:] != key[:-1]])]  # np.unique hashes first: slower
        return np.stack([key >> np.uint64(32), key & np.uint64(0xFFFFFFFF)], axis=1).astype(np.int64)
    edges = edges[np.lexsort((edges[:, 1], edges[:, 0]))]
    return edges[np.concatenate([[True], (edges[1:] != edges[:-1]).any(axis=1)])]


def contract(edges: np.ndarray) -> tuple[np.ndarray, bool]:
    """One partition's round: (new undirected edges, was the input already final?).

    `edges` are this partition's rows (u, v), sorted and distinct: for each of its nodes u, all
    of u's neighbours. Their union-find (on local ids, so memory follows the edges, not the
    corpus) joins every path through this partition's nodes; each node seen is then linked to
    the smallest ordinal of its local component. Components stay connected: each new edge joins
    two nodes of one local component, and each old edge lies inside one local component.
    """
    if len(edges) == 0:
        return edges, True
    u, v = edges[:, 0], edges[:, 1]
    start = np.flatnonzero(np.concatenate([[True], u[1:] != u[:-1]]))
    degree = np.diff(np.append(start, len(u)))
    # Final: one star per component around its smallest ordinal, i.e. a node with a smaller
    # neighbour (the smallest comes first within u) has no other neighbour.
    final = bool(np.all((v[start] > u[start]) | (degree == 1)))
    flat = edges.ravel()
    order = np.argsort(flat)
    ends = flat[order]
    first = np.concatenate([[True], ends[1:] != ends[:-1]])
    nodes = ends[first]  # ascending
    local = np.empty(len(flat), np.int64)
    local[order] = np.cumsum(first) - 1  # each end's index in `nodes`
    label = nodes[representatives(len(nodes), local.reshape(-1, 2))]
    moved = nodes != label
    return np.stack([nodes[moved], label[moved]], axis=1), final


@dataclass
class RoundJob:
    """One partition's task in one round."""

    inputs: list[str]  # the previous round's task directories (or the initial edge directories)
    part: int
    parts: int
    out: str  # this task's output directory


def round_task(job: RoundJob) -> dict:
    """Read this partition's edges, apply the star step, write the new edges by partition."""
    out = Path(job.out)
    if out.is_dir():
        return read_result(out)
    edges = read_partition(job.inputs, job.part)
    new, final = contract(edges)
    result = {"star": final, "pairs": int((edges[:, 1] > edges[:, 0]).sum())}
    write_partitioned(out, new, job.parts, result)
    return result


def components(
    initial: Sequence[str | Path], n: int, parts: int, root: Path, map_fn: MapFn
) -> tuple[np.ndarray, int, int]:
    """(for each ordinal 0..n-1 the smallest ordinal of its component, distinct pairs, rounds).

    `initial` are directories of to-QQQ.npy files written by `write_partitioned` with the same
    `parts`. Each round's tasks run through `map_fn` (worker processes or Ray tasks); this
    process only reads the final stars to fill the labels.
    """
    root.mkdir(parents=True, exist_ok=True)
    inputs = [str(d) for d in initial]
    pairs, r = 0, 0
    while True:
        rdir = root / f"r{r:02d}"
        rdir.mkdir(exist_ok=True)
        jobs = [RoundJob(inputs, p, parts, str(rdir / f"t{p:03d}")) for p in range(parts)]
        results = map_fn(round_task, jobs)
        if r == 0:
            pairs = sum(x["pairs"] for x in results)
        if all(x["star"] for x in results):
            break
        inputs = [j.out for j in jobs]
        r += 1
    rep = np.arange(n, dtype=np.int64)
    for p in range(parts):  # the input of the last round: one star per component
        edges = read_partition(inputs, p)
        leaf = edges[edges[:, 1] < edges[:, 0]]
        rep[leaf[:, 0]] = leaf[:, 1]
    return rep, pairs, r + 1
