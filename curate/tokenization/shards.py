"""Token shards in the llm.c format: write them, check their header, memory-map their tokens.

A shard is a header of 256 little-endian int32 followed by the tokens:
  header[0] magic, header[1] version, header[2] number of tokens.
uint16 tokens (vocabulary <= 65,536): magic 20240520, version 1 (llm.c's GPT-2 format).
uint32 tokens (larger vocabularies):  magic 20240801, version 7 (llm.c's LLaMA-3 format).
This module is the one place that knows the format: the tokenize stage writes with it and the
trainer reads with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
FORMATS = {  # magic -> (version, token dtype)
    20240520: (1, np.dtype("<u2")),
    20240801: (7, np.dtype("<u4")),
}
MAGIC_FOR_DTYPE = {np.dtype("<u2"): 20240520, np.dtype("<u4"): 20240801}


class ShardFormatError(ValueError):
    """A file that is not a valid token shard; the message names the file."""


@dataclass(frozen=True)
class ShardHeader:
    magic: int
    version: int
    num_tokens: int
    dtype: np.dtype


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every token id fits, else uint32."""
    return np.dtype("<u2") if vocab_size <= 65536 else np.dtype("<u4")


def header_bytes(num_tokens: int, dtype: np.dtype) -> bytes:
    magic = MAGIC_FOR_DTYPE[np.dtype(dtype)]
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[0], header[1], header[2] = magic, FORMATS[magic][0], num_tokens
    return header.tobytes()


def write_shard(path: str | Path, tokens: np.ndarray, dtype: np.dtype) -> None:
    """Write one shard (atomically: temp file, fsync, rename)."""
    path = Path(path)
    dtype = np.dtype(dtype)
    tokens = np.asarray(tokens)
    if tokens.size and int(tokens.max()) > np.iinfo(dtype).max:
        raise ValueError(f"{path}: token id {int(tokens.max())} does not fit in {dtype}")
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(header_bytes(len(tokens), dtype))
        f.write(tokens.astype(dtype, copy=False).tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_header(path: str | Path) -> ShardHeader:
    """Read and check a shard's header; a wrong magic, version or size names the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            raw = f.read(HEADER_BYTES)
    except OSError as e:
        raise ShardFormatError(f"{path}: cannot read token shard: {e.strerror or e}") from e
    if len(raw) < HEADER_BYTES:
        raise ShardFormatError(f"{path}: not a token shard (file of {size} bytes is shorter than the header)")
    header = np.frombuffer(raw, dtype="<i4")
    magic, version, num_tokens = int(header[0]), int(header[1]), int(header[2])
    if magic not in FORMATS:
        raise ShardFormatError(
            f"{path}: not a token shard (magic {magic}, expected 20240520 for uint16 or 20240801 for uint32)"
        )
    want_version, dtype = FORMATS[magic]
    if version != want_version:
        raise ShardFormatError(
            f"{path}: unsupported version {version} for magic {magic} (expected {want_version})"
        )
    expected = HEADER_BYTES + num_tokens * dtype.itemsize
    if num_tokens < 0 or size != expected:
        raise ShardFormatError(
            f"{path}: header says {num_tokens} tokens ({expected} bytes) but the file has {size} bytes"
        )
    return ShardHeader(magic, version, num_tokens, dtype)


def open_shard(path: str | Path) -> np.ndarray:
    """The tokens of one shard as a read-only memory map (no copy into RAM)."""
    header = read_header(path)
    if header.num_tokens == 0:
        return np.zeros(0, dtype=header.dtype)
    return np.memmap(path, dtype=header.dtype, mode="r", offset=HEADER_BYTES, shape=(header.num_tokens,))


def list_shards(data_dir: str | Path, split: str) -> list[Path]:
    """`{split}_XXXXXX.bin` files of a token directory, in order."""
    return sorted(Path(data_dir).glob(f"{split}_*.bin"))


class TokenShardWriter:
    """Write one shard from a stream of token chunks, never holding the whole shard in memory.

    The header's token count is patched in on `close`, which then fsyncs and renames the temp
    file into place: a reader sees a complete shard or none.
    """

    def __init__(self, path: str | Path, dtype: np.dtype) -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.num_tokens = 0
        self._tmp = self.path.with_name(self.path.name + f".tmp-{os.getpid()}")
        self._f = open(self._tmp, "wb")
        self._f.write(header_bytes(0, self.dtype))

    def write(self, tokens: np.ndarray) -> None:
        tokens = np.asarray(tokens)
        if tokens.dtype != self.dtype:
            if tokens.size and int(tokens.max()) > np.iinfo(self.dtype).max:
                raise ValueError(f"{self.path}: token id {int(tokens.max())} does not fit in {self.dtype}")
            tokens = tokens.astype(self.dtype)
        self._f.write(memoryview(np.ascontiguousarray(tokens)).cast("B"))
        self.num_tokens += len(tokens)

    def close(self) -> Path:
        if self.num_tokens > np.iinfo(np.int32).max:  # header[2] is an int32
            self.abort()
            raise ValueError(f"{self.path}: {self.num_tokens} tokens do not fit in one shard's header")
        self._f.seek(0)
        self._f.write(header_bytes(self.num_tokens, self.dtype))
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        self._f.close()
        self._tmp.unlink(missing_ok=True)


def write_headerless(data_dir: str | Path, split: str, chunk: int = 1 << 24) -> Path | None:
    """nanoGPT's `{split}.bin`: the split's shards concatenated, uint16, no header.

    nanoGPT's train.py memory-maps `train.bin` / `val.bin` as bare uint16 (and reads the vocabulary
    size from a meta.pkl when there is one, else uses GPT-2's 50304, which covers any vocabulary up
    to that size). None when the split has no shard; a uint32 vocabulary does not fit that format.
    """
    shards = list_shards(data_dir, split)
    if not shards:
        return None
    out = Path(data_dir) / f"{split}.bin"
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        for path in shards:
            tokens = open_shard(path)
            if tokens.dtype != np.dtype("<u2"):
                f.close()
                tmp.unlink()
                raise ValueError(f"{path}: {tokens.dtype} tokens; nanoGPT's .bin format holds uint16 only")
            for lo in range(0, len(tokens), chunk):
                f.write(memoryview(np.ascontiguousarray(tokens[lo : lo + chunk])).cast("B"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)
    return out
