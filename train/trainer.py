"""The training loop: read it top to bottom.

setup (processes, device, precision) -> data -> model -> optimizer -> resume from the latest
checkpoint -> for each step: micro-steps with gradient accumulation, clip, optimizer step, one log
line, val loss every eval_every steps, checkpoint every ckpt_every steps. Launch with `torchrun`
for DDP (RANK / WORLD_SIZE / LOCAL_RANK in the environment): gloo on CPU, nccl on CUDA.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import shutil
import signal
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from curate.config import to_dict
from train import checkpoint as ckpt_io
from train.config import TrainConfig, dump_config
from train.data import Batches, Prefetcher
from train.errors import TrainError
from train.model import GPT

PEAK_FLOPS = 989e12  # H100 SXM dense bf16; MFU is reported against this on every CUDA device
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


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


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Linear warmup, then cosine decay to min_lr, or WSD: constant, then a linear decay over the
    last decay_frac of the steps."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "wsd":
        decay_start = cfg.max_steps - max(1, int(cfg.decay_frac * cfg.max_steps))
        if step < decay_start:
            return cfg.lr
        frac = (step - decay_start + 1) / (cfg.max_steps - decay_start)
        return cfg.lr - (cfg.lr - cfg.min_lr) * min(frac, 1.0)
    progress = min((step - cfg.warmup) / max(1, cfg.max_steps - cfg.warmup), 1.0)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


def resolve_vocab(cfg: TrainConfig, batches: Batches) -> TrainConfig:
    """vocab_size 0 = the tokenizer's vocabulary (tokenizer.json in the data dir), else the largest
    token id + 1; rounded up to a multiple of 64 for efficient matmuls."""
    tok = Path(cfg.data) / "tokenizer.json"
    needed = 0
    if tok.is_file():
        from tokenizers import Tokenizer

        needed = Tokenizer.from_file(str(tok)).get_vocab_size()
    elif cfg.model.vocab_size == 0:
        needed = 1 + max(int(a.max()) for a in batches.train.arrays if len(a))
    if cfg.model.vocab_size:
        if cfg.model.vocab_size < needed:
            raise TrainError(f"model.vocab_size {cfg.model.vocab_size} < the tokenizer's {needed} ({tok})")
        return cfg
    model = dataclasses.replace(cfg.model, vocab_size=64 * math.ceil(needed / 64))
    return dataclasses.replace(cfg, model=model)


def build_optimizer(model: GPT, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with decoupled weight decay on matrices (and embeddings) only: decaying biases and
    norm gains hurts and buys nothing. Fused kernel on CUDA."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = device.type == "cuda"
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=fused)


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


def _all_mean(value: torch.Tensor, rt: Runtime) -> torch.Tensor:
    if rt.world > 1:
        value = value.clone()
        dist.all_reduce(value)  # SUM: gloo has no AVG
        value /= rt.world
    return value


@torch.no_grad()
def evaluate(model: GPT, batches: Batches, cfg: TrainConfig, rt: Runtime, autocast: Any) -> float:
    model.eval()
    total = torch.zeros((), device=rt.device)
    for x, y in batches.val_batches(cfg.eval_steps):
        x, y = (torch.from_numpy(np.ascontiguousarray(a)).to(rt.device) for a in (x, y))
        with autocast:
            _, loss = model(x, y)
        total += loss.float()
    model.train()
    return float(_all_mean(total / cfg.eval_steps, rt).item())


def _trim_metrics(path: Path, start_step: int) -> None:
    """On resume, forget records after the checkpoint's step (they are about to be redone)."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= start_step]
    path.write_text("".join(line + "\n" for line in keep))


