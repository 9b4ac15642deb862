"""Figures only: data in, matplotlib Figure out. Nothing here computes a result.

Every figure copes with partial data (a store that holds only some regimes): what is missing is
left out, the legend names only what is drawn, and an empty panel says so instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

if TYPE_CHECKING:
    from .records import Record

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
        gaps = [(np.mean(acc["full", w]) - np.mean(acc["chans", w])) * 100 for w in both]
        gap_ax.plot(both, gaps, marker="o", color="k")
        gap_ax.axhline(0, color="gray", lw=0.8)
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


# Fig. 10's horizontal lines: the outputs that need no convolution (unshuffle.baseline_psnr)
BASELINE_STYLE = {"shuffled input": {"color": "0.55", "ls": ":"},
                  "mean image": {"color": "0.3", "ls": "--"},
                  "least squares": {"color": "k", "ls": "-."}}  # fmt: skip
# per axis of Fig. 10: its label, and its name where a panel title states the held values
UNSHUFFLE_AXES = (("depth", "depth"), ("width h", "width"), ("kernel size k", "k"))


def plot_unshuffle_sweeps(
    psnr: Mapping[tuple[str, int, int, int], Sequence[float]],
    centre: tuple[int, int, int],
    baselines: Mapping[str, float] | None = None,
    title: str = "",
) -> Figure:
    """Fig. 10: test PSNR against depth, width and k (one panel each, the other two held at the
    central shape), mean ± sd per regime; baselines as horizontal lines.

    psnr[(regime, depth, width, k)] = per-seed PSNR (dB); centre = (depth, width, k). A baseline
    more than 6 dB above every plotted mean would flatten the curves: it is named in the legend
    with its value instead of drawn.
    """
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=True, constrained_layout=True)
    groups = [v for v in psnr.values() if len(v)]
    fig.suptitle("\n".join(t for t in (title, n_text(groups)) if t), fontsize=10)
    means = [float(np.mean(v)) for v in groups]
    top = max(means, default=-np.inf) + 6
    above = {k: v for k, v in (baselines or {}).items() if v > top}
    for i, (ax, (label, _)) in enumerate(zip(axes, UNSHUFFLE_AXES, strict=True)):
        held = centre[:i] + centre[i + 1 :]
        drawn = []
        for regime, style in REGIME_STYLE.items():
            on_axis = {s[i]: v for (r, *s), v in psnr.items() if r == regime and len(v)
                       and tuple(s[:i] + s[i + 1 :]) == held}  # fmt: skip
            xs = sorted(on_axis)
            _errorline(ax, xs, [on_axis[x] for x in xs], style, scale=1)
            drawn += xs
        if not drawn:
            _note(ax)
            continue
        for name, value in (baselines or {}).items():
            if name not in above:
                ax.axhline(value, lw=1, label=name, **BASELINE_STYLE.get(name, {}))
        ax.set_xticks(sorted(set(drawn)))
        ax.set_xlabel(label)
        names = [n for j, (_, n) in enumerate(UNSHUFFLE_AXES) if j != i]
        ax.set_title(", ".join(f"{n} {v}" for n, v in zip(names, held, strict=True)), fontsize=9)
    axes[0].set_ylabel("test PSNR (dB)")
    for ax in axes:  # one legend, on the first panel that draws anything
        if ax.get_legend_handles_labels()[0]:
            for name, value in above.items():  # off the chart: named with its value
                ax.plot([], [], lw=1, label=f"{name}: {value:.1f} dB (above the axis)",
                        **BASELINE_STYLE.get(name, {}))  # fmt: skip
            ax.legend(fontsize=7)
            break
    return fig


def reconstruction_rows(
    records: Iterable[Record | None],
    dataset: str,
    shape: tuple[int, int, int] | None = None,
    seed: int | None = None,
) -> dict[str, list]:
    """Fig. 11's rows for one dataset: the original, the shuffled input, each regime's output.

    shape = (depth, width, k) and seed select the runs shown (default: any; the last one read of
    each regime wins).
    """
    rows: dict[str, list] = {}
    for r in records:
        if r is None or r.spec.data.name != dataset or not r.reconstructions:
            continue
        m = r.spec.model
        if (shape is not None and (m.depth, m.width, m.kernel_size) != tuple(shape)) or (
            seed is not None and r.spec.seed != seed):  # fmt: skip
            continue
        shown = r.reconstructions
        rows.setdefault("original", shown["target"])
        rows.setdefault("shuffled input", shown["input"])
        rows[m.regime] = shown["output"]
    return {k: rows[k] for k in ("original", "shuffled input", *REGIME_STYLE) if k in rows}


def plot_reconstructions(
    images: Mapping[str, np.ndarray],
    n: int = 6,
    psnr: Mapping[str, Sequence[float]] | None = None,
) -> Figure:
    """Fig. 11: rows of images (original, shuffled input, outputs), uint8 (N, C, H, W).

    psnr[label], if given, titles each image of that row with its PSNR in dB.
    """
    images = {label: batch for label, batch in images.items() if len(batch)}
    if not images:
        return _empty_figure()
    n = min(n, min(len(batch) for batch in images.values()))
    fig, axes = plt.subplots(len(images), n, figsize=(1.3 * n, 1.5 * len(images)),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    for i, (label, batch) in enumerate(images.items()):
        batch = np.asarray(batch)
        for j in range(n):
            ax = axes[i, j]
            img = batch[j].transpose(1, 2, 0)
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if psnr is not None and label in psnr and j < len(psnr[label]):
                ax.set_title(f"{psnr[label][j]:.1f} dB", fontsize=7)
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
    return fig


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
