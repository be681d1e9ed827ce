"""Ingest + quality filtering speed vs datatrove, filtering alone, and language-ID accuracy.

    .venv/bin/python bench/filter.py [EXTRA.warc.gz ...] [--workers 2]

On the sample crawl (built under data/sample if missing) plus any WARC files given:
  (a) ours       `llmcli curate run` of ingest (resiliparse) + filter (Gopher repetition, Gopher
                 quality, C4, FineWeb), Parquet out, `--workers` processes
  (b) datatrove  WarcReader -> Trafilatura -> GopherRepetition -> GopherQuality -> C4Quality ->
                 FineWebQuality -> JsonlWriter, LocalPipelineExecutor, same number of workers
Both read the same WARC files; docs/s counts WARC response records, MB/s the compressed WARC
bytes. Then the four filters alone on already-extracted text (one process each, datatrove's
chained the way its pipeline chains them), and fastText LID accuracy on the labelled pages.
Targets (issue 3): end to end >= 10x, filtering alone >= 3x, LID accuracy >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

# Run as a script, bench/ is sys.path[0]; bench/tokenize.py would then shadow the standard
# library's `tokenize` (imported by numpy via inspect). Import from the repository root instead.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import pyarrow.parquet as pq  # noqa: E402

from curate.filters import QUALITY_FAMILIES, DocView  # noqa: E402
from curate.filters.language import LanguageConfig, LanguageFilter  # noqa: E402
from curate.pipeline import load_pipeline  # noqa: E402
from curate.runner import Pipeline  # noqa: E402
from scripts.sample_crawl import LABELS_NAME, build_sample_crawl  # noqa: E402

FAMILIES = ["gopher_repetition", "gopher_quality", "c4", "fineweb"]  # FineWeb's order


def run_ours(warcs: list[Path], work: Path, workers: int) -> tuple[float, dict]:
    inputs = work / "in"
    (work / "p.yaml").write_text(
        textwrap.dedent(f"""
        name: bench
        workdir: {work / "run"}
        input: {{paths: ["{inputs}/*.warc.gz"], format: warc}}
        executor: {{type: local, workers: {workers}}}
        stages:
          - ingest: {{extractor: resiliparse}}
          - filter: {{quality: [{", ".join(FAMILIES)}]}}
    """)
    )
    start = time.perf_counter()
    report = Pipeline(load_pipeline(work / "p.yaml"), verbose=False).run()
    return time.perf_counter() - start, report


def run_datatrove(work: Path, workers: int, n_files: int) -> tuple[float, int]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(str(work / "in"), glob_pattern="*.warc.gz"),
            Trafilatura(favour_precision=True),
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            C4QualityFilter(),
            FineWebQualityFilter(),
            JsonlWriter(str(work / "dt_out")),
        ],
        tasks=n_files,
        workers=workers,
        logging_dir=str(work / "dt_logs"),
    )
    start = time.perf_counter()
    executor.run()
    seconds = time.perf_counter() - start
    kept = sum(1 for f in (work / "dt_out").glob("*.jsonl*") for _ in _jsonl_lines(f))
    return seconds, kept


def _jsonl_lines(path: Path):
    import gzip

    with gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as f:
        yield from f


def filters_alone(texts: list[str]) -> tuple[float, float, int, int]:
    """Seconds for ours and datatrove's four filters chained over the same texts; kept counts."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    ours = [QUALITY_FAMILIES[name][0]() for name in FAMILIES]
    start = time.perf_counter()
    kept_ours = 0
    for text in texts:
        view = DocView({"text": text})
        kept_ours += all(f.check(view) is None for f in ours)
    t_ours = time.perf_counter() - start

    theirs = [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()]
    start = time.perf_counter()
    kept_theirs = 0
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        kept_theirs += all(f.filter(doc) is True for f in theirs)
    t_theirs = time.perf_counter() - start
    return t_ours, t_theirs, kept_ours, kept_theirs


