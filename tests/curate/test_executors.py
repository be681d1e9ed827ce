"""The Ray executor produces exactly what the local executor does (a local Ray on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.manifest import Manifest
from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from tests.curate.test_runner import output_digests, write_config
from tests.warcs import small_crawl

ray = pytest.importorskip("ray")


def test_ray_executor_matches_local(tmp_path: Path) -> None:
    small_crawl(tmp_path / "crawl", files=4)
    inputs = f"{tmp_path}/crawl/*.warc.gz"
    local = write_config(tmp_path / "local.yaml", tmp_path / "local", inputs, workers=2)
    Pipeline(load_pipeline(local)).run()
    distributed = write_config(tmp_path / "ray.yaml", tmp_path / "ray", inputs, workers=2)
    distributed.write_text(distributed.read_text().replace("type: local", "type: ray"))
    report = Pipeline(load_pipeline(distributed)).run()
    assert not ray.is_initialized()  # the executor shut down the instance it started
    assert output_digests(tmp_path / "ray") == output_digests(tmp_path / "local")
    assert len(output_digests(tmp_path / "ray")) == 16
    assert all(s["docs_in"] == s["kept"] + s["removed"] for s in report["stages"])


def test_ray_dedup_runs_its_global_steps_as_tasks_and_matches_local(tmp_path: Path, monkeypatch) -> None:
    """Buckets, pairs and component rounds run as Ray tasks (several node partitions here)."""
    from curate.stages import dedup as dedup_stage
    from tests.curate.test_dedup import corpus, rows, run

    docs, copies = corpus(seed=8, distinct=90)
    local = run(tmp_path, docs, "{}", workers=2, name="local")
    monkeypatch.setattr(dedup_stage, "DOCS_PER_PARTITION", 9)
    calls = []
    real = dedup_stage.components

    def spy(initial, n, parts, root, map_fn):
        calls.append(getattr(map_fn, "__self__", None))
        return real(initial, n, parts, root, map_fn)

    monkeypatch.setattr(dedup_stage, "components", spy)
    distributed = run(tmp_path, docs, "{}", workers=2, name="ray", executor="ray")
    assert not ray.is_initialized()
    assert calls[0].distributed  # the runner's map, which sends every task of a ray run to Ray
    summary = Manifest.load(distributed).steps["finalize"]["summary"]
    assert summary["partitions"] == 14
    assert summary["minhash_duplicates"] + summary["exact_duplicates"] == len(copies)
    for removed in (False, True):  # the same rows; `source` names each run's own input folder
        got = [
            [{k: v for k, v in r.items() if k != "source"} for r in rows(d, removed)]
            for d in (local, distributed)
        ]
        assert got[0] == got[1]
