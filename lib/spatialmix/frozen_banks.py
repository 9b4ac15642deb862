"""§3.1's hypothesis put to a number: does accuracy rise with the coverage of the frozen bank?

Every chans model the book trains freezes one bank of spatial filters; its record's Spectra
evaluation measures the coverage of that bank's spectral envelope (the frozen filters are the
bank). Fig. 3's banks (Different = random, Same, Box, Identity) give one point each for the
separable ResNet, Fig. 7's σ one point each for the ConvMixer. A family is tested on its own
(claims.coverage_predicts_accuracy): its models differ in nothing but the bank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .claims import Verdict
from .evaluation import eps_label
from .plots.base import _note, n_text
from .records import Record
from .report import verdict
from .results import RunConfig
from .text import table

BANK_NAMES = {"random": "Different", "same": "Same", "box": "Box", "identity": "Identity"}
COLUMNS = ["family", "bank", "seed", "coverage", "clean", "robust"]


def bank_name(arch: str, bank: str, sigma: float) -> str:
    """A frozen bank's name: Fig. 3's for the sep-ResNet, "σ = 1" for a smoothed ConvMixer."""
    return BANK_NAMES.get(bank, bank) if arch == "sep_resnet" else f"σ = {sigma:g}"


def bank_points(df: pd.DataFrame, family: str, eps: float) -> pd.DataFrame:
    """One row per chans run of results.frame(...) df: the bank, its coverage (mean over the
    spatial layers), clean test accuracy and FGSM accuracy at ε (columns COLUMNS)."""
    chans = df[df["regime"] == "chans"]
    rows = []
    for _, run in chans.groupby("key", sort=False):
        first = run.iloc[0]
        cover = run[run["metric"] == "coverage"]["value"]
        clean = run[run["metric"] == "test_acc"]["value"]
        robust = run[(run["metric"] == "fgsm") & (run["eps_label"] == eps_label(eps))]["value"]
        if cover.empty or clean.empty:
            continue
        rows.append([family, bank_name(first["arch"], first["bank"], first["sigma"]),
                     int(first["seed"]), float(cover.mean()), float(clean.iloc[0]),
                     float(robust.iloc[0]) if len(robust) else float("nan")])  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["bank", "seed"], kind="stable")


def _per_bank(points: pd.DataFrame, column: str) -> dict[str, list[float]]:
    return {b: list(g.sort_values("seed")[column]) for b, g in points.groupby("bank")}


def coverage_verdicts(
    points: pd.DataFrame,
    runs: Mapping[str, tuple[Sequence[RunConfig], Sequence[Record | None]]],
) -> dict[str, Verdict]:
    """coverage_predicts_accuracy per family (clean accuracy), once all its runs are stored."""
    out = {}
    for family, (cfgs, records) in runs.items():
        mine = points[points["family"] == family]
        cover, acc = _per_bank(mine, "coverage"), _per_bank(mine, "clean")
        out[family] = verdict("coverage_predicts_accuracy", cover, cfgs, records, ("chans",),
                              acc=acc)  # fmt: skip
    return out


def coverage_table(points: pd.DataFrame) -> str:
    """Per family and bank: coverage, clean and robust accuracy, mean over seeds (n)."""
    rows = []
    for (family, bank), g in points.groupby(["family", "bank"], sort=False):
        rows.append([family, bank, f"{g.coverage.mean():.3f}", f"{100 * g.clean.mean():.1f}",
                     f"{100 * g.robust.mean():.1f}", len(g)])  # fmt: skip
    return table(["family", "bank", "coverage", "clean %", "FGSM %", "n"], rows)


def plot_coverage_accuracy(points: pd.DataFrame, eps: float, title: str) -> Figure:
    """Clean and FGSM accuracy against the frozen bank's coverage: a marker per family, each
    bank its mean ± sd over seeds, labelled."""
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.6), constrained_layout=True)
    panels = (("clean", "clean accuracy (%)"), ("robust", f"FGSM {eps_label(eps)} accuracy (%)"))
    families = points["family"].unique()
    style = {f: {"marker": m, "color": f"C{c}"}
             for f, m, c in zip(families, "so^D", (0, 3, 2, 4), strict=False)}  # fmt: skip
    for ax, (column, label) in zip(axes, panels, strict=True):
        ax.set_xlabel("coverage of the frozen bank's envelope")
        ax.set_ylabel(label)
        if points.empty:
            _note(ax)
            continue
        for (family, bank), g in points.groupby(["family", "bank"], sort=False):
            y = 100 * g[column]
            ax.errorbar(g.coverage.mean(), y.mean(), xerr=g.coverage.std(ddof=1) if len(g) > 1
                        else 0, yerr=y.std(ddof=1) if len(g) > 1 else 0, **style[family],
                        capsize=3, label=family)  # fmt: skip
            ax.annotate(bank, (g.coverage.mean(), y.mean()), textcoords="offset points",
                        xytext=(4, 4), fontsize=7)  # fmt: skip
    handles = dict(zip(*reversed(axes[0].get_legend_handles_labels()), strict=True))
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=2)
    sizes = [g.clean.tolist() for _, g in points.groupby(["family", "bank"])]
    fig.suptitle("\n".join(t for t in (title, n_text(sizes)) if t), fontsize=10)
    return fig
