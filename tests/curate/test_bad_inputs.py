"""A corpus of bad inputs: each gives one clear line, nothing corrupted, counts that balance."""

from __future__ import annotations

import errno
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.pipeline import load_pipeline
from curate.runner import Pipeline, StageFailed
from tests.curate.test_runner import output_digests, write_config
from tests.warcs import PARAGRAPHS, html_page, small_crawl, warc_record, write_warc


def run(tmp_path: Path, inputs: str, fmt: str = "warc", name: str = "run") -> dict:
    cfg = write_config(tmp_path / f"{name}.yaml", tmp_path / name, inputs, fmt=fmt, min_chars=10)
    return Pipeline(load_pipeline(cfg)).run()


def good_records(n: int, start: int = 0) -> list[bytes]:
    page = html_page("A page", PARAGRAPHS[:3]).encode()
    return [warc_record(start + i, f"https://good.example.org/{start + i}", page) for i in range(n)]


def test_zero_byte_and_garbage_files_do_not_stop_good_ones(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    write_warc(d / "a-good.warc.gz", good_records(4))
    (d / "b-empty.warc.gz").write_bytes(b"")
    (d / "c-garbage.warc.gz").write_bytes(bytes(range(256)) * 40)
    ingest = run(tmp_path, f"{d}/*.warc.gz")["stages"][0]
    assert ingest["kept"] == 4
    assert ingest["docs_in"] == ingest["kept"] + ingest["removed"]


def test_truncated_gzip_keeps_records_before_the_cut(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    data = b"".join(good_records(6))
    (d / "cut.warc.gz").write_bytes(data[: int(len(data) * 0.75)])
    ingest = run(tmp_path, f"{d}/*.warc.gz")["stages"][0]
    assert ingest["kept"] == 4  # records 0-3 are whole; record 4 is cut
    assert ingest["errors"] == 1
    assert any("cut.warc.gz @" in m for m in ingest["error_messages"])


def test_lying_content_length(tmp_path: Path) -> None:
    recs = good_records(3)
    # The middle record claims more bytes than it has: its WARC block swallows nothing else since
    # each record is its own gzip member, so it is read short and counted as an error.
    head, _, rest = gzip.decompress(recs[1]).partition(b"Content-Length: ")
    length, _, tail = rest.partition(b"\r\n")
    lying = gzip.compress(
        head + b"Content-Length: " + str(int(length) + 500).encode() + b"\r\n" + tail, mtime=0
    )
    d = tmp_path / "in"
    d.mkdir()
    write_warc(d / "lie.warc.gz", [recs[0], lying, recs[2]])
    ingest = run(tmp_path, f"{d}/*.warc.gz")["stages"][0]
    assert ingest["kept"] >= 1 and ingest["kept"] + ingest["errors"] + ingest["removed"] >= 2
    assert ingest["docs_in"] == ingest["kept"] + ingest["removed"]


def test_non_utf8_jsonl_lines_are_errors_with_line_numbers(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    good = json.dumps({"text": "a perfectly fine line of text"}).encode()
    src.write_bytes(b"\n".join([good, b'{"text": "caf\xe9 latin-1 bytes"}', good]) + b"\n")
    ingest = run(tmp_path, str(src), fmt="jsonl")["stages"][0]
    assert (ingest["kept"], ingest["errors"]) == (2, 1)
    assert any("in.jsonl:2" in m for m in ingest["error_messages"])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"body": ["x", "y"]}), "no 'text' column"),
        (pa.table({"text": [1, 2]}), "column 'text' is int64, not string"),
    ],
)
def test_parquet_without_usable_text_fails_that_shard_by_name(
    tmp_path: Path, table: pa.Table, message: str
) -> None:
    d = tmp_path / "in"
    d.mkdir()
    pq.write_table(pa.table({"text": ["fine text here", "more fine text"]}), d / "a.parquet")
    pq.write_table(table, d / "b.parquet")
    with pytest.raises(StageFailed, match="part-00001"):
        run(tmp_path, f"{d}/*.parquet", fmt="parquet")
    manifest = json.loads((tmp_path / "run" / "00_ingest" / "_manifest.json").read_text())
    assert set(manifest["shards"]) == {"part-00000"}  # the good shard finished and is recorded


def test_huge_record_is_counted_too_large_not_loaded(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    big = ("<html><body><p>" + "word " * 400_000 + "</p></body></html>").encode()  # 2 MB
    write_warc(d / "big.warc.gz", [*good_records(2), warc_record(99, "https://big.example.org/", big)])
    cfg = write_config(tmp_path / "p.yaml", tmp_path / "run", f"{d}/*.warc.gz", min_chars=10)
    report = Pipeline(load_pipeline(cfg, ["ingest.max_record_bytes=1000000"])).run()
    assert report["stages"][0]["reasons"] == {"too_large": 1}
    assert report["stages"][0]["kept"] == 2


def test_failing_write_fails_the_shard_and_rerun_is_identical(tmp_path: Path, monkeypatch) -> None:
    small_crawl(tmp_path / "crawl", files=3)
    inputs = f"{tmp_path}/crawl/*.warc.gz"
    clean = write_config(tmp_path / "clean.yaml", tmp_path / "clean", inputs)
    Pipeline(load_pipeline(clean)).run()

    import curate.document

    real_flush = curate.document.ShardWriter.flush

    def disk_full_on_shard_1(self):
        if "part-00001" in self.path.name and self._buffer:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_flush(self)

    monkeypatch.setattr(curate.document.ShardWriter, "flush", disk_full_on_shard_1)
    cfg = write_config(tmp_path / "full.yaml", tmp_path / "full", inputs)
    with pytest.raises(StageFailed, match="part-00001"):
        Pipeline(load_pipeline(cfg)).run()
    assert not list((tmp_path / "full").rglob("*.tmp-*"))  # no half-written file left behind
    manifest = json.loads((tmp_path / "full" / "00_ingest" / "_manifest.json").read_text())
    assert set(manifest["shards"]) == {"part-00000", "part-00002"}
    monkeypatch.setattr(curate.document.ShardWriter, "flush", real_flush)
    Pipeline(load_pipeline(cfg)).run()
    assert output_digests(tmp_path / "full") == output_digests(tmp_path / "clean")


def test_huge_jsonl_line_is_too_large_and_never_read_whole(tmp_path: Path) -> None:
    """A 30 MB line between good ones: counted too_large; no single read exceeds the limit."""
    import io

    from curate.readers import _bounded_lines

    ok = json.dumps({"text": "fine " * 50, "url": "https://a.example.org/"}).encode() + b"\n"
    huge = json.dumps({"text": "x" * (30 << 20)}).encode() + b"\n"
    data = ok + huge + ok

    class Spy(io.BytesIO):
        biggest = 0

        def readline(self, size: int = -1) -> bytes:
            line = super().readline(size)
            Spy.biggest = max(Spy.biggest, len(line))
            return line

    lines = list(_bounded_lines(Spy(data), max_bytes=1_000_000))
    assert lines == [ok, None, ok]
    assert Spy.biggest <= 1 << 20  # read in bounded pieces, never the 30 MB line at once

    src = tmp_path / "in.jsonl"
    src.write_bytes(data)
    cfg = write_config(tmp_path / "p.yaml", tmp_path / "run", str(src), fmt="jsonl", min_chars=10)
    report = Pipeline(load_pipeline(cfg, ["ingest.max_record_bytes=1000000"])).run()
    ingest = report["stages"][0]
    assert (ingest["kept"], ingest["reasons"]) == (2, {"too_large": 1})
