from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import main
from curate.tokenization.shards import ShardFormatError, write_shard
from tests.train.util import make_data, tiny_config
from train.checkpoint import (
    FORMAT,
    checkpoint_path,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from train.data import Batches
from train.errors import TrainError
from train.trainer import train


class Payload:
    """Pickles to a call of os.mkdir: loading it with plain pickle would create `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_checkpoint_needing_pickle_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = checkpoint_path(tmp_path / "run", 5)
    path.parent.mkdir(parents=True)
    torch.save({"format": FORMAT, "step": 5, "model": Payload(marker)}, path)
    with pytest.raises(TrainError, match=r"step_00000005\.pt: refusing to load: .*need pickle"):
        load_checkpoint(path)
    assert not marker.exists()
    # the trainer's automatic resume goes through the same door
    cfg = tiny_config(make_data(tmp_path / "tokens"), tmp_path / "run", "max_steps=2")
    with pytest.raises(TrainError, match="refusing to load"):
        train(cfg, log=lambda m: None)
    assert not marker.exists()


def test_truncated_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", {"step": 1, "model": {"w": torch.ones(1000)}})
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(TrainError, match=r"c\.pt: not a readable checkpoint"):
        load_checkpoint(path)


def test_rng_state_round_trips_through_weights_only(tmp_path: Path) -> None:
    import random

    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    path = save_checkpoint(tmp_path / "c.pt", {"rng": rng_state()})
    expected = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    torch.manual_seed(9)
    np.random.seed(9)
    random.seed(9)
    set_rng_state(load_checkpoint(path)["rng"])
    got = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    assert torch.equal(expected[0], got[0])
    assert np.array_equal(expected[1], got[1])
    assert expected[2] == got[2]


def test_batches_are_deterministic_and_split_one_global_batch(tmp_path: Path) -> None:
    data = make_data(tmp_path / "tokens", train_tokens=5000, shards=3)
    whole = Batches(data, batch_size=8, block_size=16, seed=4)
    x, y = whole.get(step=3, micro=0)
    assert x.shape == y.shape == (8, 16)
    assert np.array_equal(x[:, 1:], y[:, :-1])  # targets are the inputs shifted by one
    # 2 ranks x 2 micro-steps of 2 rows tile the same 8 rows
    parts = [
        Batches(data, batch_size=2, block_size=16, grad_accum=2, rank=r, world_size=2, seed=4).get(3, m)[0]
        for m in range(2)
        for r in range(2)
    ]
    assert np.array_equal(np.concatenate(parts), x)
    assert not np.array_equal(whole.get(4, 0)[0], x)
    assert not np.array_equal(Batches(data, batch_size=8, block_size=16, seed=5).get(3, 0)[0], x)
    seq = Batches(data, batch_size=4, block_size=16, sampling="sequential")
    stream = np.concatenate([a for a in seq.train.arrays])
    assert np.array_equal(seq.get(0, 0)[0][1], stream[16:32])


def test_windows_never_cross_shards(tmp_path: Path) -> None:
    # shard 0 all 1s, shard 1 all 2s: every window is uniform
    write_shard(tmp_path / "train_000000.bin", np.full(40, 1), np.uint16)
    write_shard(tmp_path / "train_000001.bin", np.full(25, 2), np.uint16)
    batches = Batches(tmp_path, batch_size=64, block_size=16)
    rows = np.concatenate([batches.get(s, 0)[0] for s in range(5)])
    assert set(np.unique(rows.min(axis=1) == rows.max(axis=1))) == {True}
    assert set(np.unique(rows)) == {1, 2}


def test_corrupted_shard_header_is_a_clear_error(tmp_path: Path) -> None:
    data = make_data(tmp_path / "tokens")
    bad = data / "train_000001.bin"
    raw = bytearray(bad.read_bytes())
    raw[0:4] = (12345).to_bytes(4, "little")
    bad.write_bytes(bytes(raw))
    with pytest.raises(ShardFormatError, match=r"train_000001\.bin: not a token shard \(magic 12345"):
        Batches(data, batch_size=2, block_size=8)
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--set", f"out_dir={tmp_path / 'run'}"])
    assert result.exit_code != 0
    assert "train_000001.bin: not a token shard" in result.output
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_missing_shards_and_short_shards(tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="no train_.*bin token shards; create them with `llmcli tokenize"):
        Batches(tmp_path, batch_size=2, block_size=8)
    write_shard(tmp_path / "train_000000.bin", np.arange(5), np.uint16)
    with pytest.raises(TrainError, match="no shard holds a window of block_size \\+ 1 = 9 tokens"):
        Batches(tmp_path, batch_size=2, block_size=8)
