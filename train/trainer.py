"""The training loop: read `train` top to bottom.

setup (processes, device, precision) -> data -> model (seeded init, or warm-started from init_from)
-> optimizer -> resume from the latest checkpoint -> for each step: micro-steps with gradient
accumulation, clip, the spike guard's verdict (apply, skip, or roll back), one log line and one
metrics record, val loss every eval_every steps, checkpoint every ckpt_every steps.
"""

from __future__ import annotations

import dataclasses
import glob
import math
import random
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
from train.weights import Weights, load_weights


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


def data_vocab(cfg: TrainConfig, batches: Batches) -> tuple[int, str]:
    """The vocabulary the data needs, and where that number comes from (for error messages)."""
    tok = Path(cfg.data) / "tokenizer.json"
    if tok.is_file():
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(tok)).get_vocab_size(), str(tok)
    top = max(int(a.max()) for a in batches.train.arrays if len(a))
    return top + 1, f"{cfg.data} (largest token id {top}, no tokenizer.json)"


def resolve_model(cfg: TrainConfig, batches: Batches) -> tuple[TrainConfig, Weights | None]:
    """The model config: init_from's architecture (keeping this run's dropout and z_loss), else the
    configured one with vocab_size 0 resolved to the data's vocabulary, rounded up to a multiple of
    64 for efficient matmuls."""
    needed, source = data_vocab(cfg, batches)
    if cfg.init_from:
        weights = load_weights(cfg.init_from)
        check_vocab(cfg, weights, needed, source)
        model = dataclasses.replace(weights.config, dropout=cfg.model.dropout, z_loss=cfg.model.z_loss)
        if cfg.block_size > model.block_size:
            raise TrainError(
                f"block_size {cfg.block_size} exceeds {cfg.init_from}'s context {model.block_size}"
            )
        return dataclasses.replace(cfg, model=model), weights
    if cfg.model.vocab_size:
        if cfg.model.vocab_size < needed:
            raise TrainError(f"model.vocab_size {cfg.model.vocab_size} < the {needed} tokens of {source}")
        return cfg, None
    model = dataclasses.replace(cfg.model, vocab_size=64 * math.ceil(needed / 64))
    return dataclasses.replace(cfg, model=model), None


def check_vocab(cfg: TrainConfig, weights: Weights, needed: int, source: str) -> None:
    """A warm start's vocabulary must be the data's: the same tokenizer where both have one, else
    the same size (or its multiple-of-64 round-up)."""
    data_tok = Path(cfg.data) / "tokenizer.json"
    hint = f"tokenize the new corpus with it: `llmcli tokenize --tokenizer {cfg.init_from}/tokenizer.json`"
    if weights.tokenizer is not None and data_tok.is_file():
        from tokenizers import Tokenizer

        ours, theirs = (Tokenizer.from_file(str(p)).get_vocab() for p in (weights.tokenizer, data_tok))
        if ours != theirs:
            raise TrainError(
                f"init_from {cfg.init_from}: its tokenizer ({weights.tokenizer}, {len(ours)} tokens) is not the "
                f"data's ({data_tok}, {len(theirs)} tokens); {hint}"
            )
        return
    vocab = weights.config.vocab_size
    if data_tok.is_file() and vocab not in (needed, 64 * math.ceil(needed / 64)):
        raise TrainError(
            f"init_from {cfg.init_from}: vocabulary of {vocab} tokens does not match the data's tokenizer "
            f"({source}, {needed} tokens); {hint}"
        )
    if vocab < needed:
        raise TrainError(
            f"init_from {cfg.init_from}: vocabulary of {vocab} tokens < the {needed} of {source}"
        )


def initial_weights(cfg: TrainConfig, weights: Weights | None) -> dict[str, torch.Tensor]:
    """The step-0 weights, from the same seed on every rank (identical models; DDP also broadcasts
    rank 0's). Seeding here also puts the RNGs where a fresh run starts them."""
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    model = GPT(cfg.model)
    if weights is not None:
        model.load_state_dict(weights.state)
    return model.state_dict()


def reinit(cfg: TrainConfig, batches: Batches) -> dict[str, torch.Tensor]:
    """initial_weights again (init_from re-read), for a rollback before the first checkpoint."""
    return initial_weights(cfg, resolve_model(cfg, batches)[1])


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


