"""Token shard format (CONTRACT: Token shard format) and the window sampler over shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from curate.tokenization.shards import (
    ShardFormatError,
    TokenShardWriter,
    list_shards,
    open_shard,
    read_header,
    token_dtype,
    write_shard,
)
from train.data import Batches, TokenWindows
from train.errors import TrainError


def contract_reader(path: Path) -> np.ndarray:
    """A reader written from the CONTRACT text alone: 256 little-endian int32, then the tokens."""
    raw = path.read_bytes()
    header = np.frombuffer(raw[:1024], dtype="<i4")
    magic, version, n = int(header[0]), int(header[1]), int(header[2])
    if (magic, version) == (20240520, 1):
        dtype = "<u2"
    elif (magic, version) == (20240801, 7):
        dtype = "<u4"
    else:
        raise AssertionError(f"unknown magic/version {magic}/{version}")
    tokens = np.frombuffer(raw[1024:], dtype=dtype)
    assert len(tokens) == n, "header token count must match the payload"
    return tokens


def test_dtype_follows_vocabulary_size() -> None:
    assert token_dtype(50257) == np.dtype("<u2")
    assert token_dtype(65536) == np.dtype("<u2")  # ids 0..65535 all fit in uint16
    assert token_dtype(65537) == np.dtype("<u4")


@pytest.mark.parametrize("vocab", [50257, 128256])
def test_written_shard_reads_back_with_a_plain_numpy_reader(tmp_path: Path, vocab: int) -> None:
    rng = np.random.default_rng(vocab)
    tokens = rng.integers(0, vocab, size=5000)
    if vocab > 65536:
        tokens[7] = vocab - 1  # an id that uint16 would truncate
    path = tmp_path / "train_000000.bin"
    write_shard(path, tokens, token_dtype(vocab))
    got = contract_reader(path)
    assert got.dtype.itemsize == (2 if vocab <= 65536 else 4)
    np.testing.assert_array_equal(got, tokens)
    np.testing.assert_array_equal(open_shard(path), tokens)
    assert read_header(path).num_tokens == 5000


def test_streaming_writer_matches_write_shard(tmp_path: Path) -> None:
    tokens = np.arange(100_000, dtype=np.int64) % 70_000
    write_shard(tmp_path / "a.bin", tokens, np.dtype("<u4"))
    w = TokenShardWriter(tmp_path / "b.bin", np.dtype("<u4"))
    for lo in range(0, len(tokens), 33_333):
        w.write(tokens[lo : lo + 33_333])
    w.close()
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()
    assert not list(tmp_path.glob("*.tmp-*"))


def test_ids_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        write_shard(tmp_path / "x.bin", np.array([1, 70_000]), np.dtype("<u2"))
    w = TokenShardWriter(tmp_path / "y.bin", np.dtype("<u2"))
    with pytest.raises(ValueError, match="does not fit"):
        w.write(np.array([65_536]))
    w.abort()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[:100], "shorter than the header"),
        (lambda b: b[:-2], "but the file has"),
        (lambda b: np.int32(123).tobytes() + b[4:], "magic 123"),
        (lambda b: b[:4] + np.int32(3).tobytes() + b[8:], "unsupported version 3"),
    ],
)
def test_bad_header_names_the_file(tmp_path: Path, damage, message: str) -> None:
    good = tmp_path / "good.bin"
    write_shard(good, np.arange(50), np.dtype("<u2"))
    bad = tmp_path / "train_000003.bin"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(ShardFormatError, match=message) as e:
        open_shard(bad)
    assert str(bad) in str(e.value)


# --------------------------------------------------------------------------- windows


def make_dir(tmp_path: Path, lengths: list[int], split: str = "train") -> list[np.ndarray]:
    shards = []
    base = 0
    for i, n in enumerate(lengths):
        tokens = np.arange(base, base + n) % 60_000  # distinct ids tell where a window came from
        write_shard(tmp_path / f"{split}_{i:06d}.bin", tokens, np.dtype("<u2"))
        shards.append(tokens)
        base += n
    return shards


def test_random_windows_are_slices_of_one_shard_and_repeat_for_a_seed(tmp_path: Path) -> None:
    shards = make_dir(tmp_path, [300, 40, 500])  # the 40-token shard is shorter than a window
    win = TokenWindows(list_shards(tmp_path, "train"), block_size=63)
    rng, rng_again = np.random.default_rng(1), np.random.default_rng(1)
    batches = [win.random(rng, 8) for _ in range(20)]
    again = [win.random(rng_again, 8) for _ in range(20)]
    other = win.random(np.random.default_rng(2), 8)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    assert not np.array_equal(batches[0], other)
    starts_seen = set()
    for b in batches:
        assert b.shape == (8, 64) and b.dtype == np.int64
        for row in b:
            # consecutive ids: the window lies inside one shard (a crossing would jump)
            assert np.all(np.diff(row) == 1)
            starts_seen.add(int(row[0]))
    owner = [next(i for i, s in enumerate(shards) if s[0] <= x <= s[-1]) for x in starts_seen]
    assert {0, 2} <= set(owner) and 1 not in owner


def test_sequential_windows_cover_the_shards_in_order(tmp_path: Path) -> None:
    make_dir(tmp_path, [100, 100])
    win = TokenWindows(list_shards(tmp_path, "train"), block_size=10)
    rows = win.sequential(0, 18)
    # 9 windows per 100-token shard (stride 10, 11 tokens each), shard 0 then shard 1, then again
    firsts = rows[:, 0].tolist()
    assert firsts == list(range(0, 90, 10)) + list(range(100, 190, 10))
    assert np.array_equal(rows[:, 1:], rows[:, :-1] + 1)
    resumed = win.sequential(18, 1)
    assert resumed[0, 0] == 0  # after the last window of the last shard: back to the start


def test_windows_explain_missing_or_too_short_data(tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="no train_"):
        Batches(tmp_path, batch_size=2, block_size=8)
    make_dir(tmp_path, [5])
    with pytest.raises(TrainError, match="no shard holds a window"):
        TokenWindows(list_shards(tmp_path, "train"), 8)
