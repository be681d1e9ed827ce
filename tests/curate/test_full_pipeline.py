"""pipelines/web.yaml's stages, end to end on the sample crawl: CONTRACT layout, balanced counts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from curate.tokenization.shards import list_shards, read_header

REPO = Path(__file__).resolve().parents[2]


def test_web_pipeline_on_the_sample_crawl(tmp_path: Path, sample_crawl_dir: Path) -> None:
    spec = yaml.safe_load((REPO / "pipelines" / "web.yaml").read_text())
    spec["workdir"] = str(tmp_path / "run")
    spec["input"]["paths"] = [f"{sample_crawl_dir}/*.warc.gz"]
    spec["executor"] = {"type": "local", "workers": 2}
    spec["allow_outside_paths"] = True
    for stage in spec["stages"]:
        if "tokenize" in stage:  # a vocabulary the ~1 MB sample can fill, and some validation text
            stage["tokenize"].update(vocab_size=2048, val_fraction=0.05)
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(spec))
    Pipeline(load_pipeline(tmp_path / "web.yaml"), verbose=False).run()

    run = tmp_path / "run"
    report = json.loads((run / "report.json").read_text())
    names = [s["stage"] for s in report["stages"]]
    assert names == ["ingest", "pii", "filter", "dedup", "decontaminate", "resample", "tokenize"]
    previous_kept = None
    for s in report["stages"]:
        d = run / s["dir"]
        kept = sum(pq.read_metadata(p).num_rows for p in d.glob("part-*.parquet"))
        removed_files = sorted((d / "removed").glob("part-*.parquet"))
        removed = sum(pq.read_metadata(p).num_rows for p in removed_files)
        assert (kept, removed) == (s["kept"], s["removed"]), s["dir"]
        assert s["docs_in"] + s.get("copies", 0) == kept + removed, f"{s['dir']} does not balance"
        assert s["balanced"]
        if previous_kept is not None:
            assert s["docs_in"] == previous_kept  # each stage reads exactly what the last one kept
        previous_kept = kept
        for p in removed_files:
            reasons = pq.read_table(p, columns=["reason"]).column("reason").to_pylist()
            assert all(r and r == r.strip() and " " not in r for r in reasons)
        assert json.loads((d / "_manifest.json").read_text())["complete"]

    by_stage = {s["stage"]: s for s in report["stages"]}
    # the sample crawl plants what each stage must catch
    assert by_stage["ingest"]["reasons"].get("non_html_content", 0) > 0
    assert by_stage["filter"]["reasons"].get("language_not_kept", 0) > 0
    assert by_stage["dedup"]["reasons"].get("exact_duplicate", 0) > 0
    assert by_stage["dedup"]["reasons"].get("minhash_duplicate", 0) > 0
    # token shards: headers sum to what the index records
    tokens = run / "tokens"
    index = pq.read_table(tokens / "index.parquet")
    for split in ("train", "val"):
        shards = list_shards(tokens, split)
        assert shards
        header_total = sum(read_header(p).num_tokens for p in shards)
        rows = [r for r in index.to_pylist() if r["split"] == split]
        assert header_total == sum(r["length"] + 1 for r in rows)  # + one end-of-text per document
    assert index.num_rows == by_stage["tokenize"]["kept"]
    # the index carries each document's domain and language (CONTRACT), for eval per domain / language
    kept_files = sorted((run / by_stage["tokenize"]["dir"]).glob("part-*.parquet"))
    docs = [d for p in kept_files for d in pq.read_table(p, columns=["id", "domain", "lang"]).to_pylist()]
    want = {d["id"]: (d["domain"], d["lang"]) for d in docs}
    got = {r["id"]: (r["domain"], r["lang"]) for r in index.to_pylist()}
    assert got == want and {lang for _, lang in got.values()} == {"en"}

    # Every Parquet file of the run loads with Hugging Face `datasets`, as the CONTRACT promises:
    # a zero-row file would fail it ("BatchSize must be greater than 0"), so none is written.
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # local files only: nothing from the hub
    import datasets

    datasets.disable_progress_bars()
    files = sorted(
        p for p in run.rglob("*.parquet") if not any(x.startswith("_") for x in p.relative_to(run).parts)
    )
    groups: dict[Path, list[str]] = {}
    for p in files:
        groups.setdefault(p.parent, []).append(str(p))
    assert len(files) > 20 and run / "tokens" in groups and run / "00_ingest" / "removed" in groups
    for folder, paths in groups.items():
        ds = datasets.load_dataset("parquet", data_files=paths, split="train", cache_dir=str(tmp_path / "hf"))
        assert len(ds) == sum(pq.read_metadata(p).num_rows for p in paths) > 0, folder
