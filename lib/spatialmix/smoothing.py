"""Fig. 7: Chans ConvMixers whose frozen random filters are Gaussian-smoothed, under attack.

The runs are experiments.smoothing_runs: chans at each σ (σ = 0 is Fig. 5's chans) and full
beside them, all attacked by FGSM and PGD-2 over the same ε sweep on the same test images.
Groups here are keyed by a line of the figure: "σ = 0.5" for a smoothed chans model, "Full".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .claims import SMOOTH_ATTACK, Verdict
from .evaluation import eps_label
from .plots import REGIME_STYLE, _errorline, _note, n_text
from .records import Record
from .report import groups, mean_sd_text, verdict
from .results import RunConfig
from .text import table

ATTACKS = {"fgsm": "FGSM", "pgd2": "PGD-2"}
Curves = dict[str, dict[float, list[float]]]  # line -> ε -> per-seed accuracy


def line_name(regime: str, sigma: float) -> str:
    """The figure's name for a model: "Full", or "σ = 1" for a chans model smoothed at σ."""
    return "Full" if regime == "full" else f"σ = {sigma:g}"


def _order(line: str) -> tuple[bool, float]:
    """Chans lines by σ, then Full."""
    return (True, 0.0) if line == "Full" else (False, float(line.split("= ")[1]))


def attack_curves(df: pd.DataFrame, attack: str) -> Curves:
    """Per line, accuracy under `attack` ("fgsm" | "pgd2") at each ε, seeds in order."""
    out: Curves = {}
    for (regime, sigma, eps), values in groups(df, attack, ("regime", "sigma", "eps")).items():
        out.setdefault(line_name(regime, sigma), {})[eps] = values
    return dict(sorted(out.items(), key=lambda kv: _order(kv[0])))


def clean_accuracy(df: pd.DataFrame) -> dict[str, list[float]]:
    """Per line, clean accuracy on the whole test subset (test_acc), seeds in order."""
    by = groups(df, "test_acc", ("regime", "sigma"))
    out = {line_name(r, s): v for (r, s), v in by.items()}
    return dict(sorted(out.items(), key=lambda kv: _order(kv[0])))


def chans_by_sigma(curves: Mapping[str, Mapping[float, list[float]]], eps: float
                   ) -> dict[float, list[float]]:  # fmt: skip
    """{σ: per-seed accuracy} of the chans lines at one ε (what the claims take)."""
    return {float(name.split("= ")[1]): by_eps[eps] for name, by_eps in curves.items()
            if name != "Full" and eps in by_eps}  # fmt: skip


def smoothing_verdicts(
    df: pd.DataFrame, cfgs: Sequence[RunConfig], records: Sequence[Record | None]
) -> dict[str, Verdict]:
    """Fig. 7's two claims, once every run is stored (claims.SMOOTH_ATTACK says which attack)."""
    attack, eps = SMOOTH_ATTACK
    curves = attack_curves(df, attack) if len(df) else {}
    clean = {float(k.split("= ")[1]): v for k, v in clean_accuracy(df).items() if k != "Full"} \
        if len(df) else {}  # fmt: skip
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
    rows = [[line, mean_sd_text(clean.get(line, []), True),
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
        chans = [line for line in curves if line != "Full"]
        for i, (line, by_eps) in enumerate(curves.items()):
            xs = [0.0, *(e * 255 for e in sorted(by_eps))]
            ys = [clean.get(line, []), *(by_eps[e] for e in sorted(by_eps))]
            every += ys[1:]
            style = (
                {"color": REGIME_STYLE["full"]["color"], "linestyle": "--", "marker": "o"}
                if line == "Full"
                else {"color": shades(0.35 + 0.6 * i / max(len(chans) - 1, 1)), "marker": "s"}
            )
            _errorline(ax, xs, ys, {**style, "label": line})
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
