"""Decontamination throughput: MB/s of text per core with an index of >= 10,000 benchmark items.

Builds a corpus of generated prose pages (scripts.sample_text) with some benchmark items planted,
an index of the 164 HumanEval problems plus generated question/answer items, and times, in one
process on the same documents:
  ours-scan     curate.decontam: normalise + hash every n-gram + index lookup (the hot path)
  ours-stage    the decontaminate stage on a Parquet shard (read, scan, write kept/removed)
  datatrove     datatrove's NGramsDecontFilter (index written with datatrove's own hashing;
                its English word tokenizer needs spaCy, which is not installed, so a whitespace
                tokenizer stands in: that only makes datatrove faster)

    .venv/bin/python bench/decontaminate.py [--mb 16] [--items 10000] [--ngram 13]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.decontam.benchmarks import BenchmarkItem, load_benchmark  # noqa: E402
from curate.decontam.index import build_index  # noqa: E402
from curate.decontam.scan import scan_texts  # noqa: E402
from curate.document import BASE_SCHEMA  # noqa: E402
from scripts.sample_text import TOPICS, ProseGenerator  # noqa: E402


def make_items(n: int, seed: int) -> list[BenchmarkItem]:
    """HumanEval plus question/answer items drawn from the corpus vocabulary. Words are drawn at
    random, not from the prose grammar: the grammar is so small that its own sentences share
    13-grams with any other page it writes, which would make every page 'contaminated'."""
    rng = random.Random(seed)
    gens = [ProseGenerator(t, rng) for t in TOPICS.values()]
    vocab = sorted({w for g in gens for _ in range(20) for w in g.sentence().split()})
    items = load_benchmark("humaneval")
    for i in range(n - len(items)):
        q = " ".join(rng.choices(vocab, k=rng.randint(15, 60)))
        items.append(BenchmarkItem("qa", f"qa-{i}", f"{q}?\n{' '.join(rng.choices(vocab, k=5))}"))
    return items


def make_corpus(mb: float, items: list[BenchmarkItem], seed: int) -> tuple[list[str], int]:
    rng = random.Random(seed)
    gens = [ProseGenerator(t, rng) for t in TOPICS.values()]
    docs, size, planted = [], 0, 0
    while size < mb * 1e6:
        g = rng.choice(gens)
        paras = g.paragraphs(rng.randint(150, 900))
        if rng.random() < 0.01:  # 1% of pages copy a benchmark item
            paras.insert(rng.randrange(len(paras) + 1), rng.choice(items).text)
            planted += 1
        text = "\n\n".join(paras)
        docs.append(text)
        size += len(text.encode("utf-8"))
    return docs, planted


def time_ours(index, docs: list[str], batch: int = 512) -> tuple[float, int]:
    t0 = time.perf_counter()
    flagged = 0
    for i in range(0, len(docs), batch):
        _, matches = scan_texts(index, docs[i : i + batch])
        flagged += sum(m is not None for m in matches)
    return time.perf_counter() - t0, flagged


def time_stage(docs: list[str], items_path: Path, ngram: int, work: Path) -> tuple[float, int]:
    from curate.decontam.benchmarks import BenchmarkSpec
    from curate.stage import Shard, ShardStats, StageContext
    from curate.stages.decontaminate import Decontaminate, DecontaminateConfig

    rows = [
        {"id": f"d{i}", "text": t, "url": f"https://example.com/{i}", "domain": "example.com"}
        for i, t in enumerate(docs)
    ]
    shard_path = work / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=BASE_SCHEMA), shard_path, row_group_size=2000)
    cfg = DecontaminateConfig(
        benchmarks=["humaneval", BenchmarkSpec(path=str(items_path), name="qa", fields=["text"])], ngram=ngram
    )
    ctx = StageContext(workdir=work, stage_dir=work / "stage", position=1, pipeline_name="bench")
    ctx.stage_dir.mkdir(parents=True, exist_ok=True)
    stage = Decontaminate(cfg, ctx)
    shard = Shard(0, str(shard_path))
    stage.prepare([shard], lambda fn, xs: [fn(x) for x in xs])
    _ = stage.index  # load outside the timing, as a worker does once
    stats = ShardStats()
    t0 = time.perf_counter()
    stage.run_shard(shard, stats)
    return time.perf_counter() - t0, stats.removed


def time_datatrove(items: list[BenchmarkItem], docs: list[str], ngram: int, work: Path) -> tuple[float, int]:
    import datatrove.pipeline.decont.n_grams as dt
    from datatrove.data import Document
    from datatrove.utils.text import ngrams, simplify_text

    class Whitespace:
        def word_tokenize(self, text: str) -> list[str]:
            return text.split()

    dt.load_word_tokenizer = lambda language: Whitespace()  # spaCy is not installed
    cfg = dt.NGramsDecontConfig(n_grams=ngram, find_query_ngrams=True)
    hash_func = dt.create_hash_func(cfg.hash_config)
    # the indexer's compute_hashes(label=item text), written the way the indexer writes them
    hashes = {
        hash_func(" ".join(g))
        for it in items
        for g in ngrams(Whitespace().word_tokenize(simplify_text(it.text, cfg.norm_config)), ngram)
    }
    (work / "dt").mkdir()
    np.array(sorted(hashes), dtype=cfg.hash_config.np_descr).tofile(work / "dt" / "bench.index.hashes")
    filt = dt.NGramsDecontFilter(index_folder=str(work / "dt"), config=cfg)
    filt.load_index_hashes()
    t0 = time.perf_counter()
    flagged = sum(filt.filter(Document(text=t, id=str(i))) is not True for i, t in enumerate(docs))
    return time.perf_counter() - t0, flagged


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=16.0, help="corpus size in MB of UTF-8 text")
    ap.add_argument("--items", type=int, default=10_000, help="benchmark items in the index")
    ap.add_argument("--ngram", type=int, default=13)
    ap.add_argument("--datatrove-mb", type=float, default=4.0, help="datatrove runs on this first part")
    args = ap.parse_args()

    items = make_items(args.items, seed=1)
    docs, planted = make_corpus(args.mb, items, seed=2)
    mb = sum(len(t.encode("utf-8")) for t in docs) / 1e6
    t0 = time.perf_counter()
    index = build_index(items, args.ngram, min_words=8)
    build_s = time.perf_counter() - t0
    print(f"index: {len(items)} items, {len(index.keys)} keys, built in {build_s:.2f}s")
    print(f"corpus: {len(docs)} docs, {mb:.1f} MB, {planted} with a planted item")

    scan_index = index
    secs, flagged = time_ours(scan_index, docs)
    print(f"ours-scan   : {mb / secs:7.1f} MB/s  ({secs:.2f}s, {flagged} docs flagged)")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        items_path = work / "qa.jsonl"
        import json

        items_path.write_text(
            "".join(json.dumps({"text": it.text}) + "\n" for it in items if it.benchmark == "qa")
        )
        st_secs, st_removed = time_stage(docs, items_path, args.ngram, work)
        print(f"ours-stage  : {mb / st_secs:7.1f} MB/s  ({st_secs:.2f}s, {st_removed} docs removed)")

        sub, size = [], 0.0
        for t in docs:
            if size >= args.datatrove_mb * 1e6:
                break
            sub.append(t)
            size += len(t.encode("utf-8"))
        dt_secs, dt_flagged = time_datatrove(items, sub, args.ngram, work)
        dt_rate = size / 1e6 / dt_secs
        _, ours_sub = time_ours(scan_index, sub)
        print(
            f"datatrove   : {dt_rate:7.1f} MB/s  ({dt_secs:.2f}s on the first {size / 1e6:.1f} MB, "
            f"{dt_flagged} flagged; ours flags {ours_sub} there)"
        )
    print(f"ratio ours-scan / datatrove : {mb / secs / dt_rate:.1f}x")
    print(f"ratio ours-stage / datatrove: {mb / st_secs / dt_rate:.1f}x")
    target = "ok" if mb / secs >= 10 else "BELOW TARGET"
    print(f"target >= 10 MB/s per core with >= 10,000 items: {target}")


if __name__ == "__main__":
    main()
