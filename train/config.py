"""Training configuration: defaults < optional YAML < `--set key=value` (dotted for the model:
`--set model.n_layer=4`). Unknown keys are errors that list the valid ones (the same checked
loader as the pipeline configs)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from curate.config import ConfigError, apply_override, from_dict, parse_override, read_yaml_mapping, to_dict
from train.model import GPTConfig
from train.spike import SpikeConfig


@dataclass
class TrainConfig:
    model: GPTConfig = field(default_factory=GPTConfig)
    data: str = ""  # directory of train_*.bin / val_*.bin shards (and tokenizer.json)
    # warm start: a Hugging Face GPT-2 directory or one of our checkpoints (weights only: a fresh
    # optimizer and schedule); the model architecture comes from it
    init_from: str = ""
    out_dir: str = "runs/train"  # checkpoints, metrics.jsonl, loss.png, config.yaml
    batch_size: int = 8  # sequences per micro-step per process
    block_size: int = 256  # training sequence length (<= model.block_size)
    tokens_per_step: int = 0  # tokens per optimizer step, all processes; 0 = one micro-step each
    sampling: Literal["random", "sequential"] = "random"  # how training windows are drawn
    lr: float = 6e-4
    min_lr: float = 6e-5
    warmup: int = 100  # steps of linear warmup
    schedule: Literal["cosine", "wsd"] = "cosine"
    decay_frac: float = 0.2  # wsd: the last fraction of steps decays linearly to min_lr
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # 0 = no clipping
    max_steps: int = 1000
    eval_every: int = 100  # val loss every N steps (0 = only at the end)
    eval_steps: int = 20  # micro-batches per val evaluation
    ckpt_every: int = 200  # checkpoint every N steps (and always at the end)
    keep_checkpoints: int = 2  # newest checkpoints kept on disk
    log_every: int = 1
    dtype: Literal["auto", "fp32", "bf16", "fp16"] = (
        "auto"  # auto: bf16 on CUDA if supported, else fp16; fp32 on CPU
    )
    compile: bool = False
    seed: int = 1337
    prefetch: int = 2  # batches prepared ahead by a background thread (0 = inline)
    device: str = "auto"  # auto | cpu | cuda
    parallel: Literal["ddp", "fsdp"] = "ddp"  # under torchrun: replicate (DDP) or shard (FSDP2) the model
    activation_checkpointing: bool = False  # recompute each block in backward: less memory, ~1/3 more compute
    # lm_head + cross-entropy chunk by chunk, gradients in the forward (train/fused_loss.py): used on
    # CPU in fp32 without compile, where a step is ~1.2x faster; elsewhere the plain path
    fused_loss: bool = True
    peak_flops: float = 0.0  # per device, for MFU; 0 = from the table of known GPUs (train/runtime.py)
    spike: SpikeConfig = field(default_factory=SpikeConfig)

    def __post_init__(self) -> None:
        positive = ("batch_size", "block_size", "max_steps", "eval_steps", "keep_checkpoints", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        for name in ("tokens_per_step", "warmup", "eval_every", "ckpt_every", "prefetch"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.block_size > self.model.block_size:
            raise ValueError(f"block_size {self.block_size} exceeds model.block_size {self.model.block_size}")
        if not 0 <= self.min_lr <= self.lr:
            raise ValueError(f"min_lr {self.min_lr} must be in [0, lr={self.lr}]")
        if not 0.0 < self.decay_frac <= 1.0:
            raise ValueError("decay_frac must be in (0, 1]")
        if self.grad_clip < 0 or self.weight_decay < 0 or self.peak_flops < 0:
            raise ValueError("grad_clip, weight_decay and peak_flops must be >= 0")

    def grad_accum(self, world_size: int) -> int:
        """Micro-steps per optimizer step so that one step sees tokens_per_step tokens."""
        per_micro = self.batch_size * self.block_size * world_size
        if self.tokens_per_step == 0:
            return 1
        if self.tokens_per_step % per_micro:
            raise ConfigError(
                f"tokens_per_step {self.tokens_per_step} is not a multiple of batch_size x block_size x "
                f"processes = {self.batch_size} x {self.block_size} x {world_size} = {per_micro}"
            )
        return self.tokens_per_step // per_micro


# YAML 1.1 reads `3e-4` (no dot) as a string; a config author means the number
_EXP_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _numbers(value: object) -> object:
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, str) and _EXP_FLOAT.fullmatch(value.strip()):
        return float(value)
    return value


def load_train_config(
    path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (), data: str | None = None
) -> TrainConfig:
    """Read the optional YAML, apply `--set` overrides and `--data`, and check the result."""
    raw: dict = {}
    where = ""
    if path is not None:
        path = Path(path)
        where = f"{path}: "
        raw = read_yaml_mapping(path)
    for item in overrides:
        keys, value = parse_override(item)
        apply_override(raw, keys, value)
    if data is not None:
        raw["data"] = data
    raw = _numbers(raw)
    try:
        cfg = from_dict(TrainConfig, raw)
    except ConfigError as e:
        raise ConfigError(f"{where}{e}") from None
    if not cfg.data:
        raise ConfigError(f"{where}no data directory: pass --data DIR (or set data: in the config)")
    return cfg


def dump_config(cfg: TrainConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
