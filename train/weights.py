"""Model weights from wherever a user has them: one of our checkpoints, a run directory (its latest
checkpoint), or a Hugging Face GPT-2 directory (config.json + model.safetensors or
pytorch_model.bin: what train/export.py writes, and GPT-2 checkpoints from the Hub).

Used by warm starts (`init_from`) and by `llmcli eval`. Everything is read without pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from train.checkpoint import latest_checkpoint, load_checkpoint
from train.errors import TrainError
from train.model import GPTConfig

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
