"""Where a run executes: processes (torchrun), device, precision, the MFU peak, SIGTERM.

Launched by torchrun, RANK / WORLD_SIZE / LOCAL_RANK are in the environment: the process group is
gloo on CPU and nccl on CUDA.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from train.config import TrainConfig
from train.errors import TrainError

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

# Dense (no sparsity) bf16 tensor-core peak per device in FLOP/s, from the vendors' datasheets.
# The first entry whose name is in torch.cuda.get_device_name() wins, so specific names come first.
PEAK_BF16 = [
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("GH200", 989e12),
    ("H200", 989e12),
    ("H100", 989e12),  # SXM ("NVIDIA H100 80GB HBM3")
    ("H800", 989e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("A800", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("MI300X", 1307e12),
    ("V100", 125e12),  # fp16: V100 has no bf16
]


@dataclass
class Runtime:
    rank: int
    local_rank: int
    world: int
    device: torch.device
    dtype: str  # fp32 | bf16 | fp16, resolved

    @property
    def master(self) -> bool:
        return self.rank == 0

    def autocast(self) -> Any:
        if self.dtype == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=DTYPES[self.dtype])


def setup_runtime(cfg: TrainConfig) -> Runtime:
    """Join the process group when launched by torchrun, pick the device and the precision."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        raise TrainError("device: cuda requested but no CUDA device is available")
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
        torch.set_float32_matmul_precision("high")  # TF32 matmuls on Ampere and later
        torch.backends.cudnn.allow_tf32 = True
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    dtype = cfg.dtype
    if dtype == "auto":
        dtype = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if use_cuda else "fp32"
    return Runtime(rank, local_rank, world, device, dtype)


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def peak_flops(cfg: TrainConfig, device: torch.device) -> tuple[float, str] | None:
    """(FLOP/s per device, where the figure comes from) for MFU; None when unknown (CPU, a GPU
    not in the table and no peak_flops in the config)."""
    if cfg.peak_flops:
        return cfg.peak_flops, "peak_flops from the config"
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for pattern, flops in PEAK_BF16:
        if pattern in name:
            return flops, f"{name} dense bf16"
    return None


def all_mean(value: torch.Tensor, rt: Runtime) -> torch.Tensor:
    """The mean of a scalar over all processes (the value itself in a single process)."""
    if rt.world > 1:
        value = value.clone()
        dist.all_reduce(value)  # SUM: gloo has no AVG
        value /= rt.world
    return value


def any_rank(flag: bool, rt: Runtime) -> bool:
    """True on every rank when it is True on one (so that all leave the loop at the same step)."""
    if rt.world == 1:
        return flag
    t = torch.tensor(float(flag), device=rt.device)
    dist.all_reduce(t)
    return bool(t.item() > 0)


class StopFlag:
    """Set by SIGTERM (e.g. a scheduler's preemption notice): the loop checkpoints and exits."""

    def __init__(self) -> None:
        self.set = False
        self._previous: Any = None

    def __enter__(self) -> StopFlag:
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread: no signal handling
            self._previous = None
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.set = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
