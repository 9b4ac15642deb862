"""Fig. 7: Chans ConvMixers whose frozen random filters are Gaussian-smoothed, under attack.

The runs are experiments.smoothing_runs: chans at each σ (σ = 0 is Fig. 5's chans) and full
beside them, all attacked by FGSM and PGD-2 over the same ε sweep on the same test images.
Groups here are keyed by a line of the figure, Line(regime, σ); Line.name says "σ = 0.5" for a
smoothed chans model, "Full" for full.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .claims import SMOOTH_ATTACK, Verdict
from .evaluation import eps_label
from .plots.base import REGIME_STYLE, _errorline, _note, n_text
from .records import Record
from .report import groups, mean_sd_text, verdict
from .results import RunConfig
from .text import table

ATTACKS = {"fgsm": "FGSM", "pgd2": "PGD-2"}


class Line(NamedTuple):
    """One line of Fig. 7: a regime and the σ its frozen filters were smoothed with."""

    regime: str
    sigma: float

    @property
    def name(self) -> str:
        """The figure's name: "Full", or "σ = 1" for a chans model smoothed at σ."""
        return "Full" if self.regime == "full" else f"σ = {self.sigma:g}"


Curves = dict[Line, dict[float, list[float]]]  # line -> ε -> per-seed accuracy


def _order(line: Line) -> tuple[bool, float]:
    """Chans lines by σ, then Full."""
    return line.regime == "full", line.sigma


def attack_curves(df: pd.DataFrame, attack: str) -> Curves:
    """Per line, accuracy under `attack` ("fgsm" | "pgd2") at each ε, seeds in order."""
    out: Curves = {}
    for (regime, sigma, eps), values in groups(df, attack, ("regime", "sigma", "eps")).items():
        out.setdefault(Line(regime, float(sigma)), {})[eps] = values
    return dict(sorted(out.items(), key=lambda kv: _order(kv[0])))


def clean_accuracy(df: pd.DataFrame) -> dict[Line, list[float]]:
    """Per line, clean accuracy on the whole test subset (test_acc), seeds in order."""
    by = groups(df, "test_acc", ("regime", "sigma"))
    out = {Line(r, float(s)): v for (r, s), v in by.items()}
    return dict(sorted(out.items(), key=lambda kv: _order(kv[0])))


def chans_by_sigma(lines: Mapping[Line, object], eps: float | None = None) -> dict[float, object]:
    """{σ: value} of the chans lines: with eps, the per-seed accuracy at that ε of each curve
    (what the claims take); without, the values as given (e.g. clean accuracy)."""
    if eps is None:
        return {line.sigma: v for line, v in lines.items() if line.regime == "chans"}
    return {line.sigma: by_eps[eps] for line, by_eps in lines.items()
            if line.regime == "chans" and eps in by_eps}  # fmt: skip


def smoothing_verdicts(
    df: pd.DataFrame, cfgs: Sequence[RunConfig], records: Sequence[Record | None]
) -> dict[str, Verdict]:
    """Fig. 7's two claims, once every run is stored (claims.SMOOTH_ATTACK says which attack)."""
    attack, eps = SMOOTH_ATTACK
    curves = attack_curves(df, attack) if len(df) else {}
    clean = chans_by_sigma(clean_accuracy(df)) if len(df) else {}
    strongest = max((e for c in curves.values() for e in c), default=eps)
    return {
        "robust": verdict("fig7_smoothing_robust", chans_by_sigma(curves, eps), cfgs, records,
                          clean=clean),
        "gain": verdict("fig7_relative_gain", chans_by_sigma(curves, strongest), cfgs, records),
    }  # fmt: skip


def smoothing_table(df: pd.DataFrame) -> str:
    """Clean accuracy and accuracy under each attack and ε, per line: mean ± sd % (n)."""
    clean = clean_accuracy(df)
    curves = {a: attack_curves(df, a) for a in ATTACKS}
    eps_all = sorted({e for c in curves.values() for line in c.values() for e in line})
    header = ["model", "clean", *(f"{ATTACKS[a]} {eps_label(e)}" for a in ATTACKS for e in eps_all)]
    rows = [[line.name, mean_sd_text(clean.get(line, []), True),
             *(mean_sd_text(curves[a].get(line, {}).get(e, []), True) for a in ATTACKS
               for e in eps_all)] for line in clean]  # fmt: skip
    return table(header, rows)


def plot_smoothing(df: pd.DataFrame, title: str) -> Figure:
    """Fig. 7: accuracy against ε under FGSM and PGD-2, a line per σ (darker: smoother) and
    Full dashed; ε = 0 is clean accuracy on the same models."""
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.6), sharey=True, constrained_layout=True)
    clean = clean_accuracy(df) if len(df) else {}
    every = list(clean.values())
    for ax, (attack, name) in zip(axes, ATTACKS.items(), strict=True):
        ax.set_title(name)
        curves = attack_curves(df, attack) if len(df) else {}
        if not curves:
            _note(ax)
            continue
        shades = plt.get_cmap("Reds")
        chans = [line for line in curves if line.regime != "full"]
        for i, (line, by_eps) in enumerate(curves.items()):
            xs = [0.0, *(e * 255 for e in sorted(by_eps))]
            ys = [clean.get(line, []), *(by_eps[e] for e in sorted(by_eps))]
            every += ys[1:]
            style = (
                {"color": REGIME_STYLE["full"]["color"], "linestyle": "--", "marker": "o"}
                if line.regime == "full"
                else {"color": shades(0.35 + 0.6 * i / max(len(chans) - 1, 1)), "marker": "s"}
            )
            _errorline(ax, xs, ys, {**style, "label": line.name})
        ax.set_xscale("symlog", linthresh=1)
        radii = sorted({e * 255 for by_eps in curves.values() for e in by_eps})
        ax.set_xticks([0, *radii], ["clean", *(f"{r:g}" for r in radii)])
        ax.set_xlabel("ε (/255)")
        ax.set_ylabel("accuracy (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles, labels, loc="outside right center", fontsize=8, title="Chans at σ, or Full"
        )
    fig.suptitle("\n".join(t for t in (title, n_text(every)) if t), fontsize=10)
    return fig
