"""Model weights from wherever a user has them: one of our checkpoints, a run directory (its latest
checkpoint), or a Hugging Face GPT-2 directory (config.json + model.safetensors or
pytorch_model.bin: what train/export.py writes, and GPT-2 checkpoints from the Hub).

Used by warm starts (`init_from`: the model config comes from the source, its vocabulary must be
the data's) and by `llmcli eval`. Everything is read without pickle.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from train.checkpoint import latest_checkpoint, load_checkpoint
from train.config import TrainConfig
from train.data import Batches
from train.errors import TrainError
from train.model import GPT, GPTConfig

# Hugging Face GPT-2 stores these as Conv1D, whose weight is (in, out): nn.Linear's (out, in) transposed
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
GPT2_ACTIVATIONS = ("gelu_new", "gelu_pytorch_tanh")  # the tanh GELU our MLP computes


@dataclass
class Weights:
    config: GPTConfig
    state: dict[str, torch.Tensor]  # our parameter names (train/model.py)
    tokenizer: Path | None  # the source's tokenizer.json, if it has one
    checkpoint: Path | None  # our checkpoint file, when the source is one
    train_config: dict | None  # its training config, when the source is one of our checkpoints


def is_hf_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


def load_weights(source: str | Path) -> Weights:
    """The model at `source`: a step_XXXXXXXX.pt, a run directory or a Hugging Face GPT-2 directory."""
    path = Path(source)
    if is_hf_dir(path):
        return load_hf_gpt2(path)
    if path.is_dir():
        ckpt = latest_checkpoint(path)
        if ckpt is None:
            raise TrainError(
                f"{path}: neither a run directory with checkpoints/step_*.pt nor a Hugging Face "
                "directory with config.json"
            )
        path = ckpt
    if not path.exists():
        raise TrainError(f"{path}: no such checkpoint or model directory")
    state = load_checkpoint(path)
    config = GPTConfig(**state["config"]["model"])
    run_tok = path.resolve().parent.parent / "tokenizer.json"  # <out_dir>/checkpoints/step_X.pt
    return Weights(config, state["model"], run_tok if run_tok.is_file() else None, path, state["config"])


def load_hf_gpt2(path: Path) -> Weights:
    """A transformers GPT2LMHeadModel directory as our GPT's config and state dict."""
    hf = json.loads((path / "config.json").read_text())
    arch = hf.get("model_type")
    if arch != "gpt2":
        raise TrainError(
            f"{path}/config.json: model_type {arch!r}; only GPT-2 checkpoints load (model_type gpt2)"
        )
    act = hf.get("activation_function", "gelu_new")
    if act not in GPT2_ACTIVATIONS:
        raise TrainError(f"{path}/config.json: activation_function {act!r}; the model computes gelu_new")
    if hf.get("n_inner") not in (None, 4 * hf["n_embd"]):
        raise TrainError(f"{path}/config.json: n_inner {hf['n_inner']}; the model's MLP is 4 x n_embd wide")
    if abs(float(hf.get("layer_norm_epsilon", 1e-5)) - 1e-5) > 1e-12:
        raise TrainError(
            f"{path}/config.json: layer_norm_epsilon {hf['layer_norm_epsilon']}; the model uses 1e-5"
        )
    if not hf.get("tie_word_embeddings", True):
        raise TrainError(f"{path}/config.json: untied embeddings; the model ties lm_head to wte")
    config = GPTConfig(
        vocab_size=hf["vocab_size"],
        block_size=hf.get("n_positions", hf.get("n_ctx", 1024)),
        n_layer=hf["n_layer"],
        n_head=hf["n_head"],
        n_embd=hf["n_embd"],
        bias=True,
    )
    raw = _read_hf_state(path)
    state = {}
    for name, tensor in raw.items():
        if name.endswith((".attn.bias", ".attn.masked_bias")):
            continue  # causal-mask buffers of older transformers versions, not weights
        if name.startswith("lm_head."):
            continue  # tied to wte
        ours = name if name.startswith("transformer.") else f"transformer.{name}"  # Hub files drop it
        state[ours] = tensor.t().contiguous() if name.endswith(CONV1D) else tensor
    state["lm_head.weight"] = state["transformer.wte.weight"]
    tok = path / "tokenizer.json"
    return Weights(config, state, tok if tok.is_file() else None, None, None)


def _read_hf_state(path: Path) -> dict[str, torch.Tensor]:
    if (path / "model.safetensors").is_file():
        from safetensors.torch import load_file

        return load_file(str(path / "model.safetensors"))
    if (path / "pytorch_model.bin").is_file():
        try:
            return torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
        except Exception as e:
            raise TrainError(f"{path}/pytorch_model.bin: not readable with weights_only=True ({e})") from None
    raise TrainError(f"{path}: no model.safetensors or pytorch_model.bin beside config.json")


# --------------------------------------------------------------------------- the run's model


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
