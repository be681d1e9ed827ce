"""Resampling throughput (docs/s per core) of the resample stage's shard pass.

Times `Resample.process` (group lookup, token proxy, seeded per-document draw, copies) on
generated documents from many hosts, in one process, against datatrove's SamplerFilter on the
same documents (a plain Bernoulli sampler: no groups, no copies, not order-independent) as the
anchor, and checks that target shares are met.

    .venv/bin/python bench/resample.py [--docs 200000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.stage import ShardStats, StageContext  # noqa: E402
from curate.stages.resample import Resample, ResampleConfig, count_groups, solve_weights  # noqa: E402


def make_docs(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    words = "the of and to in a is that for it as was with on by at from this".split()
    hosts = [f"site{i}.example.com" for i in range(200)]
    docs = []
    for i in range(n):
        host = hosts[min(int(rng.expovariate(1 / 20)), 199)]
        text = " ".join(rng.choices(words, k=rng.randint(50, 600)))
        docs.append(
            {"id": f"{i:012x}", "text": text, "url": f"https://{host}/p/{i}", "domain": "example.com"}
        )
    return docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000)
    args = ap.parse_args()
    docs = make_docs(args.docs)
    mb = sum(len(d["text"]) for d in docs) / 1e6
    targets = {"site0.example.com": 0.3, "site1.example.com": 0.2, "*": 0.5}
    cfg = ResampleConfig(target_shares=targets, seed=0)

    # the prepare pass's work, on the documents in memory (count_groups reads a shard file)
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.document import BASE_SCHEMA

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pq.write_table(pa.Table.from_pylist(docs, schema=BASE_SCHEMA), work / "in.parquet")
        t0 = time.perf_counter()
        counted = count_groups((cfg, str(work / "in.parquet")))
        arrays = {g: (np.array(u), np.array(t)) for g, (u, t) in counted.items()}
        solved = solve_weights(arrays, targets)
        prep_s = time.perf_counter() - t0
        ctx = StageContext(workdir=work, stage_dir=work / "s", position=1, pipeline_name="bench")
        stage = Resample(cfg, ctx)
        stage._weights = solved["weights"]

        t0 = time.perf_counter()
        out = list(stage.process(iter(dict(d) for d in docs), ShardStats()))
        ours_s = time.perf_counter() - t0

    from datatrove.data import Document
    from datatrove.pipeline.filters.sampler_filter import SamplerFilter

    sampler = SamplerFilter(rate=0.5, seed=0)
    dt_docs = [Document(text=d["text"], id=d["id"]) for d in docs]
    t0 = time.perf_counter()
    kept = sum(1 for d in dt_docs if sampler.filter(d))
    dt_s = time.perf_counter() - t0

    tokens = Counter()
    for doc, reason in out:
        if reason is None:
            g = doc["resample_group"] if doc["resample_group"] in targets else "*"
            tokens[g] += len(doc["text"].split())
    total = sum(tokens.values())
    worst = max(abs(tokens[g] / total - s) for g, s in targets.items())
    print(f"docs: {len(docs)}, {mb:.1f} MB; prepare (count + solve): {prep_s:.2f}s")
    print(f"ours (resample.process) : {len(docs) / ours_s:10.0f} docs/s  {mb / ours_s:6.1f} MB/s")
    print(f"datatrove SamplerFilter : {len(docs) / dt_s:10.0f} docs/s  ({kept} kept)")
    print(f"ratio ours / datatrove  : {dt_s / ours_s:.2f}x")
    print(f"worst share error vs target: {worst:.4f} (limit 0.02)")


if __name__ == "__main__":
    main()
