"""The run report: funnel, removals with examples, mix, each stage's summary, training curves, HTML."""

from __future__ import annotations

import json
import random
import re
import textwrap
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.pipeline import load_pipeline
from curate.report import removed_examples, write_report
from curate.runner import Pipeline
from tests.curate.test_decontaminate import humaneval
from tests.curate.test_dedup import doc_words, mutate
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
    # before: what went into the filter (kept + removed: language ID labels both); after: what it kept
    assert (before["stage"], after["stage"]) == ("01_filter", "01_filter")
    assert before["docs"] == filt["docs_in"] == ingest["kept"] and after["docs"] == filt["kept"]
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
    assert ex["rare"] == [{"id": "rare", "url": "u-rare", "snippet": "the only rare one", "lang": None}]
    assert ex["absent"] == []


def test_every_stage_summary_reaches_the_report_from_a_real_run(tmp_path: Path) -> None:
    """dedup (clusters of 3 and more), decontaminate, resample and tokenize, as each stage wrote them."""
    rng = random.Random(3)
    docs = [{"url": f"https://site{i % 3}.org/{i}", "text": " ".join(doc_words(rng))} for i in range(40)]
    words = docs[0]["text"].split()
    docs += [{"url": f"https://mirror{k}.example/x", "text": docs[0]["text"]} for k in range(3)]  # 4 copies
    docs += [
        {"url": f"https://near{k}.example/y", "text": " ".join(mutate(words[::-1], 2, rng))} for k in range(2)
    ]
    leak = humaneval("HumanEval/12")["prompt"]
    docs.append(
        {
            "url": "https://leak.example/he",
            "text": "Solutions below.\n" + leak + "\n" + " ".join(doc_words(rng, 80)),
        }
    )
    (tmp_path / "in").mkdir()
    for part in range(2):
        rows = docs[part::2]
        (tmp_path / "in" / f"p{part}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "p.yaml").write_text(
        textwrap.dedent(f"""
        name: summaries
        workdir: {tmp_path / "run"}
        input: {{paths: ["{tmp_path / "in"}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - dedup: {{exact: true, minhash: {{ngram: 5, bands: 14, rows: 8}}}}
          - decontaminate: {{benchmarks: [humaneval], ngram: 13, mode: drop}}
          - resample: {{key: domain, weights: {{"site0.org": 2.0, "*": 1.0}}, seed: 0}}
          - tokenize: {{vocab_size: 400, val_fraction: 0.1, test_fraction: 0.1}}
        """)
    )
    pipeline, report = run(tmp_path / "p.yaml")
    workdir = pipeline.workdir

    # dedup: the four copies are one cluster of the "3-4" bin; the reversed page and its two
    # near copies one of 3; the histogram counts every kept document's cluster
    dedup = report["dedup"]
    removed = Counter(r["reason"] for r in pq.read_table(workdir / "01_dedup" / "removed").to_pylist())
    assert dedup["exact_duplicates"] == removed["exact_duplicate"] == 3
    assert dedup["minhash_duplicates"] == removed["minhash_duplicate"] >= 1
    hist = dedup["cluster_size_histogram"]
    assert hist.get("3-4", 0) >= 1 and sum(hist.values()) == dedup["clusters"]
    assert dedup["clusters"] == read_kept(workdir / "01_dedup").num_rows
    lsh = dedup["lsh"]
    assert (lsh["bands"], lsh["rows"]) == (14, 8) and abs(lsh["estimate_floor"] - 0.5916) < 1e-3
    assert lsh["candidate_pairs"] >= dedup["minhash_duplicates"] and isinstance(lsh["below_floor_edges"], int)
    assert "MinHash-LSH" in (workdir / "report.html").read_text(encoding="utf-8")

    hits = {r["benchmark"]: r for r in report["contamination"]["benchmarks"]}["humaneval"]
    assert hits["docs_dropped"] == 1 and hits["items_contaminated"] == 1 and hits["items"] == 164
    assert hits["contaminated_item_ids"] == ["HumanEval/12"]

    shares = report["resample"]
    assert set(shares["shares_after"]) == set(shares["shares_before"]) >= {"site0.org", "site1.org"}
    assert shares["shares_after"]["site0.org"] > shares["shares_before"]["site0.org"]

    meta = json.loads((workdir / "tokens" / "meta.json").read_text())
    tokens = report["tokens"]
    assert tokens["tokens"] == meta["tokens"] and tokens["test_tokens"] == meta["test_tokens"] > 0
    assert tokens["vocab_size"] == meta["vocab_size"]
    assert report["funnel"][-1]["tokens"] == meta["tokens"]
    assert all(s["balanced"] for s in report["stages"])

    page = (workdir / "report.html").read_text()
    for text in (
        "Duplicate clusters",
        "3-4",
        "Contamination per benchmark",
        "HumanEval/12",
        "Resampling shares",
    ):
        assert text in page
    assert f"{meta['tokens']:,}" in page


