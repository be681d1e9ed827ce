"""Two CPU processes with gloo equal one process on the same global batch."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from tests.train.util import make_data, tiny_config
from train.checkpoint import latest_checkpoint, load_checkpoint
from train.runtime import cleanup_distributed
from train.trainer import train

STEPS = ("max_steps=3", "eval_every=0")


def _worker(rank: int, world: int, port: int, data: str, out: str, result: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    # per process 2 x 2 accumulated rows: the global batch is 8 rows, as in the single run below
    summary = train(
        tiny_config(Path(data), Path(out), *STEPS, "batch_size=2", "tokens_per_step=128"), log=print
    )
    cleanup_distributed()
    Path(result, f"rank{rank}.json").write_text(json.dumps({"losses": summary["losses"]}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="torch built without gloo")
def test_two_gloo_processes_equal_one(tmp_path: Path) -> None:
    data = make_data(tmp_path / "tokens")
    mp.spawn(
        _worker,
        args=(2, _free_port(), str(data), str(tmp_path / "ddp"), str(tmp_path)),
        nprocs=2,
        join=True,
    )
    single = train(tiny_config(data, tmp_path / "one", *STEPS, "batch_size=8"), log=lambda m: None)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text())["losses"] for r in range(2)]
    assert ranks[0] == ranks[1]  # the logged loss is the all-reduced mean
    assert ranks[0] == pytest.approx(single["losses"], rel=1e-5)
    a = load_checkpoint(latest_checkpoint(tmp_path / "ddp"))["model"]
    b = load_checkpoint(latest_checkpoint(tmp_path / "one"))["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5)