def step_line(
    cfg: TrainConfig, step: int, loss: float, lr: float, norm: float, dt: float, tok_s: float
) -> str:
    """The fixed per-step log line (llm.c style): step, loss, lr, norm, ms, tok/s [, mfu]."""
    return (
        f"step {step}/{cfg.max_steps} | loss {loss:.4f} | lr {lr:.4e} | norm {norm:.2f} | "
        f"{dt * 1e3:.1f} ms | {tok_s:.0f} tok/s"
    )


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

    tokens_per_step = cfg.batch_size * cfg.block_size * accum * rt.world
    flops_per_step = model.flops_per_token(cfg.block_size) * tokens_per_step
    peak = peak_flops(cfg, rt.device)
    say(
        f"model {model.num_params() / 1e6:.2f}M params | {rt.world} process(es) on {rt.device.type} "
        f"({cfg.parallel if rt.world > 1 else 'single'}) | {rt.dtype} | {tokens_per_step} tokens/step = "
        f"{cfg.batch_size} x {cfg.block_size} x {accum} accum x {rt.world} | train tokens "
        f"{batches.train.num_tokens}"
        + (f" | mfu against {peak[0] / 1e12:.0f} TFLOP/s per device ({peak[1]})" if peak else "")
    )

    summary: dict[str, Any] = {
        "losses": [],
        "val_losses": [],
        "events": [],
        "stopped": False,
        "step": start_step,
    }
    step_times: list[float] = []
    step_waits: list[float] = []
    metrics = MetricsLog(out_dir / "metrics.jsonl" if rt.master else None)
    prefetch = Prefetcher(batches, start_step, cfg.max_steps, cfg.prefetch, rt.device)
    try:
        with StopFlag() as stop:
            for step in range(start_step, cfg.max_steps):
                t0 = time.perf_counter()
                wait0 = prefetch.wait_s
                lr = lr_at(cfg, step) * guard.lr_scale
                for group in optimizer.param_groups:
                    group["lr"] = lr

                # forward and backward over the micro-steps; the loss is the mean over the step
                loss_sum = torch.zeros((), device=rt.device)
                for micro in range(accum):
                    x, y = prefetch.next()
                    with grad_sync(wrapped, sync=micro == accum - 1):
                        with rt.autocast():
                            _, loss = wrapped(x, y)
                        loss = loss / accum
                        loss_sum += loss.detach()
                        scaler.scale(loss).backward()
                loss_val = float(all_mean(loss_sum, rt).item())
                scaler.unscale_(optimizer)  # clip the true gradients, not the fp16-scaled ones
                norm = grad_norm(model, cfg.grad_clip)

                # apply the step, unless the spike guard says it is bad
                verdict = guard.verdict(loss_val, norm, check_norm=not scaler.is_enabled())
                if verdict is None:
                    check_finite(cfg, step + 1, loss_val)  # with the guard off, NaN stops the run
                    scaler.step(optimizer)
                    guard.accept(loss_val)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                if rt.device.type == "cuda":
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                step_done = step + 1
                step_times.append(dt)
                step_waits.append(prefetch.wait_s - wait0)
                summary["losses"].append(loss_val)
                summary["step"] = step_done

                # one log line and one metrics record per step; skips and rollbacks as events
                if verdict is None:
                    record = {"step": step_done, "loss": loss_val, "lr": lr, "norm": norm, "ms": dt * 1e3}
                    record["tok_s"] = tokens_per_step / dt
                    line = step_line(cfg, step_done, loss_val, lr, norm, dt, record["tok_s"])
                    if peak:
                        record["mfu"] = flops_per_step / dt / (peak[0] * rt.world)
                        line += f" | mfu {100 * record['mfu']:.1f}%"
                    if step_done % cfg.log_every == 0 or step_done == cfg.max_steps:
                        say(line)
                else:
                    record = skip_event(step_done, verdict, loss_val, norm, guard, lr)
                    say(f"step {step_done}/{cfg.max_steps} | skipped ({verdict}) | {describe(record)}")
                    summary["events"].append(record)
                    if guard.skip(step_done):
                        rolled = rollback_event(step_done, state.rollback(), guard)
                        say(f"step {step_done}/{cfg.max_steps} | rollback | {describe(rolled)}")
                        metrics.write(record)
                        summary["events"].append(rolled)
                        record = rolled

                final = step_done == cfg.max_steps
                if batches.val is not None and (
                    (cfg.eval_every and step_done % cfg.eval_every == 0) or final
                ):
                    record["val_loss"] = evaluate(model, batches, cfg, rt)
                    summary["val_losses"].append((step_done, record["val_loss"]))
                    say(f"step {step_done}/{cfg.max_steps} | val loss {record['val_loss']:.4f}")
                metrics.write(record)

                # checkpoint on schedule, at the end, and before leaving early
                stopping = any_rank(stop.set or stop_after == step_done, rt)
                if final or stopping or (cfg.ckpt_every and step_done % cfg.ckpt_every == 0):
                    path = state.save(step_done)
                    if path is not None and (final or stopping):
                        say(f"checkpoint: {path}")
                if rt.master and ("val_loss" in record or "event" in record or final or stopping):
                    write_loss_plot(out_dir)
                if stopping:
                    summary["stopped"] = True
                    if stop.set:
                        say(f"stopped by SIGTERM after step {step_done}; rerun the same command to resume")
                    break
    finally:
        prefetch.close()
        metrics.close()

    timed = step_times[2:] or step_times  # the first steps include compilation and warm-up
    if timed:
        summary["tok_s"] = tokens_per_step / statistics.median(timed)
        summary["data_wait_frac"] = sum(step_waits[-len(timed) :]) / sum(timed)
        if peak:
            summary["mfu"] = flops_per_step / statistics.median(timed) / (peak[0] * rt.world)
            summary["peak"] = peak[1]
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


def skip_event(
    step: int, reason: str, loss: float, norm: float, guard: SpikeGuard, lr: float
) -> dict[str, Any]:
    # `loss_seen`, not `loss`: readers that plot the loss curve should not draw the spike
    return {"event": "skip", "step": step, "reason": reason, "loss_seen": loss, "norm": norm,
            "avg_loss": guard.average, "lr": lr}  # fmt: skip


def rollback_event(step: int, to_step: int, guard: SpikeGuard) -> dict[str, Any]:
    return {
        "event": "rollback",
        "step": step,
        "to_step": to_step,
        "data_skipped": [to_step + 1, step],  # steps whose batches are not replayed
        "rollbacks": guard.rollbacks,
        "lr_scale": guard.lr_scale,
    }


def describe(record: dict[str, Any]) -> str:
    return " | ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in record.items()
        if k not in ("event", "step")
    )
