"""The dedup index a run leaves behind, for deduplicating a later crawl against it (`against`).

`_index/` holds every document the run kept, plus the documents of the indexes it was run
against (so the newest index covers the whole history):
  meta.json            parameters (ngram, bands, rows, seed) and the document count
  ids.parquet          the id of each index document, in index order
  exact.npy            (docs, 2) uint64 normalised-text hashes
  band-XX.npy/.ord.npy per band the sorted keys and their index ordinals (LSH documents only)
  sig.npy              (docs, num_perm) uint32 signatures (for `verify` against older documents)
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# 2: uint32 permutations of byte-level word hashes (signatures and band keys of version 1 differ).
INDEX_VERSION = 2


@dataclass
class IndexInfo:
    path: Path
    meta: dict

    @property
    def docs(self) -> int:
        return int(self.meta["docs"])

    def ids(self) -> pa.Array:
        return pq.read_table(self.path / "ids.parquet", columns=["id"]).column(0).combine_chunks()


def find_index(path: str | Path) -> IndexInfo:
    """An index given as its own directory or as the dedup stage directory that holds `_index/`."""
    p = Path(path)
    if (p / "_index" / "meta.json").is_file():
        p = p / "_index"
    meta_path = p / "meta.json"
    if not meta_path.is_file():
        raise ValueError(f"against: {path}: no dedup index here (expected {meta_path} or {path}/_index)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("version") != INDEX_VERSION:
        raise ValueError(f"against: {path}: index version {meta.get('version')}, expected {INDEX_VERSION}")
    return IndexInfo(p, meta)


def check_compatible(info: IndexInfo, params: dict | None) -> bool:
    """Whether the index's LSH entries can be used with `params` (None: this run has no MinHash)."""
    if params is None or not info.meta.get("lsh"):
        return False
    theirs = {k: info.meta.get(k) for k in params}
    if theirs != params:
        raise ValueError(
            f"against: {info.path}: built with minhash {theirs}, this run uses {params}; "
            "use the same ngram/bands/rows/seed as the earlier run"
        )
    return True


def check_normalisation(info: IndexInfo, t2s: bool) -> None:
    """An index's exact and band keys are of text normalised with or without `t2s`: a run must match."""
    theirs = bool(info.meta.get("t2s", False))
    if theirs != t2s:
        raise ValueError(
            f"against: {info.path}: built with t2s: {str(theirs).lower()}, this run uses t2s: "
            f"{str(t2s).lower()}; traditional and simplified keys would never match"
        )


@dataclass
class NewDocs:
    """The documents of this run that the index keeps, per shard (rows) with their sources."""

    shard_inputs: list[str]
    sig_dirs: list[Path]
    kept_rows: list[np.ndarray]


@dataclass
class SigCopyJob:
    """Copy one source's signature rows into the index's sig.npy at `pos` (a task)."""

    sig_file: str
    source: str | None  # a sig.npy to copy from; None: an index without LSH (empty signatures)
    rows: str | None  # an .npy of the rows to take from `source` (None: all of them)
    pos: int
    count: int


