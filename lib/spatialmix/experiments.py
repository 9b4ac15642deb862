"""The runs behind each figure, as lists of RunConfig: one definition for chapters and scripts.

A chapter asks for these lists and passes them to `results.run`; a background job can train
the same list ahead of time, and the chapter then only reads records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .models import ModelConfig
from .results import RunConfig

RESNET_EXPERIMENT = "resnet"  # chapter 04: Figs. 2-4 share one pool of trained models


def resnet(regime: str, depth: int, width: int = 16, bank: str = "random") -> ModelConfig:
    """Return the separable pre-activation ResNet of the paper (d = 9, 3×3, CIFAR layout)."""
    return ModelConfig(arch="sep_resnet", regime=regime, depth=depth, width=width,
                       kernel_size=3, multiplier=9, bank=bank)  # fmt: skip


def fig2_runs(
    regimes: Iterable[str],
    depths: Iterable[int],
    datasets: Iterable[str],
    seeds: Iterable[int],
    scale: str,
    overrides: Mapping[str, object] | None = None,
) -> list[RunConfig]:
    """Fig. 2: every regime at every depth n, per dataset and seed (w = 16)."""
    return [
        RunConfig(RESNET_EXPERIMENT, resnet(r, n), ds, scale, seed, dict(overrides or {}))
        for ds in datasets for seed in seeds for n in depths for r in regimes
    ]  # fmt: skip


def fig3_runs(
    banks: Iterable[str],
    depth: int,
    dataset: str,
    seeds: Iterable[int],
    scale: str,
    overrides: Mapping[str, object] | None = None,
) -> list[RunConfig]:
    """Fig. 3: chans with each fixed filter bank, plus full (random init) as the reference."""
    models = [resnet("full", depth)] + [resnet("chans", depth, bank=b) for b in banks]
    return [
        RunConfig(RESNET_EXPERIMENT, m, dataset, scale, seed, dict(overrides or {}))
        for seed in seeds for m in models
    ]  # fmt: skip


def fig4_runs(
    regimes: Iterable[str],
    widths: Iterable[int],
    depth: int,
    dataset: str,
    seeds: Iterable[int],
    scale: str,
    overrides: Mapping[str, object] | None = None,
) -> list[RunConfig]:
    """Fig. 4: full and chans as the width w grows, at a fixed depth n."""
    return [
        RunConfig(RESNET_EXPERIMENT, resnet(r, depth, w), dataset, scale, seed,
                  dict(overrides or {}))
        for seed in seeds for w in widths for r in regimes
    ]  # fmt: skip
