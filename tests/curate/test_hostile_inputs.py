"""Hostile inputs are refused or contained: gzip bombs, planted secrets."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from tests.curate.test_runner import write_config
from tests.warcs import PARAGRAPHS, html_page, warc_record

REPO = Path(__file__).resolve().parents[2]


def gzip_bomb_record(i: int, decompressed_mb: int) -> bytes:
    """A WARC response whose HTML body is `decompressed_mb` MB of spaces but only ~KB on disk."""
    body_len = decompressed_mb << 20
    http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {body_len}\r\n\r\n".encode()
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{i:08d}-0000-4000-8000-000000000000>\r\n"
        f"WARC-Target-URI: https://bomb.example.org/\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http) + body_len}\r\n\r\n"
    ).encode()
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [comp.compress(head + http)]
    chunk = b" " * (1 << 20)
    for _ in range(decompressed_mb):
        parts.append(comp.compress(chunk))
    parts.append(comp.compress(b"\r\n\r\n") + comp.flush())
    return b"".join(parts)


def test_gzip_bomb_is_too_large_and_memory_stays_bounded(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    page = html_page("Fine", PARAGRAPHS[:3]).encode()
    bomb = gzip_bomb_record(1, decompressed_mb=400)
    assert len(bomb) < 2 << 20  # 400 MB that fits in under 2 MB
    (d / "bomb.warc.gz").write_bytes(warc_record(0, "https://ok.example.org/", page) + bomb)
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        name: bomb
        workdir: {tmp_path / "run"}
        input: {{paths: ["{d}/*.warc.gz"], format: warc}}
        executor: {{workers: 1}}
        stages:
          - ingest: {{max_record_bytes: 5000000}}
    """)
    )
    # Run in a fresh process so its peak RSS is the run's own.
    code = (
        "import sys; from cli import main\n"
        "try:\n    main([sys.argv[1], sys.argv[2], sys.argv[3]])\nexcept SystemExit: pass\n"
        # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over fork + exec, so it would
        # report the (large) pytest process that started this one.
        "print('MAXRSS', [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "curate", "run", str(cfg)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rss_mb = int(out.stdout.split("MAXRSS")[1]) / 1024
    assert rss_mb < 350, f"peak RSS {rss_mb:.0f} MB: the bomb was loaded whole"
    report = Pipeline(load_pipeline(cfg), verbose=False).status()
    assert report[0]["state"] == "done" and report[0]["kept"] == 1 and report[0]["removed"] == 1


def test_planted_secret_never_reaches_outputs(tmp_path: Path) -> None:
    import fsspec

    secret = "planted-secret-8c1f"
    url_dir = f"memory://AKIAEXAMPLE:{secret}@bucket-{tmp_path.name}"
    with fsspec.open(f"{url_dir}/crawl.warc.gz", "wb") as f:
        f.write(warc_record(0, "https://ok.example.org/a", html_page("A", PARAGRAPHS[:3]).encode()))
    cfg = write_config(tmp_path / "p.yaml", tmp_path / "run", f"{url_dir}/*.warc.gz", min_chars=10)
    report = Pipeline(load_pipeline(cfg)).run()
    assert report["stages"][0]["kept"] == 1
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".parquet":
                import pyarrow.parquet as pq

                data = str(pq.read_table(path).to_pylist()).encode()
            assert secret.encode() not in data, f"secret leaked into {path}"


def test_deeply_nested_page_is_skipped_as_extract_timeout(tmp_path: Path) -> None:
    """20,000 nested divs take resiliparse ~30 s to extract; the page is refused in milliseconds."""
    d = tmp_path / "in"
    d.mkdir()
    depth = 20_000
    hostile = ("<html><body>" + "<div><p>word " * depth + "</p></div>" * depth + "</body></html>").encode()
    fine = html_page("Fine", PARAGRAPHS[:3]).encode()
    (d / "deep.warc.gz").write_bytes(
        warc_record(0, "https://ok.example.org/", fine) + warc_record(1, "https://deep.example.org/", hostile)
    )
    cfg = write_config(tmp_path / "p.yaml", tmp_path / "run", f"{d}/*.warc.gz")
    start = time.monotonic()
    Pipeline(load_pipeline(cfg), verbose=False).run()
    assert time.monotonic() - start < 20
    stage = Pipeline(load_pipeline(cfg), verbose=False).status()[0]
    assert stage["kept"] == 1 and stage["removed"] == 1
    removed = pq.read_table(tmp_path / "run" / "00_ingest" / "removed" / "part-00000.parquet").to_pylist()
    assert [(r["url"], r["reason"]) for r in removed] == [("https://deep.example.org/", "extract_timeout")]


def test_slow_python_extraction_is_cut_at_the_budget(monkeypatch) -> None:
    import curate.extract as extract

    def spin(html: str, extractor: str = "trafilatura") -> str:
        while True:  # a pathological page in a pure-Python extractor
            pass

    monkeypatch.setattr(extract, "extract_text", spin)
    start = time.monotonic()
    with pytest.raises(extract.ExtractTimeout):
        extract.extract_with_budget("<html></html>", "trafilatura", 0.3)
    assert time.monotonic() - start < 2
    # the timer is disarmed afterwards: a normal call is not interrupted later
    monkeypatch.setattr(extract, "extract_text", lambda html, extractor: "ok")
    assert extract.extract_with_budget("<p>x</p>", "resiliparse", 0.05) == "ok"
    time.sleep(0.1)
