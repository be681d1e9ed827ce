"""report.html in a real browser: headless Chromium renders it, and it shows report.json's funnel."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from curate.pipeline import load_pipeline
from curate.runner import Pipeline

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (the test setup runs `apt-get install -y chromium`)"
)


def chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", *args, url,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


class FunnelTable(HTMLParser):
    """The cell texts of the rows of <table class="funnel"> in the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_table = self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table" and ("class", "funnel") in attrs:
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag in ("td", "th"):
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_table and self._in_cell:
            self.rows[-1][-1] += data


def test_report_renders_in_chromium_with_the_funnel_numbers(pipeline_yaml: Path, tmp_path: Path) -> None:
    from PIL import Image

    pipeline = Pipeline(load_pipeline(pipeline_yaml), verbose=False)
    pipeline.run()
    workdir = pipeline.workdir
    page = workdir / "report.html"
    report = json.loads((workdir / "report.json").read_text())

    shot = tmp_path / "report.png"
    chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1280,2000")
    img = Image.open(shot).convert("RGB")
    assert img.size == (1280, 2000)
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, tables and plots, not a blank page
    white = sum(n for n, c in colours if c == (255, 255, 255))
    assert white < 0.97 * img.size[0] * img.size[1]
    # The plot colour is there: the SVG charts rendered, not only the text.
    assert any(c == (0x3B, 0x6E, 0xA5) for _, c in colours)

    dom = chromium(tmp_path, page.as_uri(), "--dump-dom").stdout
    parser = FunnelTable()
    parser.feed(dom)
    header, *rows = parser.rows
    assert header[:2] == ["step", "documents"]
    assert [r[0] for r in rows] == [f["step"] for f in report["funnel"]]
    assert [r[1] for r in rows] == [f"{f['docs']:,}" for f in report["funnel"]]
    assert [r[3] for r in rows] == [f"{f['removed']:,}" for f in report["funnel"]]
    assert "too_short" in dom and "00_ingest" in dom
