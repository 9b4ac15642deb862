"""Frequency view of filter banks: envelopes (Fig. 1, 8, 9), coverage, smoothing (Fig. 7).

A filter bank is a tensor (..., k, k); leading dimensions are flattened into "filters".
Frequencies are in cycles per pixel on a centred grid, so Nyquist is 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor


def _filters(weight: Tensor) -> Tensor:
    if weight.dim() < 2:
        raise ValueError(f"a filter bank needs shape (..., k, k), got {tuple(weight.shape)}")
    return weight.detach().reshape(-1, *weight.shape[-2:]).double()


def spectral_envelope(weight: Tensor, size: int = 512) -> Tensor:
    """Max over filters of |2-D DFT|, zero-padded to size×size, DC centred (paper Fig. 1).

    weight: (..., k, k) -> (size, size), float64.
    """
    spectra = torch.fft.fft2(_filters(weight), s=(size, size)).abs()
    return torch.fft.fftshift(spectra, dim=(-2, -1)).amax(dim=0)


def radial_frequency(size: int) -> Tensor:
    """Return |f| in cycles/pixel for each cell of a centred size×size DFT grid."""
    f = torch.fft.fftshift(torch.fft.fftfreq(size, dtype=torch.float64))
    return torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2)


def coverage(envelope: Tensor, threshold: float = 0.5) -> float:
    """Fraction of the frequency plane where the envelope reaches threshold × its maximum.

    Scale-free: 1.0 for a flat envelope (a delta), small for a single low-pass filter. It grows
    as a random bank gains filters that fill each other's spectral gaps (our measure, Fig. 1).
    """
    return (envelope >= threshold * envelope.max()).double().mean().item()


HALF_NYQUIST = 0.25  # cycles/pixel: "high frequency" means above half the Nyquist frequency


def high_frequency_fraction(weight: Tensor, cutoff: float = HALF_NYQUIST, size: int = 64) -> float:
    """Fraction of the bank's spectral energy above `cutoff` cycles/pixel (half Nyquist).

    Sums |DFT|² over every filter, so it measures the whole bank, not only its envelope.
    """
    power = torch.fft.fftshift(torch.fft.fft2(_filters(weight), s=(size, size)).abs() ** 2,
                               dim=(-2, -1)).sum(dim=0)  # fmt: skip
    return (power[radial_frequency(size) > cutoff].sum() / power.sum()).item()


def gaussian_kernel(sigma: float, radius: int | None = None) -> Tensor:
    """Return a normalised 2-D Gaussian of width σ pixels, (2r+1, 2r+1), float64."""
    radius = max(1, math.ceil(3 * sigma)) if radius is None else radius
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def smooth_filters(weight: Tensor, sigma: float, keep_norm: bool = True) -> Tensor:
    """Blur each k×k filter with a Gaussian of width σ, keeping k×k (zero padding) (Fig. 7, 8).

    keep_norm rescales each filter back to its original L2 norm, so smoothing changes which
    frequencies a filter passes and not its gain (our choice). σ = 0 returns weight unchanged.
    weight: (..., k, k) -> same shape and dtype.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return weight.clone()
    filters = _filters(weight)[:, None]  # (F, 1, k, k)
    g = gaussian_kernel(sigma)
    # padding = radius keeps k×k: mass blurred past the border is dropped
    blurred = F.conv2d(filters, g[None, None], padding=g.shape[-1] // 2)
    if keep_norm:
        old = filters.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        new = blurred.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        blurred = blurred * old / new
    return blurred.reshape(weight.shape).to(weight.dtype)


def smoothed_envelopes(
    weight: Tensor, sigmas: Sequence[float], size: int = 512
) -> dict[float, Tensor]:
    """The bank's envelope after Gaussian smoothing at each σ; σ = 0 is the bank as drawn (Fig. 8).

    weight: (..., k, k) -> {σ: (size, size) envelope}, smoothed as regimes.set_filter_bank does.
    """
    return {float(s): spectral_envelope(smooth_filters(weight, s), size) for s in sigmas}


def smoothing_table(
    weight: Tensor, sigmas: Sequence[float], size: int = 512, threshold: float = 0.5
) -> pd.DataFrame:
    """Fig. 8's numbers, one row per σ: what smoothing leaves of the bank's high frequencies.

    Columns: sigma; hf_fraction, the share of the bank's spectral energy above half Nyquist
    (high_frequency_fraction on the size×size DFT); coverage of its envelope (as in Fig. 1).
    """
    high = radial_frequency(size) > HALF_NYQUIST
    rows = []
    for sigma in sigmas:  # one DFT per σ serves both numbers
        spectra = torch.fft.fft2(_filters(smooth_filters(weight, sigma)), s=(size, size)).abs()
        spectra = torch.fft.fftshift(spectra, dim=(-2, -1))
        power = spectra.square().sum(dim=0)  # as high_frequency_fraction
        rows.append({"sigma": float(sigma), "hf_fraction": (power[high].sum() / power.sum()).item(),
                     "coverage": coverage(spectra.amax(dim=0), threshold)})  # fmt: skip
    return pd.DataFrame(rows, columns=["sigma", "hf_fraction", "coverage"])


def random_bank(count: int, kernel_size: int, seed: int = 0) -> Tensor:
    """Draw `count` k×k filters from PyTorch's default depthwise init, U(-1/k, 1/k) (Fig. 1).

    Returns (count, 1, k, k) float32.
    """
    gen = torch.Generator().manual_seed(seed)
    bound = 1.0 / kernel_size  # kaiming_uniform(a=√5) with fan_in = k² gives 1/√(k²)
    return (torch.rand(count, 1, kernel_size, kernel_size, generator=gen) * 2 - 1) * bound


def coverage_curve(
    kernel_sizes: list[int],
    counts: list[int],
    seeds: list[int],
    size: int = 512,
    threshold: float = 0.5,
) -> dict[int, dict[int, list[float]]]:
    """Coverage of random banks: result[k][count] = one value per seed (chapter 01, Fig. 1)."""
    return {
        k: {c: [coverage(spectral_envelope(random_bank(c, k, s), size), threshold) for s in seeds]
            for c in counts}
        for k in kernel_sizes
    }  # fmt: skip


def coverage_gain_rows(measured: Mapping[int, Mapping[str, float]]) -> list[tuple]:
    """Fig. 1's verdict per k: coverage with few and with many random filters, the gain, n."""
    return [
        (k, m["count_lo"], f"{m['coverage_lo']:.3f}", m["count_hi"], f"{m['coverage_hi']:.3f}",
         f"{m['gain']:+.3f}", m["n"])
        for k, m in measured.items()
    ]  # fmt: skip
