"""The un-shuffling task (§4.4, chapter 07): what a model must see, and what needs no model.

A ConvMixer with p = 1 moves information by at most k − 1 pixels per layer, so its receptive
field is (k − 1)·depth + 1 pixels wide, while a fixed permutation can send any pixel to any
other place: undoing every permutation of a side×side image needs a field of 2·side − 1 (55 px
for 28×28, 63 px for 32×32). Even k pads "same" asymmetrically (k/2 − 1 before, k/2 after), so
what counts is the shorter of the two reaches, ⌊(k − 1)/2⌋·depth, which must reach side − 1.

Three baselines learn nothing convolutional (Fig. 10's horizontal lines): the shuffled input
itself, the mean training image whatever the input, and the affine least-squares map from
shuffled to original pixels fitted on the training images, which can represent any permutation
exactly (a permutation matrix is one such map).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from .data import permute_pixels
from .models import ModelConfig, build_model
from .regimes import REGIMES, count_trainable
from .train import psnr

RIDGE = 1e-6  # our choice: ridge λ as a fraction of the mean pixel variance (never-lit pixels)
CHUNK = 2048  # images per block when accumulating Gram matrices (memory stays ~D² doubles)
BASELINES = ("shuffled input", "mean image", "least squares")  # baseline_psnr's keys, in order


class ReceptiveFieldWarning(UserWarning):
    """An un-shuffler's receptive field cannot cover the image: it cannot undo a permutation."""


def receptive_field(kernel_size: int, depth: int) -> int:
    """Width in pixels of what one output pixel of a p = 1 ConvMixer sees: (k − 1)·depth + 1."""
    return (kernel_size - 1) * depth + 1


def needed_field(side: int) -> int:
    """The receptive field that undoes any permutation of a side×side image: 2·side − 1."""
    return 2 * side - 1


def sees_whole_image(kernel_size: int, depth: int, side: int) -> bool:
    """True if every output pixel sees every input pixel: the shorter one-sided reach,
    ⌊(k − 1)/2⌋·depth, spans side − 1 (for odd k: receptive field ≥ 2·side − 1)."""
    return (kernel_size - 1) // 2 * depth >= side - 1


def check_receptive_field(kernel_size: int, depth: int, side: int, strict: bool = False) -> bool:
    """Warn (strict: raise ValueError) unless the model sees the whole image; return whether."""
    if sees_whole_image(kernel_size, depth, side):
        return True
    reach = (kernel_size - 1) // 2 * depth
    message = (
        f"an un-shuffler with k = {kernel_size} and depth {depth} has a receptive field of "
        f"{receptive_field(kernel_size, depth)} px (reach {reach} px each way); undoing any "
        f"permutation of a {side}×{side} image needs {needed_field(side)} px (reach {side - 1}): "
        "it can only learn what stays within its reach (a deeper model or a larger k sees more)"
    )
    if strict:
        raise ValueError(message)
    warnings.warn(message, ReceptiveFieldWarning, stacklevel=2)
    return False


def receptive_field_rows(
    shapes: Sequence[tuple[int, int, int]], sides: Mapping[str, int]
) -> list[tuple]:
    """Per (depth, width, k): its receptive field and, per data set (name -> image side),
    whether it sees the whole image; each shape that does not is warned about
    (ReceptiveFieldWarning) once per data set."""
    rows = []
    for depth, width, k in shapes:
        covers = [check_receptive_field(k, depth, side) for side in sides.values()]
        rows.append((depth, width, k, receptive_field(k, depth),
                     *("yes" if c else "no" for c in covers)))  # fmt: skip
    return rows


def trainable_counts(
    width: int,
    depth: int,
    kernel_sizes: Sequence[int],
    channels: int = 1,
    regimes: Sequence[str] = REGIMES,
) -> dict[str, dict[int, int]]:
    """Trainable parameters of the un-shuffler, counted on built models: {regime: {k: count}}.

    Chans freezes every k×k filter (and the stem), so its count should not depend on k.
    """
    counts: dict[str, dict[int, int]] = {}
    for regime in regimes:
        for k in kernel_sizes:
            cfg = ModelConfig(arch="unshuffle", regime=regime, width=width, depth=depth,
                              kernel_size=k)  # fmt: skip
            model = build_model(cfg, in_channels=channels)
            counts.setdefault(regime, {})[k] = count_trainable(model)
    return counts


