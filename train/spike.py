"""The spike guard: a step with a bad loss is not applied; repeated bad steps roll the run back.

A step is bad when its loss or gradient norm is not finite, or its loss exceeds `factor` times the
moving average of the last `window` applied steps (once `min_history` steps are in it). A bad step
is skipped: its gradients are dropped and the optimizer never sees them; its data is passed over
(batches are a function of the step, which moves on as usual). Both values the test reads are the
same on every process (the loss is all-reduced, the norm is taken over synchronised gradients), so
all ranks reach the same verdict without another collective.

`max_skips` bad steps within `skip_window` steps mean the weights themselves have gone wrong: the
trainer reloads the last good checkpoint (the initial weights if there is none yet), keeps its data
cursor where it is, so the spike window's batches are skipped, not replayed, optionally scales the
learning rate by `lr_scale`, and goes on. OPT, PaLM and OLMo handle spikes in versions of this.
The guard's state is saved in checkpoints, so a resumed run takes the same decisions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from train.errors import TrainError


@dataclass
class SpikeConfig:
    enabled: bool = True  # off: a non-finite loss stops the run, as without a guard
    factor: float = 2.0  # a loss above factor x the moving average is a spike
    window: int = 20  # applied steps in the moving average
    min_history: int = 10  # the ratio test starts once this many steps are averaged
    max_skips: int = 3  # this many skips within skip_window steps roll back to the last checkpoint
    skip_window: int = 50
    lr_scale: float = 1.0  # the learning rate is multiplied by this at each rollback (e.g. 0.5)
    max_rollbacks: int = 5  # one more stops the run with an error

    def __post_init__(self) -> None:
        if self.factor <= 1.0:
            raise ValueError("spike.factor must be > 1")
        for name in ("window", "min_history", "max_skips", "skip_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"spike.{name} must be >= 1")
        if self.min_history > self.window:
            raise ValueError("spike.min_history must be <= spike.window")
        if not 0.0 < self.lr_scale <= 1.0:
            raise ValueError("spike.lr_scale must be in (0, 1]")
        if self.max_rollbacks < 0:
            raise ValueError("spike.max_rollbacks must be >= 0")


class SpikeGuard:
    def __init__(self, cfg: SpikeConfig) -> None:
        self.cfg = cfg
        self.losses: list[float] = []  # the last `window` applied losses
        self.skips: list[int] = []  # steps skipped within the current skip window
        self.rollbacks = 0
        self.lr_scale = 1.0

    @property
    def average(self) -> float | None:
        return sum(self.losses) / len(self.losses) if self.losses else None

    def verdict(self, loss: float, norm: float, check_norm: bool = True) -> str | None:
        """None for a good step, else the reason it is skipped. check_norm=False under fp16's
        GradScaler, for which inf gradients are a routine overflow that it skips itself."""
        if not self.cfg.enabled:
            return None
        if not math.isfinite(loss):
            return "non_finite_loss"
        if check_norm and not math.isfinite(norm):
            return "non_finite_norm"
        if len(self.losses) >= self.cfg.min_history and loss > self.cfg.factor * self.average:
            return "loss_spike"
        return None

    def accept(self, loss: float) -> None:
        self.losses = [*self.losses, loss][-self.cfg.window :]

    def skip(self, step: int) -> bool:
        """Count a skipped step; True when the skips call for a rollback."""
        self.skips = [s for s in self.skips if s > step - self.cfg.skip_window] + [step]
        return len(self.skips) >= self.cfg.max_skips

    def rolled_back(self, restored: dict[str, Any] | None) -> None:
        """After the trainer reloaded a checkpoint (its guard state `restored`, None for the
        initial weights): its loss history, this run's rollback count plus one."""
        rollbacks, lr_scale = self.rollbacks + 1, self.lr_scale * self.cfg.lr_scale
        if rollbacks > self.cfg.max_rollbacks:
            raise TrainError(
                f"spike guard: {rollbacks} rollbacks exceed spike.max_rollbacks {self.cfg.max_rollbacks}; "
                "the run keeps diverging: lower lr, raise warmup, or try model.qk_norm / model.z_loss"
            )
        self.losses = list(restored["losses"]) if restored else []
        self.skips, self.rollbacks, self.lr_scale = [], rollbacks, lr_scale

    def state_dict(self) -> dict[str, Any]:
        return {
            "losses": list(self.losses),
            "skips": list(self.skips),
            "rollbacks": self.rollbacks,
            "lr_scale": self.lr_scale,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.losses = [float(x) for x in state["losses"]]
        self.skips = [int(x) for x in state["skips"]]
        self.rollbacks, self.lr_scale = int(state["rollbacks"]), float(state["lr_scale"])
