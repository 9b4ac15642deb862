"""Figs. 10-11: un-shuffling PSNR against depth, width and k, and test-set reconstructions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .base import REGIME_STYLE, _empty_figure, _errorline, _note, n_text

if TYPE_CHECKING:
    from ..records import Record


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
    for ax in axes:  # one legend under the panels, from the first panel that draws anything
        if ax.get_legend_handles_labels()[0]:
            for name, value in above.items():  # off the chart: named with its value
                ax.plot([], [], lw=1, label=f"{name}: {value:.1f} dB (above the axis)",
                        **BASELINE_STYLE.get(name, {}))  # fmt: skip
            fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3,
                       fontsize=8)  # fmt: skip
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
