"""Training batches from memory-mapped token shards, deterministic and stateless.

Every batch is a pure function of (seed, step, micro-step, rank): the rows of optimizer step s are
one global batch of batch_size x grad_accum x world_size windows, and rank r takes rows
[(micro * world + r) * B, +B). So the same global batch is seen whatever the split into processes
and micro-steps (DDP and gradient accumulation are comparable with one big step), and the data
position in a checkpoint is just the step number: resuming needs no loader state.

Windows never cross a shard boundary; random windows are drawn uniformly over all valid starts
(so shards are weighted by size); sequential windows tile the shards in order and wrap around.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from curate.tokenization.shards import list_shards, open_shard
from train.errors import TrainError


class TokenWindows:
    """Windows of block_size + 1 tokens (inputs plus the shifted targets) over some shards."""

    def __init__(self, paths: list[Path], block_size: int) -> None:
        self.paths = paths
        self.block_size = block_size
        self.arrays = [open_shard(p) for p in paths]  # checks every header up front
        lengths = np.array([len(a) for a in self.arrays], dtype=np.int64)
        # a window starting at s needs tokens s .. s + T, so a shard of n tokens has n - T starts
        self.random_cum = np.cumsum(np.maximum(lengths - block_size, 0))
        self.seq_cum = np.cumsum(np.maximum(lengths - 1, 0) // block_size)
        if self.random_cum[-1] == 0:
            longest = int(lengths.max())
            raise TrainError(
                f"{paths[0].parent}: no shard holds a window of block_size + 1 = {block_size + 1} tokens "
                f"(longest has {longest}); lower block_size or tokenize more text"
            )

    @property
    def num_tokens(self) -> int:
        return int(sum(len(a) for a in self.arrays))

    def _rows(self, shard_idx: np.ndarray, starts: np.ndarray) -> np.ndarray:
        T1 = self.block_size + 1
        out = np.empty((len(starts), T1), dtype=np.int64)
        for i, (k, s) in enumerate(zip(shard_idx, starts)):
            out[i] = self.arrays[k][s : s + T1]
        return out

    def random(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n windows at uniformly random valid starts: (n, T + 1)."""
        flat = rng.integers(0, self.random_cum[-1], size=n)
        shard_idx = np.searchsorted(self.random_cum, flat, side="right")
        starts = flat - np.concatenate([[0], self.random_cum])[shard_idx]
        return self._rows(shard_idx, starts)

    def sequential(self, first: int, n: int) -> np.ndarray:
        """Windows first .. first + n - 1 of the tiling, wrapping around: (n, T + 1)."""
        flat = np.arange(first, first + n, dtype=np.int64) % self.seq_cum[-1]
        shard_idx = np.searchsorted(self.seq_cum, flat, side="right")
        starts = (flat - np.concatenate([[0], self.seq_cum])[shard_idx]) * self.block_size
        return self._rows(shard_idx, starts)


class Batches:
    """Micro-batches (x, y) as int64 numpy arrays of shape (B, T) for one process."""

    def __init__(
        self,
        data_dir: str | Path,
        batch_size: int,
        block_size: int,
        grad_accum: int = 1,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        sampling: str = "random",
    ) -> None:
        paths = list_shards(data_dir, "train")
        if not paths:
            raise TrainError(
                f"{data_dir}: no train_*.bin token shards; create them with `llmcli tokenize --out {data_dir}`"
            )
        self.train = TokenWindows(paths, block_size)
        val_paths = list_shards(data_dir, "val")
        self.val = TokenWindows(val_paths, block_size) if val_paths else None
        self.B, self.accum, self.rank, self.world = batch_size, grad_accum, rank, world_size
        self.seed, self.sampling = seed, sampling
        self.global_rows = batch_size * grad_accum * world_size
        self._cached: tuple[int, np.ndarray] | None = None

    def _split(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return rows[:, :-1], rows[:, 1:]  # inputs and next-token targets, each (B, T)

    def _offset(self, micro: int) -> int:
        return (micro * self.world + self.rank) * self.B

    def get(self, step: int, micro: int) -> tuple[np.ndarray, np.ndarray]:
        """Micro-batch `micro` of optimizer step `step` for this rank."""
        off = self._offset(micro)
        if self.sampling == "sequential":
            return self._split(self.train.sequential(step * self.global_rows + off, self.B))
        if self._cached is None or self._cached[0] != step:
            # one generator per step, seeded by (seed, step): no state to save, same on every rank
            rng = np.random.default_rng([self.seed, step])
            self._cached = (step, self.train.random(rng, self.global_rows))
        return self._split(self._cached[1][off : off + self.B])

    def val_batches(self, steps: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The same val windows at every evaluation, split over ranks."""
        assert self.val is not None
        for i in range(steps):
            yield self._split(self.val.sequential((i * self.world + self.rank) * self.B, self.B))


class Prefetcher:
    """Prepares the micro-batches of steps start .. end - 1 ahead in a thread, as torch tensors
    (pinned on CUDA so the host-to-device copy is asynchronous). `wait_s` sums the time the
    training loop spent blocked on data."""

    def __init__(self, batches: Batches, start: int, end: int, depth: int, device: torch.device) -> None:
        self.batches, self.device, self.depth = batches, device, depth
        self.order = ((s, m) for s in range(start, end) for m in range(batches.accum))
        self.wait_s = 0.0
        self.pin = device.type == "cuda"
        self._stop = threading.Event()
        if depth > 0:
            self._queue: queue.Queue = queue.Queue(maxsize=depth)
            self._thread = threading.Thread(target=self._work, daemon=True, name="prefetch")
            self._thread.start()

    def _make(self, step: int, micro: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batches.get(step, micro)
        x, y = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
        if self.pin:
            x, y = x.pin_memory(), y.pin_memory()
        return x, y

    def _work(self) -> None:
        try:
            for step, micro in self.order:
                item = self._make(step, micro)
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as e:  # handed to the training loop, which re-raises it
            self._queue.put(e)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        t0 = time.perf_counter()
        if self.depth > 0:
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            x, y = item
        else:
            x, y = self._make(*next(self.order))
        x = x.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        self.wait_s += time.perf_counter() - t0
        return x, y

    def close(self) -> None:
        self._stop.set()
        if self.depth > 0:
            self._thread.join(timeout=5)