def lid_accuracy(docs: list[dict], labels: dict[str, dict]) -> tuple[float, int, Counter, Counter]:
    lid = LanguageFilter(LanguageConfig())
    right, total, wrong_by_kind, total_by_kind = 0, 0, Counter(), Counter()
    for doc in docs:
        label = labels.get(doc["url"])
        if not label or not label.get("lang"):
            continue
        lang, _ = lid.predict(doc["text"])
        total += 1
        total_by_kind[label["kind"]] += 1
        if lang == label["lang"]:
            right += 1
        else:
            wrong_by_kind[label["kind"]] += 1
    return right / max(total, 1), total, wrong_by_kind, total_by_kind


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("warcs", nargs="*", type=Path, help="extra WARC files (.warc.gz) to include")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample", type=Path, default=ROOT / "data" / "sample")
    ap.add_argument("--skip-datatrove-e2e", action="store_true", help="only the filter and LID figures")
    args = ap.parse_args()

    if not (args.sample / LABELS_NAME).exists():
        build_sample_crawl(args.sample)
    warcs = sorted(args.sample.glob("*.warc.gz")) + [p.resolve() for p in args.warcs]
    labels = {}
    for line in (args.sample / LABELS_NAME).read_text().splitlines():
        rec = json.loads(line)
        labels[rec["url"]] = rec

    work = Path(tempfile.mkdtemp(prefix="bench-filter-"))
    try:
        (work / "in").mkdir()
        for i, w in enumerate(warcs):  # one folder both tools read
            os.symlink(w, work / "in" / f"{i:04d}-{w.name}")
        mb = sum(w.stat().st_size for w in warcs) / 1e6
        print(
            f"input: {len(warcs)} WARC files, {mb:.1f} MB compressed; workers={args.workers}; cores={os.cpu_count()}"
        )

        t_total, report = run_ours(warcs, work, args.workers)
        ingest, filt = report["stages"]
        # The two stages' wall time (worker start-up included) is the ingest + filter work; the
        # rest of `curate run` renders the HTML report (matplotlib), which datatrove does not do.
        t_ours = ingest["wall_seconds"] + filt["wall_seconds"]
        records = ingest["docs_in"]
        print(
            f"(a) ours       {t_ours:7.2f} s  {records / t_ours:8.1f} docs/s  {mb / t_ours:6.2f} MB/s", end=""
        )
        print(f"  kept {filt['kept']}  (whole `curate run` incl. report rendering: {t_total:.2f} s)")
        if not args.skip_datatrove_e2e:
            t_dt, kept_dt = run_datatrove(work, args.workers, len(warcs))
            print(
                f"(b) datatrove  {t_dt:7.2f} s  {records / t_dt:8.1f} docs/s  {mb / t_dt:6.2f} MB/s  kept {kept_dt}"
            )
            print(f"end to end: ours is {t_dt / t_ours:.1f}x faster (target >= 10x); ", end="")
            print(f"{t_dt / t_total:.1f}x against the whole `curate run`")

        docs = []
        for part in sorted((work / "run" / "00_ingest").glob("part-*.parquet")):
            docs += pq.read_table(part, columns=["text", "url"]).to_pylist()
        texts = [d["text"] for d in docs]
        text_mb = sum(len(t.encode()) for t in texts) / 1e6
        t_o, t_t, k_o, k_t = filters_alone(texts)
        print(f"filters alone on {len(texts)} extracted docs ({text_mb:.1f} MB), one process:")
        print(
            f"  ours       {t_o:7.2f} s  {len(texts) / t_o:8.1f} docs/s  {text_mb / t_o:6.2f} MB/s  kept {k_o}"
        )
        print(
            f"  datatrove  {t_t:7.2f} s  {len(texts) / t_t:8.1f} docs/s  {text_mb / t_t:6.2f} MB/s  kept {k_t}"
        )
        print(f"filtering alone: ours is {t_t / t_o:.1f}x faster (target >= 3x)")

        acc, n, wrong, by_kind = lid_accuracy(docs, labels)
        detail = ", ".join(f"{k} {by_kind[k] - wrong[k]}/{by_kind[k]}" for k in sorted(by_kind))
        print(f"language ID accuracy: {acc:.4f} on {n} labelled pages (target >= 0.95); by kind: {detail}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
