"""The Ray executor produces exactly what the local executor does (a local Ray on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.config import load_pipeline
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
