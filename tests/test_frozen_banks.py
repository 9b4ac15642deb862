"""§3.1's coverage test (frozen_banks.py): points, verdict, table and figure from a frame."""

import pandas as pd

from spatialmix import frozen_banks as fb

COVER = {"random": 1.0, "same": 0.9, "box": 0.2, "identity": 0.5}


def _frame(acc_of) -> pd.DataFrame:  # noqa: ANN001 - a function of the coverage
    rows = []
    for seed in (0, 1, 2):
        for bank, cover in COVER.items():
            base = {"key": f"{bank}{seed}", "regime": "chans", "arch": "sep_resnet", "bank": bank,
                    "sigma": 0.0, "seed": seed, "eps_label": None}  # fmt: skip
            rows += [{**base, "metric": "coverage", "value": cover, "layer": layer}
                     for layer in ("a", "b")]  # fmt: skip
            rows.append({**base, "metric": "test_acc", "value": acc_of(cover) + 0.001 * seed})
            rows.append({**base, "metric": "fgsm", "value": 0.3, "eps_label": "1/255"})
    full = {"key": "full", "regime": "full", "metric": "test_acc", "value": 0.9, "seed": 0}
    return pd.DataFrame([*rows, full])


def test_points_verdicts_table_and_figure():
    rising = fb.bank_points(_frame(lambda c: 0.3 + 0.3 * c), "sep-ResNet", 1 / 255)
    assert len(rising) == 12 and set(rising.bank) == {"Different", "Same", "Box", "Identity"}
    assert rising.robust.eq(0.3).all()
    verdict = fb.coverage_verdicts(rising, {"sep-ResNet": ([], [])})["sep-ResNet"]
    assert verdict.status == "reproduced" and verdict.measured["rho"]["mean"] == 1.0
    falling = fb.bank_points(_frame(lambda c: 0.9 - 0.3 * c), "sep-ResNet", 1 / 255)
    assert fb.coverage_verdicts(falling, {"sep-ResNet": ([], [])})["sep-ResNet"].status == (
        "not reproduced")  # fmt: skip
    assert "Identity" in fb.coverage_table(rising)
    fig = fb.plot_coverage_accuracy(rising, 1 / 255, "synthetic")
    assert "n = 3 seeds" in fig._suptitle.get_text()
    empty = fb.bank_points(_frame(lambda c: c).iloc[:0], "sep-ResNet", 1 / 255)
    assert len(fb.plot_coverage_accuracy(empty, 1 / 255, "").axes) == 2
