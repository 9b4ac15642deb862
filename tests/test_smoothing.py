"""Fig. 7 (smoothing.py): curves, table, verdicts and figure from a synthetic frame."""

import pandas as pd
import pytest

from spatialmix import smoothing
from spatialmix.claims import SMOOTH_ATTACK

EPS = (1 / 255, 2 / 255, 4 / 255, 8 / 255)


def _frame(gain: float) -> pd.DataFrame:
    """Two seeds; chans at σ 0, 1, 2 and full; robust accuracy rises by `gain` per σ."""
    rows = []
    for seed in (0, 1):
        for regime, sigma in (("full", 0.0), ("chans", 0.0), ("chans", 1.0), ("chans", 2.0)):
            base = {"regime": regime, "sigma": sigma, "seed": seed}
            rows.append({**base, "metric": "test_acc", "value": 0.8 + 0.001 * seed, "eps": None})
            for i, eps in enumerate(EPS):
                acc = 0.4 / (i + 1) + gain * sigma + 0.002 * seed
                rows += [{**base, "metric": m, "value": acc, "eps": eps} for m in ("fgsm", "pgd2")]
    return pd.DataFrame(rows)


def test_curves_name_lines_by_sigma_with_full_last():
    curves = smoothing.attack_curves(_frame(0.05), "pgd2")
    assert [line.name for line in curves] == ["σ = 0", "σ = 1", "σ = 2", "Full"]
    assert curves[smoothing.Line("chans", 2.0)][EPS[0]] == pytest.approx([0.5, 0.502])
    by_sigma = smoothing.chans_by_sigma(curves, EPS[-1])
    assert sorted(by_sigma) == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(("gain", "status"), [(0.05, "reproduced"), (-0.05, "not reproduced")])
def test_verdicts_follow_the_measurements(gain, status):
    verdicts = smoothing.smoothing_verdicts(_frame(gain), [], [])
    assert verdicts["robust"].status == status
    assert verdicts["robust"].claim == "fig7_smoothing_robust" and SMOOTH_ATTACK[0] == "pgd2"
    assert verdicts["gain"].status == status  # at 8/255: 0.1 + 0.1 vs 0.1, a 100 % gain


def test_table_and_figure_cope_with_an_empty_store():
    assert "σ = 1" in smoothing.smoothing_table(_frame(0.05))
    empty = pd.DataFrame(columns=["metric", "value", "regime", "sigma", "eps", "seed"])
    fig = smoothing.plot_smoothing(empty, "nothing stored")
    assert len(fig.axes) == 2
    fig = smoothing.plot_smoothing(_frame(0.05), "synthetic")
    assert "n = 2 seeds" in fig._suptitle.get_text()
