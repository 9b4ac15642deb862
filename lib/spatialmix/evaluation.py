"""Everything the book measures on a trained model, computed once per run (chapters 04-07)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .data import Loader, permute_pixels, pixel_permutation, stratified_subset
from .datasets import Dataset
from .layers import SpatialConv
from .spectral import coverage, high_frequency_fraction, spectral_envelope
from .train import evaluate, psnr, robust_accuracy

ENVELOPE_SIZE = 32  # stored envelopes are small: enough to draw Fig. 9, cheap to commit
N_RECONSTRUCTIONS = 8  # test images kept for Fig. 11


def eps_label(eps: float) -> str:
    """Write ε in the paper's units: 1/255, 0.5/255, ..."""
    return f"{eps * 255:g}/255"


def make_loaders(
    resolved: dict, data: Dataset, device: torch.device
) -> tuple[Loader, Loader, Tensor | None]:
    """Return (train loader, test loader, pixel permutation or None) for a resolved run."""
    d, t = resolved["data"], resolved["train"]
    train_idx = stratified_subset(data.y_train, d["n_train"], d["subset_seed"])
    test_idx = stratified_subset(data.y_test, d["n_test"], d["subset_seed"])
    train_loader = Loader(data.x_train[train_idx], data.y_train[train_idx], t["batch_size"],
                          train=True, augment=t["augment"], seed=resolved["seed"], device=device,
                          channels_last=True)  # fmt: skip
    test_loader = Loader(data.x_test[test_idx], data.y_test[test_idx], 256, device=device,
                         channels_last=True)  # fmt: skip
    perm = None
    if d["perm_seed"] is not None:
        perm = pixel_permutation(*data.x_train.shape[-2:], seed=d["perm_seed"])
    return train_loader, test_loader, perm


def spectra_summary(model: nn.Module, envelopes: bool) -> dict:
    """Per spatial layer: coverage and high-frequency fraction, and optionally the envelope."""
    rows = []
    for name, module in model.named_modules():
        if isinstance(module, SpatialConv):
            w = module.weight.detach().cpu()
            row = {"layer": name, "coverage": coverage(spectral_envelope(w, 64)),
                   "hf_fraction": high_frequency_fraction(w)}  # fmt: skip
            if envelopes:
                env = spectral_envelope(w, ENVELOPE_SIZE)
                row["envelope"] = [[round(v, 4) for v in r] for r in env.tolist()]
            rows.append(row)
    return {"layers": rows}


def baseline_psnr(loader: Loader, perm: Tensor) -> dict[str, float]:
    """PSNR of two outputs that learn nothing about the shuffle (Fig. 10 baselines).

    "input": return the shuffled image unchanged; "constant": return the mean test image, the
    best single image any model could output for every input.
    """
    x = torch.cat([x for x, _ in loader])
    shuffled = permute_pixels(x, perm.to(x.device))
    mean_image = x.mean(0, keepdim=True)
    return {"input_psnr": psnr((shuffled - x).square().mean().item()),
            "constant_psnr": psnr((mean_image - x).square().mean().item())}  # fmt: skip


def _as_uint8(x: Tensor) -> list:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu().tolist()


def evaluate_run(
    model: nn.Module, test_loader: Loader, resolved: dict, task: str, perm: Tensor | None
) -> tuple[dict, dict]:
    """Return (metrics, artefacts): clean test metrics, attacks, spectra, reconstructions."""
    model.eval()
    clean = evaluate(model, test_loader, task, perm)
    artefacts = {"spectra": spectra_summary(model, resolved["eval"]["envelopes"])}
    if task == "unshuffle":
        x, _ = next(iter(test_loader))
        x = x[:N_RECONSTRUCTIONS]
        with torch.no_grad():
            shuffled = permute_pixels(x, perm.to(x.device))
            artefacts["reconstructions"] = {"input": _as_uint8(shuffled),
                                            "output": _as_uint8(model(shuffled)),
                                            "target": _as_uint8(x)}  # fmt: skip
        metrics = {"test_mse": clean["mse"], "test_psnr": clean["psnr"], "n_test": clean["n"],
                   **baseline_psnr(test_loader, perm)}  # fmt: skip
        return metrics, artefacts
    metrics = {"test_acc": clean["acc"], "test_loss": clean["loss"], "n_test": clean["n"]}
    n_attack = min(resolved["eval"]["n_attack"], clean["n"])
    if n_attack:
        # stratified: some copies (the JPEG CIFAR-10) store the test set sorted by class
        idx = stratified_subset(test_loader.y, n_attack, resolved["data"]["subset_seed"])
        loader = Loader(test_loader.x[idx], test_loader.y[idx], 256, device=test_loader.device,
                        channels_last=True)  # fmt: skip
        attacks = {"fgsm": 1, f"pgd{resolved['eval']['pgd_steps']}": resolved["eval"]["pgd_steps"]}
        metrics["attacks"] = {
            name: {eps_label(e): robust_accuracy(model, loader, e, steps)["acc"]
                   for e in resolved["eval"]["attack_eps"]}
            for name, steps in attacks.items()
        }  # fmt: skip
        metrics["attacks"]["clean"] = evaluate(model, loader)["acc"]
        metrics["n_attack"] = n_attack
    return metrics, artefacts
