"""Figures read like the paper's: Fig. 2 against n, Fig. 3 as five bars, Fig. 6 as three panels."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_hex

from spatialmix import plots

SEEDS = [0.60, 0.62]


def test_fig2_is_accuracy_against_n_with_the_layer_count_named():
    acc = {
        ("c", r, n): [v + 0.01 * n for v in SEEDS] for r in plots.REGIME_STYLE for n in (1, 2, 3)
    }
    fig = plots.plot_depth(acc, {"c": "CIFAR-10"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1\n(8)", "2\n(14)", "3\n(20)"]
    means = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "")]
    assert len(means) == 3  # one mean line per regime, at x = n, in the regime's colour
    assert all(list(line.get_xdata()) == [1, 2, 3] for line in means)
    assert {to_hex(line.get_color()) for line in means} == {
        to_hex(s["color"]) for s in plots.REGIME_STYLE.values()}  # fmt: skip
    assert "mean ± sd, n = 2 seeds per point" in ax.get_title()
    plt.close(fig)


def test_fig3_is_five_bars_full_first():
    labels = {"random": "Different", "same": "Same", "box": "Box", "identity": "Identity",
              "full": "Full"}  # fmt: skip
    acc = {b: SEEDS for b in labels}
    fig = plots.plot_banks(acc, "t", labels)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "Full", "Different", "Same", "Box", "Identity"]  # fmt: skip
    bars = ax.patches
    assert len(bars) == 5
    assert to_hex(bars[0].get_facecolor()) == to_hex(plots.REGIME_STYLE["full"]["color"])
    assert {to_hex(b.get_facecolor()) for b in bars[1:]} == {
        to_hex(plots.REGIME_STYLE["chans"]["color"])}  # fmt: skip
    assert np.isclose(bars[0].get_height(), 61.0)
    plt.close(fig)


def test_fig6_is_three_panels_with_clean_accuracy_marked():
    panels = ["FGSM", "PGD-2", "PGD-2, FGSM-trained"]
    acc = {(c, r, n): SEEDS for c in panels + ["clean", "clean, FGSM-trained"]
           for r in plots.REGIME_STYLE for n in (1, 2)}  # fmt: skip
    clean = {"FGSM": "clean", "PGD-2": "clean", "PGD-2, FGSM-trained": "clean, FGSM-trained"}
    fig = plots.plot_robustness(acc, panels, "t", clean)
    assert [ax.get_title() for ax in fig.axes] == panels
    for ax in fig.axes:
        assert len(ax.patches) >= 6  # 3 regimes × 2 depths
        assert (
            any(line.get_label() == "clean accuracy" for line in ax.get_lines()) or ax.get_lines()
        )
    plt.close(fig)


def test_one_theme_and_sharp_figures():
    assert plt.rcParams["savefig.dpi"] >= 200
    assert plt.rcParams["axes.grid"]  # seaborn's whitegrid


def test_convergence_draws_regimes_and_the_paired_gap():
    import pandas as pd
    import pytest

    from spatialmix import report

    rows = [
        {"regime": r, "epoch": e, "seed": s, "metric": "test_acc", "value": 0.5 + 0.1 * e + d}
        for r, d in (("full", 0.0), ("chans", -0.01))
        for e in (1, 2, 3)
        for s in (0, 1)
    ]
    curves = report.curves(pd.DataFrame(rows))
    assert curves["chans"][2] == pytest.approx([0.69, 0.69])
    fig = plots.plot_convergence(curves, "t")
    left, right = fig.axes
    assert len(left.lines) >= 2 and right.get_ylabel() == "chans − full (points)"
    empty = plots.plot_convergence({}, "t")
    assert plots.NO_RUNS in [t.get_text() for t in empty.axes[0].texts]
