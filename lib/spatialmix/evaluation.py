"""Everything the book measures on a trained model, each evaluation keyed apart from training.

An evaluation is a small frozen spec (what to measure, at what size) plus the code that measures
it on a trained model. Its key is a hash of its settings, so widening the ε list of the attacks
adds a new evaluation to a run's record instead of changing the run's training key (results.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from .data import Loader, permute_pixels, pixel_permutation, stratified_subset
from .datasets import Dataset
from .layers import SpatialConv
from .spectral import coverage, high_frequency_fraction, spectral_envelope
from .stream import ImageFolderStream, StreamLoader
from .train import evaluate, psnr, robust_accuracy

N_RECONSTRUCTIONS = 8  # test images kept for Fig. 11
EVAL_BATCH = 256


def eps_label(eps: float) -> str:
    """Write ε in the paper's units: 1/255, 0.5/255, ..."""
    return f"{eps * 255:g}/255"


@dataclass(frozen=True)
class Target:
    """What an evaluation runs on: the trained model, its task, the data and its test subset."""

    model: nn.Module
    task: str  # "classify" | "unshuffle"
    data: Dataset
    device: torch.device
    perm: Tensor | None = None  # the fixed pixel permutation of the un-shuffler


def test_loader(target: Target, n_test: int, subset_seed: int) -> Loader | StreamLoader:
    """The stratified test subset of n_test images (0: all), batched for evaluation."""
    idx = stratified_subset(target.data.y_test, n_test, subset_seed)
    if isinstance(target.data, ImageFolderStream):  # ImageNet, decoded a batch at a time
        return target.data.loader("test", idx, EVAL_BATCH, device=target.device,
                                  channels_last=True)  # fmt: skip
    return Loader(target.data.x_test[idx], target.data.y_test[idx], EVAL_BATCH,
                  device=target.device, channels_last=True)  # fmt: skip


