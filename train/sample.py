"""Generation from a checkpoint: temperature and top-k sampling, deterministic for a seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from train.checkpoint import load_checkpoint
from train.errors import TrainError
from train.model import GPT, GPTConfig


def load_model(checkpoint: str | Path, device: str | torch.device = "cpu") -> tuple[GPT, dict[str, Any]]:
    """The model of a checkpoint (in eval mode) and the checkpoint's resolved training config."""
    state = load_checkpoint(checkpoint)
    model = GPT(GPTConfig(**state["config"]["model"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state["config"]


def find_tokenizer(
    checkpoint: str | Path, config: dict[str, Any], explicit: str | Path | None = None
) -> Path:
    """tokenizer.json: the one given, else the run folder's copy, else the data directory's."""
    if explicit is not None:
        candidates = [Path(explicit)]
    else:
        run_dir = Path(checkpoint).resolve().parent.parent  # <out_dir>/checkpoints/step_X.pt
        candidates = [run_dir / "tokenizer.json", Path(config.get("data", "")) / "tokenizer.json"]
    for path in candidates:
        if path.is_file():
            return path
    raise TrainError(
        f"{checkpoint}: no tokenizer.json found (looked in {', '.join(map(str, candidates))}); pass --tokenizer"
    )


def end_of_text_id(tokenizer: Any) -> int | None:
    for token in ("<|endoftext|>", "</s>", "<eos>", "[EOS]"):
        tid = tokenizer.token_to_id(token)
        if tid is not None:
            return tid
    return None


def generate_ids(
    model: GPT,
    prompt_ids: list[int],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> list[int]:
    """The prompt followed by max_new_tokens sampled ids; the same seed gives the same ids."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    idx = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    out = model.generate(idx, max_new_tokens, temperature=temperature, top_k=top_k, generator=generator)
    return out[0].tolist()


def sample_text(
    checkpoint: str | Path,
    prompt: str,
    max_new_tokens: int = 100,
    temperature: float = 0.8,
    top_k: int | None = 200,
    seed: int = 0,
    tokenizer_path: str | Path | None = None,
    device: str = "cpu",
) -> tuple[str, list[int]]:
    """Decoded continuation of prompt (prompt included) and the new token ids."""
    from tokenizers import Tokenizer

    model, config = load_model(checkpoint, device)
    tokenizer = Tokenizer.from_file(str(find_tokenizer(checkpoint, config, tokenizer_path)))
    ids = tokenizer.encode(prompt).ids
    if not ids:  # an empty prompt starts a new document
        eot = end_of_text_id(tokenizer)
        ids = [eot if eot is not None else 0]
    out = generate_ids(model, ids, max_new_tokens, temperature, top_k, seed)
    new = out[len(ids) :]
    return tokenizer.decode(out), new
