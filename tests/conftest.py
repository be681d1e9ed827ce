from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.warcs import small_crawl


@pytest.fixture
def crawl(tmp_path: Path) -> list[Path]:
    return small_crawl(tmp_path / "crawl")


@pytest.fixture
def pipeline_yaml(tmp_path: Path, crawl: list[Path]) -> Path:
    path = tmp_path / "web.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: test
        workdir: {tmp_path / "run"}
        input: {{paths: ["{tmp_path / "crawl"}/*.warc.gz"], format: warc}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: resiliparse}}
          - filter: {{min_chars: 100}}
    """)
    )
    return path


@pytest.fixture(scope="session")
def sample_crawl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's sample crawl, built once per test session (CI has no data/sample)."""
    from scripts.sample_crawl import build_sample_crawl

    out = tmp_path_factory.mktemp("sample") / "crawl"
    build_sample_crawl(out)
    return out
