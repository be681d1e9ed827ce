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


@dataclass
class NewDocs:
    """The documents of this run that the index keeps, per shard (rows) with their sources."""

    shard_inputs: list[str]
    sig_dirs: list[Path]
    kept_rows: list[np.ndarray]


def write_index(
    out: Path,
    old: list[IndexInfo],
    lsh_old: list[bool],
    new: NewDocs,
    buckets_dir: Path | None,
    kept_lut: np.ndarray | None,
    params: dict | None,
    num_perm: int,
) -> int:
    """Build `out` (= stage_dir/_index) atomically; returns its document count.

    `kept_lut[ordinal]` is the new index ordinal of a kept document of this run (-1: removed).
    """
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
        # Signatures: copied shard by shard into a memory-mapped file (never all in RAM).
        sig = np.lib.format.open_memmap(work / "sig.npy", mode="w+", dtype=np.uint32, shape=(total, num_perm))
        pos = 0
        for info, ok in zip(old, lsh_old):
            if ok:
                sig[pos : pos + info.docs] = np.load(info.path / "sig.npy", mmap_mode="r")
            else:
                sig[pos : pos + info.docs] = np.uint32(0xFFFFFFFF)
            pos += info.docs
        for d, rows in zip(new.sig_dirs, new.kept_rows):
            sig[pos : pos + len(rows)] = np.load(d / "sig.npy", mmap_mode="r")[rows]
            pos += len(rows)
        sig.flush()
        del sig
        for band in range(params["bands"]):
            keys, ords, off = [], [], 0
            for info, ok in zip(old, lsh_old):
                if ok:
                    keys.append(np.load(info.path / f"band-{band:02d}.npy"))
                    ords.append(np.load(info.path / f"band-{band:02d}.ord.npy") + off)
                off += info.docs
            with np.load(buckets_dir / f"band-{band:02d}.npz") as b:
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
            np.save(work / f"band-{band:02d}.npy", k)
            np.save(work / f"band-{band:02d}.ord.npy", o)
    meta = {"version": INDEX_VERSION, "docs": total, "lsh": params is not None, **(params or {})}
    (work / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(work, out)
    return total
