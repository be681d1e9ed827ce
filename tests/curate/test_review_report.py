"""Review of the report: a stage left stale by a config change is marked, not counted as current."""

from __future__ import annotations

from pathlib import Path

from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from tests.curate.test_discard import config, write_inputs


def test_a_stale_stage_is_marked_and_left_out_of_the_funnel(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path)
    cfg = config(tmp_path, inp)
    Pipeline(load_pipeline(cfg, ["pii.discard_raw=false"]), verbose=False).run()
    # only pii reruns, with another config: filter's manifest is from the old pii outputs
    changed = load_pipeline(cfg, ["pii.discard_raw=false", "pii.email=drop"])
    report = Pipeline(changed, verbose=False).run(only_stage="pii")
    states = {s["dir"]: s["state"] for s in report["stages"]}
    assert states == {"00_ingest": "done", "01_pii": "done", "02_filter": "stale"}
    assert [r["step"] for r in report["funnel"]] == ["input", "00_ingest", "01_pii"]
    assert "02_filter" not in report["removals"] and report["mix"]["after"]["stage"] == "01_pii"
    assert "stale" in (tmp_path / "run" / "report.html").read_text()
