"""Figures only: data in, matplotlib Figure out. Nothing here computes a result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

REGIME_STYLE = {  # the same colour for a regime in every chapter
    "full": {"color": "#1f77b4", "marker": "o", "label": "Full (all learned)"},
    "chans": {"color": "#d62728", "marker": "s", "label": "Chans (spatial frozen)"},
    "space": {"color": "#2ca02c", "marker": "^", "label": "Space (channel frozen)"},
}


def plot_envelopes(envelopes: Mapping[tuple[int, int], np.ndarray], title: str = "") -> Figure:
    """Grid of spectral envelopes, rows = kernel size k, columns = #filters (Fig. 1, 8)."""
    ks = sorted({k for k, _ in envelopes})
    counts = sorted({c for _, c in envelopes})
    fig, axes = plt.subplots(len(ks), len(counts), figsize=(1.6 * len(counts), 1.8 * len(ks)),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    for i, k in enumerate(ks):
        vmax = max(np.asarray(envelopes[k, c]).max() for c in counts)
        for j, c in enumerate(counts):
            ax = axes[i, j]
            ax.imshow(np.asarray(envelopes[k, c]), cmap="magma", vmin=0, vmax=vmax,
                      extent=(-0.5, 0.5, -0.5, 0.5))  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"{c} filter{'s' if c > 1 else ''}", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"k = {k}")
    if title:
        fig.suptitle(title)
    return fig


def plot_coverage(curve: Mapping[int, Mapping[int, Sequence[float]]], threshold: float) -> Figure:
    """Coverage vs number of random filters, mean ± sd over seeds, one line per k (Fig. 1)."""
    fig, ax = plt.subplots(figsize=(5, 3.4), constrained_layout=True)
    for k, by_count in curve.items():
        counts = sorted(by_count)
        mean = np.array([np.mean(by_count[c]) for c in counts])
        sd = np.array([np.std(by_count[c], ddof=1) if len(by_count[c]) > 1 else 0 for c in counts])
        ax.errorbar(counts, mean, yerr=sd, marker="o", capsize=3, label=f"k = {k}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("number of random filters")
    ax.set_ylabel(f"coverage (envelope ≥ {threshold:g}·max)")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_span(ds: Mapping[int, Sequence[int]], errors: Mapping[int, Sequence[float]]) -> Figure:
    """Relative error of the best chans fit to random dense filters vs d, one line per k."""
    fig, ax = plt.subplots(figsize=(5, 3.4), constrained_layout=True)
    for k, errs in errors.items():
        ax.plot(ds[k], errs, marker="o", label=f"k = {k} (k² = {k * k})")
        ax.axvline(k * k, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("depth multiplier d (frozen filters per channel)")
    ax.set_ylabel("relative fit error")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_trainable(fractions: Mapping[str, Mapping[str, float]]) -> Figure:
    """Bars: fraction of parameters learned per regime, for each model (chapter 03)."""
    models = list(fractions)
    regimes = [r for r in REGIME_STYLE if any(r in fractions[m] for m in models)]
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(models), 3.4), constrained_layout=True)
    width = 0.8 / len(regimes)
    for i, r in enumerate(regimes):
        xs = np.arange(len(models)) + (i - (len(regimes) - 1) / 2) * width
        ax.bar(xs, [fractions[m].get(r, 0) for m in models], width, color=REGIME_STYLE[r]["color"],
               label=REGIME_STYLE[r]["label"])  # fmt: skip
    ax.set_xticks(np.arange(len(models)), models, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("fraction of parameters learned")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    return fig
