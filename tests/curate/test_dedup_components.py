"""Connected components as rounds of partition tasks (curate.dedup.components)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from curate.dedup import components as cc
from curate.dedup.clusters import representatives
from curate.stage import Shard, StageContext
from curate.stages import dedup as dedup_stage
from tests.curate.test_dedup import corpus, rows, run


def inline(fn, items):
    return [fn(x) for x in items]


def labels(tmp: Path, n: int, edges: np.ndarray, parts: int, map_fn=inline) -> tuple[np.ndarray, int, int]:
    cc.write_partitioned(tmp / "init", np.asarray(edges, np.int64).reshape(-1, 2), parts)
    return cc.components([tmp / "init"], n, parts, tmp / "cc", map_fn)


def test_components_equal_union_find_for_any_partition_count(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for trial in range(150):
        n = int(rng.integers(1, 120))
        edges = rng.integers(0, n, (int(rng.integers(0, 2 * n)), 2))  # loops and repeats included
        parts = int(rng.integers(1, 7))
        d = tmp_path / str(trial)
        rep, pairs, _ = labels(d, n, edges, parts)
        assert rep.tolist() == representatives(n, edges).tolist(), (trial, parts)
        distinct = {(min(a, b), max(a, b)) for a, b in edges.tolist() if a != b}
        assert pairs == len(distinct)


@pytest.mark.parametrize("parts", [1, 2, 5])
def test_long_chains_need_few_rounds(tmp_path: Path, parts: int) -> None:
    rng = np.random.default_rng(parts)
    n = 20_000
    perm = rng.permutation(n)  # a path through every node in random order: one component
    edges = np.stack([perm[:-1], perm[1:]], axis=1)[rng.permutation(n - 1)]
    rep, pairs, rounds = labels(tmp_path, n, edges, parts)
    assert (rep == 0).all() and pairs == n - 1
    assert rounds <= 12  # a contraction per round over the partition's paths, not one hop


def test_a_killed_run_resumes_from_finished_tasks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 3000
    edges = rng.integers(0, n, (2500, 2))
    want, _, rounds = labels(tmp_path / "whole", n, edges, 3)
    assert rounds >= 3

    calls = []

    def dies_in_round_two(fn, items):
        if items[0].out.split("/")[-2] == "r01":
            out = fn(items[0])  # one task of round 1 finishes, then the process "dies"
            calls.append(out)
            raise KeyboardInterrupt
        return inline(fn, items)

    with pytest.raises(KeyboardInterrupt):
        labels(tmp_path / "killed", n, edges, 3, dies_in_round_two)
    done = tmp_path / "killed" / "cc" / "r01" / "t000"
    stamp = (done / "result.json").stat().st_mtime_ns
    (tmp_path / "killed" / "cc" / "r01" / "t001.inprogress-1").mkdir()  # a half-written task
    shutil.rmtree(tmp_path / "killed" / "init")  # rewritten identically below
    got, _, _ = labels(tmp_path / "killed", n, edges, 3)
    assert got.tolist() == want.tolist()
    assert (done / "result.json").stat().st_mtime_ns == stamp  # reused, not redone


def test_round_files_are_partitioned_by_node(tmp_path: Path) -> None:
    edges = np.array([[0, 5], [5, 7], [2, 3]])
    cc.write_partitioned(tmp_path / "e", edges, 3)
    for q in range(3):
        part = cc.read_partition([tmp_path / "e"], q)
        assert (part[:, 0] % 3 == q).all()
    got = np.concatenate([cc.read_partition([tmp_path / "e"], q) for q in range(3)])
    assert sorted(map(tuple, got.tolist())) == sorted([(a, b) for a, b in edges] + [(b, a) for a, b in edges])
    assert cc.sorted_unique(np.array([[2**40, 1], [3, 2**33], [3, 2**33], [1, 1]])).tolist() == [
        [1, 1],
        [3, 2**33],
        [2**40, 1],
    ]


def test_stage_output_does_not_depend_on_the_partition_count(tmp_path: Path, monkeypatch) -> None:
    docs, copies = corpus(seed=4, distinct=90)
    spec = "{exact: true, minhash: {ngram: 5, bands: 14, rows: 8}}"
    one = run(tmp_path, docs, spec, workers=2, name="one")
    monkeypatch.setattr(dedup_stage, "DOCS_PER_PARTITION", 7)
    many = run(tmp_path, docs, spec, workers=2, name="many")
    stats = [json.loads((d / "_clusters" / "_stats.json").read_text()) for d in (one, many)]
    assert stats[0]["partitions"] == 1 and stats[1]["partitions"] == dedup_stage.partitions(len(docs)) > 10
    assert stats[0]["candidate_pairs"] == stats[1]["candidate_pairs"] > 0
    for removed in (False, True):  # the same rows; `source` names each run's own input folder
        strip = [
            [{k: v for k, v in r.items() if k != "source"} for r in rows(d, removed)] for d in (one, many)
        ]
        assert strip[0] == strip[1]
    assert len(rows(many, True)) == len(copies)


def test_stage_resumes_inside_the_component_rounds(tmp_path: Path, monkeypatch) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setattr(dedup_stage, "DOCS_PER_PARTITION", 10)
    docs, _ = corpus(seed=5, distinct=60)
    out = run(tmp_path, docs, "{}")
    clusters = [pq.read_table(p) for p in sorted((out / "_clusters").glob("*.parquet"))]
    stats = json.loads((out / "_clusters" / "_stats.json").read_text())
    assert stats["partitions"] == 8 and sum(len(t) for t in clusters) > 0
    # As if killed during the last round: its tasks and everything after are gone.
    last = sorted((out / "_cc").iterdir())[-1]
    shutil.rmtree(last)
    (out / "_clusters" / "_stats.json").unlink()
    shutil.rmtree(out / "_index")
    ingest = tmp_path / "run" / "00_ingest"
    shards = [Shard(i, str(p)) for i, p in enumerate(sorted(ingest.glob("part-*.parquet")))]
    ctx = StageContext(tmp_path / "run", out, 1, "test", "jsonl", ingest)
    dedup_stage.Dedup(dedup_stage.DedupConfig(), ctx).prepare(shards, inline)
    assert last.is_dir()
    assert [pq.read_table(p) for p in sorted((out / "_clusters").glob("*.parquet"))] == clusters
    again = json.loads((out / "_clusters" / "_stats.json").read_text())
    assert {k: v for k, v in again.items() if k != "seconds"} == {
        k: v for k, v in stats.items() if k != "seconds"
    }


@pytest.mark.parametrize("parts", [1, 3])
def test_exact_pass_in_hash_partitions_equals_the_global_sort(tmp_path: Path, parts: int) -> None:
    from curate.dedup.clusters import ExactJob, exact_originals, exact_partition

    rng = np.random.default_rng(parts)
    keys = rng.integers(0, 8, (500, 2)).astype(np.uint64) * np.uint64(2**40 + 7)  # many repeats
    first = 120  # ordinals 0..119 are an earlier index, the rest this run's three shards
    sources = []
    for i, (lo, hi) in enumerate([(0, 120), (120, 300), (300, 301), (301, 500)]):
        np.save(tmp_path / f"{i}.npy", keys[lo:hi])
        sources.append((str(tmp_path / f"{i}.npy"), lo))
    dup = np.full(len(keys) - first, -1, np.int64)
    for p in range(parts):
        job = ExactJob(p, parts, sources, first, str(tmp_path / f"out-{p}.npy"))
        exact_partition(job)
        pairs = np.load(job.out)
        dup[pairs[:, 0] - first] = pairs[:, 1]
    want = exact_originals(keys, first)
    assert (want >= 0).sum() > 300 and (want < first).any()
    assert dup.tolist() == want.tolist()


def test_signature_copies_write_only_their_own_rows(tmp_path: Path) -> None:
    from curate.dedup.index import SigCopyJob, copy_signatures

    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**32, (5, 7), dtype=np.uint32)  # an older index, copied whole
    b = rng.integers(0, 2**32, (9, 7), dtype=np.uint32)  # a shard, of which rows 1, 4, 8 are kept
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    np.save(tmp_path / "rows.npy", np.array([1, 4, 8]))
    sig = tmp_path / "sig.npy"
    np.lib.format.open_memmap(sig, mode="w+", dtype=np.uint32, shape=(11, 7)).flush()
    jobs = [
        SigCopyJob(str(sig), str(tmp_path / "b.npy"), str(tmp_path / "rows.npy"), 8, 3),  # any order
        SigCopyJob(str(sig), None, None, 5, 3),  # an index without LSH: empty signatures
        SigCopyJob(str(sig), str(tmp_path / "a.npy"), None, 0, 5),
    ]
    for job in jobs:
        copy_signatures(job)
    want = np.concatenate([a, np.full((3, 7), 0xFFFFFFFF, np.uint32), b[[1, 4, 8]]])
    assert np.array_equal(np.load(sig), want)
