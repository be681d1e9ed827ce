"""The lm_head and the cross-entropy in one pass over chunks of rows, gradients included.

The plain path, `F.cross_entropy(lm_head(x))`, materialises the logits (N, V) whole: at batch 8,
context 256 and GPT-2's 50304 tokens that is 412 MB in fp32, and a training step writes and reads
four such tensors (logits, log-softmax, the one-hot gradient, softmax's backward), each a fresh
allocation that the OS has to page in. On CPU that costs ~0.9 s of a ~3 s step (bench/RESULTS.md,
"Train vs nanoGPT, CPU"). Here, rows go through in chunks: the chunk's logits, its loss, and at once
the gradient of the loss w.r.t. those logits, softmax - onehot, which is folded into the gradients
w.r.t. the hidden states and the (tied) weight before the next chunk overwrites the same buffer.
Backward is then a multiply by the incoming gradient. The matmul FLOPs are the plain path's; what
goes is the memory traffic. (Liger kernel's fused linear cross-entropy does this on GPU.)

Only for training in fp32 without torch.compile (the trainer decides, in train/state.py `parallelize`):
the gradients are computed in the forward pass, so it is a waste where no backward follows, and it
is not written for autocast. Eval and generation keep the plain path, which returns the logits.
"""

from __future__ import annotations

import torch


class LinearCrossEntropy(torch.autograd.Function):
    """mean over rows of cross_entropy(x @ weight.T, targets) [+ z_loss * mean(logsumexp^2)]."""

    @staticmethod
    def forward(
        ctx, x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, z_loss: float, chunk: int
    ) -> torch.Tensor:
        # x (N, C) hidden states after ln_f; weight (V, C), the lm_head (= wte); targets (N,)
        N, V = x.size(0), weight.size(0)
        grad_x = torch.empty_like(x)  # (N, C), d(summed loss) / dx
        grad_w = torch.zeros_like(weight)  # (V, C), d(summed loss) / dweight
        losses = x.new_empty((N + chunk - 1) // chunk)  # one summed loss per chunk
        # one logits buffer for all chunks: a fresh one per chunk would be paged in again each time
        buf = x.new_empty(min(chunk, N), V)
        for i, start in enumerate(range(0, N, chunk)):
            xc, tc = x[start : start + chunk], targets[start : start + chunk, None]  # (n, C), (n, 1)
            logits = buf[: xc.size(0)]  # (n, V)
            torch.mm(xc, weight.t(), out=logits)
            target_logit = logits.gather(1, tc)  # (n, 1), read before the buffer is overwritten
            # log-softmax in place, row by row (each row is read whole before it is written)
            logp = torch.log_softmax(logits, dim=-1, out=logits)
            logp_target = logp.gather(1, tc)  # (n, 1)
            loss = -logp_target.sum()
            # d loss / d logits = softmax - onehot; with z-loss, + 2 z lse * softmax
            probs = logp.exp_()  # (n, V), in place
            if z_loss:
                lse = target_logit - logp_target  # (n, 1): log Z = logit - log p, for any token
                loss = loss + z_loss * lse.pow(2).sum()
                probs.mul_(1.0 + 2.0 * z_loss * lse)
            probs.scatter_add_(1, tc, torch.full_like(logp_target, -1.0))
            losses[i] = loss
            torch.mm(probs, weight, out=grad_x[start : start + chunk])  # (n, V) @ (V, C)
            grad_w.addmm_(probs.t(), xc)  # (V, n) @ (n, C), accumulated over chunks
        ctx.save_for_backward(grad_x, grad_w)
        ctx.n = N
        return losses.sum() / N

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        grad_x, grad_w = ctx.saved_tensors
        scale = grad_out / ctx.n  # the forward's gradients are of the summed loss
        return grad_x * scale, grad_w * scale, None, None, None


def linear_cross_entropy(
    x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, z_loss: float = 0.0, chunk: int = 256
) -> torch.Tensor:
    """x (N, C), weight (V, C), targets (N,) -> the mean loss, as F.cross_entropy(x @ weight.T,
    targets) [+ z-loss] would give it; every target counts (no ignore_index). chunk: rows at a time."""
    return LinearCrossEntropy.apply(x, weight, targets, z_loss, chunk)
