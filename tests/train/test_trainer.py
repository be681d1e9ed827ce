from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from curate.config import ConfigError
from tests.train.util import make_data, tiny_config
from train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from train.config import load_train_config
from train.errors import TrainError
from train.model import GPT
from train.trainer import build_optimizer, lr_at, train


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data(tmp_path_factory.mktemp("tokens"))


def quiet(msg: str) -> None:
    pass


def test_loss_falls_and_run_folder(data: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    cfg = tiny_config(data, tmp_path / "run", "max_steps=40", "eval_every=20", "ckpt_every=20")
    summary = train(cfg, log=lines.append)
    losses = summary["losses"]
    assert len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.75 * sum(losses[:5]) / 5
    assert summary["val_losses"][-1][1] < summary["val_losses"][0][1]
    step_lines = [line for line in lines if line.startswith("step ") and "val" not in line]
    # the fixed, parseable per-step line (no mfu on CPU)
    parts = step_lines[-1].split(" | ")
    assert parts[0] == "step 40/40" and parts[1].startswith("loss ") and parts[2].startswith("lr ")
    assert parts[3].startswith("norm ") and parts[4].endswith(" ms") and parts[5].endswith(" tok/s")
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 41))
    assert sum("val_loss" in r for r in rows) == 2
    assert (tmp_path / "run" / "loss.png").stat().st_size > 1000
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["step_00000020.pt", "step_00000040.pt"]


def test_resume_is_exact(data: Path, tmp_path: Path) -> None:
    """N steps straight == k steps, stop, resume to N: same losses, bit-identical weights. Dropout
    and grad accumulation on, so RNG state and micro-step data position both matter."""
    common = ("max_steps=8", "ckpt_every=0", "model.dropout=0.1", "tokens_per_step=128", "eval_every=4")
    straight = train(tiny_config(data, tmp_path / "a", *common), log=quiet)
    first = train(tiny_config(data, tmp_path / "b", *common), stop_after=3, log=quiet)
    assert first["stopped"] and first["step"] == 3
    rest = train(tiny_config(data, tmp_path / "b", *common), log=quiet)
    assert first["losses"] + rest["losses"] == straight["losses"]
    assert rest["val_losses"] == straight["val_losses"]
    a = load_checkpoint(latest_checkpoint(tmp_path / "a"))
    b = load_checkpoint(latest_checkpoint(tmp_path / "b"))
    assert a["step"] == b["step"] == 8
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    rows = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 9))


