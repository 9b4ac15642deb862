"""GELU then BatchNorm as one native op on the CPU: the sweeps that bound a ConvMixer step.

With spatial mixing fast (depthwise.py), a ConvMixer training step on 2 cores spends most of its
time in BatchNorm and GELU, forward and backward: each is a separate pass over (N, C, H, W)
tensors far larger than the cache. `gelu_norm(y, act, norm, residual)` computes
`residual + norm(act(y))`, act being exact GELU and norm in training mode, in two passes forward
and two backward (native/depthwise.cpp), evaluating GELU once each way, and updates the
running statistics exactly as nn.BatchNorm2d does. Anywhere else (eval mode, CUDA, not fp32,
channels not a multiple of 16, SPATIALMIX_DEPTHWISE=torch, while torch.compile traces) it is
the plain PyTorch expression. Same function and gradients to float
rounding (tests/test_fused.py).

`norm_relu(x, norm)` is the separable ResNet's pre-activation, `relu(norm(x))`, fused the same
way (two passes each way instead of PyTorch's five forward and three backward), under the same
conditions.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from . import depthwise


class _GeluNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y: Tensor, gamma: Tensor, beta: Tensor, residual: Tensor | None,
                eps: float) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        out, act, mean, var = depthwise.ops().gelu_bn_forward(y, gamma, beta, residual, eps)
        ctx.save_for_backward(y, act, mean, var, gamma)
        ctx.eps, ctx.has_residual = eps, residual is not None
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    def backward(ctx, g: Tensor, *_: Tensor) -> tuple:
        y, act, mean, var, gamma = ctx.saved_tensors
        dy, dgamma, dbeta = depthwise.ops().gelu_bn_backward(g, y, act, mean, var, gamma, ctx.eps)
        return dy, dgamma, dbeta, (g if ctx.has_residual else None), None


class _NormRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, gamma: Tensor, beta: Tensor, eps: float) -> tuple[Tensor, ...]:
        out, mean, var, scale, shift = depthwise.ops().bn_relu_forward(x, gamma, beta, eps)
        ctx.save_for_backward(x, mean, var, scale, shift, gamma)
        ctx.eps = eps
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    def backward(ctx, g: Tensor, *_: Tensor) -> tuple:
        x, mean, var, scale, shift, gamma = ctx.saved_tensors
        dx, dgamma, dbeta = depthwise.ops().bn_relu_backward(g, x, mean, var, scale, shift,
                                                             gamma, ctx.eps)  # fmt: skip
        return dx, dgamma, dbeta, None


def _norm_fusable(y: Tensor, norm: nn.Module) -> bool:
    return (isinstance(norm, nn.BatchNorm2d) and norm.training and norm.track_running_stats
            and norm.affine
            and norm.momentum is not None and norm.running_mean is not None
            and y.device.type == "cpu" and y.dtype == torch.float32 and y.shape[1] % 16 == 0
            and y.numel() > y.shape[1]  # one value per channel: nn.BatchNorm2d's error
            and not torch.compiler.is_compiling() and depthwise.active())  # fmt: skip


def fusable(y: Tensor, act: nn.Module, norm: nn.BatchNorm2d) -> bool:
    """Whether gelu_norm runs the native op for this input, activation and BatchNorm."""
    return isinstance(act, nn.GELU) and act.approximate == "none" and _norm_fusable(y, norm)


def _track(norm: nn.BatchNorm2d, mean: Tensor, var: Tensor, n: int) -> None:
    """Update norm's running statistics as nn.BatchNorm2d does (unbiased variance)."""
    with torch.no_grad():
        norm.num_batches_tracked.add_(1)
        norm.running_mean.lerp_(mean, norm.momentum)
        norm.running_var.lerp_(var * (n / max(n - 1, 1)), norm.momentum)


def norm_relu(x: Tensor, norm: nn.Module, act: nn.Module) -> Tensor:
    """act(norm(x)), fused on the CPU in training mode where norm is a BatchNorm2d and act a
    ReLU (see the module's docstring); anything else (e.g. either replaced by nn.Identity, as
    perf.reference.convs_only does) runs the modules as they are."""
    if not (isinstance(act, nn.ReLU) and _norm_fusable(x, norm)):
        return act(norm(x))
    out, mean, var = _NormRelu.apply(x, norm.weight, norm.bias, norm.eps)
    _track(norm, mean, var, x.numel() // x.shape[1])
    return out


def gelu_norm(y: Tensor, act: nn.Module, norm: nn.Module, residual: Tensor | None = None) -> Tensor:
    """residual + norm(act(y)), fused on the CPU in training mode where act is exact GELU and
    norm a BatchNorm2d; anything else (e.g. norm replaced by nn.Identity, as
    perf.reference.convs_only does) runs the modules as they are."""
    if not fusable(y, act, norm):
        out = norm(act(y))
        return out if residual is None else residual + out
    out, mean, var = _GeluNorm.apply(y, norm.weight, norm.bias, residual, norm.eps)
    _track(norm, mean, var, y.numel() // y.shape[1])
    return out