def write_loss_plot(out_dir: Path) -> Path:
    """loss.png from metrics.jsonl: train loss per step, val loss where measured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines() if line]
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot(*zip(*train), label="train", linewidth=1)
    if val:
        ax.plot(*zip(*val), "o-", label="val")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out_dir / "loss.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def train(
    cfg: TrainConfig, *, stop_after: int | None = None, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Train (or resume) per cfg. stop_after=k checkpoints and returns after step k, as a kill
    right after that checkpoint would. Returns a summary (losses, throughput, MFU, data wait)."""
    rt = setup_runtime(cfg)
    say = log if rt.master else (lambda msg: None)
    out_dir = Path(cfg.out_dir)
    accum = cfg.grad_accum(rt.world)
    batches = Batches(
        cfg.data, cfg.batch_size, cfg.block_size, accum, rt.rank, rt.world, cfg.seed, cfg.sampling
    )
    cfg = resolve_vocab(cfg, batches)

    # same seed on every rank: identical initial weights (DDP also broadcasts rank 0's)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    model = GPT(cfg.model).to(rt.device)
    optimizer = build_optimizer(model, cfg, rt.device)
    scaler = torch.amp.GradScaler(rt.device.type, enabled=rt.dtype == "fp16")

    start_step = 0
    latest = ckpt_io.latest_checkpoint(out_dir)
    if latest is not None:
        state = ckpt_io.load_checkpoint(latest)
        ckpt_io.check_model_config(latest, state["config"]["model"], to_dict(cfg.model))
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state["scaler"] and scaler.is_enabled():
            scaler.load_state_dict(state["scaler"])
        ckpt_io.set_rng_state(state["rng"])
        start_step = int(state["step"])
        say(f"resuming from {latest} (step {start_step})")
        if start_step >= cfg.max_steps:
            say(f"already at step {start_step} >= max_steps {cfg.max_steps}: nothing to do")
    if rt.master:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.yaml").write_text(dump_config(cfg))
        tok = Path(cfg.data) / "tokenizer.json"
        if tok.is_file():
            shutil.copyfile(tok, out_dir / "tokenizer.json")  # sample and export find it here
        _trim_metrics(out_dir / "metrics.jsonl", start_step)

    raw_model = model
    if cfg.compile:
        model = torch.compile(model)
    if rt.world > 1:
        model = DDP(model, device_ids=[rt.local_rank] if rt.device.type == "cuda" else None)
    autocast = (
        torch.autocast(rt.device.type, dtype=DTYPES[rt.dtype])
        if rt.dtype != "fp32"
        else contextlib.nullcontext()
    )
    tokens_per_step = cfg.batch_size * cfg.block_size * accum * rt.world
    flops_per_step = raw_model.flops_per_token(cfg.block_size) * tokens_per_step
    say(
        f"model {raw_model.num_params() / 1e6:.2f}M params | {rt.world} process(es) on {rt.device.type} | "
        f"{rt.dtype} | {tokens_per_step} tokens/step = {cfg.batch_size} x {cfg.block_size} x {accum} accum "
        f"x {rt.world} | train tokens {batches.train.num_tokens}"
    )

    def save(step: int) -> Path | None:
        if not rt.master:
            return None
        payload = {
            "step": step,
            "model": raw_model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "config": to_dict(cfg),
            "rng": ckpt_io.rng_state(),
        }
        path = ckpt_io.save_checkpoint(ckpt_io.checkpoint_path(out_dir, step), payload)
        ckpt_io.prune_checkpoints(out_dir, cfg.keep_checkpoints)
        return path

    summary: dict[str, Any] = {"losses": [], "val_losses": [], "stopped": False, "step": start_step}
    step_times: list[float] = []
    step_waits: list[float] = []
    metrics = open(out_dir / "metrics.jsonl", "a") if rt.master else None  # noqa: SIM115
    prefetch = Prefetcher(batches, start_step, cfg.max_steps, cfg.prefetch, rt.device)
    try:
        with StopFlag() as stop:
            for step in range(start_step, cfg.max_steps):
                t0 = time.perf_counter()
                wait0 = prefetch.wait_s
                lr = lr_at(cfg, step)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                loss_sum = torch.zeros((), device=rt.device)
                for micro in range(accum):
                    x, y = prefetch.next()
                    # DDP all-reduces gradients in backward; on all but the last micro-step the
                    # gradients only accumulate locally
                    last = micro == accum - 1
                    sync = model.no_sync() if rt.world > 1 and not last else contextlib.nullcontext()
                    with sync:
                        with autocast:
                            _, loss = model(x, y)
                        loss = loss / accum  # the mean over the whole step's batch
                        loss_sum += loss.detach()
                        scaler.scale(loss).backward()
                loss_val = float(_all_mean(loss_sum, rt).item())
                step_done = step + 1
                if not math.isfinite(loss_val):
                    kept = ckpt_io.latest_checkpoint(out_dir)
                    raise TrainError(
                        f"step {step_done}: loss is {loss_val}; stopping without saving (last good "
                        f"checkpoint: {kept or 'none'}); try a lower lr, grad_clip, or dtype bf16/fp32"
                    )
                scaler.unscale_(optimizer)  # clip the true gradients, not the fp16-scaled ones
                clip = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
                norm = float(torch.nn.utils.clip_grad_norm_(raw_model.parameters(), clip))
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                if rt.device.type == "cuda":
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                step_times.append(dt)
                step_waits.append(prefetch.wait_s - wait0)
                summary["losses"].append(loss_val)
                summary["step"] = step_done

                record: dict[str, Any] = {
                    "step": step_done,
                    "loss": loss_val,
                    "lr": lr,
                    "norm": norm,
                    "ms": dt * 1e3,
                    "tok_s": tokens_per_step / dt,
                }
                line = (
                    f"step {step_done}/{cfg.max_steps} | loss {loss_val:.4f} | lr {lr:.4e} | norm {norm:.2f} | "
                    f"{dt * 1e3:.1f} ms | {tokens_per_step / dt:.0f} tok/s"
                )
                if rt.device.type == "cuda":
                    record["mfu"] = flops_per_step / dt / (PEAK_FLOPS * rt.world)
                    line += f" | mfu {100 * record['mfu']:.1f}%"
                if step_done % cfg.log_every == 0 or step_done == cfg.max_steps:
                    say(line)

                final = step_done == cfg.max_steps
                if batches.val is not None and (
                    (cfg.eval_every and step_done % cfg.eval_every == 0) or final
                ):
                    record["val_loss"] = evaluate(raw_model, batches, cfg, rt, autocast)
                    summary["val_losses"].append((step_done, record["val_loss"]))
                    say(f"step {step_done}/{cfg.max_steps} | val loss {record['val_loss']:.4f}")
                if metrics is not None:
                    metrics.write(json.dumps(record) + "\n")
                    metrics.flush()

                stopping = stop.set or stop_after == step_done
                if rt.world > 1:  # every rank must leave at the same step, so agree on the flag
                    flag = torch.tensor(float(stopping), device=rt.device)
                    dist.all_reduce(flag)
                    stopping = bool(flag.item() > 0)
                if final or stopping or (cfg.ckpt_every and step_done % cfg.ckpt_every == 0):
                    path = save(step_done)
                    if path is not None and (final or stopping):
                        say(f"checkpoint: {path}")
                if "val_loss" in record or final or stopping:
                    if rt.master:
                        write_loss_plot(out_dir)
                if stopping:
                    summary["stopped"] = True
                    if stop.set:
                        say(f"stopped by SIGTERM after step {step_done}; rerun the same command to resume")
                    break
    finally:
        prefetch.close()
        if metrics is not None:
            metrics.close()

    timed = step_times[2:] or step_times  # the first steps include compilation and warm-up
    if timed:
        summary["tok_s"] = tokens_per_step / statistics.median(timed)
        summary["data_wait_frac"] = sum(step_waits[-len(timed) :]) / sum(timed)
        if rt.device.type == "cuda":
            summary["mfu"] = flops_per_step / statistics.median(timed) / (PEAK_FLOPS * rt.world)
    summary["flops_per_token"] = raw_model.flops_per_token(cfg.block_size)
    summary["params"] = raw_model.num_params()
    return summary


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
