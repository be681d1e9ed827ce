"""`dedup`: exact and MinHash-LSH near-duplicate removal across all shards.

prepare (global, resumable pass by pass, files under the stage directory):
  1. signatures per shard, in parallel          -> _sig/part-XXXXX/
  2. exact duplicates of normalised text, in hash partitions, in parallel -> _exact/, _exact.npy
  3. per band: sorted (key, ordinal) buckets and candidate pairs, in parallel -> _buckets/, _pairs/
  4. (verify) true Jaccard of candidate pairs; connected components in rounds of tasks over node
     partitions (curate.dedup.components)     -> _cc/
     the earliest document of each cluster is kept -> _clusters/part-XXXXX.parquet, _clusters/_stats.json
  5. the index of kept documents for later runs  -> _index/ (see curate.dedup.index)
The shard pass then drops the listed rows with `exact_duplicate` / `minhash_duplicate` and the
id of the kept document in `duplicate_of`. Memory: per band one (key, ordinal) array pair and a
few int64 arrays per document; signatures stay on disk. Every pass over buckets, pairs and
components runs as tasks through `map_fn` (worker processes, or Ray tasks on a cluster).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.config import ConfigPath
from curate.dedup.clusters import ExactJob, exact_partition, save_npy, size_histogram
from curate.dedup.components import components, read_partition, read_result, write_partitioned
from curate.dedup.index import NewDocs, check_compatible, check_normalisation, find_index, write_index
from curate.dedup.lsh import BandJob, SigJob, band_pass, gather_sigs, signature_shard
from curate.dedup.minhash import approx_threshold, jaccard_estimate, lsh_params
from curate.dedup.verify import verify_new_pairs
from curate.faults import fault_point
from curate.manifest import atomic_write_text
from curate.stage import MultiPassStage, Shard, ShardOutput, ShardStats, register

EXACT, NEAR = "exact_duplicate", "minhash_duplicate"

# Documents per node partition of the connected-components rounds (one task per partition).
DOCS_PER_PARTITION = 250_000


def partitions(docs: int) -> int:
    return max(1, min(256, -(-docs // DOCS_PER_PARTITION)))


@dataclass
class MinhashConfig:
    ngram: int = 5
    bands: int | None = None  # bands x rows = number of hash functions; default 14 x 8
    rows: int | None = None
    threshold: float | None = None  # without bands/rows: derives them (datasketch's optimal_param)
    num_perm: int = 112  # hash functions to derive bands/rows from a threshold
    seed: int = 1
    # Candidate pairs (a shared band) whose signatures agree on fewer than this share of their
    # values are LSH collisions, not near duplicates. None: the threshold minus 3 standard
    # deviations of the estimate there (0.59 at 14 x 8); 0: every candidate (datasketch, datatrove).
    min_estimate: float | None = None
    verify: bool = False  # check candidate pairs by true Jaccard >= threshold

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise ValueError("ngram must be >= 1")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither")
        if self.bands is not None and (self.bands < 1 or self.rows < 1):
            raise ValueError("bands and rows must be >= 1")
        if self.threshold is not None and not 0 < self.threshold <= 1:
            raise ValueError(f"threshold {self.threshold} must be in (0, 1]")
        if self.num_perm < 2:
            raise ValueError("num_perm must be >= 2")
        if self.min_estimate is not None and not 0 <= self.min_estimate <= 1:
            raise ValueError(f"min_estimate {self.min_estimate} must be in [0, 1]")

    @property
    def band_rows(self) -> tuple[int, int]:
        if self.bands is not None:
            return self.bands, self.rows
        if self.threshold is not None:
            return lsh_params(self.threshold, self.num_perm)
        return 14, 8

    @property
    def jaccard_threshold(self) -> float:
        return self.threshold if self.threshold is not None else approx_threshold(*self.band_rows)

    @property
    def estimate_floor(self) -> float:
        """`min_estimate`, or its default: t - 3 sd of the estimate at t = the LSH threshold."""
        if self.min_estimate is not None:
            return self.min_estimate
        bands, rows = self.band_rows
        t = self.jaccard_threshold
        return max(0.0, t - 3 * math.sqrt(t * (1 - t) / (bands * rows)))

    def params(self) -> dict:
        bands, rows = self.band_rows
        return {"ngram": self.ngram, "bands": bands, "rows": rows, "seed": self.seed}


@dataclass
class DedupConfig:
    exact: bool = True
    minhash: MinhashConfig | bool | None = field(default_factory=MinhashConfig)
    keep: str = "earliest"  # which document of a cluster stays: the first by (shard, row)
    against: list[ConfigPath] | ConfigPath | None = None  # earlier runs' dedup indexes
    # Fold traditional Chinese characters to simplified ones in the exact and MinHash keys
    # (curate.text.normalize): a traditional copy of a simplified page is then a duplicate.
    t2s: bool = False

    def __post_init__(self) -> None:
        if self.minhash is True:
            self.minhash = MinhashConfig()
        elif self.minhash is False:
            self.minhash = None
        if isinstance(self.against, str):
            self.against = [self.against]
        if self.against is not None:  # checked by the loader; plain str for the saved YAML
            self.against = [str(p) for p in self.against]
        if self.keep != "earliest":
            raise ValueError(f"keep {self.keep!r} is not one of earliest")
        if not self.exact and self.minhash is None:
            raise ValueError("exact: false and minhash: off leave nothing to do; enable one")


@dataclass
class DedupSummary:
    """What dedup found, for the report (from `_clusters/_stats.json`)."""

    exact_duplicates: int = 0
    minhash_duplicates: int = 0
    clusters: int = 0
    # clusters by size (documents, the kept one included) in power-of-two bins: "1", "2", "3-4", "5-8"
    cluster_sizes: dict[str, int] = field(default_factory=dict)
    index_docs: int = 0  # documents of earlier runs' indexes (`against`)
    index_docs_after: int = 0
    bands: int | None = None
    rows: int | None = None
    candidate_pairs: int | None = None
    verified_pairs: int | None = None
    estimate_floor: float | None = None  # MinhashConfig.estimate_floor of the run
    below_floor_edges: int | None = None  # band edges dropped by it (a pair counts once per band)
    component_rounds: int | None = None
    partitions: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)


@register
class Dedup(MultiPassStage):
    name = "dedup"
    config_class = DedupConfig
    summary_class = DedupSummary
    removed_extra_fields = [pa.field("duplicate_of", pa.string())]

    def _dir(self, name: str) -> Path:
        return self.ctx.stage_dir / name

    def hash_inputs(self) -> list | None:
        out = []
        for p in self.config.against or []:
            try:
                info = find_index(p)
            except ValueError:
                out.append([str(p), None])  # reported when the stage runs
                continue
            st = (info.path / "ids.parquet").stat()
            out.append([str(p), info.meta, st.st_size, st.st_mtime_ns])
        return out or None

    # ----------------------------------------------------------------- prepare
    def prepare(self, shards: list[Shard], map_fn) -> None:
        sd, cfg = self.ctx.stage_dir, self.config
        for leftover in sd.glob("**/*.inprogress-*"):  # a killed run's half-written directories
            shutil.rmtree(leftover, ignore_errors=True)
        if (self._dir("_clusters") / "_stats.json").exists() and (self._dir("_index") / "meta.json").exists():
            return
        mh: MinhashConfig | None = cfg.minhash
        params = mh.params() if mh else None
        old = [find_index(p) for p in cfg.against or []]
        for info in old:
            check_normalisation(info, cfg.t2s)
        lsh_old = [check_compatible(i, params) for i in old]
        first = sum(i.docs for i in old)

        clock = _Clock()
        # 1. signatures, one shard per task
        self._dir("_sig").mkdir(exist_ok=True)
        sig_dirs = [self._dir("_sig") / s.name for s in shards]
        bands, rows = mh.band_rows if mh else (1, 1)
        jobs = [
            SigJob(
                s.input,
                str(d),
                mh.ngram if mh else 5,
                bands,
                rows,
                mh.seed if mh else 0,
                mh is not None,
                cfg.t2s,
            )
            for s, d in zip(shards, sig_dirs)
        ]
        counts = np.array(map_fn(signature_shard, jobs), np.int64)
        offsets = first + np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        total = int(offsets[-1])

        clock.lap("signatures")

        fault_point("dedup_pass")
        # 2. exact duplicates: the first equal normalised text (index documents come first)
        # in hash partitions, one task each
        dup = np.full(total - first, -1, np.int64)
        parts = partitions(total)
        if cfg.exact:
            sources = [
                (str(i.path / "exact.npy"), int(o))
                for i, o in zip(old, np.cumsum([0] + [i.docs for i in old]))
            ]
            sources += [(str(d / "exact.npy"), int(o)) for d, o in zip(sig_dirs, offsets[:-1])]
            self._dir("_exact").mkdir(exist_ok=True)
            jobs = [
                ExactJob(p, parts, sources, first, str(self._dir("_exact") / f"part-{p:03d}.npy"))
                for p in range(parts)
            ]
            map_fn(exact_partition, jobs)
            for j in jobs:
                pairs = np.load(j.out)
                dup[pairs[:, 0] - first] = pairs[:, 1]
        save_npy(self._dir("_exact.npy"), dup)

        clock.lap("exact")

        fault_point("dedup_pass")
        # 3. band buckets and candidate pairs, one band per task; 4. components
        stats: dict = {"index_docs": first}
        if mh is not None:
            self._dir("_buckets").mkdir(exist_ok=True)
            self._dir("_pairs").mkdir(exist_ok=True)
            idx_dirs = [str(i.path) for i, ok in zip(old, lsh_old) if ok]
            idx_offs = [int(o) for o, ok in zip(np.cumsum([0] + [i.docs for i in old]), lsh_old) if ok]
            band_jobs = [
                BandJob(
                    b,
                    [str(d) for d in sig_dirs],
                    [int(o) for o in offsets[:-1]],
                    str(self._dir("_exact.npy")),
                    first,
                    idx_dirs,
                    idx_offs,
                    str(self._dir("_buckets") / f"band-{b:02d}.npz"),
                    str(self._dir("_pairs") / f"band-{b:02d}"),
                    parts,
                    mh.estimate_floor,
                )
                for b in range(bands)
            ]
            map_fn(band_pass, band_jobs)
            clock.lap("buckets")
            fault_point("dedup_pass")
            stats["bands"], stats["rows"] = bands, rows
            stats["estimate_floor"] = round(mh.estimate_floor, 4)
            stats["below_floor_edges"] = sum(read_result(j.pairs).get("below_floor", 0) for j in band_jobs)
            pair_dirs = [j.pairs for j in band_jobs]
            if mh.verify:
                verified = self._verify_pairs(
                    pair_dirs, parts, first, offsets, shards, sig_dirs, old, lsh_old, map_fn
                )
                stats["candidate_pairs"] = read_result(verified)["candidate_pairs"]
                pair_dirs = [verified]
            rep, pairs, rounds = components(pair_dirs, total, parts, self._dir("_cc"), map_fn)
            stats["verified_pairs" if mh.verify else "candidate_pairs"] = pairs
            stats["component_rounds"], stats["partitions"] = rounds, parts
        else:
            rep = np.arange(total, dtype=np.int64)

        # The kept document of each new one: exact copies follow their original's cluster.
        new = np.arange(first, total, dtype=np.int64)
        is_exact = dup >= 0
        final = np.where(is_exact, rep[np.maximum(dup, 0)], rep[new])
        is_near = ~is_exact & (final != new)
        self._write_clusters(shards, offsets, first, old, final, is_exact, is_near)
        _, sizes = np.unique(final, return_counts=True)
        sizes = sizes + (np.unique(final) < first)  # an index document heads the cluster
        stats.update(
            exact_duplicates=int(is_exact.sum()),
            minhash_duplicates=int(is_near.sum()),
            clusters=int(len(sizes)),
            cluster_sizes=size_histogram(np.repeat(np.arange(len(sizes)), sizes)),
        )

        clock.lap("clusters")

        fault_point("dedup_pass")
        # 5. the index of everything kept so far, for `against` in a later run
        kept = ~(is_exact | is_near)
        lut = np.full(total, -1, np.int64)
        lut[first:][kept] = first + np.arange(int(kept.sum()))
        newdocs = NewDocs(
            [s.input for s in shards],
            sig_dirs,
            [np.flatnonzero(kept[offsets[i] - first : offsets[i + 1] - first]) for i in range(len(shards))],
        )
        num_perm = bands * rows
        stats["index_docs_after"] = write_index(
            self._dir("_index"),
            old,
            lsh_old,
            newdocs,
            self._dir("_buckets"),
            lut,
            params,
            num_perm,
            map_fn,
            cfg.t2s,
        )
        clock.lap("index")
        fault_point("dedup_pass")
        stats["seconds"] = clock.laps
        atomic_write_text(self._dir("_clusters") / "_stats.json", json.dumps(stats, indent=1, sort_keys=True))

    def _verify_pairs(self, pair_dirs, parts, first, offsets, shards, sig_dirs, old, lsh_old, map_fn) -> Path:
        """The candidate pairs whose true Jaccard reaches the threshold, in _pairs/verified/.

        The pairs are gathered here because verification reads them shard by shard (the texts
        of each pair's two documents); the reading itself runs as tasks.
        """
        out = self._dir("_pairs") / "verified"
        if not out.is_dir():
            edges = np.concatenate([read_partition(pair_dirs, p) for p in range(parts)])
            edges = edges[edges[:, 0] < edges[:, 1]]  # each pair once (partitions hold distinct rows)
            n = len(edges)
            if n:
                edges = self._verify(edges, first, offsets, shards, sig_dirs, old, lsh_old, map_fn)
            write_partitioned(out, edges, parts, {"candidate_pairs": n})
        return out

    def _verify(self, edges, first, offsets, shards, sig_dirs, old, lsh_old, map_fn) -> np.ndarray:
        mh = self.config.minhash
        thr = mh.jaccard_threshold
        keep = np.zeros(len(edges), bool)
        inner = edges[:, 0] >= first
        keep[inner] = verify_new_pairs(
            edges[inner], offsets[:-1], [s.input for s in shards], mh.ngram, thr, map_fn, self.config.t2s
        )
        if (~inner).any():  # against index documents: their text is gone, use the signatures
            pairs = np.flatnonzero(~inner)
            left = gather_sigs(edges[pairs, 0], np.cumsum([0] + [i.docs for i in old]), [i.path for i in old])
            right = gather_sigs(edges[pairs, 1], offsets, sig_dirs)
            keep[pairs] = jaccard_estimate(left, right) >= thr
        return edges[keep]

    def _write_clusters(self, shards, offsets, first, old, final, is_exact, is_near) -> None:
        """Per shard: the removed rows, their reason and the id of the kept document."""
        cdir = self._dir("_clusters")
        cdir.mkdir(exist_ok=True)
        removed = np.flatnonzero(is_exact | is_near)
        need = np.unique(final[removed])
        ids: dict[int, str] = {}
        old_need = need[need < first]
        if len(old_need):
            old_ids = pa.concat_arrays([i.ids().cast(pa.string()) for i in old])
            ids.update(zip(old_need.tolist(), old_ids.take(pa.array(old_need)).to_pylist()))
        new_need = need[need >= first]
        shard_of = np.searchsorted(offsets, new_need, side="right") - 1
        for s in np.unique(shard_of):
            col = pq.read_table(shards[s].input, columns=["id"]).column(0)
            o = new_need[shard_of == s]
            ids.update(zip(o.tolist(), col.take(pa.array(o - offsets[s])).to_pylist()))
        for i, s in enumerate(shards):
            lo, hi = offsets[i] - first, offsets[i + 1] - first
            r = np.flatnonzero(is_exact[lo:hi] | is_near[lo:hi])
            table = pa.table(
                {
                    "row": pa.array(r, pa.int64()),
                    "reason": pa.array([EXACT if is_exact[lo + x] else NEAR for x in r], pa.string()),
                    "duplicate_of": pa.array([ids[int(final[lo + x])] for x in r], pa.string()),
                }
            )
            tmp = cdir / f"{s.name}.parquet.tmp-{os.getpid()}"
            pq.write_table(table, tmp)
            os.replace(tmp, cdir / f"{s.name}.parquet")

    # ----------------------------------------------------------------- shard pass
    def write_shard(self, shard: Shard, out: ShardOutput, stats: ShardStats) -> None:
        """Split each row group by the removal list with Arrow (no per-document Python objects)."""
        verdicts = pq.read_table(self._dir("_clusters") / f"{shard.name}.parquet")
        rows = verdicts.column("row").to_numpy()
        schema, _ = self.output_schemas(shard)
        start = 0
        for table in self.read_tables(shard, stats):
            table = table.cast(schema)
            n = table.num_rows
            lo, hi = np.searchsorted(rows, [start, start + n])
            drop = np.zeros(n, bool)
            drop[rows[lo:hi] - start] = True
            out.keep_table(table.filter(pa.array(~drop)))
            if hi > lo:
                gone = table.filter(pa.array(drop))
                gone = gone.append_column("reason", verdicts.column("reason").slice(lo, hi - lo))
                gone = gone.append_column("duplicate_of", verdicts.column("duplicate_of").slice(lo, hi - lo))
                out.remove_table(gone)
            start += n

    def finalize(self, shards: list[Shard], map_fn) -> DedupSummary:
        stats = json.loads((self._dir("_clusters") / "_stats.json").read_text(encoding="utf-8"))
        return DedupSummary(**stats)


class _Clock:
    """Seconds per prepare pass, for the report."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.t, 3)
        self.t = now
