"""The chunked lm_head + cross-entropy (train/fused_loss.py) gives the plain path's loss and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from train.config import TrainConfig
from train.fused_loss import linear_cross_entropy
from train.model import GPT, GPTConfig
from train.runtime import Runtime
from train.state import parallelize


def plain_loss(x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, z_loss: float) -> torch.Tensor:
    logits = x @ weight.t()
    loss = F.cross_entropy(logits, targets)
    return loss + z_loss * torch.logsumexp(logits, dim=-1).pow(2).mean() if z_loss else loss


def assert_close(a: torch.Tensor, b: torch.Tensor) -> None:
    # fp32, relative to the tensor's scale: both paths sum the same products in a different order
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * b.abs().max().item())


@pytest.mark.parametrize("z_loss", [0.0, 1e-2])
@pytest.mark.parametrize("chunk", [7, 64, 1000])  # a remainder chunk, exact chunks, one chunk
def test_loss_and_gradients_match_the_plain_path(z_loss: float, chunk: int) -> None:
    torch.manual_seed(0)
    N, C, V = 64, 16, 300
    x = torch.randn(N, C, requires_grad=True)
    weight = (torch.randn(V, C) * 0.5).requires_grad_()
    targets = torch.randint(0, V, (N,))

    ref = plain_loss(x, weight, targets, z_loss)
    (0.25 * ref).backward()  # a gradient from above other than 1, as in gradient accumulation
    ref_gx, ref_gw = x.grad, weight.grad
    x.grad = weight.grad = None

    loss = linear_cross_entropy(x, weight, targets, z_loss, chunk)
    (0.25 * loss).backward()
    assert_close(loss, ref)
    assert_close(x.grad, ref_gx)
    assert_close(weight.grad, ref_gw)


@pytest.mark.parametrize("z_loss", [0.0, 1e-4])
def test_gpt_training_step_matches_the_plain_path(z_loss: float) -> None:
    """Loss and every parameter's gradient (the tied wte/lm_head gets both contributions)."""
    cfg = GPTConfig(vocab_size=96, block_size=16, n_layer=2, n_head=2, n_embd=32, z_loss=z_loss)
    torch.manual_seed(0)
    plain, fused = GPT(cfg), GPT(cfg)
    fused.load_state_dict(plain.state_dict())
    fused.fused_loss = True
    x, y = torch.randint(0, 96, (3, 16)), torch.randint(0, 96, (3, 16))
    results = []
    for model in (plain, fused):
        logits, loss = model(x, y)
        loss.backward()
        results.append((logits, loss, {n: p.grad for n, p in model.named_parameters()}))
    (logits, ref_loss, ref_grads), (no_logits, loss, grads) = results
    assert logits.shape == (3, 16, 96) and no_logits is None
    assert_close(loss, ref_loss)
    for name, grad in ref_grads.items():
        assert_close(grads[name], grad)

    # eval keeps the plain path: logits, and the plain cross-entropy as the loss
    fused.eval()
    with torch.no_grad():
        logits, loss = fused(x, y)
    assert logits.shape == (3, 16, 96)
    torch.testing.assert_close(loss, F.cross_entropy(logits.view(-1, 96), y.view(-1)))


def test_trainer_uses_it_only_on_cpu_fp32_eager() -> None:
    model = GPT(GPTConfig(vocab_size=64, block_size=16, n_layer=1, n_head=2, n_embd=16))
    cpu = torch.device("cpu")

    def fused(dtype: str = "fp32", **kw) -> bool:
        cfg = TrainConfig(model=model.config, block_size=16, **kw)
        parallelize(model, cfg, Runtime(rank=0, local_rank=0, world=1, device=cpu, dtype=dtype))
        return model.fused_loss

    assert fused()
    assert not fused(fused_loss=False)
    assert not fused(dtype="bf16")  # autocast
    assert not fused(compile=True)
