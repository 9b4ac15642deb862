"""The runs behind each figure, as lists of RunConfig: one definition for chapters and scripts.

A chapter asks for these lists and passes them to `results.run`; a background job can train
the same list ahead of time, and the chapter then only reads records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .datasets import DataNotFoundError, Dataset, load_dataset
from .models import ModelConfig
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


def collect(
    records: Iterable[dict | None], fields: tuple[str, ...], metric: str = "test_acc"
) -> dict[tuple, list[float]]:
    """Group one metric of records by model/data fields: {(values of fields): [per seed]}.

    Field names are looked up in the model config, then the data config ("name" = dataset).
    Missing records (None) are skipped.
    """
    groups: dict[tuple, list[float]] = {}
    for r in records:
        if r is None:
            continue
        cfg = {**r["config"]["data"], **r["config"]["model"], "seed": r["config"]["seed"]}
        groups.setdefault(tuple(cfg[f] for f in fields), []).append(r["metrics"][metric])
    return groups


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
) -> list[dict | None]:
    """Run the configs whose regime is selected; only look up the others (None if absent).

    This is how `-p freeze chans` trains chans alone while the figures still show whatever the
    store holds for full and space.
    """
    regimes = set(regimes)
    return [run(c, device, progress) if c.model.regime in regimes else lookup(c) for c in cfgs]


def collect_attacks(
    records: Iterable[dict | None], eps_label: str, pgd: str, training: str = ""
) -> dict[tuple[str, str, int], list[float]]:
    """Group clean, FGSM and PGD accuracy at one radius by (condition, regime, depth n).

    Conditions are "clean", "FGSM" and e.g. "PGD-2", each followed by ", <training>" when given
    (e.g. "PGD-2, FGSM-trained"). Depths stay apart: they are never pooled as if seeds.
    """
    suffix = f", {training}" if training else ""
    name = pgd.upper().replace("PGD", "PGD-")
    groups: dict[tuple[str, str, int], list[float]] = {}
    for r in records:
        if r is None:
            continue
        model, attacks = r["config"]["model"], r["metrics"]["attacks"]
        for cond, value in (("clean", attacks["clean"]), ("FGSM", attacks["fgsm"][eps_label]),
                            (name, attacks[pgd][eps_label])):  # fmt: skip
            groups.setdefault((cond + suffix, model["regime"], model["depth"]), []).append(value)
    return groups