def test_grad_accumulation_equals_big_batch(data: Path, tmp_path: Path) -> None:
    big = train(tiny_config(data, tmp_path / "big", "max_steps=3", "batch_size=8"), log=quiet)
    acc = train(
        tiny_config(data, tmp_path / "acc", "max_steps=3", "batch_size=2", "tokens_per_step=128"), log=quiet
    )
    assert acc["losses"] == pytest.approx(big["losses"], rel=1e-5)
    a = load_checkpoint(latest_checkpoint(tmp_path / "big"))["model"]
    b = load_checkpoint(latest_checkpoint(tmp_path / "acc"))["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5)


def test_fp16_grad_scaler_path(data: Path, tmp_path: Path) -> None:
    summary = train(tiny_config(data, tmp_path / "run", "max_steps=6", "dtype=fp16"), log=quiet)
    assert all(math.isfinite(x) for x in summary["losses"])
    scaler = load_checkpoint(latest_checkpoint(tmp_path / "run"))["scaler"]
    assert scaler["scale"] > 0  # a live GradScaler was saved (fp32 runs save an empty state)


def test_compiled_model_trains_like_eager_and_saves_plain_weights(data: Path, tmp_path: Path) -> None:
    """torch.compile (inductor's C++ backend here; Triton on CUDA) changes speed, not results;
    checkpoints hold the plain module's weights (no `_orig_mod.` prefix) so resume, sample and
    export work whether or not the run was compiled."""
    eager = train(tiny_config(data, tmp_path / "eager", "max_steps=3"), log=quiet)
    compiled = train(tiny_config(data, tmp_path / "compiled", "max_steps=3", "compile=true"), log=quiet)
    assert compiled["losses"] == pytest.approx(eager["losses"], rel=1e-4)
    state = load_checkpoint(latest_checkpoint(tmp_path / "compiled"))["model"]
    assert set(state) == set(load_checkpoint(latest_checkpoint(tmp_path / "eager"))["model"])
    more = train(tiny_config(data, tmp_path / "compiled", "max_steps=4"), log=quiet)  # resumed, eager
    assert more["step"] == 4 and len(more["losses"]) == 1


def test_fused_adamw_matches_the_default_kernel(data: Path, tmp_path: Path) -> None:
    """The trainer takes torch's fused AdamW kernel (CPU and CUDA); its update, with the decay /
    no-decay groups, is checked against the default per-parameter kernel."""
    cfg = tiny_config(data, tmp_path / "run", "weight_decay=0.1", "model.vocab_size=64")
    models = []
    for fused in (False, True):
        torch.manual_seed(0)
        model = GPT(cfg.model)
        opt = build_optimizer(model, cfg, torch.device("cpu"))
        assert opt.defaults["fused"] is True
        assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
        if not fused:
            groups = [{"params": g["params"], "weight_decay": g["weight_decay"]} for g in opt.param_groups]
            opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=False)
            assert not opt.param_groups[0]["fused"]
        x = torch.randint(0, cfg.model.vocab_size, (2, 8))
        for _ in range(3):
            _, loss = model(x, x)
            loss.backward()
            opt.step()
            opt.zero_grad()
        models.append(model)
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        # the key bias has a zero gradient up to rounding, which Adam scales up: 5e-6 apart here
        torch.testing.assert_close(a, b, rtol=1e-4, atol=2e-5, msg=name)


