"""The spike guard: poisoned batches are skipped, repeated bad steps roll back, resume stays exact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.train.util import make_data, tiny_config
from train.checkpoint import latest_checkpoint, load_checkpoint
from train.data import Batches
from train.metrics import read_records
from train.model import GPT
from train.spike import SpikeConfig, SpikeGuard
from train.trainer import train

# a tiny model that learns the pattern data within the run (loss 4.2 -> 0.9), guard defaults
STEPS = ("max_steps=160", "eval_every=80", "ckpt_every=10", "lr=1e-2", "min_lr=1e-3")
NOISE_STEPS = {100}  # step indices (0-based) whose batch is replaced by uniformly random tokens
NAN_STEPS = {62, 63, 64}  # step indices whose batch is all zeros, on which the patched loss is NaN


def quiet(msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data(tmp_path_factory.mktemp("tokens"))


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Crafted batches, a function of the step (so a resumed run meets them again): random tokens
    at NOISE_STEPS (a loss spike), all-zero rows at NAN_STEPS, where the forward's loss becomes NaN
    (as an overflow would make it)."""
    get, forward = Batches.get, GPT.forward

    def get_poisoned(self, step: int, micro: int):
        x, y = get(self, step, micro)
        if step in NOISE_STEPS:
            rows = np.random.default_rng(step).integers(0, 64, size=(x.shape[0], x.shape[1] + 1))
            return rows[:, :-1], rows[:, 1:]
        if step in NAN_STEPS:
            return np.zeros_like(x), np.zeros_like(y)
        return x, y

    def forward_poisoned(self, idx, targets=None):
        logits, loss = forward(self, idx, targets)
        if self.training and targets is not None and bool((idx == 0).all()):
            loss = loss * float("nan")
        return logits, loss

    monkeypatch.setattr(Batches, "get", get_poisoned)
    monkeypatch.setattr(GPT, "forward", forward_poisoned)


