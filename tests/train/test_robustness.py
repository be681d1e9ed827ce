"""What a kill -9 leaves behind does not break the rerun; the MFU peak comes from a device table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cli import main
from tests.train.util import TINY, make_data, tiny_config
from train.checkpoint import checkpoint_dir, list_checkpoints
from train.metrics import read_records
from train.runtime import peak_flops
from train.trainer import train


def test_torn_metrics_line_and_checkpoint_temp_files_after_a_kill(tmp_path: Path) -> None:
    data = make_data(tmp_path / "tokens")
    run = tmp_path / "run"
    train(tiny_config(data, run, "max_steps=4", "ckpt_every=2", "eval_every=2"), log=lambda m: None)
    # what kill -9 in the middle of step 5's record and step 6's checkpoint write leaves
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "loss": 3.1, "lr": 0.00')
    junk = checkpoint_dir(run) / ".step_00000006.pt.tmp-4242"
    junk.write_bytes(b"\x80\x02partial")
    assert read_records(run / "metrics.jsonl")[-1]["step"] == 4  # readers skip the torn line

    sets = [
        x
        for s in [*TINY, f"out_dir={run}", "max_steps=6", "ckpt_every=2", "eval_every=2"]
        for x in ("--set", s)
    ]
    result = CliRunner().invoke(main, ["train", "--data", str(data), *sets])
    assert result.exit_code == 0, result.output
    assert "resuming from" in result.output and "Traceback" not in result.output
    lines = (run / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]  # every line parses again
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert not junk.exists()
    assert [p.name for p in list_checkpoints(run)] == ["step_00000004.pt", "step_00000006.pt"]
    assert (run / "loss.png").stat().st_size > 1000


def test_mfu_peak_from_the_device_table_or_the_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cfg = tiny_config(tmp_path, tmp_path / "run")
    assert peak_flops(cfg, torch.device("cpu")) is None  # no MFU on a CPU
    for name, flops in [
        ("NVIDIA H200", 989e12),
        ("NVIDIA H100 PCIe", 756e12),
        ("NVIDIA H100 80GB HBM3", 989e12),
        ("NVIDIA A100-SXM4-80GB", 312e12),
        ("NVIDIA L4", 121e12),
    ]:
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None, n=name: n)
        assert peak_flops(cfg, torch.device("cuda")) == (flops, f"{name} dense bf16")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Some Future GPU")
    assert peak_flops(cfg, torch.device("cuda")) is None
    given = tiny_config(tmp_path, tmp_path / "run", "peak_flops=1.5e15")
    assert peak_flops(given, torch.device("cuda")) == (1.5e15, "peak_flops from the config")
