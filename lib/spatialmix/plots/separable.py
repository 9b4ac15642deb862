"""Chapters 02-03: what a separable convolution can express, and what each regime learns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .base import REGIME_STYLE, _legend, _note, _regime_bars


def plot_span(ds: Mapping[int, Sequence[int]], errors: Mapping[int, Sequence[float]]) -> Figure:
    """Relative error of the best chans fit to random dense filters vs d, one line per k."""
    fig, ax = plt.subplots(figsize=(5, 3.4), constrained_layout=True)
    drawn = {k: errs for k, errs in errors.items() if len(errs) and k in ds}
    if not drawn:
        _note(ax)
        return fig
    for k, errs in drawn.items():
        ax.plot(ds[k], errs, marker="o", label=f"k = {k} (k² = {k * k})")
        ax.axvline(k * k, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("depth multiplier d (frozen filters per channel)")
    ax.set_ylabel("relative fit error")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig


def plot_trainable(fractions: Mapping[str, Mapping[str, float]]) -> Figure:
    """Bars: fraction of parameters learned per regime, for each model (chapter 03)."""
    models = list(fractions)
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(models), 3.4), constrained_layout=True)
    values = {r: [fractions[m].get(r, 0) for m in models] for r in REGIME_STYLE
              if any(r in fractions[m] for m in models)}  # fmt: skip
    if not values:
        _note(ax)
        return fig
    _regime_bars(ax, models, values)
    ax.set_xticks(np.arange(len(models)), models, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("fraction of parameters learned")
    ax.set_ylim(0, 1.05)
    _legend(ax, fontsize=8)
    return fig
