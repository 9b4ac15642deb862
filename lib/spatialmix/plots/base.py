"""The book's look and the helpers every figure shares: theme, regime colours, empty panels,
error bars with their n."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

# one look for the whole book: seaborn's whitegrid, colour-blind-safe colours, sharp on
# high-DPI screens (notebooks show 2× PNGs; saved figures are 200 dpi)
THEME = {"context": "notebook", "style": "whitegrid", "font_scale": 0.85,
         "rc": {"figure.dpi": 100, "savefig.dpi": 200, "axes.titlesize": 10}}  # fmt: skip
_PALETTE = sns.color_palette("colorblind")
REGIME_STYLE = {  # the same colour and marker for a regime in every chapter
    "full": {"color": _PALETTE[0], "marker": "o", "label": "Full (all learned)"},
    "chans": {"color": _PALETTE[3], "marker": "s", "label": "Chans (spatial frozen)"},
    "space": {"color": _PALETTE[2], "marker": "^", "label": "Space (channel frozen)"},
}


def use_theme() -> None:
    """Apply the book's seaborn theme, and 2× PNGs in notebooks (called on import)."""
    sns.set_theme(**THEME)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # outside Jupyter
        return
    set_matplotlib_formats("retina")


use_theme()
NO_RUNS = "no stored runs"  # what an empty panel says


def _note(ax, text: str = NO_RUNS) -> None:  # noqa: ANN001 - private helper
    """Mark a panel that has nothing to draw: a short note in the middle, no ticks."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="gray")
    ax.set_xticks([])
    ax.set_yticks([])


def _legend(ax, **kw) -> None:  # noqa: ANN001 - private helper
    """A legend of what this panel draws; none (and no warning) when it draws nothing labelled."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _log_scale(ax, values: Sequence[float], axis: str = "x", **kw) -> bool:  # noqa: ANN001
    """Log scale on an axis only if it has data and all of it is positive (else stay linear)."""
    values = np.asarray(values, dtype=float)
    log = bool(values.size and np.all(np.isfinite(values)) and np.all(values > 0))
    if log:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log", **kw)
    return log


def _empty_figure(title: str = "", figsize: tuple[float, float] = (4.6, 3.0)) -> Figure:
    fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    _note(ax)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def n_text(groups: Sequence[Sequence[float]]) -> str:
    """State what error bars mean and the n behind them: "mean ± sd, n = 2 seeds per point"."""
    sizes = sorted({len(g) for g in groups if len(g)})
    if not sizes:
        return ""
    n = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
    return f"mean ± sd, n = {n} seed{'s' if sizes[-1] > 1 else ''} per point"


def _errorline(ax, xs, groups, style, scale: float = 100) -> None:  # noqa: ANN001 - private
    """Mean ± sd of each group against xs, times scale (100: fractions drawn in %); groups
    without values are left out."""
    kept = [(x, g) for x, g in zip(xs, groups, strict=True) if len(g)]
    if not kept:
        return
    xs, groups = [x for x, _ in kept], [g for _, g in kept]
    means = [np.mean(g) for g in groups]
    sds = [np.std(g, ddof=1) if len(g) > 1 else 0 for g in groups]
    ax.errorbar(xs, np.array(means) * scale, yerr=np.array(sds) * scale, capsize=3, **style)


def _regime_bars(
    ax,
    labels: Sequence[str],
    values: Mapping[str, Sequence[float]],
    errors=None,  # noqa: ANN001
) -> None:
    """Grouped bars: one group per label, one bar per regime present in `values`."""
    regimes = [r for r in REGIME_STYLE if r in values]
    if not regimes:
        return
    width = 0.8 / len(regimes)
    for i, r in enumerate(regimes):
        xs = np.arange(len(labels)) + (i - (len(regimes) - 1) / 2) * width
        kw = {"yerr": errors[r], "capsize": 3} if errors is not None else {}
        ax.bar(xs, values[r], width, color=REGIME_STYLE[r]["color"], label=REGIME_STYLE[r]["label"],
               **kw)  # fmt: skip
