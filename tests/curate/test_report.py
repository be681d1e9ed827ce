"""The run report: funnel, removals with examples, mix, stage extras, training curves, HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.config import load_pipeline
from curate.manifest import Manifest
from curate.report import removed_examples, write_report, write_training_plots
from curate.runner import Pipeline
from tests.warcs import html_page, warc_record, write_warc


def run(pipeline_yaml: Path) -> tuple[Pipeline, dict]:
    pipeline = Pipeline(load_pipeline(pipeline_yaml), verbose=False)
    return pipeline, pipeline.run()


def read_kept(stage_dir: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted(stage_dir.glob("part-*.parquet")))


def test_report_json_funnel_removals_and_mix_match_the_shards(pipeline_yaml: Path) -> None:
    pipeline, report = run(pipeline_yaml)
    workdir = pipeline.workdir
    on_disk = json.loads((workdir / "report.json").read_text())
    assert on_disk["funnel"] == report["funnel"]

    ingest, filt = report["stages"]
    steps = [r["step"] for r in report["funnel"]]
    assert steps == ["input", "00_ingest", "01_filter"]
    docs = [r["docs"] for r in report["funnel"]]
    assert docs == [ingest["docs_in"], ingest["kept"], filt["kept"]]
    assert docs[2] == read_kept(workdir / "01_filter").num_rows
    assert docs[0] > docs[1] > docs[2]  # the small crawl has 404s, non-HTML and short pages

    # Every reason the manifests count is in the report, with real removed documents as examples.
    removed = pq.read_table(workdir / "01_filter" / "removed").to_pylist()
    too_short = report["removals"]["01_filter"]["too_short"]
    assert too_short["count"] == sum(1 for d in removed if d["reason"] == "too_short") > 0
    ids = {d["id"] for d in removed if d["reason"] == "too_short"}
    assert too_short["examples"] and all(e["id"] in ids for e in too_short["examples"])
    assert all(len(e["snippet"]) < 100 for e in too_short["examples"])  # min_chars: 100
    assert set(report["removals"]["00_ingest"]) == set(ingest["reasons"])

    before, after = report["mix"]["before"], report["mix"]["after"]
    assert (before["stage"], after["stage"]) == ("00_ingest", "01_filter")
    assert before["docs"] == ingest["kept"] and after["docs"] == filt["kept"]
    assert sum(after["lang"].values()) == after["docs"]
    assert sum(after["domain_top"].values()) + after["domain_other"] == after["docs"]
    assert after["chars"] == sum(len(t) for t in read_kept(workdir / "01_filter").column("text").to_pylist())
    assert report["config"]["stages"][1]["filter"]["min_chars"] == 100  # the resolved config


def test_report_html_is_self_contained_and_shows_the_funnel(pipeline_yaml: Path) -> None:
    pipeline, report = run(pipeline_yaml)
    page = (pipeline.workdir / "report.html").read_text()
    assert page.count("<svg") >= 3  # funnel, removals, mix, timings
    # No network: no scripts, stylesheets, images or fonts fetched from anywhere.
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\((?!#)", page, re.I)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    table = page[page.index('<table class="funnel">') :]
    table = table[: table.index("</table>")]
    for row in report["funnel"]:
        assert f'<td>{row["step"]}</td><td class="n">{row["docs"]:,}</td>' in table
    for example in report["removals"]["01_filter"]["too_short"]["examples"]:
        assert example["url"] in page


def test_snippets_are_escaped(tmp_path: Path, pipeline_yaml: Path) -> None:
    hostile = html_page("x", ["&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold"])
    write_warc(
        tmp_path / "crawl" / "hostile.warc.gz", [warc_record(999, "https://evil.test/a", hostile.encode())]
    )
    pipeline, report = run(pipeline_yaml)
    snippets = [e["snippet"] for e in report["removals"]["01_filter"]["too_short"]["examples"]]
    snippets += [
        e["snippet"] for e in removed_examples(pipeline.workdir / "01_filter", ["too_short"], 99)["too_short"]
    ]
    assert any("<script>alert(1)</script>" in s for s in snippets)
    page = (pipeline.workdir / "report.html").read_text()
    assert "<script>alert" not in page


def test_removed_examples_reads_only_what_it_needs(tmp_path: Path) -> None:
    stage_dir = tmp_path / "03_dedup"
    (stage_dir / "removed").mkdir(parents=True)
    rows = [{"id": f"d{i}", "url": f"u{i}", "text": f"text {i}", "reason": "common"} for i in range(50)]
    rows.append({"id": "rare", "url": "u-rare", "text": "the only rare one", "reason": "rare"})
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, stage_dir / "removed" / "part-00000.parquet", row_group_size=7)
    ex = removed_examples(stage_dir, ["common", "rare", "absent"], per_reason=2)
    assert [e["id"] for e in ex["common"]] == ["d0", "d1"]
    assert ex["rare"] == [{"id": "rare", "url": "u-rare", "snippet": "the only rare one"}]
    assert ex["absent"] == []


def test_stage_extras_are_read_from_finalize_stats(pipeline_yaml: Path) -> None:
    """Dedup, contamination, resample and token statistics, as later stages record them."""
    pipeline, _ = run(pipeline_yaml)
    stage_dir = pipeline.workdir / "01_filter"
    m = Manifest.load(stage_dir)
    m.steps["finalize"]["stats"] = {
        "cluster_size_histogram": {"1": 25, "2": 3, "5": 1},
        "benchmarks": {"humaneval": {"docs_removed": 2, "ngrams": 1640}, "mmlu": {"docs_removed": 0}},
        "shares_before": {"a.com": 0.7, "b.org": 0.3},
        "shares_after": {"a.com": 0.5, "b.org": 0.5},
        "train_tokens": 1200,
        "val_tokens": 34,
        "something_new": {"nested": [1, 2]},
    }
    m.save(stage_dir)
    report = write_report(pipeline)
    assert report["dedup"] == {"stage": "01_filter", "cluster_size_histogram": {"1": 25, "2": 3, "5": 1}}
    rows = {r["benchmark"]: r for r in report["contamination"]["benchmarks"]}
    assert rows["humaneval"]["docs_removed"] == 2 and rows["mmlu"]["docs_removed"] == 0
    assert report["resample"]["shares_after"]["b.org"] == 0.5
    assert report["tokens"]["train_tokens"] == 1200
    assert report["funnel"][-1]["tokens"] == 1234
    page = (pipeline.workdir / "report.html").read_text()
    for text in (
        "Duplicate clusters",
        "Contamination per benchmark",
        "humaneval",
        "1,640",
        "Resampling shares",
        "something_new",
        "1,234",
    ):
        assert text in page


def test_training_curves_in_the_report_and_the_run_folder(pipeline_yaml: Path, tmp_path: Path) -> None:
    pipeline, _ = run(pipeline_yaml)
    train_dir = tmp_path / "train_out"
    train_dir.mkdir()
    lines = [json.dumps({"step": s, "loss": 5.0 - 0.1 * s, "tok_s": 1000.0 + s}) for s in range(20)]
    lines.insert(10, json.dumps({"step": 10, "val_loss": 4.2}))
    lines.append(json.dumps({"step": 19, "val_loss": 3.4}))
    lines.append('{"step": 20, "lo')  # cut short by a kill
    (train_dir / "metrics.jsonl").write_text("\n".join(lines))
    report = write_report(pipeline, train_dir=train_dir)
    tr = report["train"]
    assert tr["steps"] == 19 and len(tr["loss"]) == 20
    assert abs(tr["final_loss"] - 3.1) < 1e-9 and tr["final_val_loss"] == 3.4 and tr["best_val_loss"] == 3.4
    assert tr["mean_tok_s"] == 1009.5
    assert "Training (" in (pipeline.workdir / "report.html").read_text()
    svg = write_training_plots(train_dir)
    assert svg == train_dir / "curves.svg" and "val loss" in svg.read_text()
    assert write_training_plots(tmp_path) is None  # no metrics.jsonl there


def test_a_plotting_failure_leaves_report_json(pipeline_yaml: Path, monkeypatch, capsys) -> None:
    pipeline, _ = run(pipeline_yaml)
    (pipeline.workdir / "report.html").unlink()

    def broken(report: dict) -> str:
        raise RuntimeError("no fonts")

    monkeypatch.setattr("curate.report_html.render_html", broken)
    report = write_report(pipeline)
    assert json.loads((pipeline.workdir / "report.json").read_text())["funnel"] == report["funnel"]
    assert not (pipeline.workdir / "report.html").exists()
    assert "report.html not written: RuntimeError: no fonts" in capsys.readouterr().err


def test_funnel_estimates_tokens_before_the_tokenizer_from_its_tokens_per_char() -> None:
    from curate.report import funnel

    def stage(d: str, kept: int, chars: int, extra: dict) -> dict:
        return {"dir": d, "docs_in": 100, "kept": kept, "removed": 100 - kept, "errors": 0}, chars, extra

    stages = []
    for d, kept, chars, extra in (
        ("00_ingest", 100, 40_000, {}),
        ("01_filter", 80, 30_000, {}),
        ("02_tokenize", 80, 30_000, {"tokens": 7_500}),
    ):
        s, c, e = stage(d, kept, chars, extra)
        stages.append({**s, "bytes_out": c, "extra": e})
    rows = funnel(stages)
    assert [r["tokens"] for r in rows] == [None, 10_000, 7_500, 7_500]
    assert [r.get("tokens_estimated") for r in rows] == [False, True, True, False]
