"""The training loop: read `train` top to bottom.

setup (processes, device, precision) -> data -> model (seeded init, or warm-started from init_from)
-> optimizer -> resume from the latest checkpoint -> for each step: micro-steps with gradient
accumulation, clip, the spike guard's verdict (apply, skip, or roll back), one log line and one
metrics record, val loss every eval_every steps, checkpoint every ckpt_every steps.
"""

from __future__ import annotations

import glob
import math
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from train import checkpoint as ckpt_io
from train.config import TrainConfig, dump_config
from train.data import Batches, Prefetcher
from train.errors import TrainError
from train.metrics import MetricsLog, trim_records, write_loss_plot
from train.model import GPT
from train.runtime import Runtime, StopFlag, all_mean, any_rank, peak_flops, setup_runtime
from train.spike import SpikeGuard
from train.state import TrainState, grad_norm, grad_sync, parallelize
from train.weights import initial_weights, reinit, resolve_model


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


def build_optimizer(model: GPT, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with decoupled weight decay on matrices (and embeddings) only: decaying biases and
    norm gains hurts and buys nothing. The fused kernel on CUDA and on CPU, where torch otherwise
    loops over parameters (clip + step: 24 ms vs 95 ms at 16M parameters, bench/train.py --phases)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = device.type in ("cuda", "cpu")
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=fused)


@torch.no_grad()
def evaluate(model: torch.nn.Module, batches: Batches, cfg: TrainConfig, rt: Runtime) -> float:
    """Mean loss over the same val windows at every evaluation (so values compare step to step)."""
    model.eval()
    total = torch.zeros((), device=rt.device)
    for x, y in batches.val_batches(cfg.eval_steps):
        x, y = (torch.from_numpy(np.ascontiguousarray(a)).to(rt.device) for a in (x, y))
        with rt.autocast():
            _, loss = model(x, y)
        total += loss.float()
    model.train()
    return float(all_mean(total / cfg.eval_steps, rt).item())


def prepare_out_dir(cfg: TrainConfig, start_step: int) -> None:
    """config.yaml, the tokenizer beside the run, metrics trimmed to the resumed step, and the
    temporary files of a checkpoint write that a kill interrupted removed."""
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.yaml").write_text(dump_config(cfg))
    tok = Path(cfg.data) / "tokenizer.json"
    if tok.is_file():
        shutil.copyfile(tok, out_dir / "tokenizer.json")  # sample, export and eval find it here
    trim_records(out_dir / "metrics.jsonl", start_step)
    for tmp in glob.glob(str(ckpt_io.checkpoint_dir(out_dir) / ".step_*.pt.tmp-*")):
        Path(tmp).unlink(missing_ok=True)


class Meter:
    """Step timing, data wait, throughput and MFU; the header and the fixed per-step log line."""

    def __init__(self, cfg: TrainConfig, rt: Runtime, model: GPT, accum: int) -> None:
        self.cfg, self.rt, self.accum = cfg, rt, accum
        self.tokens_per_step = cfg.batch_size * cfg.block_size * accum * rt.world
        self.flops_per_step = model.flops_per_token(cfg.block_size) * self.tokens_per_step
        self.peak = peak_flops(cfg, rt.device)
        self.times: list[float] = []
        self.waits: list[float] = []

    def header(self, model: GPT, train_tokens: int) -> str:
        cfg, rt = self.cfg, self.rt
        line = (
            f"model {model.num_params() / 1e6:.2f}M params | {rt.world} process(es) on {rt.device.type} "
            f"({cfg.parallel if rt.world > 1 else 'single'}) | {rt.dtype} | {self.tokens_per_step} tokens/step = "
            f"{cfg.batch_size} x {cfg.block_size} x {self.accum} accum x {rt.world} | train tokens {train_tokens}"
        )
        if self.peak:
            line += f" | mfu against {self.peak[0] / 1e12:.0f} TFLOP/s per device ({self.peak[1]})"
        return line

    def start(self) -> None:
        self.last = time.perf_counter()

    def stop(self, wait: float) -> float:
        """End a step's clock (once the GPU is done with it) and start the next one's; returns the
        step's seconds. The clock runs from the end of the previous step, so logging, metrics, val
        and checkpoints count against throughput (as nanoGPT's loop timing counts them)."""
        if self.rt.device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        dt, self.last = now - self.last, now
        self.times.append(dt)
        self.waits.append(wait)
        return dt

    def mfu(self, dt: float) -> float | None:
        return self.flops_per_step / dt / (self.peak[0] * self.rt.world) if self.peak else None

    def record(self, step: int, loss: float, lr: float, norm: float, dt: float) -> tuple[dict[str, Any], str]:
        """The metrics record and the llm.c-style line: step, loss, lr, norm, ms, tok/s [, mfu]."""
        tok_s = self.tokens_per_step / dt
        record = {"step": step, "loss": loss, "lr": lr, "norm": norm, "ms": dt * 1e3, "tok_s": tok_s}
        line = (
            f"step {step}/{self.cfg.max_steps} | loss {loss:.4f} | lr {lr:.4e} | norm {norm:.2f} | "
            f"{dt * 1e3:.1f} ms | {tok_s:.0f} tok/s"
        )
        mfu = self.mfu(dt)
        if mfu is not None:
            record["mfu"] = mfu
            line += f" | mfu {100 * mfu:.1f}%"
        return record, line

    def summary(self) -> dict[str, Any]:
        timed = self.times[2:] or self.times  # the first steps include compilation and warm-up
        if not timed:
            return {}
        median = statistics.median(timed)
        out = {
            "tok_s": self.tokens_per_step / median,
            "data_wait_frac": sum(self.waits[-len(timed) :]) / sum(timed),
        }
        if self.peak:
            out.update(mfu=self.mfu(median), peak=self.peak[1])
        return out