@pytest.fixture(scope="module")
def clean(data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return train(tiny_config(data, tmp_path_factory.mktemp("clean"), *STEPS), log=quiet)


def events(run: Path) -> list[dict]:
    return [r for r in read_records(run / "metrics.jsonl") if "event" in r]


def test_clean_run_has_no_events(clean: dict) -> None:
    assert clean["events"] == []


def test_poisoned_batches_are_skipped_then_rolled_back(
    data: Path, tmp_path: Path, clean: dict, poisoned: None
) -> None:
    lines: list[str] = []
    summary = train(tiny_config(data, tmp_path / "run", *STEPS), log=lines.append)
    got = [(e["event"], e["step"], e.get("reason")) for e in events(tmp_path / "run")]
    # three NaN steps (63, 64, 65) within the skip window: rolled back to the checkpoint of step 60;
    # the random batch of step 101 is a spike (its loss is several times the average)
    assert got == [
        ("skip", 63, "non_finite_loss"),
        ("skip", 64, "non_finite_loss"),
        ("skip", 65, "non_finite_loss"),
        ("rollback", 65, None),
        ("skip", 101, "loss_spike"),
    ]
    rollback = events(tmp_path / "run")[3]
    assert rollback["to_step"] == 60 and rollback["data_skipped"] == [61, 65]
    assert any(line.startswith("step 65/160 | rollback | to_step 60") for line in lines)
    assert any(line.startswith("step 101/160 | skipped (loss_spike)") for line in lines)
    # strict JSON: the NaN losses are written as null
    for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    final = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert all(torch.isfinite(t).all() for t in final["model"].values())
    assert summary["val_losses"][-1][1] == pytest.approx(clean["val_losses"][-1][1], rel=0.02)


def test_without_the_guard_the_spike_is_applied(data: Path, tmp_path: Path, clean: dict, monkeypatch) -> None:
    """The same random batch, guard off: it is trained on (the control for the test above)."""
    get = Batches.get
    monkeypatch.setattr(
        Batches,
        "get",
        lambda self, step, micro: (
            tuple(np.random.default_rng(step).integers(0, 64, size=(2, *get(self, step, micro)[0].shape)))
            if step in NOISE_STEPS
            else get(self, step, micro)
        ),
    )
    off = train(tiny_config(data, tmp_path / "off", *STEPS, "spike.enabled=false"), log=quiet)
    on = train(tiny_config(data, tmp_path / "on", *STEPS), log=quiet)
    assert [e["step"] for e in on["events"]] == [101] and off["events"] == []
    assert off["losses"][101:] != on["losses"][101:]  # the spike's update changed what followed
    assert on["losses"][:101] == off["losses"][:101]


@pytest.mark.parametrize("stop", [62, 64])
def test_resume_is_exact_with_the_guard_on(data: Path, tmp_path: Path, poisoned: None, stop: int) -> None:
    """Stopped after step 62 (before the NaN streak) or 64 (inside it, so the stop checkpoint holds
    pending skips): the resumed run rolls back to the same checkpoint and ends bit-identical."""
    straight = train(tiny_config(data, tmp_path / "a", *STEPS), log=quiet)
    first = train(tiny_config(data, tmp_path / "b", *STEPS), stop_after=stop, log=quiet)
    rest = train(tiny_config(data, tmp_path / "b", *STEPS), log=quiet)
    nan = float("nan")
    same = [x if x == x else nan for x in first["losses"] + rest["losses"]]
    assert np.array_equal(np.array(same), np.array(straight["losses"]), equal_nan=True)
    assert rest["val_losses"] == straight["val_losses"][-len(rest["val_losses"]) :]
    a = load_checkpoint(latest_checkpoint(tmp_path / "a"))
    b = load_checkpoint(latest_checkpoint(tmp_path / "b"))
    assert a["guard"] == b["guard"] and a["guard"]["rollbacks"] == 1
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name

    def strip(run: str) -> list[dict]:
        return [
            {k: v for k, v in r.items() if k not in ("ms", "tok_s")}
            for r in read_records(tmp_path / run / "metrics.jsonl")
        ]

    assert strip("a") == strip("b")


def test_rollback_before_any_checkpoint_restarts_from_the_initial_weights(
    data: Path, tmp_path: Path, poisoned: None
) -> None:
    summary = train(tiny_config(data, tmp_path / "run", *STEPS, "ckpt_every=0"), log=quiet)
    rollback = next(e for e in summary["events"] if e["event"] == "rollback")
    assert rollback["to_step"] == 0 and rollback["data_skipped"] == [1, 65]
    # restarted from the initial weights and a fresh optimizer: the loss is back near ln(64)
    assert summary["losses"][65] == pytest.approx(summary["losses"][0], rel=0.05)


def test_guard_rules_and_lr_scale() -> None:
    guard = SpikeGuard(
        SpikeConfig(factor=2.0, window=4, min_history=2, max_skips=2, skip_window=5, lr_scale=0.5)
    )
    assert guard.verdict(100.0, 1.0) is None  # no history yet: only non-finite values are caught
    for loss in (3.0, 3.0, 3.0, 1.0):
        guard.accept(loss)
    assert (
        guard.average == 2.5 and guard.verdict(5.0, 1.0) is None and guard.verdict(5.1, 1.0) == "loss_spike"
    )
    assert guard.verdict(1.0, float("inf")) == "non_finite_norm"
    assert guard.verdict(1.0, float("inf"), check_norm=False) is None  # fp16: the scaler's business
    assert not guard.skip(10) and not guard.skip(16)  # 6 steps apart: outside the window of 5
    assert guard.skip(19)
    guard.rolled_back({"losses": [2.0]})
    assert (guard.rollbacks, guard.lr_scale, guard.skips, guard.losses) == (1, 0.5, [], [2.0])
    assert SpikeGuard(SpikeConfig(enabled=False)).verdict(float("nan"), 1.0) is None


def test_lr_scale_after_rollback_is_applied_and_saved(data: Path, tmp_path: Path, poisoned: None) -> None:
    train(tiny_config(data, tmp_path / "run", *STEPS, "spike.lr_scale=0.5", "eval_every=0"), log=quiet)
    rows = read_records(tmp_path / "run" / "metrics.jsonl")
    lr = {r["step"]: r["lr"] for r in rows if "event" not in r}
    ref = train(tiny_config(data, tmp_path / "ref", *STEPS, "eval_every=0"), log=quiet)
    ref_lr = {
        r["step"]: r["lr"] for r in read_records(tmp_path / "ref" / "metrics.jsonl") if "event" not in r
    }
    assert lr[62] == ref_lr[62] and lr[80] == pytest.approx(0.5 * ref_lr[80])
    assert load_checkpoint(latest_checkpoint(tmp_path / "run"))["guard"]["lr_scale"] == 0.5
    assert ref["events"]  # the reference ran poisoned too, without the lr scale


def test_fp16_skips_leave_the_grad_scaler_working(data: Path, tmp_path: Path, poisoned: None) -> None:
    """Under fp16 a skipped step still updates the GradScaler (after unscale_), and its inf
    gradients are the scaler's business, not a spike."""
    summary = train(tiny_config(data, tmp_path / "run", *STEPS, "dtype=fp16"), log=quiet)
    assert [e["step"] for e in summary["events"] if e["event"] == "skip"][:3] == [63, 64, 65]
    assert load_checkpoint(latest_checkpoint(tmp_path / "run"))["scaler"]["scale"] > 0
