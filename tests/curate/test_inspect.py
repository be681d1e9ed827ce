"""`llmcli curate inspect`: sample removed documents per stage and reason."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from cli import main
from curate.pipeline import load_pipeline
from curate.runner import Pipeline


def inspect(*args: str):
    return CliRunner().invoke(main, ["curate", "inspect", *args])


def removed_rows(pipeline_yaml: Path, stage_dir: str) -> list[dict]:
    workdir = load_pipeline(pipeline_yaml).workdir_path
    return pq.read_table(workdir / stage_dir / "removed").to_pylist()


def test_lists_reasons_with_counts(pipeline_yaml: Path) -> None:
    Pipeline(load_pipeline(pipeline_yaml), verbose=False).run()
    rows = removed_rows(pipeline_yaml, "00_ingest")
    result = inspect(str(pipeline_yaml), "--stage", "ingest")
    assert result.exit_code == 0, result.output
    assert f"00_ingest: {len(rows)} removed documents" in result.output
    for reason in {r["reason"] for r in rows}:
        n = sum(1 for r in rows if r["reason"] == reason)
        assert any(line.split() == [reason, str(n)] for line in result.output.splitlines())


def test_prints_n_documents_of_one_reason(pipeline_yaml: Path) -> None:
    Pipeline(load_pipeline(pipeline_yaml), verbose=False).run()
    rows = [r for r in removed_rows(pipeline_yaml, "01_filter") if r["reason"] == "too_short"]
    assert len(rows) > 2
    result = inspect(str(pipeline_yaml), "--stage", "01_filter", "--reason", "too_short", "-n", "2")
    assert result.exit_code == 0, result.output
    shown = [line for line in result.output.splitlines() if line.startswith("[")]
    assert len(shown) == 2
    by_id = {r["id"]: r for r in rows}
    for line in shown:
        doc = by_id[line.split()[2]]
        assert doc["url"] in line
        assert " ".join(doc["text"].split())[:15] in result.output  # whitespace collapsed
    assert result.output.count("reason: too_short") == 2

    everything = inspect(str(pipeline_yaml), "--stage", "filter", "--reason", "too_short", "-n", "1000")
    assert sum(1 for line in everything.output.splitlines() if line.startswith("[")) == len(rows)


def test_long_text_is_cut(pipeline_yaml: Path, tmp_path: Path) -> None:
    Pipeline(load_pipeline(pipeline_yaml, ["filter.min_chars=100000"]), verbose=False).run()
    result = inspect(
        str(pipeline_yaml),
        "--set",
        "filter.min_chars=100000",
        "--stage",
        "filter",
        "--reason",
        "too_short",
        "-n",
        "1",
        "--chars",
        "40",
    )
    assert result.exit_code == 0, result.output
    body = result.output.splitlines()[-1].strip()
    assert len(body) == 40 and body.endswith("…")


def test_unknown_stage_reason_and_stage_not_run(pipeline_yaml: Path) -> None:
    result = inspect(str(pipeline_yaml), "--stage", "filter")
    assert result.exit_code != 0 and "has not run yet" in result.output
    Pipeline(load_pipeline(pipeline_yaml), verbose=False).run()
    result = inspect(str(pipeline_yaml), "--stage", "dedup")
    assert result.exit_code != 0
    assert "not in this pipeline; stages: ingest, filter" in result.output
    result = inspect(str(pipeline_yaml), "--stage", "filter", "--reason", "gopher_nope")
    assert result.exit_code != 0
    assert result.output.strip().endswith("reasons: too_short")
    assert len(result.output.strip().splitlines()) == 1
