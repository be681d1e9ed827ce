"""Small fixtures for the trainer tests: generated token shards, a tiny tokenizer, tiny configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curate.tokenization.shards import write_shard
from train.config import TrainConfig, load_train_config

TINY = [
    "model.n_layer=2",
    "model.n_head=2",
    "model.n_embd=32",
    "model.block_size=32",
    "block_size=16",
    "batch_size=4",
    "warmup=2",
    "lr=3e-3",
    "min_lr=3e-4",
    "eval_steps=2",
    "log_every=1",
    "prefetch=2",
]


def pattern_tokens(n: int, vocab: int = 64, seed: int = 0) -> np.ndarray:
    """A learnable stream: runs of counting sequences (t, t+1, ...) with random starts and lengths."""
    rng = np.random.default_rng(seed)
    out, total = [], 0
    while total < n:
        start, length = rng.integers(0, vocab), rng.integers(4, 20)
        out.append((start + np.arange(length)) % vocab)
        total += length
    return np.concatenate(out)[:n].astype(np.uint16)


def make_data(root: Path, train_tokens: int = 20_000, val_tokens: int = 2_000, shards: int = 2) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    tokens = pattern_tokens(train_tokens + val_tokens)
    for i, part in enumerate(np.array_split(tokens[:train_tokens], shards)):
        write_shard(root / f"train_{i:06d}.bin", part, np.uint16)
    write_shard(root / "val_000000.bin", tokens[train_tokens:], np.uint16)
    return root


def make_text_data(root: Path) -> Path:
    """Shards of real (tiny) BPE-tokenized text plus its tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    text = [
        "the quick brown fox jumps over the lazy dog.",
        "a model learns to predict the next token from the tokens before it.",
        "shards hold tokens; the trainer reads them through a memory map.",
    ] * 30
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=120, special_tokens=["<|endoftext|>"]))
    eot = tok.token_to_id("<|endoftext|>")
    ids = []
    for line in text:
        ids += tok.encode(line).ids + [eot]
    root.mkdir(parents=True, exist_ok=True)
    tok.save(str(root / "tokenizer.json"))
    ids = np.array(ids, dtype=np.uint16)
    write_shard(root / "train_000000.bin", ids, np.uint16)
    write_shard(root / "val_000000.bin", ids[:500], np.uint16)
    return root


def tiny_config(data: Path, out: Path, *overrides: str) -> TrainConfig:
    return load_train_config(None, [*TINY, f"out_dir={out}", *overrides], data=str(data))