def copy_signatures(job: SigCopyJob) -> None:
    """Write this source's rows with pwrite at their byte offset in sig.npy.

    Not through a writable memory map: tasks on other nodes write the neighbouring rows, and on
    NFS a dirty mapped page goes back whole, which could overwrite their rows on a shared page.
    """
    with open(job.sig_file, "rb") as f:
        major, _ = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        )
        (_, num_perm), _, _ = read_header(f)
        data_start = f.tell()
    row_bytes = num_perm * 4
    step = max(1, (64 << 20) // max(row_bytes, 1))  # rows per write: ~64 MB
    if job.source is None:
        chunks = (
            np.full((min(step, job.count - i), num_perm), 0xFFFFFFFF, np.uint32)
            for i in range(0, job.count, step)
        )
    else:
        src = np.load(job.source, mmap_mode="r")
        rows = np.arange(job.count) if job.rows is None else np.load(job.rows)
        chunks = (np.ascontiguousarray(src[rows[i : i + step]], np.uint32) for i in range(0, len(rows), step))
    fd = os.open(job.sig_file, os.O_WRONLY)
    try:
        offset = data_start + job.pos * row_bytes
        for chunk in chunks:
            buf = memoryview(chunk).cast("B")
            while buf:
                n = os.pwrite(fd, buf, offset)
                buf, offset = buf[n:], offset + n
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class BandIndexJob:
    """One band of the new index: older indexes' entries, then this run's kept documents (a task)."""

    band: int
    old: list[tuple[str, int]]  # (index directory, its first ordinal) of LSH-compatible indexes
    buckets: str  # this run's _buckets/band-XX.npz
    kept_lut: str  # .npy: run ordinal -> new index ordinal, or -1
    out: str  # the index directory being written


def index_band(job: BandIndexJob) -> None:
    keys, ords = [], []
    for d, off in job.old:
        keys.append(np.load(Path(d) / f"band-{job.band:02d}.npy"))
        ords.append(np.load(Path(d) / f"band-{job.band:02d}.ord.npy") + off)
    kept_lut = np.load(job.kept_lut, mmap_mode="r")
    with np.load(job.buckets) as b:
        new_ord = kept_lut[b["ord"]]
        keep = new_ord >= 0
        keys.append(b["key"][keep])
        ords.append(new_ord[keep])
    if len(keys) == 1:  # the buckets are sorted by (key, ordinal) and kept_lut is increasing
        k, o = keys[0], ords[0]
    else:
        k, o = np.concatenate(keys), np.concatenate(ords)
        order = np.lexsort((o, k))
        k, o = k[order], o[order]
    np.save(Path(job.out) / f"band-{job.band:02d}.npy", k)
    np.save(Path(job.out) / f"band-{job.band:02d}.ord.npy", o)


def write_index(
    out: Path,
    old: list[IndexInfo],
    lsh_old: list[bool],
    new: NewDocs,
    buckets_dir: Path | None,
    kept_lut: np.ndarray | None,
    params: dict | None,
    num_perm: int,
    map_fn=None,
    t2s: bool = False,
) -> int:
    """Build `out` (= stage_dir/_index) atomically; returns its document count.

    `kept_lut[ordinal]` is the new index ordinal of a kept document of this run (-1: removed).
    The signature copies (per source) and the band merges (per band) run as tasks of `map_fn`.
    """
    map_fn = map_fn or (lambda fn, items: [fn(x) for x in items])
    work = out.with_name(f"{out.name}.inprogress-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    n_old = sum(i.docs for i in old)
    n_new = int(sum(len(r) for r in new.kept_rows))
    total = n_old + n_new

    ids = [i.ids() for i in old]
    exact = [np.load(i.path / "exact.npy") for i in old]
    for inp, d, rows in zip(new.shard_inputs, new.sig_dirs, new.kept_rows):
        ids.append(pq.read_table(inp, columns=["id"]).column(0).combine_chunks().take(pa.array(rows)))
        exact.append(np.load(d / "exact.npy", mmap_mode="r")[rows])
    id_arr = pa.concat_arrays([a.cast(pa.string()) for a in ids]) if ids else pa.array([], pa.string())
    pq.write_table(pa.table({"id": id_arr}), work / "ids.parquet", compression="zstd")
    np.save(work / "exact.npy", np.concatenate(exact) if exact else np.zeros((0, 2), np.uint64))

    if params is not None:
        # Signatures: one memory-mapped file (never all in RAM), filled by tasks, one per source.
        sig_file = work / "sig.npy"
        np.lib.format.open_memmap(sig_file, mode="w+", dtype=np.uint32, shape=(total, num_perm)).flush()
        jobs, pos = [], 0
        for info, ok in zip(old, lsh_old):
            jobs.append(
                SigCopyJob(str(sig_file), str(info.path / "sig.npy") if ok else None, None, pos, info.docs)
            )
            pos += info.docs
        tmp = work / "_rows"
        tmp.mkdir()
        for i, (d, rows) in enumerate(zip(new.sig_dirs, new.kept_rows)):
            np.save(tmp / f"{i}.npy", rows)
            jobs.append(SigCopyJob(str(sig_file), str(d / "sig.npy"), str(tmp / f"{i}.npy"), pos, len(rows)))
            pos += len(rows)
        np.save(tmp / "kept_lut.npy", kept_lut)
        offs = np.cumsum([0] + [i.docs for i in old])
        lsh_dirs = [(str(i.path), int(o)) for i, o, ok in zip(old, offs, lsh_old) if ok]
        band_jobs = [
            BandIndexJob(
                b, lsh_dirs, str(buckets_dir / f"band-{b:02d}.npz"), str(tmp / "kept_lut.npy"), str(work)
            )
            for b in range(params["bands"])
        ]
        map_fn(copy_signatures, [j for j in jobs if j.count])
        map_fn(index_band, band_jobs)
        shutil.rmtree(tmp)
    meta = {"version": INDEX_VERSION, "docs": total, "lsh": params is not None, "t2s": t2s, **(params or {})}
    (work / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(work, out)
    return total
