"""Input readers: WARC / WET / JSONL(.gz/.zst) / Parquet / plain text -> raw records.

A reader yields `RawRecord`s and reports what it could not read through `stats.error(...)`
with the file and offset, then goes on: one broken record or a truncated gzip member never
loses the records before it.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from curate.inputs import open_input
from curate.stage import ShardStats


@dataclass
class RawRecord:
    """One input record before extraction. `payload` is bytes (HTML) or str (already text)."""

    index: int  # position within its file: with the file it makes a stable id
    offset: int | None
    url: str | None
    payload: bytes | str
    content_type: str | None = None  # 'text/html', 'text/plain', ... (None: not HTTP)
    charset: str | None = None  # from the HTTP header
    status: int | None = None  # HTTP status
    date: str | None = None
    record_id: str | None = None
    fields: dict | None = None  # extra columns from JSONL / Parquet inputs
    too_large: bool = False


def _open_decompressed(path: str):
    f = open_input(path)
    name = path.lower()
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=f)
    if name.endswith(".zst") or name.endswith(".zstd"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True)
    return f


# --------------------------------------------------------------------------- WARC / WET


def read_warc(path: str, stats: ShardStats, max_bytes: int, wet: bool = False) -> Iterator[RawRecord]:
    """Response (WARC) or conversion (WET) records, with the HTTP status/type/charset parsed."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    kind = WarcRecordType.conversion if wet else WarcRecordType.response
    name = Path(path).name
    held: RawRecord | None = None  # one record of look-ahead: the last one may be truncated
    index = 0
    try:
        stream = open_input(path)
        for rec in ArchiveIterator(stream, record_types=kind, parse_http=not wet):
            declared = rec.content_length
            body = rec.reader.read(max_bytes + 1)
            raw = RawRecord(
                index=index,
                offset=rec.stream_pos,
                url=rec.headers.get("WARC-Target-URI"),
                payload=body,
                record_id=rec.record_id,
                date=rec.headers.get("WARC-Date"),
            )
            index += 1
            if len(body) > max_bytes:
                raw.too_large = True
                raw.payload = b""
            elif len(body) < declared:
                stats.error(f"{name} @ {rec.stream_pos}: record cut short ({len(body)} of {declared} bytes)")
                continue
            if wet:
                raw.content_type = "text/plain"
            else:
                http = rec.http_headers
                raw.status = http.status_code if http is not None else None
                raw.content_type = rec.http_content_type
                raw.charset = rec.http_charset
                if raw.status is None:
                    stats.error(f"{name} @ {rec.stream_pos}: unparseable HTTP header")
                    continue
            if held is not None:
                yield held
            held = raw
    except (OSError, ValueError, EOFError) as e:
        stats.error(f"{name}: unreadable after record {index}: {e}")
    if held is not None:
        if path.lower().endswith(".gz") and held.offset is not None and _member_truncated(path, held.offset):
            stats.error(f"{name} @ {held.offset}: truncated gzip member")
        else:
            yield held


def _member_truncated(path: str, offset: int) -> bool:
    """Does the gzip member starting at `offset` end before its trailer (a cut-off download)?"""
    with open_input(path) as f:
        f.seek(offset)
        d = zlib.decompressobj(31)
        while not d.eof:
            # Output is capped per call (a gzip bomb expands 1000:1); what zlib could not consume
            # yet comes back as unconsumed_tail and is fed again before reading more.
            chunk = d.unconsumed_tail or f.read(1 << 16)
            if not chunk:
                return True
            try:
                d.decompress(chunk, 1 << 20)
            except zlib.error:
                return True
    return False


# --------------------------------------------------------------------------- JSONL / Parquet / text


def _bounded_lines(f, max_bytes: int) -> Iterator[bytes | None]:
    """Lines of a binary stream; a line over `max_bytes` comes out as None, read past in chunks."""
    while True:
        line = f.readline(max_bytes + 1)
        if not line:
            return
        if len(line) <= max_bytes or line.endswith(b"\n"):
            yield line
            continue
        while not line.endswith(b"\n"):
            line = f.readline(1 << 20)
            if not line:
                break
        yield None


def read_jsonl(path: str, stats: ShardStats, text_key: str, max_bytes: int) -> Iterator[RawRecord]:
    name = Path(path).name
    lineno = 0
    try:
        with _open_decompressed(path) as f:
            reader = io.BufferedReader(f) if not hasattr(f, "readline") else f
            for lineno, line in enumerate(_bounded_lines(reader, max_bytes), 1):
                if line is None:  # longer than max_bytes: skipped in chunks, never held whole
                    yield RawRecord(lineno - 1, None, None, "", fields={}, too_large=True)
                    continue
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except (ValueError, UnicodeDecodeError) as e:
                    stats.error(f"{name}:{lineno}: invalid JSON ({str(e)[:80]})")
                    continue
                if not isinstance(obj, dict) or not isinstance(obj.get(text_key), str):
                    stats.error(f"{name}:{lineno}: no string field {text_key!r}")
                    continue
                text = obj.pop(text_key)
                yield RawRecord(lineno - 1, None, obj.get("url"), text, fields=obj)
    except (OSError, EOFError, zlib.error) as e:
        stats.error(f"{name}: unreadable after line {lineno}: {e}")


def read_parquet(path: str, stats: ShardStats, text_key: str) -> Iterator[RawRecord]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = Path(path).name
    with open_input(path) as f:
        try:
            pf = pq.ParquetFile(f)
        except (pa.ArrowException, OSError) as e:
            raise ValueError(f"{name}: not a readable Parquet file ({e})") from None
        if text_key not in pf.schema_arrow.names:
            raise ValueError(f"{name}: no {text_key!r} column (columns: {', '.join(pf.schema_arrow.names)})")
        if not pa.types.is_string(pf.schema_arrow.field(text_key).type) and not pa.types.is_large_string(
            pf.schema_arrow.field(text_key).type
        ):
            raise ValueError(
                f"{name}: column {text_key!r} is {pf.schema_arrow.field(text_key).type}, not string"
            )
        index = 0
        for rg in range(pf.num_row_groups):
            for row in pf.read_row_group(rg).to_pylist():
                text = row.pop(text_key)
                if text is None:
                    stats.error(f"{name}: row {index}: null {text_key!r}")
                else:
                    yield RawRecord(index, None, row.get("url"), text, fields=row)
                index += 1


def read_text(path: str, stats: ShardStats, max_bytes: int) -> Iterator[RawRecord]:
    """A plain-text file is one document."""
    with _open_decompressed(path) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        yield RawRecord(0, 0, None, "", too_large=True)
        return
    yield RawRecord(0, 0, None, data, content_type="text/plain")
