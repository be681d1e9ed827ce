"""Dedup quality and speed: llmcli's dedup stage vs datatrove's 4-stage MinHash vs a datasketch loop.

A generated corpus of ~1 KB documents (Zipf words) where 10% are planted copies of an earlier
document at a known 5-gram Jaccard (0.5 .. 1.0; some exact up to case/punctuation), spread over
Parquet shards. Each method runs in its own subprocess on the same shards, 5-gram shingles,
112 hashes = 14 bands x 8 rows, 2 workers (the datasketch loop is one process by nature):
  ours       the `dedup` stage (prepare + shard pass + finalize), writes kept/removed shards; timed
             from a started pool whose workers imported the stage modules (printed apart)
  datatrove  MinhashDedupSignature -> Buckets -> Cluster -> Filter (+ ParquetWriter), local executor
  datasketch MinHash.update_batch + MinHashLSH query/insert per document, all in memory
Prints recall for planted pairs above threshold + 0.05, false removals of distinct documents,
docs/s, peak RSS and the ratios; then the scale table for every --docs size (ours only).

    .venv/bin/python bench/dedup.py                          # 10^4 docs, all three methods
    .venv/bin/python bench/dedup.py --docs 10000 100000 1000000 --compare-max 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.text.normalize import word_ngrams  # noqa: E402
from curate.text.normalize import words as norm_words  # noqa: E402

NGRAM, BANDS, ROWS = 5, 14, 8
THRESHOLD = (1 / BANDS) ** (1 / ROWS)  # ~0.72: where a pair becomes a candidate with p ~ 1/2


# --------------------------------------------------------------------------- corpus


def generate(out: Path, n: int, shards: int, seed: int = 0, dup_frac: float = 0.1) -> None:
    """Parquet shards + truth.parquet (copy ordinal -> source ordinal, target Jaccard)."""
    rng = np.random.default_rng(seed)
    vocab_size = 30_000
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
    lens = rng.integers(3, 10, vocab_size)
    vocab = np.array(["".join(map(chr, rng.choice(letters, k))) for k in lens], dtype=object)
    p = 1.0 / np.arange(1, vocab_size + 1)
    cdf = np.cumsum(p / p.sum())
    out.mkdir(parents=True, exist_ok=True)
    ring: list[np.ndarray] = []  # recent original documents' word indices (sources span shards)
    truth = {"copy": [], "source": [], "target": []}
    per = -(-n // shards)
    ordinal = 0
    for s in range(shards):
        m = min(per, n - s * per)
        texts, ids = [], []
        for _ in range(m):
            if ring and rng.random() < dup_frac:
                src_i = int(rng.integers(len(ring)))
                src_ord, src = ring[src_i]
                target = float(rng.uniform(0.5, 1.0))
                shingles = max(len(src) - NGRAM + 1, 1)
                changed = shingles * (1 - target) / (1 + target)  # J = (S - c) / (S + c)
                k = int(round(changed / NGRAM))
                w = src.copy()
                if k:
                    pos = rng.choice(len(w), size=min(k, len(w)), replace=False)
                    w[pos] = np.searchsorted(cdf, rng.random(len(pos)))
                text = " ".join(vocab[w])
                if k == 0 and rng.random() < 0.5:  # exact after normalisation only
                    text = text.upper().replace(" ", ", ", 3) + "!"
                truth["copy"].append(ordinal)
                truth["source"].append(src_ord)
                truth["target"].append(target)
            else:
                w = np.minimum(np.searchsorted(cdf, rng.random(int(rng.integers(120, 220)))), vocab_size - 1)
                text = " ".join(vocab[w])
                ring.append((ordinal, w))
                if len(ring) > 2000:
                    ring.pop(0)
            texts.append(text)
            ids.append(f"d{ordinal:09d}")
            ordinal += 1
        table = pa.table(
            {
                "id": pa.array(ids, pa.string()),
                "text": pa.array(texts, pa.large_string()),
                "url": pa.array([f"https://example.com/{i}" for i in ids], pa.string()),
                "domain": pa.array(["example.com"] * m, pa.string()),
                "source": pa.array(["bench"] * m, pa.string()),
                "crawl_date": pa.array(["2024-01-01"] * m, pa.string()),
                "lang": pa.array(["en"] * m, pa.string()),
                "lang_score": pa.array([1.0] * m, pa.float32()),
            }
        )
        pq.write_table(table, out / f"part-{s:05d}.parquet", row_group_size=2000, compression="zstd")
    pq.write_table(pa.table(truth), out.parent / "truth.parquet")


def shingle_set(text: str) -> set[str]:
    return set(word_ngrams(norm_words(text), NGRAM))


# --------------------------------------------------------------------------- methods (subprocesses)


def _warm(_: int) -> None:
    import curate.dedup.lsh  # noqa: F401
    import curate.runner  # noqa: F401
    from curate.stage import load_stage_modules

    load_stage_modules()
    time.sleep(0.2)  # hold this worker so that the next task starts the next one


def run_ours(inp: Path, work: Path, workers: int) -> dict:
    from curate.executors import LocalExecutor
    from curate.runner import ShardTask, run_shard_task
    from curate.stage import Shard, StageContext
    from curate.stages.dedup import Dedup, DedupConfig, MinhashConfig

    cfg = DedupConfig(minhash=MinhashConfig(ngram=NGRAM, bands=BANDS, rows=ROWS))
    sdir = work / "01_dedup"
    sdir.mkdir(parents=True)
    ctx = StageContext(work, sdir, 1, "bench", "parquet", inp)
    shards = [Shard(i, str(p)) for i, p in enumerate(sorted(inp.glob("part-*.parquet")))]
    stage = Dedup(cfg, ctx)
    ex = LocalExecutor(workers)
    # Start the pool and import what a pipeline's workers hold by the time dedup runs (the runner
    # and every stage module, ~1 s a process): start-up is paid once per run, not per stage.
    # Timed apart and printed, not counted.
    tw = time.perf_counter()
    ex.map(_warm, range(workers))
    t0 = time.perf_counter()
    stage.prepare(shards, ex.map)
    t1 = time.perf_counter()
    results = ex.map(run_shard_task, [ShardTask("dedup", cfg, ctx, "bench", s) for s in shards])
    assert all(r[0] == "done" for r in results), results
    stats = asdict(stage.finalize(shards, ex.map))
    t2 = time.perf_counter()
    ex.close()
    removed = pa.concat_tables(
        [pq.read_table(p, columns=["id"]) for p in sorted(sdir.glob("removed/*.parquet"))]
    )
    return {
        "seconds": t2 - t0,
        "warmup_s": round(t0 - tw, 3),
        "shard_pass_s": round(t2 - t1, 3),
        "removed": removed.column("id").to_pylist(),
        "stats": {
            k: stats[k]
            for k in (
                "exact_duplicates",
                "minhash_duplicates",
                "cluster_sizes",
                "seconds",
                "component_rounds",
                "partitions",
            )
        },
    }


def run_datatrove(inp: Path, work: Path, workers: int) -> dict:
    import datatrove.pipeline.dedup.minhash as dt_minhash
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter

    # Its English tokenizer needs spaCy (not installed); whitespace words of its simplified text
    # give the same 5-gram shingles as ours.
    dt_minhash.load_word_tokenizer = lambda language: SimpleNamespace(word_tokenize=str.split)
    tasks = len(list(inp.glob("part-*.parquet")))
    cfg = MinhashConfig(n_grams=NGRAM, num_buckets=BANDS, hashes_per_bucket=ROWS)
    logs = work / "logs"

    def reader():
        return ParquetReader(str(inp), glob_pattern="part-*.parquet")

    stages = [
        LocalPipelineExecutor(
            [reader(), MinhashDedupSignature(output_folder=str(work / "sigs"), config=cfg)],
            tasks=tasks,
            workers=workers,
            logging_dir=str(logs / "1"),
        ),
        LocalPipelineExecutor(
            [
                MinhashDedupBuckets(
                    input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=cfg
                )
            ],
            tasks=BANDS,
            workers=workers,
            logging_dir=str(logs / "2"),
        ),
        LocalPipelineExecutor(
            [
                MinhashDedupCluster(
                    input_folder=str(work / "buckets"), output_folder=str(work / "remove_ids"), config=cfg
                )
            ],
            tasks=1,
            workers=1,
            logging_dir=str(logs / "3"),
        ),
        LocalPipelineExecutor(
            [
                reader(),
                MinhashDedupFilter(
                    input_folder=str(work / "remove_ids"),
                    exclusion_writer=ParquetWriter(str(work / "removed"), output_filename="${rank}.parquet"),
                ),
                ParquetWriter(str(work / "out"), output_filename="${rank}.parquet"),
            ],
            tasks=tasks,
            workers=workers,
            logging_dir=str(logs / "4"),
        ),
    ]
    t0 = time.perf_counter()
    for st in stages:
        st.run()
    seconds = time.perf_counter() - t0
    files = sorted((work / "removed").glob("*.parquet"))
    removed = [i for f in files for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()]
    return {"seconds": seconds, "removed": removed}


def run_datasketch(inp: Path, work: Path, workers: int) -> dict:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(num_perm=BANDS * ROWS, params=(BANDS, ROWS))
    removed = []
    t0 = time.perf_counter()
    for path in sorted(inp.glob("part-*.parquet")):
        t = pq.read_table(path, columns=["id", "text"])
        for doc_id, text in zip(t.column("id").to_pylist(), t.column("text").to_pylist()):
            m = MinHash(num_perm=BANDS * ROWS, seed=1)
            m.update_batch([s.encode() for s in shingle_set(text)])
            if lsh.query(m):
                removed.append(doc_id)
            else:
                lsh.insert(doc_id, m)
    return {"seconds": time.perf_counter() - t0, "removed": removed}


METHODS = {"ours": run_ours, "datatrove": run_datatrove, "datasketch": run_datasketch}


def child_main(method: str, inp: Path, work: Path, workers: int, result: Path) -> None:
    out = METHODS[method](inp, work, workers)
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["rss_driver_mb"], out["rss_worker_mb"] = self_kb / 1024, kids_kb / 1024
    result.write_text(json.dumps(out))


def measure(method: str, inp: Path, work: Path, workers: int) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result = work / "result.json"
    # -P: bench/ must not come first on the child's sys.path (a bench script could shadow a module).
    safe = ["-P"] if sys.version_info >= (3, 11) else []
    cmd = [sys.executable, *safe, __file__, "--child", method, str(inp), str(work), str(workers), str(result)]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(result.read_text())


# --------------------------------------------------------------------------- quality


def quality(inp: Path, removed: set[str]) -> dict:
    """Recall over planted pairs with true Jaccard >= threshold + 0.05; false removals of originals."""
    truth = pq.read_table(inp.parent / "truth.parquet").to_pydict()
    texts = {}
    for path in sorted(inp.glob("part-*.parquet")):
        t = pq.read_table(path, columns=["id", "text"])
        texts.update(zip(t.column("id").to_pylist(), t.column("text").to_pylist()))
    n = len(texts)
    copies = {f"d{c:09d}" for c in truth["copy"]}
    hits = total = 0
    for c, s in zip(truth["copy"], truth["source"]):
        a, b = shingle_set(texts[f"d{s:09d}"]), shingle_set(texts[f"d{c:09d}"])
        if len(a & b) / len(a | b) >= THRESHOLD + 0.05:
            total += 1
            hits += f"d{c:09d}" in removed
    originals = n - len(copies)
    false = len(removed - copies)
    return {
        "recall": hits / max(total, 1),
        "pairs": total,
        "false_removals": false / originals,
        "false": false,
    }


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, nargs="+", default=[10_000])
    ap.add_argument(
        "--compare-max", type=int, default=10_000, help="run datatrove/datasketch up to this size"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: a temp dir)")
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="bench-dedup-"))
    rows = []
    try:
        for n in args.docs:
            inp = base / f"n{n}" / "in"
            t = time.perf_counter()
            generate(inp, n, shards=max(4, n // 50_000))
            print(f"{n} docs generated in {time.perf_counter() - t:.1f}s", flush=True)
            mb = sum(pq.ParquetFile(p).metadata.num_rows for p in inp.glob("*.parquet"))
            methods = ["ours"] + (["datatrove", "datasketch"] if n <= args.compare_max else [])
            res = {}
            for m in methods:
                res[m] = measure(m, inp, base / f"n{n}" / m, args.workers)
                r = res[m]
                line = f"  {m:10s} {mb / r['seconds']:9.0f} docs/s  {r['seconds']:7.1f}s  "
                line += f"peak RSS driver {r['rss_driver_mb']:.0f} MB, worker {r['rss_worker_mb']:.0f} MB"
                if n <= 100_000:
                    q = quality(inp, set(r["removed"]))
                    line += f"  recall {q['recall']:.4f} ({q['pairs']} pairs)  false removals {q['false_removals']:.4%}"
                print(line, flush=True)
            if "datatrove" in res:
                ours = res["ours"]["seconds"]
                print(
                    f"  ratio: ours/datatrove {res['datatrove']['seconds'] / ours:.1f}x, "
                    f"ours/datasketch {res['datasketch']['seconds'] / ours:.1f}x"
                )
            print(
                f"  ours: {json.dumps(res['ours']['stats'])}, shard pass {res['ours']['shard_pass_s']}s, "
                f"worker warm-up (imports, not counted) {res['ours']['warmup_s']}s",
                flush=True,
            )
            rows.append((n, res["ours"]))
            shutil.rmtree(base / f"n{n}", ignore_errors=True)
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    print("\nscale (ours):\n      docs   seconds    docs/s  time/linear  driver MB  worker MB")
    n0, r0 = rows[0]
    for n, r in rows:
        lin = (r["seconds"] / r0["seconds"]) / (n / n0)
        print(
            f"{n:>10d} {r['seconds']:9.1f} {n / r['seconds']:9.0f} {lin:12.2f} "
            f"{r['rss_driver_mb']:10.0f} {r['rss_worker_mb']:10.0f}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, method, inp, work, workers, result = sys.argv
        child_main(method, Path(inp), Path(work), int(workers), Path(result))
    else:
        main()
