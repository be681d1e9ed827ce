"""Encode Parquet documents into token streams and pack them into llm.c shards.

Used by the `tokenize` stage and by `llmcli tokenize` alike, in two passes:

encode (one input Parquet shard at a time, row group by row group, so memory stays flat):
    each document becomes `[EOT] + tokens(text)`, appended to the part's train or val stream
    (`<part>.train.tok`, `<part>.val.tok`: raw little-endian tokens, no header) by a hash of
    (seed, id); `<part>.docs.parquet` lists id, split, row and text-token length per document.
pack (all parts in order): the streams are cut into `train_XXXXXX.bin` / `val_XXXXXX.bin`
    shards (CONTRACT: llm.c header) of at most `shard_tokens` tokens, never inside a document
    (a document longer than a shard gets a shard of its own), and `index.parquet` gives each
    document's split, shard, offset and length of its text tokens (its EOT is at offset - 1).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from tokenizers import Tokenizer

from curate.faults import fault_point
from curate.manifest import atomic_write_text
from curate.tokenization.bpe import EOT, load_tokenizer
from curate.tokenization.chunks import ChunkEncoder
from curate.tokenization.shards import TokenShardWriter, token_dtype

SPLITS = ("train", "val", "test")  # the int8 codes 0, 1, 2 in the docs tables
DOCS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("split", pa.int8()),  # 0 train, 1 val, 2 test
        pa.field("row", pa.int64()),  # row in the input shard
        pa.field("length", pa.int64()),  # text tokens, the EOT before them not counted
        pa.field("domain", pa.string()),  # for eval per domain and language (null without the column)
        pa.field("lang", pa.string()),
    ]
)
INDEX_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("split", pa.string()),
        pa.field("shard", pa.int32()),
        pa.field("offset", pa.int64()),
        pa.field("length", pa.int64()),
        pa.field("domain", pa.string()),
        pa.field("lang", pa.string()),
    ]
)
META_COLUMNS = ("domain", "lang")  # carried from the documents into the index when they have them
COPY_CHUNK = 1 << 24  # tokens copied per write while packing
READ_ROWS = 512  # documents read and encoded at a time


def split_codes(ids: list[str], seed: int, val_fraction: float, test_fraction: float = 0.0) -> np.ndarray:
    """Each document's split (0 train, 1 val, 2 test) from a hash of (seed, id), stable across runs.

    val takes the hashes below `val_fraction * 2**64` and test the band just above it, so adding a
    test split leaves every val document where it was.
    """
    codes = np.zeros(len(ids), np.int8)
    if val_fraction <= 0 and test_fraction <= 0:
        return codes
    h = np.fromiter((xxhash.xxh64_intdigest(i, seed=seed) for i in ids), np.uint64, len(ids))
    val_cut = np.uint64(min(int(val_fraction * 2**64), 2**64 - 1))
    test_cut = np.uint64(min(int((val_fraction + test_fraction) * 2**64), 2**64 - 1))
    codes[h < test_cut] = 2
    codes[h < val_cut] = 1
    return codes


@dataclass
class PartResult:
    """What encoding one input shard wrote (temp paths) and counted."""

    files: dict[str, Path]  # suffix (train.tok, val.tok, docs.parquet) -> temp path
    docs: int
    empty_rows: list[int]  # rows whose text encodes to no token
    tokens: dict[str, int]  # split -> tokens written, EOTs included
    chars: int


def _batches(path: str | Path) -> Iterator[tuple[list[str], list[str | None], pa.Table]]:
    """(ids, texts, domain/lang table) per READ_ROWS documents, read one batch ahead in a thread
    so reading overlaps encoding (and the first texts are there before a whole row group is)."""
    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    has_id = "id" in names
    meta_cols = [c for c in META_COLUMNS if c in names]
    name = Path(path).name

    def read() -> Iterator[tuple[list[str], list[str | None], pa.Table]]:
        start = 0
        columns = (["id"] if has_id else []) + ["text"] + meta_cols
        # One thread: Arrow's pool would cost more to start (~0.2 s) than it saves on columns
        # decoded a batch at a time, and its threads hold memory of their own.
        for batch in pf.iter_batches(batch_size=READ_ROWS, columns=columns, use_threads=False):
            texts = batch.column("text").to_pylist()
            ids = (
                batch.column("id").to_pylist()
                if has_id
                else [f"{name}:{start + i}" for i in range(len(texts))]
            )
            meta = pa.table(
                {
                    c: _as_string(batch.column(c)) if c in meta_cols else pa.nulls(len(texts), pa.string())
                    for c in META_COLUMNS
                }
            )
            start += len(texts)
            yield ids, texts, meta

    q: Queue = Queue(maxsize=1)

    def producer() -> None:
        try:
            for item in read():
                q.put(item)
        except BaseException as e:  # handed to the consumer, which re-raises it
            q.put(e)
            return
        q.put(None)

    t = threading.Thread(target=producer, daemon=True)
    t.start()
    while (item := q.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item
    t.join()


_encoders = threading.local()


def _encoder(tok: Tokenizer, dtype: np.dtype) -> ChunkEncoder:
    """The ids of `tok.encode` with special tokens as text, by a ChunkEncoder kept across calls.

    One per thread and tokenizer (the same object, as load_tokenizer gives for one file, or the
    same content): its chunk cache, which is what makes it fast, then outlives a single input
    file. Only another object is serialised to compare contents (~20 ms each for a 32k BPE).
    """
    last = getattr(_encoders, "last", None)
    if last is not None and last.dtype == dtype and (last.tok is tok or last.tok.to_str() == tok.to_str()):
        return last
    _encoders.last = ChunkEncoder(tok, dtype)
    return _encoders.last


def encode_part(
    tok: Tokenizer,
    eot: int,
    path: str | Path,
    prefix: Path,
    seed: int,
    val_fraction: float,
    test_fraction: float = 0.0,
) -> PartResult:
    """Encode one Parquet shard into `<prefix>.{train,val,test}.tok` and `<prefix>.docs.parquet` (temp names)."""
    dtype = token_dtype(tok.get_vocab_size())
    encoder = _encoder(tok, dtype)
    eot_bytes = np.array([eot], dtype).tobytes()
    tag = f".tmp-{os.getpid()}"
    files = {
        s: prefix.with_name(f"{prefix.name}.{s}{tag}")
        for s in (*(f"{x}.tok" for x in SPLITS), "docs.parquet")
    }
    prefix.parent.mkdir(parents=True, exist_ok=True)
    outs = {s: open(files[f"{s}.tok"], "wb") for s in SPLITS}
    docs = pq.ParquetWriter(files["docs.parquet"], DOCS_SCHEMA, compression="zstd")
    result = PartResult(files, 0, [], {s: 0 for s in SPLITS}, 0)
    row = 0
    read: deque = deque()  # batches the encoder has taken, not yet written

    def texts_read() -> Iterator[list[str]]:
        for ids, texts, meta in _batches(path):
            read.append((ids, [t or "" for t in texts], meta))
            yield read[-1][1]

    try:
        # Per document, its ids as the bytes of a `dtype` array; batch by batch, in order.
        with contextlib.closing(encoder.encode_stream(texts_read())) as stream:  # its thread ends with it
            for tokens in stream:
                ids, texts, meta = read.popleft()
                lens = np.fromiter(map(len, tokens), np.int64, len(tokens)) // dtype.itemsize
                keep = lens > 0
                result.empty_rows.extend((row + np.flatnonzero(~keep)).tolist())
                result.chars += sum(map(len, texts))
                kept_ids = [i for i, k in zip(ids, keep) if k]
                kept_tokens = [t for t, k in zip(tokens, keep) if k]
                codes = split_codes(kept_ids, seed, val_fraction, test_fraction)
                code_list = codes.tolist()
                for code, split in enumerate(SPLITS):
                    data = _with_eots([t for t, c in zip(kept_tokens, code_list) if c == code], eot_bytes)
                    outs[split].write(data)
                    result.tokens[split] += len(data) // dtype.itemsize
                docs.write_table(
                    pa.table(
                        {
                            "id": _arrow_strings(kept_ids),
                            "split": _arrow(codes),
                            "row": _arrow(row + np.flatnonzero(keep)),
                            "length": _arrow(lens[keep]),
                            **{
                                c: meta.column(c) if keep.all() else meta.column(c).filter(_arrow(keep))
                                for c in META_COLUMNS
                            },
                        },
                        schema=DOCS_SCHEMA,
                    )
                )
                result.docs += len(kept_ids)
                row += len(texts)
        for f in outs.values():
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        for f in outs.values():
            f.close()
        docs.close()
        for p in files.values():
            p.unlink(missing_ok=True)
        raise
    for f in outs.values():
        f.close()
    docs.close()
    return result


def _arrow(a: np.ndarray) -> pa.Array:
    """A numpy array of numbers or booleans as an Arrow array, by its buffer.

    Not `pa.array`: any conversion of Python or numpy objects makes pyarrow import pandas
    (~0.2-0.4 s, a tenth of `llmcli tokenize` on a few MB of text); building from buffers does not.
    """
    a = np.asarray(a)
    if a.dtype == np.bool_:
        data = np.packbits(a, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(a), [None, pa.py_buffer(data)])
    a = np.ascontiguousarray(a)
    return pa.Array.from_buffers(pa.from_numpy_dtype(a.dtype), len(a), [None, pa.py_buffer(a)])


def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    """A column of numbers without nulls as numpy, by its buffer (`to_numpy` imports pandas)."""
    a = column.combine_chunks()
    if a.null_count or not pa.types.is_integer(a.type):
        return a.to_numpy(zero_copy_only=False)
    dtype = np.dtype(f"{'i' if pa.types.is_signed_integer(a.type) else 'u'}{a.type.bit_width // 8}")
    if not len(a):
        return np.zeros(0, dtype)
    return np.frombuffer(a.buffers()[1], dtype, a.offset + len(a))[a.offset :]


def _names(codes: np.ndarray, names: Sequence[str]) -> pa.Array:
    """names[code] for each code as an Arrow string array, built from buffers (decoding a
    dictionary array would import pyarrow.compute, ~40 ms of every `llmcli tokenize`)."""
    encoded = [n.encode("utf-8") for n in names]
    width = max(map(len, encoded), default=0)
    table = np.zeros((len(names), width), np.uint8)  # each name's bytes, padded
    for i, b in enumerate(encoded):
        table[i, : len(b)] = np.frombuffer(b, np.uint8)
    valid = np.arange(width) < np.array([len(b) for b in encoded])[:, None]
    codes = np.asarray(codes, np.intp)
    offsets = np.zeros(len(codes) + 1, np.int64)
    np.cumsum(valid.sum(axis=1)[codes], out=offsets[1:])
    data = table[codes][valid[codes]].tobytes()  # row by row: the names end to end
    kind, offsets = (
        (pa.large_string(), offsets) if offsets[-1] >= 2**31 else (pa.string(), offsets.astype(np.int32))
    )
    out = pa.Array.from_buffers(kind, len(codes), [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return out if kind == pa.string() else out.cast(pa.string())


def _as_string(column: pa.Array) -> pa.Array:
    """The column as strings; casting (pyarrow.compute, ~40 ms to import) only when it is not."""
    return column if column.type == pa.string() else column.cast(pa.string())


def _arrow_strings(strings: Sequence[str]) -> pa.Array:
    """Python strings as an Arrow string array, by its buffers (see _arrow)."""
    data = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(data) + 1, np.int64)
    np.cumsum([len(b) for b in data], out=offsets[1:])
    if offsets[-1] >= 2**31:
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
        return pa.Array.from_buffers(pa.large_string(), len(data), buffers).cast(pa.string())
    buffers = [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(data))]
    return pa.Array.from_buffers(pa.string(), len(data), buffers)


def _with_eots(docs: list[bytes], eot: bytes) -> bytes:
    """The documents' tokens in one buffer, an EOT before each."""
    return eot + eot.join(docs) if docs else b""


