"""The models a benchmark row times: the reference path as the paper and locuslab write it, ours.

Reference: the separable ResNet with explicit depthwise and pointwise convs in NCHW, and
ConvMixer as locuslab's nn.Sequential with padding="same". Ours: the folded sep-ResNet and our
ConvMixer, both channels-last. The un-shuffler has no outside reference: its reference path is
the same model on PyTorch's kernels only (depthwise.native_disabled), ours on the native ones.
convs_only() turns ours into a bound (not the same function). Every builder seeds torch first,
so the paths of a row start from the same kind of weights.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ..models import ConvMixer, ModelConfig, build_model
from ..regimes import apply_regime

# chapter 07's central un-shuffler (its parameters cell: depth 8, width 32, k 9) on MNIST's
# 1×28×28 images; tests/test_perf.py checks these against the chapter
UNSHUFFLE = {"depth": 8, "width": 32, "kernel_size": 9}
UNSHUFFLE_IMAGE = (1, 28, 28)


class Residual(nn.Module):
    """x + fn(x), as locuslab's ConvMixer writes its residual spatial mixing."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x) + x


def locuslab_convmixer(dim: int, depth: int, kernel_size: int, patch_size: int) -> nn.Module:
    """ConvMixer exactly as the reference code writes it (Trockman & Kolter, locuslab/convmixer)."""
    return nn.Sequential(
        nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size), nn.GELU(),
        nn.BatchNorm2d(dim),
        *[nn.Sequential(
            Residual(nn.Sequential(nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                                   nn.GELU(), nn.BatchNorm2d(dim))),
            nn.Conv2d(dim, dim, kernel_size=1), nn.GELU(), nn.BatchNorm2d(dim),
        ) for _ in range(depth)],
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(dim, 10),
    )  # fmt: skip


def reference_convmixer(width: int, regime: str) -> nn.Module:
    """The reference ConvMixer-h/4 (k = 8, p = 1) in `regime`, frozen by hand as its code would."""
    torch.manual_seed(0)
    # PyTorch warns that padding="same" with an even k pads a copy of the input: that copy is
    # part of what the reference path costs, so it is measured, and the warning silenced
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
    ref = locuslab_convmixer(width, 4, 8, 1)
    if regime == "chans":  # reference: freeze the stem and every depthwise conv by hand
        ref[0].requires_grad_(False)
        for m in ref.modules():
            if isinstance(m, nn.Conv2d) and m.groups > 1:
                m.requires_grad_(False)
    if regime == "space":  # reference: freeze every block's 1×1 conv (the stem stays learned)
        for block in ref[3:-3]:
            block[1].requires_grad_(False)
    return ref


def our_convmixer(width: int, regime: str) -> nn.Module:
    """Our ConvMixer-h/4 (k = 8, p = 1) in `regime`, channels-last."""
    torch.manual_seed(0)
    ours = ConvMixer(width, 4, 8, 1, 10).to(memory_format=torch.channels_last)
    apply_regime(ours, regime)
    return ours


def family(model: str) -> str:
    """A benchmark row's model family, from its name: "sep", "mixer" (ConvMixer), "unshuffle"."""
    if model.startswith("sep"):
        return "sep"
    return "unshuffle" if model.startswith("un-shuffler") else "mixer"


def unshuffler(width: int, depth: int, regime: str) -> nn.Module:
    """The un-shuffler of `width` and `depth` (k = 9) in `regime`, channels-last, for 1×28×28."""
    torch.manual_seed(0)
    cfg = ModelConfig(arch="unshuffle", regime=regime, width=width, depth=depth,
                      kernel_size=UNSHUFFLE["kernel_size"])  # fmt: skip
    model = build_model(cfg, 1, UNSHUFFLE_IMAGE[0])
    return model.to(memory_format=torch.channels_last)


def sep_resnet(width: int, regime: str, impl: str = "folded") -> nn.Module:
    """Build the sep-ResNet-20 (n = 3, d = 9) of first-stage width w in `regime`.

    impl "explicit" (NCHW) is the reference path; "folded" (channels-last) is ours.
    """
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="sep_resnet", regime=regime, depth=3, width=width,
                                    impl=impl))  # fmt: skip
    return model if impl == "explicit" else model.to(memory_format=torch.channels_last)


def convs_only(model: nn.Module) -> nn.Module:
    """The model with every BatchNorm and ReLU module replaced by nn.Identity, in place.

    NOT the same function: a bound. Its step time is what ours would take if all the
    normalisation and activation work were free, i.e. what fusing or tuning it could gain at most.
    """
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d | nn.ReLU):
                setattr(module, name, nn.Identity())
    return model
