"""Warm start (init_from): a Hugging Face GPT-2 directory or one of our checkpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from tests.train.util import make_data, make_text_data, tiny_config
from train.checkpoint import latest_checkpoint, load_checkpoint
from train.data import Batches
from train.errors import TrainError
from train.export import export_hf
from train.model import GPT
from train.trainer import train
from train.weights import load_weights

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_text_data(tmp_path_factory.mktemp("tokens"))


def hf_gpt2(out: Path, data: Path, safetensors: bool = True) -> transformers.GPT2LMHeadModel:
    """A random tiny GPT-2 built and saved by transformers, with the data's tokenizer beside it."""
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_file(str(data / "tokenizer.json")).get_vocab_size()
    torch.manual_seed(3)
    config = transformers.GPT2Config(vocab_size=vocab, n_positions=32, n_embd=32, n_layer=2, n_head=2)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # transformers initialises biases and LayerNorm to 0 / 1: make them matter
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(0.05 * torch.randn_like(p))
    model.save_pretrained(out, safe_serialization=safetensors)
    shutil.copyfile(data / "tokenizer.json", out / "tokenizer.json")
    return model


@pytest.mark.parametrize("safetensors", [True, False], ids=["safetensors", "bin"])
def test_hf_gpt2_logits_at_step_0(tmp_path: Path, data: Path, safetensors: bool) -> None:
    hf = hf_gpt2(tmp_path / "hf", data, safetensors)
    weights = load_weights(tmp_path / "hf")
    ours = GPT(weights.config)
    ours.load_state_dict(weights.state)
    ours.eval()
    idx = torch.randint(0, weights.config.vocab_size, (2, 20), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours(idx)[0], hf(idx).logits, rtol=0, atol=1e-5)


def test_warm_start_trains_from_the_hf_weights_and_exports_back(tmp_path: Path, data: Path) -> None:
    hf = hf_gpt2(tmp_path / "hf", data)
    cfg = tiny_config(data, tmp_path / "run", "max_steps=3", "eval_every=0", f"init_from={tmp_path / 'hf'}")
    lines: list[str] = []
    summary = train(cfg, log=lines.append)
    assert any(line.startswith("warm start from") for line in lines)
    # the first step's loss is the HF model's on the same batch: the run started from its weights
    x, y = Batches(data, cfg.batch_size, cfg.block_size, seed=cfg.seed).get(0, 0)
    with torch.no_grad():
        out = hf(torch.from_numpy(x).long())
        expected = torch.nn.functional.cross_entropy(
            out.logits.flatten(0, 1), torch.from_numpy(y).long().flatten()
        )
    assert summary["losses"][0] == pytest.approx(expected.item(), abs=1e-5)
    state = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert state["config"]["model"]["vocab_size"] == hf.config.vocab_size  # from the source, not rounded
    assert state["config"]["model"]["n_embd"] == 32
    exported = export_hf(latest_checkpoint(tmp_path / "run"), tmp_path / "hf2")
    again = transformers.AutoModelForCausalLM.from_pretrained(exported).eval()
    ours = GPT(load_weights(tmp_path / "run").config)
    ours.load_state_dict(state["model"])
    ours.eval()
    idx = torch.from_numpy(x).long()
    with torch.no_grad():
        torch.testing.assert_close(again(idx).logits, ours(idx)[0], rtol=1e-4, atol=1e-4)


def test_warm_start_from_our_checkpoint_takes_weights_only(tmp_path: Path, data: Path) -> None:
    train(tiny_config(data, tmp_path / "a", "max_steps=4", "eval_every=0"), log=lambda m: None)
    src = latest_checkpoint(tmp_path / "a")
    cfg = tiny_config(data, tmp_path / "b", "max_steps=2", "eval_every=0", f"init_from={src}", "warmup=2")
    summary = train(cfg, log=lambda m: None)
    b = load_checkpoint(latest_checkpoint(tmp_path / "b"))
    assert b["step"] == 2  # a fresh schedule
    assert b["optimizer"]["state"][0]["step"].item() == 2  # a fresh optimizer: only this run's 2 updates
    # it started from a's weights: its first loss is a's model's on b's first batch
    a = load_weights(src)
    model = GPT(a.config)
    model.load_state_dict(a.state)
    x, y = Batches(data, cfg.batch_size, cfg.block_size, seed=cfg.seed).get(0, 0)
    with torch.no_grad():
        _, loss = model(torch.from_numpy(x).long(), torch.from_numpy(y).long())
    assert summary["losses"][0] == pytest.approx(loss.item(), abs=1e-6)


def test_vocabulary_mismatch_names_both(tmp_path: Path, data: Path) -> None:
    hf_gpt2(tmp_path / "hf", data)
    other = make_data(tmp_path / "other")  # token ids without a tokenizer.json: vocabulary 64
    (tmp_path / "other" / "tokenizer.json").write_text((data / "tokenizer.json").read_text())
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(data / "tokenizer.json"))
    tok.add_tokens(["<|extra|>"])
    tok.save(str(tmp_path / "other" / "tokenizer.json"))
    cfg = tiny_config(other, tmp_path / "run", "max_steps=1", f"init_from={tmp_path / 'hf'}")
    with pytest.raises(
        TrainError,
        match=r"its tokenizer \(.*hf/tokenizer\.json, \d+ tokens\) is not the data's \(.*other/tokenizer\.json, \d+ tokens\)",
    ):
        train(cfg, log=lambda m: None)
    (tmp_path / "hf" / "tokenizer.json").unlink()  # sizes only: 121 vs the data's 122
    with pytest.raises(
        TrainError,
        match=r"vocabulary of \d+ tokens does not match the data's tokenizer \(.*other/tokenizer\.json",
    ):
        train(cfg, log=lambda m: None)
    assert not (tmp_path / "run" / "checkpoints").exists()
