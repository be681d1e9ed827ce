"""The stage runner: CONTRACT layout, balanced counts, resume after SIGKILL, staleness."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.pipeline import load_pipeline
from curate.runner import Pipeline, StageFailed
from tests.warcs import small_crawl

REPO = Path(__file__).resolve().parents[2]


def write_config(
    path: Path, workdir: Path, inputs: str, workers: int = 1, min_chars: int = 100, fmt: str = "warc"
) -> Path:
    path.write_text(
        textwrap.dedent(f"""
        name: test
        workdir: {workdir}
        input: {{paths: ["{inputs}"], format: {fmt}}}
        executor: {{type: local, workers: {workers}}}
        stages:
          - ingest: {{extractor: resiliparse}}
          - filter: {{min_chars: {min_chars}}}
    """)
    )
    return path


def output_digests(workdir: Path) -> dict[str, str]:
    """Checksums of every shard file (manifests hold timings, so they are left out)."""
    return {
        str(p.relative_to(workdir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(workdir.rglob("*.parquet"))
    }


def rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def test_run_writes_contract_layout_and_counts_balance(pipeline_yaml: Path, tmp_path: Path) -> None:
    report = Pipeline(load_pipeline(pipeline_yaml)).run()
    run = tmp_path / "run"
    for stage_dir in ("00_ingest", "01_filter"):
        manifest = json.loads((run / stage_dir / "_manifest.json").read_text())
        assert manifest["complete"] and manifest["num_shards"] == 3
        for name, entry in manifest["shards"].items():
            kept = rows(run / stage_dir / f"{name}.parquet")
            removed = rows(run / stage_dir / "removed" / f"{name}.parquet")
            stats = entry["stats"]
            assert stats["docs_in"] == stats["kept"] + stats["removed"]
            assert (len(kept), len(removed)) == (stats["kept"], stats["removed"])
            assert entry["files"][f"{name}.parquet"]["rows"] == len(kept)
            assert all(r["reason"] for r in removed)
            assert {"id", "text", "url", "domain", "source", "lang", "lang_score"} <= set(kept[0])
    ingest, filt = report["stages"]
    # 12 pages + one 404 + one PNG per file: every response record is accounted for.
    assert ingest["docs_in"] == 3 * 14
    assert ingest["reasons"] == {"http_404": 3, "non_html_content": 3}
    assert filt["docs_in"] == ingest["kept"]
    assert filt["reasons"]["too_short"] > 0 and filt["kept"] > 0
    assert (run / "report.json").exists() and (run / "config.yaml").exists()
    # ids are stable across stages: every kept filter doc has the same id upstream
    ingest_ids = {r["id"] for r in rows(run / "00_ingest" / "part-00000.parquet")}
    assert {r["id"] for r in rows(run / "01_filter" / "part-00000.parquet")} <= ingest_ids


def test_rerun_skips_complete_shards(pipeline_yaml: Path, tmp_path: Path) -> None:
    Pipeline(load_pipeline(pipeline_yaml)).run()
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("part-*.parquet")}
    Pipeline(load_pipeline(pipeline_yaml)).run()
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("part-*.parquet")}
    assert before == after


def test_changed_stage_config_recomputes_that_stage_and_later_only(
    pipeline_yaml: Path, tmp_path: Path
) -> None:
    Pipeline(load_pipeline(pipeline_yaml)).run()
    run = tmp_path / "run"
    ingest_mtimes = {p: p.stat().st_mtime_ns for p in (run / "00_ingest").rglob("*.parquet")}
    kept_before = sum(len(rows(p)) for p in (run / "01_filter").glob("part-*.parquet"))
    statuses = Pipeline(load_pipeline(pipeline_yaml, ["filter.min_chars=1000"]), verbose=False).status()
    assert [s["state"] for s in statuses] == ["done", "stale"]
    Pipeline(load_pipeline(pipeline_yaml, ["filter.min_chars=1000"])).run()
    assert ingest_mtimes == {p: p.stat().st_mtime_ns for p in (run / "00_ingest").rglob("*.parquet")}
    kept_after = sum(len(rows(p)) for p in (run / "01_filter").glob("part-*.parquet"))
    assert kept_after < kept_before
    statuses = Pipeline(load_pipeline(pipeline_yaml, ["filter.min_chars=1000"]), verbose=False).status()
    assert [s["state"] for s in statuses] == ["done", "done"]


def test_parallel_workers_give_identical_outputs(tmp_path: Path) -> None:
    small_crawl(tmp_path / "crawl", files=4)
    digests = []
    for workers in (1, 2):
        cfg = write_config(
            tmp_path / f"w{workers}.yaml",
            tmp_path / f"run{workers}",
            f"{tmp_path}/crawl/*.warc.gz",
            workers=workers,
        )
        Pipeline(load_pipeline(cfg)).run()
        digests.append(output_digests(tmp_path / f"run{workers}"))
    assert digests[0] == digests[1] and len(digests[0]) == 16


def _run_cli(cfg: Path, fault: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("LLMCLI_FAULT", None)
    if fault:
        env["LLMCLI_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "cli", "curate", "run", str(cfg)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "fault", ["doc:7", "doc:60", "shard_renamed:2", "shard_recorded:1", "shard_recorded:4"]
)
def test_sigkill_then_rerun_is_byte_identical(tmp_path: Path, fault: str) -> None:
    small_crawl(tmp_path / "crawl", files=3, pages_per_file=20)
    inputs = f"{tmp_path}/crawl/*.warc.gz"
    clean = write_config(tmp_path / "clean.yaml", tmp_path / "clean", inputs)
    assert _run_cli(clean).returncode == 0
    cfg = write_config(tmp_path / "killed.yaml", tmp_path / "killed", inputs)
    killed = _run_cli(cfg, fault)
    assert killed.returncode == -9, killed.stderr  # the fault point was reached and killed the run
    resumed = _run_cli(cfg)
    assert resumed.returncode == 0, resumed.stderr
    assert output_digests(tmp_path / "killed") == output_digests(tmp_path / "clean")
    assert not list((tmp_path / "killed").rglob("*.tmp-*"))


def test_sigkill_of_a_worker_fails_that_shard_and_rerun_completes(tmp_path: Path) -> None:
    small_crawl(tmp_path / "crawl", files=4)
    inputs = f"{tmp_path}/crawl/*.warc.gz"
    clean = write_config(tmp_path / "clean.yaml", tmp_path / "clean", inputs, workers=2)
    assert _run_cli(clean).returncode == 0
    cfg = write_config(tmp_path / "killed.yaml", tmp_path / "killed", inputs, workers=2)
    killed = _run_cli(cfg, "doc:5")  # each spawned worker counts on its own: both die on their first shard
    assert killed.returncode == 1
    assert "worker process died" in killed.stderr and "part-0000" in killed.stderr
    assert _run_cli(cfg).returncode == 0
    assert output_digests(tmp_path / "killed") == output_digests(tmp_path / "clean")


def test_bad_shard_fails_by_name_and_others_finish(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good = data / "a.jsonl"
    good.write_text(
        "\n".join(json.dumps({"text": "word " * 50, "url": f"https://x.org/{i}"}) for i in range(5))
    )
    (data / "b.parquet").write_bytes(b"PAR1 this is not parquet")
    cfg = write_config(tmp_path / "p.yaml", tmp_path / "run", f"{data}/*", fmt="jsonl")
    cfg.write_text(
        cfg.read_text().replace("format: jsonl", "format: parquet").replace(f"{data}/*", f"{data}/*.parquet")
    )
    with pytest.raises(StageFailed, match="part-00000"):
        Pipeline(load_pipeline(cfg)).run()
    # the JSONL file alone runs fine and counts balance
    cfg2 = write_config(tmp_path / "j.yaml", tmp_path / "run2", str(good), fmt="jsonl", min_chars=10)
    report = Pipeline(load_pipeline(cfg2)).run()
    assert [s["kept"] for s in report["stages"]] == [5, 5]


def test_jsonl_errors_are_counted_with_line_numbers(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"text": "hello world " * 20}),
        "{broken json",
        json.dumps({"nottext": 1}),
        json.dumps({"text": "more words here " * 20}),
    ]
    src.write_text("\n".join(lines) + "\n")
    cfg = write_config(tmp_path / "j.yaml", tmp_path / "run", str(src), fmt="jsonl", min_chars=10)
    ingest = Pipeline(load_pipeline(cfg)).run()["stages"][0]
    assert (ingest["kept"], ingest["errors"]) == (2, 2)
    assert any("in.jsonl:2" in m for m in ingest["error_messages"])
