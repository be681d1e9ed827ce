"""Trainer throughput: tokens/s, MFU (CUDA) and the fraction of step time spent waiting on data;
and, given a nanoGPT checkout, the tokens/s ratio against nanoGPT's train.py on the same tokens.

    .venv/bin/python bench/train.py                        # small CPU config, for regression tracking
    .venv/bin/python bench/train.py --preset gpt2-124m     # GPT-2 124M, 1024 ctx, bf16, compiled (GPU)
    .venv/bin/python bench/train.py --preset gpt2-124m --record   # also append a row to bench/RESULTS.md
    .venv/bin/python bench/train.py --vs-nanogpt PATH [--pairs 5]  # PATH: a karpathy/nanoGPT checkout
    .venv/bin/python bench/train.py --vs-nanogpt PATH --phases     # forward / backward / optimizer ms

The first three run the real training loop (train.trainer.train) in this process on a generated
token shard. MFU counts 6N + attention FLOPs per token against the device's dense bf16 peak from
the table in train/runtime.py (the log names it). Medians over the timed steps; the first two
(compilation, warm-up) are excluded. The gpt2-124m preset also runs the spike guard (on by default)
and a final `llmcli eval` pass on the GPU, so one command checks the whole GPU path.

--vs-nanogpt runs `llmcli train` and nanoGPT's `train.py` as fresh processes, interleaved (ours,
nanoGPT, ours, nanoGPT, ...: CPU load from other jobs hits both alike), on the same config (4
layers, 256 wide, context 256, batch 8, fp32, no compile, GPT-2 biases, vocabulary 50304) and the
same tokens (our shard for us, its raw uint16 copy as nanoGPT's data/bench/train.bin). Both time a
step from the end of the previous one; the ratio is per pair, from median step times, and the
median ratio is reported. nanoGPT's code is never copied into this repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# first of all: bench/ holds train.py and tokenize.py, which would shadow the `train` package and
# the standard library's tokenize module, so the script folder leaves sys.path
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import argparse  # noqa: E402
import datetime  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from curate.tokenization.shards import write_shard  # noqa: E402
from train.config import load_train_config  # noqa: E402
from train.trainer import train  # noqa: E402

PRESETS = {
    "cpu-small": {
        "vocab": 4096,
        "tokens": 2_000_000,
        "sets": [
            "model.n_layer=4",
            "model.n_head=4",
            "model.n_embd=128",
            "model.block_size=256",
            "block_size=256",
            "batch_size=8",
            "max_steps=20",
            "dtype=fp32",
            "device=cpu",
        ],
    },
    "gpt2-124m": {
        "vocab": 50257,  # resolved to 50304 (a multiple of 64), as GPT-2 runs use
        "tokens": 50_000_000,
        "sets": [
            "model.n_layer=12",
            "model.n_head=12",
            "model.n_embd=768",
            "model.block_size=1024",
            "block_size=1024",
            "batch_size=16",
            "max_steps=40",
            "dtype=bf16",
            "compile=true",
            "prefetch=4",
        ],
        "eval": True,
    },
}

# the issue's CPU comparison config, in both tools' terms
VS = {"n_layer": 4, "n_head": 4, "n_embd": 256, "block_size": 256, "batch_size": 8, "vocab": 50304}


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"CPU ({platform.processor() or 'cpu'}, {torch.get_num_threads()} threads)"


def run_preset(args: argparse.Namespace) -> None:
    preset = PRESETS[args.preset]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "tokens"
        data.mkdir()
        rng = np.random.default_rng(0)
        tokens = rng.integers(0, preset["vocab"], size=preset["tokens"], dtype=np.uint32)
        dtype = np.uint16 if preset["vocab"] <= 65536 else np.uint32
        write_shard(data / "train_000000.bin", tokens, dtype)
        if preset.get("eval"):
            write_shard(data / "val_000000.bin", tokens[: args.eval_tokens], dtype)
        sets = [
            *preset["sets"],
            f"model.vocab_size={64 * -(-preset['vocab'] // 64)}",
            f"out_dir={Path(tmp) / 'run'}",
            "ckpt_every=0",
            "eval_every=0",
            "log_every=5",
            *args.sets,
        ]
        cfg = load_train_config(None, sets, data=str(data))
        summary = train(cfg, log=print)
        eval_line = ""
        if preset.get("eval"):
            from train.eval import eval_line as format_eval
            from train.eval import run_eval

            result, _ = run_eval(Path(tmp) / "run", data, "val", out=Path(tmp) / "eval.json")
            eval_line = format_eval(result, None)
            print(eval_line)

    line = f"{args.preset}: {summary['tok_s']:.0f} tok/s | data wait {100 * summary['data_wait_frac']:.2f}% of step time"
    if "mfu" in summary:
        line += f" | MFU {100 * summary['mfu']:.1f}% of {summary['peak']}"
    line += (
        f" | spike events {len(summary['events'])} | {summary['params'] / 1e6:.1f}M params | {device_name()}"
    )
    print(line)
    if args.record:
        command = "python bench/train.py " + " ".join(sys.argv[1:])
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write(f"- {datetime.date.today()} | {device_name()} | `{command}` | {line}")
            f.write(f" | {eval_line}\n" if eval_line else "\n")


# --------------------------------------------------------------------------- vs nanoGPT

OURS_MS = re.compile(r"^step (\d+)/\d+ \| loss [\d.]+ \| .* \| ([\d.]+) ms \|", re.M)
NANO_MS = re.compile(r"^iter (\d+): loss [\d.]+, time ([\d.]+)ms", re.M)


def median_ms(output: str, pattern: re.Pattern, skip: int) -> float:
    times = [float(ms) for step, ms in pattern.findall(output) if int(step) > skip]
    if len(times) < 3:
        raise SystemExit(f"too few timed steps parsed from:\n{output[-2000:]}")
    return statistics.median(times)


def run_ours(data: Path, out: Path, steps: int, env: dict) -> float:
    sets = [
        f"model.n_layer={VS['n_layer']}",
        f"model.n_head={VS['n_head']}",
        f"model.n_embd={VS['n_embd']}",
        f"model.block_size={VS['block_size']}",
        f"model.vocab_size={VS['vocab']}",
        f"block_size={VS['block_size']}",
        f"batch_size={VS['batch_size']}",
        f"max_steps={steps}",
        "dtype=fp32",
        "compile=false",
        "device=cpu",
        "eval_every=0",
        "ckpt_every=0",
        f"out_dir={out}",
    ]
    cmd = [
        sys.executable,
        "-m",
        "cli",
        "train",
        "--data",
        str(data),
        *[x for s in sets for x in ("--set", s)],
    ]
    return median_ms(checked(cmd, ROOT, env), OURS_MS, skip=3)


def run_nanogpt(checkout: Path, work: Path, out: Path, steps: int, env: dict) -> float:
    flags = [
        "--dataset=bench",
        "--device=cpu",
        "--dtype=float32",
        "--compile=False",
        "--bias=True",  # GPT-2's biases, as our default model
        "--dropout=0.0",
        f"--n_layer={VS['n_layer']}",
        f"--n_head={VS['n_head']}",
        f"--n_embd={VS['n_embd']}",
        f"--block_size={VS['block_size']}",
        f"--batch_size={VS['batch_size']}",
        "--gradient_accumulation_steps=1",
        f"--max_iters={steps}",
        f"--lr_decay_iters={steps}",
        "--warmup_iters=10",
        "--eval_interval=100000",  # one eval, at iter 0, which is not timed
        "--eval_iters=1",
        "--log_interval=1",
        "--always_save_checkpoint=False",
        f"--out_dir={out}",
    ]
    cmd = [sys.executable, str(checkout / "train.py"), *flags]
    env = {**env, "PYTHONPATH": str(checkout)}
    return median_ms(checked(cmd, work, env), NANO_MS, skip=3)


def checked(cmd: list[str], cwd: Path, env: dict) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed:\n{done.stdout[-1500:]}{done.stderr[-3000:]}")
    return done.stdout


def vs_nanogpt(args: argparse.Namespace) -> None:
    checkout = Path(args.vs_nanogpt).resolve()
    if not (checkout / "train.py").is_file() or not (checkout / "model.py").is_file():
        raise SystemExit(f"{checkout}: not a nanoGPT checkout (train.py and model.py expected)")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    tokens_per_step = VS["batch_size"] * VS["block_size"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tokens = np.random.default_rng(0).integers(0, 50257, size=2_000_000, dtype=np.uint16)
        (tmp / "ours").mkdir()
        write_shard(tmp / "ours" / "train_000000.bin", tokens, np.uint16)
        nano_data = tmp / "nano" / "data" / "bench"
        nano_data.mkdir(parents=True)
        tokens.tofile(nano_data / "train.bin")  # nanoGPT's format: raw uint16, no header
        tokens[:100_000].tofile(nano_data / "val.bin")
        # nanoGPT's train.py execs configurator.py from its working directory
        (tmp / "nano" / "configurator.py").write_bytes((checkout / "configurator.py").read_bytes())
        ratios = []
        for i in range(args.pairs):
            ours = run_ours(tmp / "ours", tmp / f"run{i}", args.steps, env)
            nano = run_nanogpt(checkout, tmp / "nano", tmp / f"nano_out{i}", args.steps, env)
            ratios.append(nano / ours)  # tokens/s ratio = inverse ratio of step times
            print(
                f"pair {i + 1}: ours {ours:.1f} ms/step ({tokens_per_step / ours * 1e3:.0f} tok/s) | "
                f"nanoGPT {nano:.1f} ms/step ({tokens_per_step / nano * 1e3:.0f} tok/s) | ratio {ratios[-1]:.3f}"
            )
    print(
        f"vs nanoGPT: median ratio {statistics.median(ratios):.3f}x tokens/s over {args.pairs} pairs "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}) | {args.steps} steps each | {device_name()}"
    )


def phases(args: argparse.Namespace) -> None:
    """Forward, backward and optimizer milliseconds of our GPT + AdamW (with the trainer's fused
    lm_head + loss on CPU, and with the plain one) and nanoGPT's model.py + its AdamW, in this
    process, interleaved step by step, on the same batch: where the time goes."""
    import importlib.util

    checkout = Path(args.vs_nanogpt).resolve()
    spec = importlib.util.spec_from_file_location("nanogpt_model", checkout / "model.py")
    nano = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nano)
    from train.config import TrainConfig
    from train.model import GPT, GPTConfig
    from train.trainer import build_optimizer

    dims = {k: VS[k] for k in ("n_layer", "n_head", "n_embd", "block_size")}
    torch.manual_seed(0)
    ours = GPT(GPTConfig(vocab_size=VS["vocab"], **dims))
    ours.fused_loss = True  # as the trainer sets it on CPU in fp32 (train/fused_loss.py)
    plain = GPT(ours.config)  # the same weights with the plain lm_head + cross-entropy
    plain.load_state_dict(ours.state_dict())
    theirs = nano.GPT(nano.GPTConfig(vocab_size=VS["vocab"], bias=True, dropout=0.0, **dims))
    tcfg = TrainConfig(model=ours.config, block_size=VS["block_size"])
    cpu = torch.device("cpu")
    runs = {
        "ours (fused loss, AdamW)": (ours, build_optimizer(ours, tcfg, cpu)),
        "ours (plain loss, AdamW)": (plain, build_optimizer(plain, tcfg, cpu)),
        "nanoGPT (its AdamW on CPU)": (theirs, theirs.configure_optimizers(0.1, 6e-4, (0.9, 0.95), "cpu")),
    }
    x = torch.randint(0, VS["vocab"], (VS["batch_size"], VS["block_size"]))
    y = torch.randint(0, VS["vocab"], (VS["batch_size"], VS["block_size"]))
    times: dict[str, list[tuple[float, float, float]]] = {k: [] for k in runs}
    for _ in range(args.steps):
        for name, (model, opt) in runs.items():
            t0 = time.perf_counter()
            _, loss = model(x, y)
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            times[name].append((t1 - t0, t2 - t1, time.perf_counter() - t2))
    for name, rows in times.items():
        fwd, bwd, opt = (1e3 * statistics.median(r[i] for r in rows[2:]) for i in range(3))
        print(f"{name:28s} forward {fwd:7.1f} ms | backward {bwd:7.1f} ms | clip + optimizer {opt:6.1f} ms")
    print(f"{args.steps} interleaved steps each, medians after 2 | {device_name()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu-small")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="extra TrainConfig overrides")
    parser.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    parser.add_argument(
        "--vs-nanogpt", metavar="PATH", help="a nanoGPT checkout: compare tokens/s with its train.py"
    )
    parser.add_argument("--eval-tokens", type=int, default=1 << 20, help="gpt2-124m: tokens in the eval pass")
    parser.add_argument(
        "--phases", action="store_true", help="--vs-nanogpt: time forward/backward/optimizer in-process"
    )
    parser.add_argument("--pairs", type=int, default=5, help="--vs-nanogpt: interleaved pairs of runs")
    parser.add_argument("--steps", type=int, default=30, help="--vs-nanogpt: steps per run")
    args = parser.parse_args()
    if args.vs_nanogpt and args.phases:
        phases(args)
    elif args.vs_nanogpt:
        vs_nanogpt(args)
    else:
        run_preset(args)


if __name__ == "__main__":
    main()
