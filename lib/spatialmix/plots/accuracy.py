"""Accuracy figures of the classification chapters: Figs. 2-4 (depth, banks, width), training
curves, and Fig. 6 (accuracy under attack beside the clean accuracy)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..claims import Interval, paired
from .base import NO_RUNS, REGIME_STYLE, _errorline, _legend, _log_scale, _note, n_text


def plot_depth(
    acc: Mapping[tuple[str, str, int], Sequence[float]],
    titles: Mapping[str, str],
    resnet: bool = True,
) -> Figure:
    """Figs. 2 and 5: accuracy vs depth per regime, one panel per dataset, mean ± sd.

    resnet: the x axis is n, blocks per stage, as in the paper's Fig. 2, with each tick also
    naming the layer count 6n + 2; else the ConvMixer's depth.
    """
    datasets = list(titles) or [""]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 3.6),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    for ax, ds in zip(axes[0], datasets, strict=True):
        groups = [v for (d, _, _), v in acc.items() if d == ds]
        ax.set_title("\n".join(t for t in (titles.get(ds, ""), n_text(groups)) if t))
        drawn = set()
        for regime, style in REGIME_STYLE.items():
            depths = sorted(n for d, r, n in acc if d == ds and r == regime and len(acc[d, r, n]))
            if depths:
                _errorline(ax, depths, [acc[ds, regime, n] for n in depths], style)
                drawn |= set(depths)
        if not drawn:
            _note(ax)
            continue
        ticks = sorted(drawn)
        ax.set_xticks(ticks, [f"{n}\n({6 * n + 2})" if resnet else str(n) for n in ticks])
        ax.set_xlabel("n, blocks per stage (layers 6n + 2)" if resnet else "depth")
        ax.set_ylabel("test accuracy (%)")
    # one legend, on the first panel that draws anything (regimes keep their colour everywhere)
    for ax in axes[0]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
            break
    return fig


def plot_convergence(
    curves: Mapping[str, Mapping[int, Sequence[float]]], title: str = "", empty: str = NO_RUNS
) -> Figure:
    """Test accuracy after every epoch per regime (left), and chans − full per epoch (right).

    curves[regime][epoch] = per-seed accuracies in seed order; the gap is paired seed by seed.
    """
    fig, (ax, gap) = plt.subplots(1, 2, figsize=(9.0, 3.6), constrained_layout=True)
    groups = [v for by in curves.values() for v in by.values()]
    fig.suptitle("\n".join(t for t in (title, n_text(groups)) if t), fontsize=10)
    for regime, style in REGIME_STYLE.items():
        by_epoch = curves.get(regime, {})
        if by_epoch:
            epochs = sorted(by_epoch)
            _errorline(ax, epochs, [by_epoch[e] for e in epochs], style)
    full, chans = curves.get("full", {}), curves.get("chans", {})
    shared = sorted(e for e in set(full) & set(chans) if len(full[e]) == len(chans[e]))
    diffs = [[c - f for f, c in zip(full[e], chans[e], strict=True)] for e in shared]
    _errorline(gap, shared, diffs, {**REGIME_STYLE["chans"], "label": "chans − full"})
    if not groups:
        _note(ax, empty)
    if shared:
        gap.axhline(0, color="0.3", lw=0.8)
    else:
        _note(gap, empty if not groups else "needs full and chans")
    ax.set(xlabel="epoch", ylabel="test accuracy (%)")
    gap.set(xlabel="epoch", ylabel="chans − full (points)")
    for panel in (ax, gap):
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(ax, fontsize=8)
    return fig


# Fig. 3's bars in the paper's words ("random" is the paper's "Different")
BANK_LABELS = {"full": "Full", "random": "Different", "same": "Same", "box": "Box",
               "identity": "Identity"}  # fmt: skip


def plot_banks(
    acc: Mapping[str, Sequence[float]], title: str, labels: Mapping[str, str] = BANK_LABELS
) -> Figure:
    """Fig. 3: five bars as in the paper, Full first, then chans with each fixed bank."""
    order = ["full"] + [b for b in labels if b != "full"]
    bars = [b for b in order if len(acc.get(b, ()))]
    fig, ax = plt.subplots(figsize=(5.2, 3.6), constrained_layout=True)
    ax.set_title("\n".join(t for t in (title, n_text([acc[b] for b in bars])) if t))
    if not bars:
        _note(ax)
        return fig
    frame = pd.DataFrame([(labels[b], 100 * v) for b in bars for v in acc[b]],
                         columns=["bank", "acc"])  # fmt: skip
    colors = [REGIME_STYLE["full" if b == "full" else "chans"]["color"] for b in bars]
    sns.barplot(frame, x="bank", y="acc", hue="bank", palette=colors, errorbar="sd",
                capsize=0.2, saturation=1, ax=ax, legend=False)  # fmt: skip
    low = min(min(acc[b]) for b in bars) * 100
    ax.set_ylim(max(0, low - 10), None)  # the differences, not the distance from zero
    ax.set_xlabel("Full, then chans with a fixed bank of spatial filters")
    ax.set_ylabel("test accuracy (%)")
    return fig


def _paired_gap(full: Sequence[float], chans: Sequence[float]) -> Interval:
    """full − chans seed by seed, with its 90 % interval; the difference of the means (no
    interval) where the two hold different numbers of seeds (a grid still training)."""
    if len(full) == len(chans):
        return paired(full, chans)
    return Interval(float(np.mean(full) - np.mean(chans)), -np.inf, np.inf, 1)


def plot_widths(acc: Mapping[tuple[str, int], Sequence[float]], title: str) -> Figure:
    """Fig. 4: full and chans accuracy vs width w (left), and their gap (right)."""
    fig, (ax, gap_ax) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    acc = {k: v for k, v in acc.items() if k[0] in ("full", "chans") and len(v)}
    widths = sorted({w for _, w in acc})
    for regime in ("full", "chans"):
        ws = [w for w in widths if (regime, w) in acc]
        _errorline(ax, ws, [acc[regime, w] for w in ws], REGIME_STYLE[regime])
    both = [w for w in widths if ("full", w) in acc and ("chans", w) in acc]
    if both:
        gaps = [_paired_gap(acc["full", w], acc["chans", w]) for w in both]
        means = np.array([g.mean for g in gaps]) * 100
        spread = np.array([[g.mean - g.lo, g.hi - g.mean] if g.n > 1 else [0, 0] for g in gaps])
        gap_ax.errorbar(both, means, yerr=spread.T * 100, marker="o", color="k", capsize=3)
        gap_ax.axhline(0, color="gray", lw=0.8)
        if any(g.n > 1 for g in gaps):
            gap_ax.set_title("mean and 90 % interval over paired seeds", fontsize=9)
    for a, ws, ylabel, empty in ((ax, widths, "test accuracy (%)", NO_RUNS),
                                 (gap_ax, both, "full − chans (points)",
                                  f"{NO_RUNS} of both full and chans")):  # fmt: skip
        if not ws:
            _note(a, empty)
            continue
        _log_scale(a, ws, base=2)
        a.set_xticks(ws, [str(w) for w in ws])
        a.set_xlabel("width w (first stage)")
        a.set_ylabel(ylabel)
        a.grid(alpha=0.3)
    _legend(ax, fontsize=8)
    fig.suptitle("\n".join(t for t in (title, n_text(list(acc.values()))) if t), fontsize=10)
    return fig


def plot_robustness(
    acc: Mapping[tuple[str, str, int], Sequence[float]],
    panels: Sequence[str],
    title: str,
    clean: Mapping[str, str] | None = None,
) -> Figure:
    """Fig. 6: one panel per condition (FGSM, PGD-2, FGSM-trained), bars per regime and depth.

    acc[(condition, regime, n)]: accuracies over seeds. clean[panel]: the condition holding the
    same models' clean accuracy, drawn as a black tick over each bar (robust relative to clean).
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6), sharey=True,
                             squeeze=False, constrained_layout=True)  # fmt: skip
    groups = [v for (c, _, _), v in acc.items() if c in panels]
    fig.suptitle("\n".join(t for t in (title, n_text(groups)) if t), fontsize=10)
    for ax, panel in zip(axes[0], panels, strict=True):
        ax.set_title(panel)
        rows = [(r, n, 100 * v) for (c, r, n), vs in acc.items() if c == panel for v in vs]
        if not rows:
            _note(ax)
            continue
        frame = pd.DataFrame(rows, columns=["regime", "n", "acc"])
        hue = [r for r in REGIME_STYLE if r in set(frame.regime)]
        frame["regime"] = frame.regime.map(lambda r: REGIME_STYLE[r]["label"])
        sns.barplot(frame, x="n", y="acc", hue="regime", errorbar="sd", capsize=0.15, saturation=1,
                    hue_order=[REGIME_STYLE[r]["label"] for r in hue],
                    palette=[REGIME_STYLE[r]["color"] for r in hue], ax=ax)  # fmt: skip
        if clean and clean.get(panel):
            _clean_ticks(ax, acc, clean[panel], hue, sorted(set(frame.n)))
        ax.set_xlabel("n, blocks per stage")
        ax.set_ylabel("accuracy under attack (%)")
        ax.legend().remove()
    # one legend for the figure, below the panels, so no bar is hidden
    handles = {label: h for ax in axes[0] for h, label in zip(*ax.get_legend_handles_labels(),
               strict=True)}  # fmt: skip
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=4,
                   fontsize=8)  # fmt: skip
    return fig


def _clean_ticks(
    ax: plt.Axes,
    acc: Mapping[tuple[str, str, int], Sequence[float]],
    condition: str,
    hue: Sequence[str],
    depths: Sequence[int],
) -> None:
    """Mark each bar's clean accuracy (mean over seeds) with a short black line."""
    width = 0.8 / len(hue)
    for i, n in enumerate(depths):
        for j, r in enumerate(hue):
            values = acc.get((condition, r, n), ())
            if len(values):
                x = i - 0.4 + width * (j + 0.5)
                ax.plot([x - width / 2.5, x + width / 2.5], [100 * np.mean(values)] * 2, color="k",
                        lw=1.5, label="clean accuracy" if (i, j) == (0, 0) else None)  # fmt: skip