# --------------------------------------------------------------------------- pack


def cut_points(ends: np.ndarray, shard_tokens: int) -> list[int]:
    """Shard boundaries (token positions) over documents ending at `ends`: greedy, never mid-document."""
    cuts, start, total = [0], 0, int(ends[-1]) if len(ends) else 0
    while start < total:
        k = int(np.searchsorted(ends, start + shard_tokens, side="right")) - 1
        if k < 0 or ends[k] <= start:  # the next document alone is longer than a shard
            k = int(np.searchsorted(ends, start, side="right"))
        start = int(ends[k])
        cuts.append(start)
    return cuts


def pack(
    parts: list[Path], out_dir: Path, tokenizer_path: Path, shard_tokens: int, eot_token: str = EOT
) -> dict:
    """Pack the encoded parts (prefixes, in order) into shards, the index and meta.json under `out_dir`.

    Everything is written to a temp directory first and then moved in, so a killed pack leaves
    the previous complete output (or none); meta.json is moved last.
    """
    tok = load_tokenizer(tokenizer_path, eot_token)  # the one encode_part used, if in this process
    vocab = tok.get_vocab_size()  # as trained: a small corpus fills fewer ids than asked for
    dtype = token_dtype(vocab)
    out_dir.mkdir(parents=True, exist_ok=True)
    for leftover in out_dir.glob(".pack.tmp-*"):  # a pack killed before its swap (any process)
        shutil.rmtree(leftover, ignore_errors=True)
    tmp = out_dir / f".pack.tmp-{os.getpid()}"
    tmp.mkdir()
    # ParquetFile.read, not pq.read_table: that imports pyarrow.dataset, and with it pandas (see _arrow)
    docs = [_with_meta(pq.ParquetFile(p.with_name(p.name + ".docs.parquet")).read()) for p in parts]
    table = pa.concat_tables(docs) if docs else DOCS_SCHEMA.empty_table()
    split_col = _numpy(table.column("split"))
    lengths = _numpy(table.column("length"))
    shard_of = np.zeros(len(table), np.int32)
    offset_of = np.zeros(len(table), np.int64)
    # eot_id: the separator before every document (modded-nanogpt aligns batches on it as its BOS)
    meta: dict = {
        "vocab_size": vocab,
        "eot_id": tok.token_to_id(eot_token),
        "eot_token": eot_token,
        "dtype": dtype.name,
        "shard_tokens": shard_tokens,
        "shards": {},
    }
    for s, split in enumerate(SPLITS):
        rows = np.flatnonzero(split_col == s)
        ends = np.cumsum(lengths[rows] + 1)
        cuts = cut_points(ends, shard_tokens)
        starts = ends - lengths[rows]  # global position of each document's first text token
        shard = np.searchsorted(np.asarray(cuts[1:]), starts, side="left")
        shard_of[rows] = shard
        offset_of[rows] = starts - np.asarray(cuts)[shard] if len(rows) else starts
        sizes = _copy_split([p.with_name(f"{p.name}.{split}.tok") for p in parts], cuts, tmp, split, dtype)
        meta["shards"][split] = sizes
        meta[f"{split}_tokens"] = int(sum(sizes))
        meta[f"{split}_docs"] = len(rows)
    index = pa.table(
        {
            "id": table.column("id"),
            "split": _names(split_col, SPLITS),
            "shard": _arrow(shard_of),
            "offset": _arrow(offset_of),
            "length": _arrow(lengths.astype(np.int64)),
            **{c: table.column(c) for c in META_COLUMNS},
        },
        schema=INDEX_SCHEMA,
    )
    pq.write_table(index, tmp / "index.parquet", compression="zstd")
    shutil.copyfile(tokenizer_path, tmp / "tokenizer.json")
    meta["tokens"] = sum(meta[f"{split}_tokens"] for split in SPLITS)
    meta["docs"] = len(table)
    # Swap in: drop the old outputs, move the new ones, meta.json last (it marks a complete pack).
    (out_dir / "meta.json").unlink(missing_ok=True)
    for old in [p for split in SPLITS for p in out_dir.glob(f"{split}_*.bin")]:
        old.unlink()
    for f in sorted(tmp.iterdir()):
        os.replace(f, out_dir / f.name)
        fault_point("pack")
    atomic_write_text(out_dir / "meta.json", json.dumps(meta, indent=1, sort_keys=True))
    tmp.rmdir()
    return meta


