"""The trainable state of a run, its parallel wrapping, and its round trips through checkpoints.

A checkpoint (train/checkpoint.py) holds the weights, the optimizer and grad-scaler states, the
spike guard's state, the RNG states and the step. Under DDP every rank holds the full model; under
FSDP2 (`parallel: fsdp`) each holds a shard, and a checkpoint is the gathered full state dict
(plain tensors under the plain parameter names), so sample, export, eval and init_from read it
like any other, and a resume re-shards it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from curate.config import to_dict
from train import checkpoint as ckpt_io
from train.config import TrainConfig
from train.errors import TrainError
from train.model import GPT, GPTConfig
from train.runtime import Runtime
from train.spike import SpikeGuard


def parallelize(model: GPT, cfg: TrainConfig, rt: Runtime) -> torch.nn.Module:
    """The module the loop calls: compiled and/or wrapped in DDP, or `model` itself sharded in place
    by FSDP2 (each block its own unit, so one block's full weights are gathered at a time)."""
    model.checkpoint_blocks = cfg.activation_checkpointing
    # the fused loss is written for fp32 and eager mode (no autocast, no compile)
    model.fused_loss = cfg.fused_loss and rt.device.type == "cpu" and rt.dtype == "fp32" and not cfg.compile
    if cfg.parallel == "fsdp" and rt.world > 1:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        mesh = init_device_mesh(rt.device.type, (rt.world,))
        # parameters stay fp32 (the optimizer's master copy); autocast does the low-precision math
        policy = MixedPrecisionPolicy(param_dtype=None, reduce_dtype=torch.float32)
        for block in model.transformer.h:
            fully_shard(block, mesh=mesh, mp_policy=policy)
        fully_shard(model, mesh=mesh, mp_policy=policy)  # embeddings (tied with lm_head), ln_f
        return torch.compile(model) if cfg.compile else model
    wrapped: torch.nn.Module = torch.compile(model) if cfg.compile else model
    if rt.world > 1:
        wrapped = DDP(wrapped, device_ids=[rt.local_rank] if rt.device.type == "cuda" else None)
    return wrapped


@contextlib.contextmanager
def grad_sync(module: torch.nn.Module, sync: bool) -> Iterator[None]:
    """Accumulate gradients locally (no all-reduce / reduce-scatter) unless `sync`: the last
    micro-step of an optimizer step is the only one that communicates."""
    if isinstance(module, DDP) and not sync:
        with module.no_sync():
            yield
        return
    if hasattr(module, "set_requires_gradient_sync"):  # an FSDP2 module
        module.set_requires_gradient_sync(sync)
    yield


def grad_norm(model: GPT, clip: float) -> float:
    """Clip the gradients to total norm `clip` (0 = no clipping) and return the norm before it; the
    same value on every rank (gradients are synchronised; FSDP reduces over the shards)."""
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip > 0 else float("inf"))
    if hasattr(norm, "full_tensor"):  # a DTensor under FSDP
        norm = norm.full_tensor()
    return float(norm)


