"""The sample crawl's Chinese and Japanese pages through filter, dedup and decontaminate.

scripts/sample_cjk.py plants them: documentation pages, copies with 1% of their Han/Kana
characters changed, keyword-stuffed spam, and pages quoting a Chinese benchmark with half-width
punctuation and spaces inserted. Each must meet its fate, by its label.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.pipeline import load_pipeline
from curate.runner import Pipeline

CJK_HOSTS = ("docs.kaiyuan-shouce.cn", "www.linux-zhinan.com.cn", "manual.oss-techmemo.jp")


def _rows(stage_dir: Path, removed: bool) -> list[dict]:
    d = stage_dir / "removed" if removed else stage_dir
    out = []
    for part in sorted(d.glob("part-*.parquet")):
        out += pq.read_table(part).to_pylist()
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, sample_crawl_dir: Path) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("cjk")
    (root / "p.yaml").write_text(
        textwrap.dedent(f"""
        name: cjk
        workdir: {root / "run"}
        input: {{paths: ["{sample_crawl_dir}/*.warc.gz"], format: warc}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: resiliparse}}
          - filter:
              min_chars: 200
              language: {{keep: [zh, ja, en], min_score: 0.65}}
              quality: [gopher_repetition, gopher_quality, c4, fineweb]
          - dedup: {{exact: true, minhash: {{ngram: 5, bands: 14, rows: 8}}}}
          - decontaminate:
              benchmarks: [{{path: "{sample_crawl_dir}/zh-bench.jsonl", fields: [question, choices]}}]
              cjk_ngram: 20
    """)
    )
    Pipeline(load_pipeline(root / "p.yaml"), verbose=False).run()
    labels = {}
    for line in (sample_crawl_dir / "labels.jsonl").open(encoding="utf-8"):
        r = json.loads(line)
        if r["domain"] in CJK_HOSTS:
            labels[r["url"]] = r
    return root / "run", labels


def _fate(run_dir: Path, stage: str) -> dict[str, str | None]:
    (d,) = run_dir.glob(f"*_{stage}")
    fate = {r["url"]: None for r in _rows(d, removed=False)}
    fate.update({r["url"]: r["reason"] for r in _rows(d, removed=True)})
    return fate


def test_chinese_and_japanese_pages_meet_their_fate(run: tuple[Path, dict]) -> None:
    run_dir, labels = run
    kinds = Counter(r["kind"] for r in labels.values())
    assert (
        kinds["good"] >= 50
        and kinds["near_duplicate"] >= 8
        and kinds["spam"] >= 5
        and kinds["zh_benchmark"] >= 4
    )
    filt, dedup, decon = (_fate(run_dir, s) for s in ("filter", "dedup", "decontaminate"))
    goods = [u for u, r in labels.items() if r["kind"] == "good"]
    # Language ID and the per-language quality rules keep the documentation pages.
    kept = [u for u in goods if filt.get(u, "missing") is None]
    assert len(kept) >= 0.9 * len(goods), Counter(filt.get(u) for u in goods)
    assert all(filt[u] is not None for u, r in labels.items() if r["kind"] == "spam")
    # Of a page and its copy with 1% of the characters changed, one goes as a near duplicate
    # (the later one in crawl order).
    for url, r in labels.items():
        if r["kind"] == "near_duplicate" and filt.get(url) is None and filt.get(r["source"]) is None:
            pair = sorted(str(dedup[u]) for u in (url, r["source"]))
            assert pair == ["None", "minhash_duplicate"], (url, pair)
    # Each page quoting the benchmark is caught; no clean page is flagged.
    for url, r in labels.items():
        if r["kind"] == "zh_benchmark":
            assert filt[url] is None and decon[url] == "contaminated:zh-bench", (url, decon.get(url))
    assert not [u for u in kept if (decon.get(u) or "").startswith("contaminated")]
