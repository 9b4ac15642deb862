"""The performance appendix: training throughput, ours against the reference, and the roofline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .base import _empty_figure, _log_scale


def plot_throughput(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Horizontal bars, log scale: training img/s of the reference and ours per model and regime.

    Whiskers span each path's interquartile range of step times; a black tick marks a row's
    ceiling (ours with all FLOPs at the machine's practical peak) where the record has one. Rows
    timed with and without freed memory kept say which in their label ("memory: keep").
    """
    if not rows:
        return _empty_figure(figsize=(7, 2.0))
    labels = [f"{r['model']}\n{r['regime']}" + (f", memory: {r['allocator']}" if "allocator" in r
              else "") for r in rows]  # fmt: skip
    ys = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(rows) + 1.4), constrained_layout=True)
    for path, dy, color in (("reference", 0.2, "#999999"), ("ours", -0.2, "#1f77b4")):
        mid = np.array([r[path] for r in rows])
        iqr = np.array([r.get(f"{path}_iqr", (r[path], r[path])) for r in rows]).T
        ax.barh(ys + dy, mid, 0.4, color=color, label=path,
                xerr=np.abs(iqr - mid), error_kw={"elinewidth": 0.8, "capsize": 2})  # fmt: skip
    ceilings = [(y, r["ceiling"]) for y, r in zip(ys, rows, strict=True) if "ceiling" in r]
    if ceilings:
        cy, cx = zip(*ceilings, strict=True)
        ax.scatter(cx, np.array(cy) - 0.2, marker="|", s=180, color="black", zorder=3,
                   label="ceiling of ours: all FLOPs at the practical peak")  # fmt: skip
    for y, r in zip(ys, rows, strict=True):
        right = max(r["ours"], r.get("ceiling", 0), r.get("ours_iqr", (0, 0))[1])
        ax.text(right * 1.08, y - 0.2, f"{r['ratio']:.1f}×", va="center", fontsize=8)
    log = _log_scale(ax, [r[p] for r in rows for p in ("reference", "ours")])
    ax.set_yticks(ys, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"training images per second ({'log scale, ' if log else ''}higher is faster)")
    fig.legend(fontsize=8, loc="outside lower center", ncols=3)
    return fig


def plot_roofline(
    points: Sequence[Mapping[str, Any]], peak: float, shares: Sequence[float] = ()
) -> Figure:
    """Every model's training step against the machine: achieved GFLOP/s, log scale.

    points: perf.roofline_points (per model, regime and path: "gflops", its interquartile range
    "iqr" and "share" of the peak). A solid line marks the practical peak, dashed ones the
    `shares` of it that targets ask for; ours is labelled with its share.
    """
    if not points:
        return _empty_figure("no training step with counted FLOPs", figsize=(7, 2.0))
    rows = list(dict.fromkeys((p["model"], p["regime"]) for p in points))
    y_of = {row: i for i, row in enumerate(rows)}
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.6), constrained_layout=True)
    for path, dy, color, marker in (("reference", 0.15, "#999999", "o"),
                                    ("ours", -0.15, "#1f77b4", "D")):  # fmt: skip
        mine = [p for p in points if p["path"] == path]
        if not mine:
            continue
        ys = np.array([y_of[p["model"], p["regime"]] for p in mine]) + dy
        mid = np.array([p["gflops"] for p in mine])
        iqr = np.array([p["iqr"] for p in mine]).T
        ax.errorbar(mid, ys, xerr=np.abs(iqr - mid), fmt=marker, color=color, label=path,
                    elinewidth=0.8, capsize=2, markersize=5)  # fmt: skip
        if path == "ours":
            for x, y, p in zip(iqr[1], ys, mine, strict=True):
                ax.text(x * 1.06, y, f"{p['share']:.0%}", va="center", fontsize=7)
    ax.axvline(peak, color="black", lw=1.2, label=f"practical peak, {peak:.0f} GFLOP/s")
    for share in shares:
        ax.axvline(share * peak, color="black", lw=0.8, ls="--", alpha=0.6)
        ax.text(share * peak, -0.75, f"{share:.0%} ", ha="right", va="center", fontsize=7,
                rotation=90)  # fmt: skip
    if _log_scale(ax, [p["gflops"] for p in points] + [peak]):  # plain numbers, not 10^x
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        lo, hi = ax.get_xlim()
        if hi < 10 * lo:  # less than a decade: no major tick may show, so label the minor ones
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks(range(len(rows)), [f"{m}\n{g}" for m, g in rows], fontsize=7)
    ax.set_ylim(len(rows) - 0.5, -1.0)
    ax.set_xlabel("achieved GFLOP/s of the training step (FLOPs per image × img/s)")
    fig.legend(fontsize=8, loc="outside lower center", ncols=3)
    return fig
