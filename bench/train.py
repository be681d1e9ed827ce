"""Trainer throughput: tokens/s, MFU (CUDA) and the fraction of step time spent waiting on data.

Runs the real training loop (train.trainer.train) on a generated token shard in a temporary folder.

    .venv/bin/python bench/train.py                        # small CPU config, for regression tracking
    .venv/bin/python bench/train.py --preset gpt2-124m     # GPT-2 124M, 1024 ctx, bf16, compiled (GPU)
    .venv/bin/python bench/train.py --preset gpt2-124m --record   # also append a row to bench/RESULTS.md

MFU counts 6N + attention FLOPs per token (N without position embeddings) against 989 TFLOP/s
(H100 SXM dense bf16). Medians over the timed steps; the first two steps (compilation) are excluded.
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
import platform  # noqa: E402
import tempfile  # noqa: E402

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
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu-small")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="extra TrainConfig overrides")
    parser.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    args = parser.parse_args()
    preset = PRESETS[args.preset]

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "tokens"
        data.mkdir()
        rng = np.random.default_rng(0)
        tokens = rng.integers(0, preset["vocab"], size=preset["tokens"], dtype=np.uint32)
        write_shard(data / "train_000000.bin", tokens, np.uint16 if preset["vocab"] <= 65536 else np.uint32)
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

    device = (
        torch.cuda.get_device_name()
        if torch.cuda.is_available()
        else f"CPU ({platform.processor() or 'cpu'}, {torch.get_num_threads()} threads)"
    )
    line = f"{args.preset}: {summary['tok_s']:.0f} tok/s | data wait {100 * summary['data_wait_frac']:.2f}% of step time"
    if "mfu" in summary:
        line += f" | MFU {100 * summary['mfu']:.1f}%"
    line += f" | {summary['params'] / 1e6:.1f}M params | {device}"
    print(line)
    if args.record:
        command = "python bench/train.py " + " ".join(sys.argv[1:])
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write(f"- {datetime.date.today()} | {device} | `{command}` | {line}\n")


if __name__ == "__main__":
    main()
