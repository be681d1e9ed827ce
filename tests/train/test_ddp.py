"""Two CPU processes with gloo: DDP equals one process on the same global batch; FSDP2 equals DDP,
resumes, and its ranks agree on a spike seen by one of them."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from tests.train.util import make_data, tiny_config
from train.checkpoint import latest_checkpoint, load_checkpoint
from train.data import Batches
from train.model import GPT
from train.runtime import cleanup_distributed
from train.trainer import train

# per process 2 x 2 accumulated rows: the global batch is 8 rows, as in the single run below
STEPS = ("max_steps=4", "eval_every=2", "ckpt_every=2", "batch_size=2", "tokens_per_step=128")


def _poison_rank1_step3() -> None:
    """Rank 1 alone gets an all-zero batch at step 3, on which the loss is NaN: a local fault."""
    get, forward = Batches.get, GPT.forward

    def get_poisoned(self, step, micro):
        x, y = get(self, step, micro)
        return (np.zeros_like(x), np.zeros_like(y)) if (self.rank, step) == (1, 2) else (x, y)

    def forward_poisoned(self, idx, targets=None):
        logits, loss = forward(self, idx, targets)
        return logits, (loss * float("nan") if targets is not None and bool((idx == 0).all()) else loss)

    Batches.get, GPT.forward = get_poisoned, forward_poisoned


def _worker(rank: int, world: int, port: int, data: str, root: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    out: dict[str, list] = {}
    for name, sets, stop in [
        ("ddp", ["parallel=ddp"], None),
        ("fsdp", ["parallel=fsdp"], None),
        ("fsdp_resumed", ["parallel=fsdp"], 2),  # stopped after step 2, then resumed to 4
        ("fsdp_spike", ["parallel=fsdp"], None),  # last: it poisons rank 1's data
    ]:
        if name == "fsdp_spike":
            _poison_rank1_step3()
        cfg = tiny_config(Path(data), Path(root, name), *STEPS, *sets)
        first = train(cfg, stop_after=stop, log=print)
        losses, vals = first["losses"], first["val_losses"]
        if stop is not None:
            rest = train(cfg, log=print)
            losses, vals = losses + rest["losses"], vals + rest["val_losses"]
        out[name] = [[x if x == x else "nan" for x in losses], vals, first["events"]]
    cleanup_distributed()
    Path(root, f"rank{rank}.json").write_text(json.dumps(out))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="torch built without gloo")
def test_two_gloo_processes_ddp_equals_one_and_fsdp_equals_ddp(tmp_path: Path) -> None:
    data = make_data(tmp_path / "tokens")
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path)), nprocs=2, join=True)
    single = train(
        tiny_config(data, tmp_path / "one", *STEPS, "batch_size=8", "tokens_per_step=0"), log=lambda m: None
    )
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert ranks[0] == ranks[1]  # logged losses are all-reduced means: every rank agrees
    ddp, fsdp, resumed, spiked = (ranks[0][k] for k in ("ddp", "fsdp", "fsdp_resumed", "fsdp_spike"))
    assert ddp[0] == pytest.approx(single["losses"], rel=1e-5)
    # FSDP reduce-scatters instead of all-reducing: the same math, summed in another order
    assert fsdp[0] == pytest.approx(ddp[0], rel=1e-5)
    assert [v for _, v in fsdp[1]] == pytest.approx([v for _, v in ddp[1]], rel=1e-5)
    assert resumed[:2] == fsdp[:2]  # bit-exact resume from the gathered full state dict
    # one rank's NaN makes the all-reduced loss NaN on both: both skip step 3, no update applied
    assert [(e["event"], e["step"], e["reason"]) for e in spiked[2]] == [("skip", 3, "non_finite_loss")]
    assert spiked[0][:2] == fsdp[0][:2] and spiked[0][2] == "nan"
    states = {
        k: load_checkpoint(latest_checkpoint(tmp_path / k)) for k in ("one", "ddp", "fsdp", "fsdp_resumed")
    }
    assert states["fsdp"]["parallel"] == "fsdp" and states["ddp"]["parallel"] == "ddp"
    for name, tensor in states["ddp"]["model"].items():
        torch.testing.assert_close(tensor, states["one"]["model"][name], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(states["fsdp"]["model"][name], tensor, rtol=1e-4, atol=1e-5)
        assert torch.equal(states["fsdp_resumed"]["model"][name], states["fsdp"]["model"][name])
