from __future__ import annotations

import pytest
import torch

from train.model import GPT, MLP, GPTConfig

VARIANTS = [
    {},
    {"norm": "rmsnorm"},
    {"pos": "rope"},
    {"mlp": "swiglu"},
    {"norm": "rmsnorm", "pos": "rope", "mlp": "swiglu", "bias": False},
    {"qk_norm": True},
    {"qk_norm": True, "pos": "rope"},
]


def tiny(**kw) -> GPTConfig:
    return GPTConfig(**{"vocab_size": 64, "block_size": 32, "n_layer": 2, "n_head": 2, "n_embd": 32, **kw})


@pytest.mark.parametrize(
    "options", VARIANTS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "gpt2"
)
def test_causal_every_variant(options: dict) -> None:
    """Changing a later token never changes the logits of earlier positions."""
    torch.manual_seed(0)
    model = GPT(tiny(**options)).eval()
    idx = torch.randint(0, 64, (2, 12))
    changed = idx.clone()
    changed[:, 8:] = (changed[:, 8:] + 1) % 64
    a, _ = model(idx)
    b, _ = model(changed)
    assert a.shape == (2, 12, 64)
    assert torch.allclose(a[:, :8], b[:, :8], atol=1e-6)
    assert not torch.allclose(a[:, 8:], b[:, 8:], atol=1e-3)


def test_tied_embeddings_and_scaled_init() -> None:
    torch.manual_seed(0)
    model = GPT(tiny(n_layer=8, n_embd=64))
    assert model.lm_head.weight is model.transformer.wte.weight
    proj = model.transformer.h[0].attn.c_proj.weight.std().item()
    qkv = model.transformer.h[0].attn.c_attn.weight.std().item()
    assert proj == pytest.approx(0.02 / 4, rel=0.1)  # 0.02 / sqrt(2 * 8 layers)
    assert qkv == pytest.approx(0.02, rel=0.1)


def test_overfits_one_batch() -> None:
    torch.manual_seed(0)
    model = GPT(tiny())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    x = torch.randint(0, 64, (4, 16))
    y = torch.randint(0, 64, (4, 16))
    first = None
    for _ in range(100):
        _, loss = model(x, y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 3.5  # about ln(64) = 4.16 at init
    assert loss.item() < 0.05


def test_rejects_bad_configs() -> None:
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="block_size"):
        GPT(tiny())(torch.zeros(1, 33, dtype=torch.long))


def test_generate_is_seeded() -> None:
    torch.manual_seed(0)
    model = GPT(tiny()).eval()
    idx = torch.tensor([[1, 2, 3]])
    runs = [model.generate(idx, 10, top_k=10, generator=torch.Generator().manual_seed(s)) for s in (7, 7, 8)]
    assert runs[0].shape == (1, 13)
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_z_loss_is_added_in_training_only() -> None:
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = GPT(tiny(z_loss=1e-4))
    x, y = torch.randint(0, 64, (2, 8)), torch.randint(0, 64, (2, 8))
    logits, loss = model(x, y)
    flat = logits.view(-1, 64)
    ce = F.cross_entropy(flat, y.view(-1))
    z = torch.logsumexp(flat, dim=-1).pow(2).mean()
    assert z.item() > 1.0  # log Z of a near-uniform softmax over 64 tokens is about ln 64 = 4.2
    torch.testing.assert_close(loss, ce + 1e-4 * z)
    model.eval()
    torch.testing.assert_close(model(x, y)[1], ce)  # the val loss stays the plain cross-entropy


def test_qk_norm_bounds_attention_logits_and_is_not_gpt2() -> None:
    config = tiny(qk_norm=True)
    assert not config.is_gpt2 and tiny().is_gpt2
    torch.manual_seed(0)
    model = GPT(config)
    attn = model.transformer.h[0].attn
    with torch.no_grad():
        attn.c_attn.weight.mul_(1000.0)  # huge q and k: without the norm the softmax saturates
    q = attn.q_norm(torch.randn(4, 16) * 1000.0)
    assert q.pow(2).mean(-1).sqrt().allclose(torch.ones(4), atol=1e-3)  # unit RMS whatever the scale
    logits, _ = model(torch.randint(0, 64, (1, 8)))
    assert torch.isfinite(logits).all()


def test_activation_checkpointing_gives_the_same_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recomputing each block in backward (dropout on: the RNG is replayed) changes memory, not math."""
    count = [0]
    forward = MLP.forward

    def counted(self, x):
        count[0] += 1
        return forward(self, x)

    monkeypatch.setattr(MLP, "forward", counted)
    grads, calls = [], []
    for checkpointed in (False, True):
        torch.manual_seed(0)
        model = GPT(tiny(dropout=0.1))
        model.checkpoint_blocks = checkpointed
        count[0] = 0
        x, y = torch.randint(0, 64, (2, 12)), torch.randint(0, 64, (2, 12))
        torch.manual_seed(1)
        _, loss = model(x, y)
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        calls.append(count[0])
    assert calls == [2, 4]  # 2 layers; checkpointed, each block ran again in backward
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, rtol=1e-5, atol=1e-7, msg=name)