def _flat_index(perm: Tensor, channels: int) -> Tensor:
    """permute_pixels as an index into images flattened to C·H·W."""
    hw = len(perm)
    return (torch.arange(channels)[:, None] * hw + perm.cpu()[None, :]).flatten()


def _blocks(x: Tensor) -> list[Tensor]:
    """x (N, C, H, W), uint8 or float in [0, 1], as float64 blocks (n, C·H·W) of CHUNK images."""
    scale = 255.0 if x.dtype == torch.uint8 else 1.0
    return [b.flatten(1).double() / scale for b in x.split(CHUNK)]


def fit_least_squares(x_train: Tensor, perm: Tensor, ridge: float = RIDGE) -> tuple[Tensor, Tensor]:
    """Fit the affine map original ≈ shuffled @ W + b on training images, by ridge least squares.

    x_train: (N, C, H, W) images (uint8, or float in [0, 1]); perm: the pixel permutation.
    Returns W (D, D) and b (D,), D = C·H·W, in float64. Solved in closed form from the Gram
    matrix of the centred images, accumulated in blocks (memory ~ 2·D² doubles: 150 MB for a
    32×32×3 image). ridge is λ as a fraction of the mean pixel variance: it keeps pixels that
    never vary in training (MNIST's border) from making the system singular.
    """
    index = _flat_index(perm, x_train.shape[1])
    n, d = len(x_train), index.numel()
    total, gram = torch.zeros(d, dtype=torch.float64), torch.zeros(d, d, dtype=torch.float64)
    for block in _blocks(x_train):
        total += block.sum(0)
        gram += block.T @ block
    mean = total / n
    gram -= n * torch.outer(mean, mean)  # Σ (x − μ)(x − μ)ᵀ
    shuffled_gram = gram[index][:, index]  # the shuffled images' Gram: rows and columns moved
    lam = ridge * float(shuffled_gram.diagonal().mean()) + 1e-12
    eye = torch.eye(d, dtype=torch.float64)
    weight = torch.linalg.solve(shuffled_gram + lam * eye, gram[index])  # (D, D)
    bias = mean - mean[index] @ weight
    return weight, bias


def least_squares_mse(x_test: Tensor, perm: Tensor, weight: Tensor, bias: Tensor) -> float:
    """Mean squared error of the fitted map on test images (shuffled by perm), unclamped."""
    index = _flat_index(perm, x_test.shape[1])
    sq, count = 0.0, 0
    for block in _blocks(x_test):
        sq += float((block[:, index] @ weight + bias - block).square().sum())
        count += block.numel()
    return sq / count


def baseline_psnr(
    x_train: Tensor, x_test: Tensor, perm: Tensor, ridge: float = RIDGE
) -> dict[str, float]:
    """Test PSNR (dB) of the three outputs that need no convolution (Fig. 10's lines).

    "shuffled input": the input returned unchanged; "mean image": the mean training image for
    every input; "least squares": the affine map fitted on x_train (fit_least_squares).
    x_train, x_test: (N, C, H, W) uint8 or float images in [0, 1].
    """
    test = torch.cat(_blocks(x_test))
    shape = x_test.shape[1:]
    shuffled = permute_pixels(test.view(-1, *shape), perm.cpu()).flatten(1)
    mean_image = sum(b.sum(0) for b in _blocks(x_train)) / len(x_train)
    weight, bias = fit_least_squares(x_train, perm, ridge)
    return {
        "shuffled input": psnr(float((shuffled - test).square().mean())),
        "mean image": psnr(float((mean_image - test).square().mean())),
        "least squares": psnr(least_squares_mse(x_test, perm, weight, bias)),
    }


def image_psnr(output: object, target: object) -> list[float]:
    """PSNR (dB) of each image of a batch against its target; arrays of uint8 (N, C, H, W)."""
    out = np.asarray(output, dtype=np.float64) / 255
    ref = np.asarray(target, dtype=np.float64) / 255
    mse = ((out - ref) ** 2).reshape(len(out), -1).mean(1)
    return [psnr(float(m)) for m in mse]


def row_psnr(rows: Mapping[str, object], reference: str = "original") -> dict[str, list[float]]:
    """Fig. 11: each row's per-image PSNR against the reference row (itself left out)."""
    if reference not in rows:
        return {}
    return {k: image_psnr(v, rows[reference]) for k, v in rows.items() if k != reference}
