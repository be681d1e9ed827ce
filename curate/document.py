"""The document record and its Parquet schema (CONTRACT.md: On disk).

A document travels between stages as a plain dict with the base columns below plus whatever
columns earlier stages added. Stages stream documents row group by row group, so no stage
holds a whole shard of text in Python objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# Base columns every stage's output carries. `text` is large_string: one 2 GB row group limit
# per column chunk is easy to hit with web pages otherwise.
BASE_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("text", pa.large_string()),
    pa.field("url", pa.string()),
    pa.field("domain", pa.string()),
    pa.field("source", pa.string()),
    pa.field("crawl_date", pa.string()),
    pa.field("lang", pa.string()),
    pa.field("lang_score", pa.float32()),
]
BASE_SCHEMA = pa.schema(BASE_FIELDS)

# Removed documents carry the stage's verdict; `duplicate_of` names the kept copy for dedup.
REMOVED_FIELDS: list[pa.Field] = [pa.field("reason", pa.string(), nullable=False)]

# Row groups of this many documents (or fewer, when ROW_GROUP_BYTES of text is reached first):
# small enough to stream, large enough that Parquet overhead stays negligible.
ROW_GROUP_DOCS = 2000
ROW_GROUP_BYTES = 64 << 20


def make_id(source: str, index: int) -> str:
    """A stable id from where the record came from: the same input gives the same id on every run."""
    return hashlib.blake2b(f"{source}\0{index}".encode(), digest_size=10).hexdigest()


def with_fields(schema: pa.Schema, fields: list[pa.Field]) -> pa.Schema:
    """`schema` plus `fields` (a field already present is replaced, keeping its position)."""
    for f in fields:
        i = schema.get_field_index(f.name)
        schema = schema.set(i, f) if i >= 0 else schema.append(f)
    return schema


def removed_schema(schema: pa.Schema, extra: list[pa.Field] | None = None) -> pa.Schema:
    return with_fields(schema, REMOVED_FIELDS + (extra or []))


def iter_documents(path: str | Path, columns: list[str] | None = None) -> Iterator[dict]:
    """Stream the rows of a Parquet shard as dicts, one row group at a time."""
    pf = pq.ParquetFile(path)
    for i in range(pf.num_row_groups):
        yield from pf.read_row_group(i, columns=columns).to_pylist()


class ShardWriter:
    """Writes documents (dicts or Arrow tables) to a Parquet file in bounded row groups.

    The file is created on the first row, so a writer given nothing leaves no file: a zero-row
    Parquet file is not a valid `datasets` shard. The caller writes to a temporary path and
    renames it into place when the shard is complete; this class only buffers and writes.
    """

    def __init__(self, path: str | Path, schema: pa.Schema) -> None:
        self.path = Path(path)
        self.schema = schema
        self.rows = 0
        self._buffer: list[dict] = []
        self._bytes = 0
        self._writer: pq.ParquetWriter | None = None

    def _file(self) -> pq.ParquetWriter:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.path, self.schema, compression="zstd", write_statistics=False
            )
        return self._writer

    def write(self, doc: dict) -> None:
        self._buffer.append(doc)
        self._bytes += len(doc.get("text") or "")
        if len(self._buffer) >= ROW_GROUP_DOCS or self._bytes >= ROW_GROUP_BYTES:
            self.flush()

    def write_table(self, table: pa.Table) -> None:
        """A whole row group at once (stages that split Arrow tables instead of documents)."""
        if table.num_rows:
            self.flush()
            self._file().write_table(
                table.select(self.schema.names).cast(self.schema), row_group_size=table.num_rows
            )
            self.rows += table.num_rows

    def flush(self) -> None:
        if not self._buffer:
            return
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        self._file().write_table(table, row_group_size=len(self._buffer))
        self.rows += len(self._buffer)
        self._buffer, self._bytes = [], 0

    def close(self) -> Path | None:
        """Finish the file; returns its path, or None when no row was written (and no file exists)."""
        self.flush()
        if self._writer is None:
            return None
        self._writer.close()
        return self.path

    def abort(self) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            self.path.unlink(missing_ok=True)