def test_training_curves_in_the_report_and_the_run_folder(pipeline_yaml: Path, tmp_path: Path) -> None:
    pipeline, _ = run(pipeline_yaml)
    train_dir = tmp_path / "train_out"
    train_dir.mkdir()
    lines = [json.dumps({"step": s, "loss": 5.0 - 0.1 * s, "tok_s": 1000.0 + s}) for s in range(20)]
    lines.insert(10, json.dumps({"step": 10, "val_loss": 4.2}))
    lines.append(json.dumps({"step": 19, "val_loss": 3.4}))
    lines.append('{"step": 20, "lo')  # cut short by a kill
    (train_dir / "metrics.jsonl").write_text("\n".join(lines))
    held_out = {"split": "test", "step": 19, "tokens": 4096, "loss": 3.25, "ppl": 25.79, "bpb": 1.234,
                "by_domain": {"docs.example": {"tokens": 96, "loss": 3.5, "ppl": 33.1, "bpb": 1.3}}, "by_lang": {}}  # fmt: skip
    (train_dir / "eval_test.json").write_text(json.dumps(held_out))
    (train_dir / "eval_val.json").write_text('{"split": "val", "lo')  # cut short: passed over
    report = write_report(pipeline.cfg, train_dir=train_dir)
    assert [e["split"] for e in report["eval"]] == ["test"] and report["eval"][0]["bpb"] == 1.234
    page = (pipeline.workdir / "report.html").read_text()
    assert "Held-out evaluation" in page and "docs.example" in page and "1.234" in page
    tr = report["train"]
    assert tr["steps"] == 19 and len(tr["loss"]) == 20
    assert abs(tr["final_loss"] - 3.1) < 1e-9 and tr["final_val_loss"] == 3.4 and tr["best_val_loss"] == 3.4
    assert tr["mean_tok_s"] == 1009.5
    assert "Training (" in (pipeline.workdir / "report.html").read_text()


def test_a_plotting_failure_leaves_report_json(pipeline_yaml: Path, monkeypatch, capsys) -> None:
    pipeline, _ = run(pipeline_yaml)
    (pipeline.workdir / "report.html").unlink()

    def broken(report: dict) -> str:
        raise RuntimeError("no fonts")

    monkeypatch.setattr("curate.report_html.render_html", broken)
    report = write_report(pipeline.cfg)
    assert json.loads((pipeline.workdir / "report.json").read_text())["funnel"] == report["funnel"]
    assert not (pipeline.workdir / "report.html").exists()
    assert "report.html not written: RuntimeError: no fonts" in capsys.readouterr().err


def test_funnel_estimates_tokens_before_the_tokenizer_from_its_tokens_per_char() -> None:
    from curate.report import funnel

    def stage(d: str, kept: int, chars: int, tokens: int | None) -> dict:
        name = d.split("_", 1)[1]
        summary = {"tokens": tokens} if tokens is not None else None
        return {"dir": d, "stage": name, "kept": kept, "removed": 100 - kept, "errors": 0, "docs_in": 100,
                "chars_out": chars, "summary": summary}  # fmt: skip

    stages = [
        stage("00_ingest", 100, 40_000, None),
        stage("01_filter", 80, 30_000, None),
        stage("02_tokenize", 80, 30_000, 7_500),
    ]
    rows = funnel(stages)
    assert [r["tokens"] for r in rows] == [None, 10_000, 7_500, 7_500]
    assert [r.get("tokens_estimated") for r in rows] == [False, True, True, False]


def test_chinese_and_japanese_in_the_report(tmp_path: Path) -> None:
    """The mix before filtering has the languages language ID found; CJK examples carry lang=."""
    from scripts.sample_cjk_text import JA_SENTENCES, ZH_SENTENCES

    rows = [
        {"url": f"https://zh.example.cn/{i}", "text": "".join(ZH_SENTENCES[i : i + 6])}
        for i in range(0, 30, 6)
    ]
    rows += [
        {"url": f"https://ja.example.jp/{i}", "text": "".join(JA_SENTENCES[i : i + 6])}
        for i in range(0, 30, 6)
    ]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (tmp_path / "p.yaml").write_text(
        textwrap.dedent(f"""
        name: cjk
        workdir: {tmp_path / "run"}
        input: {{paths: ["{tmp_path / "in"}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - filter: {{language: {{keep: [zh], min_score: 0.5}}}}
        """)
    )
    _, report = run(tmp_path / "p.yaml")
    assert report["mix"]["before"]["lang"] == {"zh": 5, "ja": 5} and report["mix"]["after"]["lang"] == {
        "zh": 5
    }
    examples = report["removals"]["01_filter"]["language_not_kept"]["examples"]
    assert examples and {e["lang"] for e in examples} == {"ja"}
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert '<div class="snip" lang="ja">' in page and examples[0]["snippet"][:20] in page
