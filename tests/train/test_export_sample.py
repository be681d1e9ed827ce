from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cli import main
from tests.train.util import TINY, make_data, make_text_data, tiny_config
from train.checkpoint import latest_checkpoint, load_checkpoint
from train.errors import TrainError
from train.export import export_hf
from train.sample import load_model, sample_text
from train.trainer import train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("text")
    data = make_text_data(root / "tokens")
    train(tiny_config(data, root / "run", "max_steps=3", "eval_every=0"), log=lambda m: None)
    return root / "run"


@pytest.mark.parametrize("bias", [True, False])
def test_hf_export_logits_match(tmp_path: Path, bias: bool) -> None:
    transformers = pytest.importorskip("transformers")
    data = make_text_data(tmp_path / "tokens")
    train(
        tiny_config(data, tmp_path / "run", "max_steps=2", "eval_every=0", f"model.bias={str(bias).lower()}"),
        log=print,
    )
    ckpt = latest_checkpoint(tmp_path / "run")
    out = export_hf(ckpt, tmp_path / "hf")
    hf = transformers.AutoModelForCausalLM.from_pretrained(out).eval()
    ours, _ = load_model(ckpt)
    idx = torch.randint(0, ours.config.vocab_size, (2, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, _ = ours(idx)
        got = hf(idx).logits
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    tok = transformers.AutoTokenizer.from_pretrained(out)
    assert tok.eos_token == "<|endoftext|>"
    assert tok("the quick brown fox").input_ids
    assert json.loads((out / "config.json").read_text())["n_layer"] == 2


def test_export_refuses_non_gpt2_architectures(tmp_path: Path) -> None:
    data = make_data(tmp_path / "tokens")
    train(tiny_config(data, tmp_path / "run", "max_steps=1", "model.pos=rope"), log=lambda m: None)
    with pytest.raises(TrainError, match="only the GPT-2 architecture exports.*pos rope"):
        export_hf(latest_checkpoint(tmp_path / "run"), tmp_path / "hf")


def test_sample_is_deterministic_for_a_seed(text_run: Path) -> None:
    ckpt = latest_checkpoint(text_run)
    runs = [
        sample_text(ckpt, "the quick", max_new_tokens=12, top_k=50, seed=s, temperature=1.0)
        for s in (1, 1, 2)
    ]
    assert len(runs[0][1]) == 12
    assert runs[0] == runs[1]
    assert runs[0][1] != runs[2][1]
    assert runs[0][0].startswith("the quick")
    args = [
        "sample",
        "--checkpoint",
        str(ckpt),
        "--prompt",
        "the quick",
        "--max-new-tokens",
        "12",
        "--seed",
        "1",
    ]
    cli = [CliRunner().invoke(main, [*args, "--temperature", "1.0", "--top-k", "50"]) for _ in range(2)]
    assert cli[0].exit_code == 0, cli[0].output
    assert cli[0].output == cli[1].output == runs[0][0] + "\n"


def test_sigterm_saves_a_checkpoint_then_exits(tmp_path: Path) -> None:
    data = make_data(tmp_path / "tokens")
    out = tmp_path / "run"
    sets = [x for s in [*TINY, f"out_dir={out}", "ckpt_every=0", "eval_every=0"] for x in ("--set", s)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "cli", "train", "--data", str(data), *sets]
    proc = subprocess.Popen(
        [*cmd, "--set", "max_steps=100000"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    deadline = time.time() + 60
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("step 3/") or time.time() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    output = "".join(seen) + rest
    assert proc.returncode == 143, output
    assert "stopped by SIGTERM after step" in output
    ckpt = latest_checkpoint(out)
    step = load_checkpoint(ckpt)["step"]
    assert step >= 3 and ckpt.name == f"step_{step:08d}.pt"
    # the same command resumes from it
    resumed = subprocess.run(
        [*cmd, "--set", f"max_steps={step + 2}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {ckpt} (step {step})" in resumed.stdout
    assert f"step {step + 2}/{step + 2} | loss" in resumed.stdout
