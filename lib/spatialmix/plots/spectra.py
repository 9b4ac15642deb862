"""Spectral envelopes of filter banks: Fig. 1 (random banks and their coverage), Fig. 8 (after
smoothing) and Fig. 9 (learned filters, layer by layer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .base import _empty_figure, _legend, _log_scale, _note, n_text


def plot_envelopes(envelopes: Mapping[tuple[int, int], np.ndarray], title: str = "") -> Figure:
    """Grid of spectral envelopes, rows = kernel size k, columns = #filters (Fig. 1, 8)."""
    ks = sorted({k for k, _ in envelopes})
    counts = sorted({c for _, c in envelopes})
    if not envelopes:
        return _empty_figure(title)
    fig, axes = plt.subplots(len(ks), len(counts), figsize=(1.6 * len(counts), 1.8 * len(ks)),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    for i, k in enumerate(ks):
        vmax = max(np.asarray(envelopes[k, c]).max() for c in counts if (k, c) in envelopes)
        for j, c in enumerate(counts):
            ax = axes[i, j]
            if (k, c) in envelopes:
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
    drawn = []
    for k, by_count in curve.items():
        counts = sorted(c for c in by_count if len(by_count[c]))
        if not counts:
            continue
        mean = np.array([np.mean(by_count[c]) for c in counts])
        sd = np.array([np.std(by_count[c], ddof=1) if len(by_count[c]) > 1 else 0 for c in counts])
        ax.errorbar(counts, mean, yerr=sd, marker="o", capsize=3, label=f"k = {k}")
        drawn += counts
    if not drawn:
        _note(ax)
        return fig
    _log_scale(ax, drawn, base=2)
    ax.set_xlabel("number of random filters")
    ax.set_ylabel(f"coverage (envelope ≥ {threshold:g}·max)")
    ax.set_title(n_text([g for by_count in curve.values() for g in by_count.values()]))
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig


def plot_layer_envelopes(rows: Mapping[str, Sequence[np.ndarray]], title: str = "") -> Figure:
    """Envelopes of each layer's spatial filters, one row per model (Fig. 9)."""
    rows = {label: envs for label, envs in rows.items() if len(envs)}
    if not rows:
        return _empty_figure(title)
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(rows), n, figsize=(1.8 * n, 1.9 * len(rows)), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    for i, (label, envs) in enumerate(rows.items()):
        vmax = max(np.asarray(e).max() for e in envs)
        for j in range(n):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(envs):
                ax.imshow(np.asarray(envs[j]), cmap="magma", vmin=0, vmax=vmax,
                          extent=(-0.5, 0.5, -0.5, 0.5))  # fmt: skip
            if i == 0:
                ax.set_title(f"layer {j + 1}", fontsize=9)
            if j == 0:
                ax.set_ylabel(label, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def plot_smoothed_envelopes(
    envelopes: Mapping[float, np.ndarray],
    hf_fraction: Mapping[float, float] | None = None,
    cutoff: float = 0.25,
    title: str = "",
) -> Figure:
    """Fig. 8: a bank's envelope before smoothing (σ = 0) and after each σ, one panel per σ.

    Each panel is scaled to its own maximum (smoothing at a kept norm raises the peak), and a
    dashed circle marks |f| = cutoff (half Nyquist). hf_fraction[σ], if given, is named in the
    panel's title: the share of the bank's energy outside the circle.
    """
    if not envelopes:
        return _empty_figure(title)
    sigmas = sorted(envelopes)
    fig, axes = plt.subplots(1, len(sigmas), figsize=(2.2 * len(sigmas), 2.6), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    for ax, sigma in zip(axes[0], sigmas, strict=True):
        env = np.asarray(envelopes[sigma])
        ax.imshow(env, cmap="magma", vmin=0, vmax=env.max(), extent=(-0.5, 0.5, -0.5, 0.5))
        ax.add_patch(plt.Circle((0, 0), cutoff, fill=False, ls="--", lw=0.8, color="white"))
        ax.set_xticks([])
        ax.set_yticks([])
        name = "σ = 0 (as drawn)" if sigma == 0 else f"σ = {sigma:g}"
        if hf_fraction is not None and sigma in hf_fraction:
            name += f"\n{hf_fraction[sigma]:.1%} of energy outside"
        ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig
