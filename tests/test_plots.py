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


def test_fig8_is_one_panel_per_sigma_with_half_nyquist_marked():
    from matplotlib.patches import Circle

    envelopes = {s: np.random.default_rng(0).random((16, 16)) for s in (0.0, 0.5, 1.0, 2.0)}
    hf = {0.0: 0.81, 0.5: 0.66, 1.0: 0.18, 2.0: 0.06}
    fig = plots.plot_smoothed_envelopes(envelopes, hf, title="t")
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("σ = 0 (as drawn)") and titles[3].startswith("σ = 2")
    assert "6.0% of energy outside" in titles[3]
    for ax in fig.axes:
        circles = [p for p in ax.patches if isinstance(p, Circle)]
        assert [c.get_radius() for c in circles] == [0.25]
    assert plots.NO_RUNS in [t.get_text() for t in plots.plot_smoothed_envelopes({}).axes[0].texts]
    plt.close("all")


def test_fig10_is_psnr_against_depth_width_and_k_with_baselines():
    centre = (8, 32, 9)
    shapes = [centre, (12, 32, 9), (8, 64, 9), (8, 32, 11)]
    psnr = {(r, *s): [20.0 + i, 20.4 + i] for r in plots.REGIME_STYLE for i, s in enumerate(shapes)}
    base = {"shuffled input": 7.2, "mean image": 11.7, "least squares": 77.6}
    fig = plots.plot_unshuffle_sweeps(psnr, centre, base, "MNIST")
    axes = fig.axes
    assert [ax.get_xlabel() for ax in axes] == ["depth", "width h", "kernel size k"]
    assert [[t.get_text() for t in ax.get_xticklabels()] for ax in axes] == [
        ["8", "12"], ["32", "64"], ["9", "11"]]  # fmt: skip
    assert axes[1].get_title() == "depth 8, k 9"
    regimes = {s["label"] for s in plots.REGIME_STYLE.values()}
    for ax in axes:  # one mean line per regime, each with two points
        means = [c for c in ax.containers if c.get_label() in regimes]
        assert len(means) == 3 and all(len(c.lines[0].get_xdata()) == 2 for c in means)
        flat = {line.get_label() for line in ax.get_lines() if len(set(line.get_ydata())) == 1}
        assert {"shuffled input", "mean image"} <= flat and "least squares" not in flat
    labels = [t.get_text() for t in fig.legends[0].get_texts()]  # one legend, under the panels
    assert "least squares: 77.6 dB (above the axis)" in labels  # named, not drawn
    assert all(ax.get_legend() is None for ax in axes)
    assert axes[0].get_ylim()[1] < 40
    assert fig.get_suptitle() == "MNIST\nmean ± sd, n = 2 seeds per point"
    plt.close(fig)


def test_fig11_rows_original_first_each_image_with_its_psnr():
    img = np.zeros((3, 1, 4, 4), dtype=np.uint8)
    rows = {"original": img, "shuffled input": img, "full": img, "chans": img}
    fig = plots.plot_reconstructions(rows, n=3, psnr={"full": [30.0, 31.0, 32.5]})
    axes = np.array(fig.axes).reshape(4, 3)
    assert [ax.get_ylabel() for ax in axes[:, 0]] == list(rows)
    assert [ax.get_title() for ax in axes[2]] == ["30.0 dB", "31.0 dB", "32.5 dB"]
    assert axes[0, 0].get_title() == ""
    plt.close(fig)
    assert plots.reconstruction_rows([None], "mnist") == {}


def test_roofline_places_every_step_against_the_peak_with_its_share():
    points = [{"model": m, "regime": g, "path": path, "gflops": v, "iqr": [0.9 * v, 1.1 * v],
               "share": v / 200} for m in ("ConvMixer", "un-shuffler") for g in ("full", "chans")
              for path, v in (("reference", 20.0), ("ours", 110.0))]  # fmt: skip
    fig = plots.plot_roofline(points, 200.0, shares=(0.5, 0.6))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"{m}\n{g}" for m in ("ConvMixer", "un-shuffler") for g in ("full", "chans")]
    vertical = sorted(line.get_xdata()[0] for line in ax.get_lines() if
                      len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2)  # fmt: skip
    assert vertical == [100.0, 120.0, 200.0]  # the two target shares and the peak
    assert [t.get_text() for t in ax.texts].count("55%") == 4  # ours, labelled with its share
    assert ax.get_xscale() == "log"
    plt.close(fig)
    plt.close(plots.plot_roofline([], 200.0))  # an empty record draws an empty panel


def test_fig4_gap_carries_its_paired_interval_once_seeds_pair():
    from spatialmix.claims import paired

    full, chans = [0.70, 0.72, 0.71], [0.68, 0.71, 0.69]
    acc = {("full", 8): full, ("chans", 8): chans, ("full", 16): full, ("chans", 16): chans[:2]}
    fig = plots.plot_widths(acc, "t")
    gap_ax = fig.axes[1]
    bars = [c for c in gap_ax.collections if len(c.get_segments())]  # the error bars
    (w8, w16) = bars[0].get_segments()
    gap = paired(full, chans)
    assert np.allclose([w8[0][1], w8[1][1]], [gap.lo * 100, gap.hi * 100])
    assert w16[0][1] == w16[1][1]  # 3 seeds against 2: the means' difference, no interval
    assert gap_ax.get_title() == "mean and 90 % interval over paired seeds"
    plt.close(fig)
