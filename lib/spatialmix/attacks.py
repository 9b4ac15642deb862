"""Adversarial attacks in [0, 1] pixel space: FGSM (Eq. 4) and PGD (Fig. 6, 7; chapter 06).

Both are pure functions of (model, x, y): they evaluate the model in eval mode (BatchNorm uses
its running statistics), restore its previous mode, and never touch parameters or their .grad.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _input_grad(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    x = x.detach().clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            loss = F.cross_entropy(model(x), y)
            (grad,) = torch.autograd.grad(loss, x)  # .grad of parameters stays untouched
    finally:
        model.train(was_training)
    return grad


def fgsm(model: nn.Module, x: Tensor, y: Tensor, eps: float) -> Tensor:
    """One L∞ signed-gradient step x + ε·sign(∇x loss), clipped to [0, 1] (paper Eq. 4).

    x: images in [0, 1], (B, C, H, W); y: labels (B,). Returns a detached batch like x.
    """
    return (x + eps * _input_grad(model, x, y).sign()).clamp(0, 1).detach()


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    alpha: float,
    steps: int,
    random_start: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Projected gradient descent on the L∞ ball: `steps` signed steps of size α (Fig. 6).

    After each step the batch is projected back into [x - ε, x + ε] and clipped to [0, 1].
    With steps=1, α=ε and no random start it equals fgsm(). Returns a detached batch like x.
    """
    if eps < 0 or alpha <= 0 or steps < 1:
        raise ValueError(f"need eps >= 0, alpha > 0, steps >= 1; got {eps}, {alpha}, {steps}")
    x = x.detach()
    x_adv = x.clone()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x_adv = (x_adv + (2 * noise - 1) * eps).clamp(0, 1)
    for _ in range(steps):
        x_adv = x_adv + alpha * _input_grad(model, x_adv, y).sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
    return x_adv.detach()