class Evaluation:
    """Base of the evaluation specs: a kind, settings (the dataclass fields) and a key."""

    kind: ClassVar[str]

    def settings(self) -> dict:
        """The fields, as JSON-ready values."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}  # fmt: skip

    @property
    def key(self) -> str:
        """kind-<8 hex digits of sha256 over the settings>, e.g. "attacks-3f0c9a1b"."""
        text = json.dumps(self.settings(), sort_keys=True, separators=(",", ":"))
        return f"{self.kind}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"

    def measure(self, target: Target) -> tuple[dict, dict]:
        """Return (metrics, artefacts) measured on target."""
        raise NotImplementedError


@dataclass(frozen=True)
class Clean(Evaluation):
    """Clean test metrics: accuracy and loss, or MSE and PSNR for the un-shuffler with its
    two baselines (the shuffled input, the mean image)."""

    kind: ClassVar[str] = "clean"
    n_test: int = 0  # 0: the whole test split
    subset_seed: int = 0

    def measure(self, target: Target) -> tuple[dict, dict]:
        loader = test_loader(target, self.n_test, self.subset_seed)
        clean = evaluate(target.model, loader, target.task, target.perm)
        if target.task == "unshuffle":
            metrics = {"test_mse": clean["mse"], "test_psnr": clean["psnr"], "n": clean["n"],
                       **record_baselines(loader, target.perm)}  # fmt: skip
            return metrics, {}
        return {"test_acc": clean["acc"], "test_loss": clean["loss"], "n": clean["n"]}, {}


@dataclass(frozen=True)
class Attacks(Evaluation):
    """Accuracy under FGSM and PGD at each ε, on n_attack images drawn (stratified) from the
    test subset of `pool` images. PGD steps are pgd_step·ε, projected back onto the ε-ball."""

    kind: ClassVar[str] = "attacks"
    eps: tuple[float, ...] = (1 / 255,)
    n_attack: int = 1000
    pool: int = 0  # the test subset the attacked images are drawn from (0: all)
    pgd_steps: int = 2
    pgd_step: float = 0.5  # α as a fraction of ε (0.5: α = ε/2, the first book's choice)
    subset_seed: int = 0

    def measure(self, target: Target) -> tuple[dict, dict]:
        pool = test_loader(target, self.pool, self.subset_seed)
        n = min(self.n_attack, len(pool.y))
        # stratified: some copies (the JPEG CIFAR-10) store the test set sorted by class
        idx = stratified_subset(pool.y, n, self.subset_seed)
        if isinstance(pool, StreamLoader):
            loader = pool.subset(idx)
        else:
            loader = Loader(pool.x[idx], pool.y[idx], EVAL_BATCH, device=pool.device,
                            channels_last=True)  # fmt: skip
        model, steps = target.model, {"fgsm": 1, f"pgd{self.pgd_steps}": self.pgd_steps}
        model.eval()
        metrics = {name: {eps_label(e): robust_accuracy(model, loader, e, s, self.pgd_step)["acc"]
                          for e in self.eps} for name, s in steps.items()}  # fmt: skip
        metrics["clean"] = evaluate(model, loader)["acc"]
        metrics["n"] = n
        return metrics, {}


@dataclass(frozen=True)
class Spectra(Evaluation):
    """Per spatial layer: coverage and high-frequency fraction; envelopes kept if envelope > 0."""

    kind: ClassVar[str] = "spectra"
    size: int = 64  # FFT size of the envelope coverage is measured on
    envelope: int = 0  # size of the stored envelopes (Fig. 9); 0: none stored
    # True: everything on the size×size DFT (the paper's 512 for Fig. 9), the stored envelope
    # average-pooled from it; False (the first book's records): the stored envelope on its own
    # small DFT and the high-frequency share on a 64×64 one. Left out of the key when False
    pooled: bool = False

    def settings(self) -> dict:
        s = super().settings()
        return s if self.pooled else {k: v for k, v in s.items() if k != "pooled"}

    def measure(self, target: Target) -> tuple[dict, dict]:
        rows = []
        for name, module in target.model.named_modules():
            if isinstance(module, SpatialConv):
                w = module.weight.detach().cpu()
                env = spectral_envelope(w, self.size)
                hf = high_frequency_fraction(w, size=self.size if self.pooled else 64)
                row = {"layer": name, "coverage": coverage(env), "hf_fraction": hf}
                if self.envelope:
                    env = pooled_envelope(env, self.envelope) if self.pooled else (
                        spectral_envelope(w, self.envelope))  # fmt: skip
                    row["envelope"] = [[round(v, 4) for v in r] for r in env.tolist()]
                rows.append(row)
        return {}, {"layers": rows}


def pooled_envelope(envelope: Tensor, size: int) -> Tensor:
    """A centred envelope average-pooled to size×size (its side a multiple of size)."""
    if envelope.shape[-1] % size:
        raise ValueError(f"cannot pool a {envelope.shape[-1]}² envelope to {size}²")
    return torch.nn.functional.avg_pool2d(envelope[None, None], envelope.shape[-1] // size)[0, 0]


@dataclass(frozen=True)
class Reconstructions(Evaluation):
    """The first n images of the test subset: shuffled input, output and target, as uint8."""

    kind: ClassVar[str] = "reconstructions"
    n: int = N_RECONSTRUCTIONS
    n_test: int = 0
    subset_seed: int = 0

    def measure(self, target: Target) -> tuple[dict, dict]:
        x, _ = next(iter(test_loader(target, self.n_test, self.subset_seed)))
        x = x[: self.n]
        target.model.eval()
        with torch.no_grad():
            shuffled = permute_pixels(x, target.perm.to(x.device))
            out = {"input": _as_uint8(shuffled), "output": _as_uint8(target.model(shuffled)),
                   "target": _as_uint8(x)}  # fmt: skip
        return {}, out


EVALUATIONS: dict[str, type[Evaluation]] = {
    e.kind: e for e in (Clean, Attacks, Spectra, Reconstructions)
}


def from_settings(kind: str, settings: dict) -> Evaluation:
    """Rebuild an evaluation spec from its stored kind and settings."""
    if kind not in EVALUATIONS:
        raise ValueError(f"unknown evaluation {kind!r}; known: {sorted(EVALUATIONS)}")
    cls = EVALUATIONS[kind]
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})


def make_train_loader(data: Dataset, n_train: int, subset_seed: int, batch_size: int,
                      augment: str, seed: int, device: torch.device) -> Loader:  # fmt: skip
    """The seeded stratified training subset, batched and augmented per (seed, epoch, step)."""
    idx = stratified_subset(data.y_train, n_train, subset_seed)
    if isinstance(data, ImageFolderStream):  # ImageNet: a StreamLoader, same interface
        return data.loader("train", idx, batch_size, train=True, augment=augment, seed=seed,
                           device=device, channels_last=True)  # fmt: skip
    return Loader(data.x_train[idx], data.y_train[idx], batch_size, train=True, augment=augment,
                  seed=seed, device=device, channels_last=True)  # fmt: skip


def permutation_for(data: Dataset, perm_seed: int | None) -> Tensor | None:
    """The un-shuffler's fixed pixel permutation (None for classifiers)."""
    return None if perm_seed is None else pixel_permutation(*data.x_train.shape[-2:], perm_seed)


def record_baselines(loader: Loader, perm: Tensor) -> dict[str, float]:
    """PSNR of two outputs that learn nothing about the shuffle, stored beside every
    un-shuffler's test PSNR.

    "input": return the shuffled image unchanged; "constant": return the mean *test* image, the
    best single image any model could output for every input (an oracle: Fig. 10's mean-image
    line, unshuffle.baseline_psnr, uses the mean training image, which a model can learn).
    """
    x = torch.cat([x for x, _ in loader])
    shuffled = permute_pixels(x, perm.to(x.device))
    mean_image = x.mean(0, keepdim=True)
    return {"input_psnr": psnr((shuffled - x).square().mean().item()),
            "constant_psnr": psnr((mean_image - x).square().mean().item())}  # fmt: skip


def _as_uint8(x: Tensor) -> list:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu().tolist()