class TrainState:
    """Model, optimizer, grad scaler and spike guard of one run; saved, resumed and rolled back."""

    def __init__(
        self,
        cfg: TrainConfig,
        rt: Runtime,
        model: GPT,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        guard: SpikeGuard,
        initial: Callable[[], dict[str, torch.Tensor]],
    ) -> None:
        self.cfg, self.rt, self.model, self.optimizer, self.scaler, self.guard = (
            cfg,
            rt,
            model,
            optimizer,
            scaler,
            guard,
        )
        self.initial = initial  # rebuilds the step-0 weights (seeded init or init_from), on CPU
        self.fsdp = cfg.parallel == "fsdp" and rt.world > 1
        self.out_dir = Path(cfg.out_dir)

    # ---------------------------------------------------------------- save

    def save(self, step: int) -> Path | None:
        """Write checkpoints/step_XXXXXXXX.pt (rank 0), prune old ones; every rank must call it
        (FSDP gathers the shards)."""
        model_state, optim_state = self._gather()
        if not self.rt.master:
            return None
        payload = {
            "step": step,
            "model": model_state,
            "optimizer": optim_state,
            "scaler": self.scaler.state_dict(),
            "guard": self.guard.state_dict(),
            "parallel": "fsdp" if self.fsdp else "ddp",
            "config": to_dict(self.cfg),
            "rng": ckpt_io.rng_state(),
        }
        path = ckpt_io.save_checkpoint(ckpt_io.checkpoint_path(self.out_dir, step), payload)
        ckpt_io.prune_checkpoints(self.out_dir, self.cfg.keep_checkpoints)
        return path

    def _gather(self) -> tuple[dict, dict]:
        if not self.fsdp:
            return self.model.state_dict(), self.optimizer.state_dict()
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
            get_optimizer_state_dict,
        )

        # full tensors on rank 0's CPU (the other ranks get empty dicts)
        opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return get_model_state_dict(self.model, options=opts), get_optimizer_state_dict(
            self.model, self.optimizer, options=opts
        )

    # ---------------------------------------------------------------- load

    def resume(self, path: Path) -> int:
        """Load a checkpoint of this run (every rank reads the file); returns its step."""
        state = ckpt_io.load_checkpoint(path)
        # keys a newer version added take their defaults; z_loss is a loss term, free to change
        saved_model = {**to_dict(GPTConfig()), **state["config"]["model"], "z_loss": self.cfg.model.z_loss}
        ckpt_io.check_model_config(path, saved_model, to_dict(self.cfg.model))
        saved = state.get("parallel", "ddp")
        if saved != ("fsdp" if self.fsdp else "ddp"):
            raise TrainError(
                f"{path}: its optimizer state was saved by a {saved} run; resume it with "
                f"parallel={saved} (or start a new out_dir)"
            )
        self._load(state)
        return int(state["step"])

    def _load(self, state: dict[str, Any]) -> None:
        if self.fsdp:
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                set_model_state_dict,
                set_optimizer_state_dict,
            )

            opts = StateDictOptions(full_state_dict=True)
            set_model_state_dict(self.model, state["model"], options=opts)
            set_optimizer_state_dict(self.model, self.optimizer, state["optimizer"], options=opts)
        else:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        if state["scaler"] and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        if "guard" in state:
            self.guard.load_state_dict(state["guard"])
        ckpt_io.set_rng_state(state["rng"])

    def rollback_target(self) -> Path | None:
        """The newest periodic checkpoint (step a multiple of ckpt_every). Not one written by a
        SIGTERM or stop: those exist only in interrupted runs, and a resumed run must roll back to
        where the uninterrupted one does (bit-exact resume)."""
        every = self.cfg.ckpt_every
        found = [
            p for p in ckpt_io.list_checkpoints(self.out_dir) if every and ckpt_io.step_of(p) % every == 0
        ]
        return found[-1] if found else None

    def rollback(self) -> int:
        """Reload the last good checkpoint (the initial weights and a fresh optimizer if there is
        none yet); the guard keeps its rollback count. Returns the step rolled back to."""
        latest = self.rollback_target()
        guard = self.guard.state_dict()
        if latest is not None:
            state = ckpt_io.load_checkpoint(latest)
            self._load(state)
            to_step, restored = int(state["step"]), state.get("guard")
        else:
            weights = self.initial()  # also re-seeds the RNGs as at the start of the run
            if self.fsdp:
                from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

                set_model_state_dict(self.model, weights, options=StateDictOptions(full_state_dict=True))
            else:
                self.model.load_state_dict(weights)
            self.optimizer.state.clear()  # a fresh AdamW: no moments, step 0
            if self.scaler.is_enabled():
                self.scaler.load_state_dict(torch.amp.GradScaler(self.rt.device.type).state_dict())
            to_step, restored = 0, None
        self.guard.load_state_dict(guard)  # this run's count and lr scale, then the rollback's
        self.guard.rolled_back(restored)
        if self.rt.world > 1:
            dist.barrier()
        return to_step
