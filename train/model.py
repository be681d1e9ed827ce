"""A decoder-only Transformer, GPT-2 style by default, readable top to bottom.

Options swap in the pieces later models use: RMSNorm for LayerNorm, rotary positions for learned
ones, SwiGLU for the GELU MLP; two stabilisers against loss spikes, off by default: QK-norm
(RMSNorm on queries and keys, so attention logits cannot grow without bound) and PaLM's z-loss. Attention goes through `F.scaled_dot_product_attention`, which picks
the flash kernel on CUDA. Shapes: B batch, T time, C channels (n_embd), nh heads, hs head size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

from train.fused_loss import linear_cross_entropy


@dataclass
class GPTConfig:
    vocab_size: int = 0  # 0 = take it from the data (tokenizer.json, else the largest token id)
    block_size: int = 1024  # the longest context the model supports
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True  # biases in Linear and LayerNorm, as in GPT-2
    norm: Literal["layernorm", "rmsnorm"] = "layernorm"
    pos: Literal["learned", "rope"] = "learned"
    mlp: Literal["gelu", "swiglu"] = "gelu"
    rope_theta: float = 10000.0
    qk_norm: bool = False  # RMSNorm over each head's q and k before attention (OLMo 2, Gemma)
    z_loss: float = 0.0  # training loss += z_loss * mean(logsumexp(logits)^2); PaLM uses 1e-4

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        if self.pos == "rope" and (self.n_embd // self.n_head) % 2:
            raise ValueError("rope needs an even head size (n_embd / n_head)")
        if min(self.block_size, self.n_layer, self.n_head, self.n_embd) < 1 or self.vocab_size < 0:
            raise ValueError("block_size, n_layer, n_head and n_embd must be >= 1, vocab_size >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if self.z_loss < 0:
            raise ValueError("z_loss must be >= 0")

    @property
    def is_gpt2(self) -> bool:
        """The exact GPT-2 architecture, which Hugging Face's GPT2LMHeadModel can load."""
        return (self.norm, self.pos, self.mlp, self.qk_norm) == ("layernorm", "learned", "gelu", False)


def make_norm(config: GPTConfig) -> nn.Module:
    if config.norm == "rmsnorm":
        return nn.RMSNorm(config.n_embd, eps=1e-5)
    return nn.LayerNorm(config.n_embd, eps=1e-5, bias=config.bias)