def forward_backward(
    wrapped: torch.nn.Module, prefetch: Prefetcher, accum: int, scaler: torch.amp.GradScaler, rt: Runtime
) -> float:
    """The step's micro-batches through forward and backward (gradients accumulate; only the last
    micro-step synchronises them); returns the step's mean loss over all processes."""
    loss_sum = torch.zeros((), device=rt.device)
    for micro in range(accum):
        x, y = prefetch.next()  # (B, T) each
        with grad_sync(wrapped, sync=micro == accum - 1):
            with rt.autocast():
                _, loss = wrapped(x, y)
            loss = loss / accum  # the mean over the whole step's batch
            loss_sum += loss.detach()
            scaler.scale(loss).backward()
    return float(all_mean(loss_sum, rt).item())


def train(
    cfg: TrainConfig, *, stop_after: int | None = None, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Train (or resume) per cfg. stop_after=k checkpoints and returns after step k, as a kill
    right after that checkpoint would. Returns a summary (losses, events, throughput, MFU, data wait)."""
    rt = setup_runtime(cfg)
    say = log if rt.master else (lambda msg: None)
    out_dir = Path(cfg.out_dir)
    accum = cfg.grad_accum(rt.world)
    batches = Batches(
        cfg.data, cfg.batch_size, cfg.block_size, accum, rt.rank, rt.world, cfg.seed, cfg.sampling
    )
    cfg, weights = resolve_model(cfg, batches)

    model = GPT(cfg.model)
    model.load_state_dict(initial_weights(cfg, weights))
    model = model.to(rt.device)
    del weights  # a rollback before the first checkpoint re-reads init_from
    wrapped = parallelize(model, cfg, rt)  # FSDP shards `model` in place: build the optimizer after
    optimizer = build_optimizer(model, cfg, rt.device)
    scaler = torch.amp.GradScaler(rt.device.type, enabled=rt.dtype == "fp16")
    guard = SpikeGuard(cfg.spike)
    state = TrainState(cfg, rt, model, optimizer, scaler, guard, initial=lambda: reinit(cfg, batches))

    start_step = 0
    latest = ckpt_io.latest_checkpoint(out_dir)
    if latest is not None:
        start_step = state.resume(latest)
        say(f"resuming from {latest} (step {start_step})")
        if start_step >= cfg.max_steps:
            say(f"already at step {start_step} >= max_steps {cfg.max_steps}: nothing to do")
    elif cfg.init_from:
        say(f"warm start from {cfg.init_from}")
    if rt.master:
        prepare_out_dir(cfg, start_step)
    meter = Meter(cfg, rt, model, accum)
    say(meter.header(model, batches.train.num_tokens))

    summary: dict[str, Any] = {
        "losses": [],
        "val_losses": [],
        "events": [],
        "stopped": False,
        "step": start_step,
    }
    metrics = MetricsLog(out_dir / "metrics.jsonl" if rt.master else None)
    prefetch = Prefetcher(batches, start_step, cfg.max_steps, cfg.prefetch, rt.device)
    meter.start()
    try:
        with StopFlag() as stop:
            for step in range(start_step, cfg.max_steps):
                wait0 = prefetch.wait_s
                lr = lr_at(cfg, step) * guard.lr_scale
                for group in optimizer.param_groups:
                    group["lr"] = lr
                loss = forward_backward(wrapped, prefetch, accum, scaler, rt)
                scaler.unscale_(optimizer)  # clip the true gradients, not the fp16-scaled ones
                norm = grad_norm(model, cfg.grad_clip)
                # apply the step, unless the spike guard finds it bad
                verdict = guard.verdict(loss, norm, check_norm=not scaler.is_enabled())
                if verdict is None:
                    check_finite(cfg, step + 1, loss)  # the guard is off: NaN stops the run
                    scaler.step(optimizer)
                    guard.accept(loss)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                dt = meter.stop(prefetch.wait_s - wait0)
                done = step + 1  # steps done, the number logged and checkpointed
                summary["losses"].append(loss)
                summary["step"] = done

                # one log line and one metrics record per step; a skip (and rollback) as events
                if verdict is None:
                    record, line = meter.record(done, loss, lr, norm, dt)
                    if done % cfg.log_every == 0 or done == cfg.max_steps:
                        say(line)
                else:
                    events = skip_or_rollback(done, verdict, loss, norm, lr, state, say)
                    for event in events[:-1]:
                        metrics.write(event)
                    record = events[-1]  # the skip, or the rollback it triggered
                    summary["events"] += events
                final = done == cfg.max_steps
                if batches.val is not None and ((cfg.eval_every and done % cfg.eval_every == 0) or final):
                    record["val_loss"] = evaluate(model, batches, cfg, rt)
                    summary["val_losses"].append((done, record["val_loss"]))
                    say(f"step {done}/{cfg.max_steps} | val loss {record['val_loss']:.4f}")
                metrics.write(record)

                # checkpoint on schedule, at the end, and before leaving early
                stopping = any_rank(stop.set or stop_after == done, rt)
                if final or stopping or (cfg.ckpt_every and done % cfg.ckpt_every == 0):
                    path = state.save(done)
                    if path is not None and (final or stopping):
                        say(f"checkpoint: {path}")
                if rt.master and ("val_loss" in record or "event" in record or final or stopping):
                    write_loss_plot(out_dir)
                if stopping:
                    summary["stopped"] = True
                    if stop.set:
                        say(f"stopped by SIGTERM after step {done}; rerun the same command to resume")
                    break
    finally:
        prefetch.close()
        metrics.close()

    summary.update(meter.summary())
    summary["flops_per_token"] = model.flops_per_token(cfg.block_size)
    summary["params"] = model.num_params()
    return summary


def check_finite(cfg: TrainConfig, step: int, loss: float) -> None:
    if not math.isfinite(loss):
        kept = ckpt_io.latest_checkpoint(cfg.out_dir)
        raise TrainError(
            f"step {step}: loss is {loss}; stopping without saving (last good checkpoint: "
            f"{kept or 'none'}); try a lower lr, grad_clip, dtype bf16/fp32, or the spike guard (spike.enabled)"
        )


def skip_or_rollback(
    step: int,
    reason: str,
    loss: float,
    norm: float,
    lr: float,
    state: TrainState,
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Log the skipped step and, when the skips call for it, roll back: [skip] or [skip, rollback]."""
    guard = state.guard
    # `loss_seen`, not `loss`: readers that plot the loss curve should not draw the spike
    skip = {"event": "skip", "step": step, "reason": reason, "loss_seen": loss, "norm": norm}
    skip.update(avg_loss=guard.average, lr=lr)
    say(f"step {step}/{state.cfg.max_steps} | skipped ({reason}) | {describe(skip)}")
    if not guard.skip(step):
        return [skip]
    to_step = state.rollback()
    rollback = {
        "event": "rollback",
        "step": step,
        "to_step": to_step,
        "data_skipped": [to_step + 1, step],  # the steps whose batches are not replayed
        "rollbacks": guard.rollbacks,
        "lr_scale": guard.lr_scale,
    }
    say(f"step {step}/{state.cfg.max_steps} | rollback | {describe(rollback)}")
    return [skip, rollback]


def describe(record: dict[str, Any]) -> str:
    return " | ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in record.items()
        if k not in ("event", "step")
    )
