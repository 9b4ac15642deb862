"""The runs behind each figure, as lists of RunConfig: one definition for chapters and scripts.

A chapter asks for these lists and passes them to `gather`; a background job can train the same
list ahead of time, and the chapter then only reads records (as a table: results.frame).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .datasets import DataNotFoundError, Dataset, load_dataset
from .models import ModelConfig
from .records import Record
from .results import RunConfig, lookup, run

RESNET_EXPERIMENT = "resnet"  # chapter 04: Figs. 2-4 share one pool of trained models
MIXER_EXPERIMENT = "convmixer"  # chapter 05
ADVERSARIAL_EXPERIMENT = "adversarial"  # chapter 06: FGSM-trained models
UNSHUFFLE_EXPERIMENT = "unshuffle"  # chapter 07


def resnet(
    regime: str, depth: int, width: int = 16, bank: str = "random", imagenet: bool = False
) -> ModelConfig:
    """Return the separable pre-activation ResNet of the paper (d = 9, 3×3)."""
    return ModelConfig(arch="sep_resnet", regime=regime, depth=depth, width=width,
                       kernel_size=3, multiplier=9, bank=bank, imagenet=imagenet)  # fmt: skip


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
        RunConfig(RESNET_EXPERIMENT, resnet(r, n, imagenet=ds == "imagenet"), ds, scale, seed,
                  dict(overrides or {}))
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


def mixer_runs(
    regimes: Iterable[str],
    depths: Iterable[int],
    dataset: str,
    seeds: Iterable[int],
    scale: str,
    width: int,
    kernel_size: int,
    patch_size: int,
) -> list[RunConfig]:
    """Fig. 5: ConvMixer-h/depth in every regime at every depth (chapter 05)."""
    return [
        RunConfig(MIXER_EXPERIMENT, ModelConfig(arch="convmixer", regime=r, width=width, depth=n,
                  kernel_size=kernel_size, patch_size=patch_size), dataset, scale, seed)
        for seed in seeds for n in depths for r in regimes
    ]  # fmt: skip


def adversarial_runs(
    regimes: Iterable[str],
    depths: Iterable[int],
    dataset: str,
    seeds: Iterable[int],
    scale: str,
    eps: float,
) -> list[RunConfig]:
    """Fig. 6: separable ResNets trained on FGSM(ε) batches (chapter 06)."""
    return [
        RunConfig(ADVERSARIAL_EXPERIMENT, resnet(r, n), dataset, scale, seed, {"adv_eps": eps})
        for seed in seeds for n in depths for r in regimes
    ]  # fmt: skip


def unshuffle_runs(
    regimes: Iterable[str],
    datasets: Iterable[str],
    seeds: Iterable[int],
    scale: str,
    width: int,
    depth: int,
    kernel_size: int,
) -> list[RunConfig]:
    """Figs. 10-11: un-shuffling ConvMixers, one fixed pixel permutation (chapter 07)."""
    return [
        RunConfig(UNSHUFFLE_EXPERIMENT, ModelConfig(arch="unshuffle", regime=r, width=width,
                  depth=depth, kernel_size=kernel_size), ds, scale, seed)
        for ds in datasets for seed in seeds for r in regimes
    ]  # fmt: skip


def load_available(
    names: Iterable[str], data_dir: str | None = None
) -> tuple[dict[str, Dataset], dict[str, str]]:
    """Load every dataset that can be found: ({name: Dataset}, {name: why it is missing})."""
    found, missing = {}, {}
    for name in names:
        try:
            found[name] = load_dataset(name, data_dir or None)
        except DataNotFoundError:  # the full message lists machine-specific paths
            missing[name] = f"no {name} data found: set SPATIALMIX_DATA or pass data_dir"
    return found, missing


def gather(
    cfgs: Iterable[RunConfig], regimes: Iterable[str], device: str = "auto", progress: bool = True
) -> list[Record | None]:
    """Run the configs whose regime is selected; only look up the others (None if absent).

    This is how `-p freeze chans` trains chans alone while the figures still show whatever the
    store holds for full and space.
    """
    regimes = set(regimes)
    return [run(c, device, progress) if c.model.regime in regimes else lookup(c) for c in cfgs]