def rope_tables(config: GPTConfig, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of position * frequency, each (block_size, hs / 2)."""
    hs = config.n_embd // config.n_head
    freqs = 1.0 / (config.rope_theta ** (torch.arange(0, hs, 2, device=device).float() / hs))
    angles = torch.outer(torch.arange(config.block_size, device=device).float(), freqs)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (first half, second half) of x (B, nh, T, hs) by position angles."""
    T = x.size(-2)
    cos, sin = cos[:T].to(x.dtype), sin[:T].to(x.dtype)  # (T, hs/2), broadcast over B and nh
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.dropout = config.dropout
        self.qk_norm = config.qk_norm
        # q, k and v of all heads in one matmul (also GPT-2's checkpoint layout: c_attn)
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.c_proj.SCALE_INIT = True  # a residual projection: see GPT._init_weights
        self.resid_dropout = nn.Dropout(config.dropout)
        if config.qk_norm:
            hs = config.n_embd // config.n_head
            self.q_norm, self.k_norm = nn.RMSNorm(hs, eps=1e-5), nn.RMSNorm(hs, eps=1e-5)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        if self.qk_norm:  # unit-RMS q and k: |q.k| <= hs * gain^2, whatever the weights do
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.swiglu = config.mlp == "swiglu"
        if self.swiglu:
            # 2/3 of 4C keeps the parameter count of the GELU MLP despite the third matrix
            hidden = 32 * math.ceil(8 * config.n_embd / 3 / 32)
            self.c_fc = nn.Linear(config.n_embd, 2 * hidden, bias=config.bias)  # gate and value
        else:
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
            hidden = 4 * config.n_embd
        self.c_proj = nn.Linear(hidden, config.n_embd, bias=config.bias)
        self.c_proj.SCALE_INIT = True
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c_fc(x)  # (B, T, 4C) or (B, T, 2 * hidden)
        if self.swiglu:
            gate, value = h.chunk(2, dim=-1)
            h = F.silu(gate) * value
        else:
            h = F.gelu(h, approximate="tanh")  # GPT-2's GELU ("gelu_new" in transformers)
        return self.dropout(self.c_proj(h))


class Block(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = make_norm(config)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = make_norm(config)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), rope)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if config.vocab_size < 1:
            raise ValueError("GPTConfig.vocab_size must be resolved (>= 1) before building the model")
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=make_norm(config),
            )
        )
        if config.pos == "learned":
            self.transformer["wpe"] = nn.Embedding(config.block_size, config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Tied embeddings: the output projection is the input embedding (saves V * C parameters and
        # helps small models). The same Parameter object, so the optimizer sees it once.
        self.transformer.wte.weight = self.lm_head.weight
        if config.pos == "rope":
            cos, sin = rope_tables(config)
            # not persistent: they are a function of the config, so checkpoints stay small
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        # activation checkpointing (set by the trainer): keep only each block's input (B, T, C) and
        # recompute the block's activations in backward: far less memory for one extra forward
        self.checkpoint_blocks = False
        # the chunked lm_head + cross-entropy in training (set by the trainer where it applies:
        # CPU, fp32, not compiled; train/fused_loss.py): the (B, T, V) logits are never whole
        self.fused_loss = False
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            std = 0.02
            if getattr(module, "SCALE_INIT", False):
                # GPT-2: each residual branch adds to the stream, so scale by 1/sqrt(number of
                # branches = 2 per layer) to keep the residual variance independent of depth
                std *= (2 * self.config.n_layer) ** -0.5
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters (the tied wte/lm_head once); without position embeddings by default,
        which only add, so cost no matmul FLOPs."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding and "wpe" in self.transformer:
            n -= self.transformer.wpe.weight.numel()
        return n

    def flops_per_token(self, seq_len: int) -> int:
        """Training FLOPs per token: 6N for the matmuls (forward 2N, backward 4N) plus attention's
        QK^T and AV, 12 * n_layer * n_embd * T (forward + backward, full, as nanoGPT and PaLM count)."""
        cfg = self.config
        return 6 * self.num_params() + 12 * cfg.n_layer * cfg.n_embd * seq_len

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """idx (B, T) token ids -> logits (B, T, V) and, given targets (B, T), the mean loss.
        With fused_loss, a training step with targets returns no logits (None), only the loss."""
        B, T = idx.size()
        if T > self.config.block_size:
            raise ValueError(f"sequence of {T} tokens exceeds block_size {self.config.block_size}")
        x = self.transformer.wte(idx)  # (B, T, C)
        rope = None
        if self.config.pos == "learned":
            pos = torch.arange(T, dtype=torch.long, device=idx.device)
            x = x + self.transformer.wpe(pos)  # (T, C) broadcast over B
        else:
            rope = (self.rope_cos, self.rope_sin)
        x = self.transformer.drop(x)
        for block in self.transformer.h:
            if self.checkpoint_blocks and self.training and torch.is_grad_enabled():
                # non-reentrant: works with DDP/FSDP and restores the RNG, so dropout matches
                x = torch.utils.checkpoint.checkpoint(block, x, rope, use_reentrant=False)
            else:
                x = block(x, rope)
        x = self.transformer.ln_f(x)
        if targets is not None and self.fused_loss and self.training and torch.is_grad_enabled():
            # the same loss and gradients as below, without materialising the logits
            z_loss = self.config.z_loss
            loss = linear_cross_entropy(x.view(B * T, -1), self.lm_head.weight, targets.reshape(-1), z_loss)
            return None, loss
        logits = self.lm_head(x)  # (B, T, V)
        loss = None
        if targets is not None:
            # in fp32: a bf16 log-softmax over a large vocabulary loses precision
            flat = logits.float().view(-1, logits.size(-1))  # (B*T, V)
            loss = F.cross_entropy(flat, targets.reshape(-1))
            if self.config.z_loss and self.training:
                # z-loss pulls log Z = logsumexp(logits) towards 0, so the softmax cannot drift
                # into huge logits (PaLM); the val loss stays the plain cross-entropy
                loss = loss + self.config.z_loss * torch.logsumexp(flat, dim=-1).pow(2).mean()
        return logits, loss

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Append max_new_tokens sampled tokens to idx (B, T); temperature 0 is greedy."""
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.block_size :]  # the model sees at most block_size tokens
            logits, _ = self(context)
            logits = logits[:, -1, :].float()  # (B, V): only the last position predicts the next token
            if temperature <= 0:
                nxt = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None and top_k > 0:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                probs = F.softmax(logits, dim=-1)
                nxt = torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, nxt], dim=1)
        return idx