def test_without_the_guard_a_non_finite_loss_stops_and_keeps_last_good_checkpoint(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forward = GPT.forward
    calls = {"n": 0}

    def poisoned(self, idx, targets=None):
        logits, loss = forward(self, idx, targets)
        calls["n"] += 1
        if self.training and calls["n"] > 3:
            loss = loss * float("nan")
        return logits, loss

    monkeypatch.setattr(GPT, "forward", poisoned)
    cfg = tiny_config(
        data, tmp_path / "run", "max_steps=10", "ckpt_every=2", "eval_every=0", "spike.enabled=false"
    )
    with pytest.raises(TrainError, match=r"step 4: loss is nan; stopping without saving .*step_00000002\.pt"):
        train(cfg, log=quiet)
    kept = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert kept["step"] == 2
    assert all(torch.isfinite(t).all() for t in kept["model"].values())


def test_different_model_config_is_refused(data: Path, tmp_path: Path) -> None:
    train(tiny_config(data, tmp_path / "run", "max_steps=1"), log=quiet)
    other = tiny_config(data, tmp_path / "run", "max_steps=2", "model.n_embd=48", "model.mlp=swiglu")
    with pytest.raises(
        TrainError, match=r"different model config \(mlp: checkpoint 'gelu' != config 'swiglu'; n_embd"
    ):
        train(other, log=quiet)


def test_schedules() -> None:
    cos = load_train_config(None, ["max_steps=100", "warmup=10", "lr=1.0", "min_lr=0.1"], data="x")
    assert lr_at(cos, 0) == pytest.approx(0.1)
    assert lr_at(cos, 9) == pytest.approx(1.0)
    assert lr_at(cos, 55) == pytest.approx(0.55)
    assert lr_at(cos, 99) == pytest.approx(0.1, abs=1e-3)
    wsd = load_train_config(
        None, ["max_steps=100", "warmup=10", "lr=1.0", "min_lr=0.1", "schedule=wsd"], data="x"
    )
    assert lr_at(wsd, 50) == lr_at(wsd, 79) == 1.0
    assert lr_at(wsd, 89) == pytest.approx(0.55)
    assert lr_at(wsd, 99) == pytest.approx(0.1)


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'lr_max'; valid keys: .*batch_size"):
        load_train_config(None, ["lr_max=1"], data="x")
    with pytest.raises(ConfigError, match="model: unknown key 'layers'; valid keys: .*n_layer"):
        load_train_config(None, ["model.layers=2"], data="x")
    with pytest.raises(ConfigError, match="no data directory"):
        load_train_config(None, [])
    yml = tmp_path / "t.yaml"
    yml.write_text("lr: 3e-4\nmodel: {n_layer: 3}\ndtype: fp8\n")
    with pytest.raises(ConfigError, match=r"t.yaml: dtype: 'fp8' is not one of auto, fp32, bf16, fp16"):
        load_train_config(yml, [], data="x")
    yml.write_text("lr: 3e-4\nmodel: {n_layer: 3}\n")
    cfg = load_train_config(yml, ["model.n_head=4", "model.n_embd=64"], data="x")
    assert (cfg.lr, cfg.model.n_layer, cfg.model.n_head) == (3e-4, 3, 4)
    cfg = load_train_config(None, ["batch_size=3", "block_size=10", "tokens_per_step=100"], data="x")
    with pytest.raises(
        ConfigError, match="not a multiple of batch_size x block_size x processes = 3 x 10 x 1 = 30"
    ):
        cfg.grad_accum(1)


def test_cli_train_config_yaml_and_errors(data: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli import main

    yml = tmp_path / "train.yaml"
    yml.write_text("model: {n_layer: 2, n_head: 2, n_embd: 32, block_size: 32}\nblock_size: 16\nlr: 1e-3\n")
    runner = CliRunner()
    dry = runner.invoke(
        main, ["train", str(yml), "--data", str(data), "--set", "model.norm=rmsnorm", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "norm: rmsnorm" in dry.output and "lr: 0.001" in dry.output
    bad = runner.invoke(main, ["train", str(yml), "--data", str(data), "--set", "model.norm=batchnorm"])
    assert bad.exit_code != 0
    assert "train.yaml: model.norm: 'batchnorm' is not one of layernorm, rmsnorm" in bad.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("name", ["tiny", "gpt2-124m"])
def test_shipped_configs_load(name: str) -> None:
    path = Path(__file__).resolve().parents[2] / "train" / "configs" / f"{name}.yaml"
    cfg = load_train_config(path, [], data="x")
    assert cfg.grad_accum(world_size=1) >= 1
    assert cfg.block_size <= cfg.model.block_size


def test_activation_checkpointing_option_trains_the_same(data: Path, tmp_path: Path) -> None:
    common = ("max_steps=3", "model.dropout=0.1", "eval_every=0")
    plain = train(tiny_config(data, tmp_path / "a", *common), log=quiet)
    ckpt = train(tiny_config(data, tmp_path / "b", *common, "activation_checkpointing=true"), log=quiet)
    assert ckpt["losses"] == pytest.approx(plain["losses"], rel=1e-6)


def test_resume_accepts_older_checkpoints_and_a_new_z_loss(data: Path, tmp_path: Path) -> None:
    """A checkpoint from before qk_norm / z_loss existed resumes (missing keys are the defaults), and
    z_loss, a loss term, may be switched on mid-run (e.g. after spikes)."""
    from train.checkpoint import save_checkpoint

    train(tiny_config(data, tmp_path / "run", "max_steps=2", "eval_every=0"), log=quiet)
    path = latest_checkpoint(tmp_path / "run")
    state = load_checkpoint(path)
    for key in ("qk_norm", "z_loss"):
        del state["config"]["model"][key]
    save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    more = train(
        tiny_config(data, tmp_path / "run", "max_steps=3", "eval_every=0", "model.z_loss=1e-4"), log=quiet
    )
    assert more["step"] == 3 and len(more["losses"]) == 1
    with pytest.raises(TrainError, match="qk_norm: checkpoint False != config True"):
        train(tiny_config(data, tmp_path / "run", "max_steps=4", "model.qk_norm=true"), log=quiet)