def _with_meta(docs: pa.Table) -> pa.Table:
    """A part's document table with domain and lang (null in parts encoded before they were kept)."""
    for c in META_COLUMNS:
        if c not in docs.column_names:
            docs = docs.append_column(c, pa.nulls(docs.num_rows, pa.string()))
    docs = docs.select(DOCS_SCHEMA.names)
    return docs if docs.schema.equals(DOCS_SCHEMA) else docs.cast(DOCS_SCHEMA)  # cast: pyarrow.compute


def _copy_split(
    streams: list[Path], cuts: list[int], out_dir: Path, split: str, dtype: np.dtype
) -> list[int]:
    """Copy the concatenated token streams into shards `[cuts[i], cuts[i+1])`, chunk by chunk."""
    sizes = []
    chunks = _stream_chunks(streams, dtype)
    pending = np.zeros(0, dtype)
    for i in range(len(cuts) - 1):
        need = cuts[i + 1] - cuts[i]
        writer = TokenShardWriter(out_dir / f"{split}_{i:06d}.bin", dtype)
        while need > 0:
            if not len(pending):
                pending = next(chunks)
            take = pending[:need]
            writer.write(take)
            pending = pending[len(take) :]
            need -= len(take)
        sizes.append(writer.num_tokens)
        writer.close()
    return sizes


def _stream_chunks(streams: list[Path], dtype: np.dtype) -> Iterator[np.ndarray]:
    for p in streams:
        n = p.stat().st_size // dtype.itemsize
        if n == 0:
            continue
        mm = np.memmap(p, dtype=dtype, mode="r", shape=(n,))
        for lo in range(0, n, COPY_CHUNK):
            yield np.array(mm[lo : lo + COPY_CHUNK])
        del mm
