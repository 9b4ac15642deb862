"""What chapters print from measurements: directions in words, Fig. 8's sentence, verdict lines."""

import pandas as pd

from spatialmix import claims, report

# attack_groups' shape: (condition, regime, depth) -> per seed; chans keeps less accuracy than
# full at both depths, but at depth 2 more of its (lower) clean accuracy
ACC = {("clean", "full", 2): [0.50, 0.52], ("clean", "chans", 2): [0.40, 0.42],
       ("FGSM", "full", 2): [0.30, 0.31], ("FGSM", "chans", 2): [0.28, 0.29],
       ("clean", "full", 4): [0.50, 0.51], ("clean", "chans", 4): [0.50, 0.51],
       ("FGSM", "full", 4): [0.30, 0.32], ("FGSM", "chans", 4): [0.25, 0.26]}  # fmt: skip


def test_robust_gaps_pair_seeds_in_points_and_as_a_share_of_clean():
    gaps = report.robust_gaps(ACC, "FGSM", "clean")
    assert list(gaps) == [2, 4]
    assert gaps[2]["points"].mean < 0 < gaps[2]["share"].mean
    assert gaps[4]["points"].mean < 0 and gaps[4]["share"].mean < 0
    lone = {k: v for k, v in ACC.items() if k != ("FGSM", "chans", 4)}
    assert list(report.robust_gaps(lone, "FGSM", "clean")) == [2]  # a depth needs both regimes


def test_robust_gap_text_says_which_way_it_goes():
    text = report.robust_gap_text(ACC, "FGSM", "clean")
    assert text.startswith("Under FGSM, chans keeps less accuracy than full at every depth")
    share = "as a share of clean accuracy, chans keeps more of its clean accuracy than full at "
    assert share + "depth 2 and less at depth 4" in text
    swapped = {(c, "chans" if r == "full" else "full", n): v for (c, r, n), v in ACC.items()}
    assert "chans keeps more accuracy than full at every depth" in report.robust_gap_text(
        swapped, "FGSM", "clean")  # fmt: skip
    assert report.robust_gap_text({}, "FGSM", "clean").startswith("No depth has stored runs")
    table = report.robust_gap_table(ACC, {"FGSM": "clean"})
    assert "chans − full (points)" in table.splitlines()[0] and len(table.splitlines()) == 4


def test_smoothing_text_follows_the_table():
    df = pd.DataFrame({"sigma": [0.0, 1.0, 2.0], "hf_fraction": [0.81, 0.18, 0.06],
                       "coverage": [1.0, 0.14, 0.07]})  # fmt: skip
    text = report.smoothing_text(df)
    assert text.startswith("At σ = 2, 6.0% of the bank's energy lies above half the Nyquist")
    assert "against 81.0% at σ = 0 (falling at every step of σ)" in text
    bumpy = df.assign(hf_fraction=[0.81, 0.05, 0.06])
    assert "not falling at every step" in report.smoothing_text(bumpy)


def test_issue16_verdicts_have_one_line_each():
    rising = {0.0: [0.30, 0.31, 0.305], 2.0: [0.40, 0.41, 0.404]}
    clean = {0.0: [0.85, 0.86, 0.855], 2.0: [0.851, 0.858, 0.856]}
    hf = {("chans", "b0"): [0.80, 0.81, 0.805], ("full", "b0"): [0.60, 0.61, 0.605]}
    banks = {"a": 1.0, "b": 0.8, "c": 0.5, "d": 0.2}
    acc = {"a": [0.9, 0.91], "b": [0.85, 0.86], "c": [0.8, 0.81], "d": [0.6, 0.61]}
    verdicts = {
        "σ": claims.evaluate("fig7_smoothing_robust", rising, clean),
        "gain": claims.evaluate("fig7_relative_gain", rising),
        "hf": claims.evaluate("fig9_learned_filters_smoother", hf),
        "banks": claims.evaluate("coverage_predicts_accuracy", banks, acc),
    }
    lines = {k: report.measured_text(v) for k, v in verdicts.items()}
    assert lines["σ"].startswith("σ 2 against σ 0: robust accuracy +10.0 [")
    assert lines["gain"].startswith("best σ 2 against σ 0: relative gain +32.")
    assert lines["hf"].startswith("b0: random − learned +20.0 [")
    assert lines["banks"].startswith("Spearman ρ +1.00 [") and "over 4 banks" in lines["banks"]
    table = report.verdict_table(verdicts)
    assert "b0: random − learned" in table and "overall" in table  # Fig. 9 per layer, then all


def test_budget_table_reads_psnr_in_db_and_accuracy_in_points():
    def frame(metric: str, values: dict[str, float]) -> pd.DataFrame:
        return pd.DataFrame([{"metric": metric, "regime": r, "seed": 0, "value": v}
                             for r, v in values.items()])  # fmt: skip

    text = report.budget_table(frame("test_psnr", {"full": 16.5, "chans": 13.1}),
                               frame("test_psnr", {"full": 17.0, "chans": 13.6}), 2,
                               "test_psnr")  # fmt: skip
    assert "test PSNR (dB) at 2× the epochs" in text and "full − chans (dB)" in text
    assert "16.50 ± 0.00 (n=1)" in text and "+3.4" in text and "chans − space (dB)" in text
    acc = report.budget_table(frame("test_acc", {"full": 0.8, "space": 0.5}),
                              frame("test_acc", {"full": 0.82}), 2)  # fmt: skip
    assert "80.0 ± 0.0 (n=1)" in acc and "full − chans (points)" in acc
