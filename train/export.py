"""Export a checkpoint to Hugging Face `transformers` GPT-2 format, for evaluation elsewhere.

    .venv/bin/python -m train.export runs/train/checkpoints/step_00001000.pt runs/train/hf

writes model.safetensors, config.json, tokenizer.json and tokenizer_config.json, so that
`AutoModelForCausalLM.from_pretrained(dir)` and `AutoTokenizer.from_pretrained(dir)` load it. Only
the GPT-2 architecture exports (layernorm, learned positions, GELU MLP): the other options have no
GPT-2 equivalent.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch

from train.checkpoint import load_checkpoint
from train.errors import TrainError
from train.model import GPTConfig
from train.sample import end_of_text_id, find_tokenizer
from train.weights import CONV1D as TRANSPOSED  # GPT-2's Conv1D weights are (in, out)


def hf_state_dict(state: dict[str, torch.Tensor], config: GPTConfig) -> dict[str, torch.Tensor]:
    out = {}
    for name, tensor in state.items():
        if name == "lm_head.weight":
            continue  # tied to transformer.wte.weight; transformers re-ties it on load
        out[name] = (tensor.t() if name.endswith(TRANSPOSED) else tensor).contiguous().clone()
    if not config.bias:  # GPT-2 always has biases: zeros are the same function
        for name in list(out):
            if name.endswith((".weight",)) and "wte" not in name and "wpe" not in name:
                bias = name[: -len("weight")] + "bias"
                width = out[name].shape[-1] if name.endswith(TRANSPOSED) else out[name].shape[0]
                out.setdefault(bias, torch.zeros(width, dtype=out[name].dtype))
    return out


def export_hf(checkpoint: str | Path, out_dir: str | Path, tokenizer: str | Path | None = None) -> Path:
    """Write the Hugging Face GPT-2 folder for checkpoint; returns out_dir."""
    from safetensors.torch import save_file

    state = load_checkpoint(checkpoint)
    config = GPTConfig(**state["config"]["model"])
    if not config.is_gpt2:
        raise TrainError(
            f"{checkpoint}: only the GPT-2 architecture exports to transformers' GPT2LMHeadModel "
            f"(norm layernorm, pos learned, mlp gelu); this model has norm {config.norm}, pos {config.pos}, "
            f"mlp {config.mlp}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        hf_state_dict(state["model"], config), str(out / "model.safetensors"), metadata={"format": "pt"}
    )
    hf_config = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.block_size,
        "n_ctx": config.block_size,
        "n_embd": config.n_embd,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": None,
        "activation_function": "gelu_new",  # the tanh GELU our MLP uses
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "layer_norm_epsilon": 1e-5,
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
    }
    try:
        tok_path = find_tokenizer(checkpoint, state["config"], tokenizer)
    except TrainError:
        tok_path = None  # weights without a tokenizer still load; say so
        print(f"note: no tokenizer.json found for {checkpoint}; exported the model only", file=sys.stderr)
    if tok_path is not None:
        from tokenizers import Tokenizer

        shutil.copyfile(tok_path, out / "tokenizer.json")
        eot_id = end_of_text_id(Tokenizer.from_file(str(tok_path)))
        tok_config: dict = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": config.block_size,
        }
        if eot_id is not None:
            eot = Tokenizer.from_file(str(tok_path)).id_to_token(eot_id)
            tok_config.update(bos_token=eot, eos_token=eot)
            hf_config.update(bos_token_id=eot_id, eos_token_id=eot_id)
        (out / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=1) + "\n")
    (out / "config.json").write_text(json.dumps(hf_config, indent=1) + "\n")
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python -m train.export CHECKPOINT OUT_DIR [TOKENIZER_JSON]")
    try:
        print(export_hf(*sys.argv[1:]))
    except TrainError as e:
        sys.exit(f"error: {e}")
