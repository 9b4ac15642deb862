"""What a run costs in floating-point operations: one image's forward pass, counted on the
built model, and a whole run's training. The runbook turns them into GPU-hours; the queue into
estimates of the CPU time of runs not yet trained, at the rate of the stored ones.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import torch

from .depthwise import native_disabled
from .models import ModelConfig, build_model
from .scales import FULL_TRAIN

if TYPE_CHECKING:
    from .results import RunConfig

SHAPES = {"cifar10": (3, 32, 10), "cifar100": (3, 32, 100), "mnist": (1, 28, 10),
          "fashion_mnist": (1, 28, 10), "imagenet": (3, 224, 1000)}  # fmt: skip


@functools.cache
def forward_flops(model: ModelConfig, dataset: str) -> float:
    """FLOPs of one image's forward pass, counted by torch.utils.flop_counter on PyTorch's
    kernels: the counter knows no formula for the native depthwise op (depthwise.py), which it
    would count as zero."""
    from torch.utils.flop_counter import FlopCounterMode

    channels, side, classes = SHAPES[dataset]
    net = build_model(model, classes, channels).eval()
    with torch.no_grad(), native_disabled(), FlopCounterMode(display=False) as counter:
        net(torch.rand(1, channels, side, side))
    return float(counter.get_total_flops())


def training_flops(cfg: RunConfig) -> float:
    """A run's training FLOPs: 3× forward per image (forward and backward; an upper bound where
    weights are frozen), 2× more per image for FGSM training, times images seen."""
    s, _ = cfg.settings()
    images = (s["n_train"] or FULL_TRAIN[cfg.dataset]) * s["epochs"]
    per_image = forward_flops(cfg.model, cfg.dataset) * (5 if s["adv_eps"] > 0 else 3)
    return per_image * images
