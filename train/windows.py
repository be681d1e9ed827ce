"""Windows of `block_size + 1` tokens over memory-mapped token shards, for training batches.

A window `w` gives the input `w[:-1]` and the targets `w[1:]` (each position predicts the next
token). Windows never cross a shard boundary; a shard shorter than one window is skipped.
Two ways to draw them:
  random      a window start drawn uniformly over all valid starts of all shards (each shard
              weighted by how many windows it holds); the same seed gives the same batches.
  sequential  consecutive windows overlapping by one token (llm.c's loader: advance by
              block_size), shard after shard, starting again at the first shard at the end.
Shards are memory-mapped (train.shards.open_shard validates each header), so nothing but the
current batch is read into memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from train.shards import list_shards, open_shard


class TokenWindows:
    """The windows of one split (`train` or `val`) of a token directory."""

    def __init__(self, data_dir: str | Path, split: str, block_size: int) -> None:
        if block_size < 1:
            raise ValueError(f"block_size {block_size} must be >= 1")
        self.data_dir, self.split, self.block_size = Path(data_dir), split, block_size
        paths = list_shards(data_dir, split)
        if not paths:
            raise FileNotFoundError(
                f"{data_dir}: no {split}_*.bin token shards; run `llmcli tokenize` (or the pipeline) first"
            )
        self.paths: list[Path] = []
        self.shards: list[np.ndarray] = []
        for p in paths:
            tokens = open_shard(p)  # ShardFormatError naming the file on a bad header
            if len(tokens) >= block_size + 1:
                self.paths.append(p)
                self.shards.append(tokens)
        if not self.shards:
            longest = max(len(open_shard(p)) for p in paths)
            raise ValueError(
                f"{data_dir}: every {split} shard is shorter than block_size + 1 = {block_size + 1} tokens "
                f"(longest {longest}); lower block_size or tokenize more data"
            )
        # Valid window starts per shard, and their running total, to draw shards by weight.
        self.starts = np.array([len(s) - block_size for s in self.shards], np.int64)
        self.cum = np.cumsum(self.starts)

    @property
    def num_tokens(self) -> int:
        return int(sum(len(s) for s in self.shards))

    def window(self, shard: int, start: int) -> np.ndarray:
        """One window as int64 (what torch embeddings index with)."""
        return np.asarray(self.shards[shard][start : start + self.block_size + 1], dtype=np.int64)

    def random_batches(self, batch_size: int, seed: int) -> Iterator[np.ndarray]:
        """Endless batches of shape (batch_size, block_size + 1), the same sequence for a seed."""
        rng = np.random.default_rng(seed)
        total = int(self.cum[-1])
        while True:
            picks = rng.integers(0, total, size=batch_size)
            shard = np.searchsorted(self.cum, picks, side="right")
            start = picks - np.concatenate([[0], self.cum[:-1]])[shard]
            yield np.stack([self.window(int(s), int(o)) for s, o in zip(shard, start)])

    def sequential_batches(self, batch_size: int, start: tuple[int, int] = (0, 0)) -> Iterator[np.ndarray]:
        """Endless batches of consecutive windows, from (shard, position) `start`.

        Resume a run by passing the position after the last batch it used (`self.position`).
        """
        shard, pos = start
        rows: list[np.ndarray] = []
        while True:
            if shard >= len(self.shards):
                shard, pos = 0, 0
            if pos + self.block_size + 1 > len(self.shards[shard]):
                shard, pos = shard + 1, 0
                continue
            rows.append(self.window(shard, pos))
            pos += self.block_size
            if len(rows) == batch_size:
                self.position = (shard, pos)
                yield np.stack(rows)
                rows = []
