"""Each claim's test gives the verdict its definition promises on constructed measurements."""

import math

import pytest

from spatialmix import claims


def test_t_quantiles_match_the_table():
    for df, value in [(1, 6.314), (2, 2.920), (4, 2.132), (9, 1.833), (29, 1.699)]:
        assert claims.t_quantile(0.95, df) == pytest.approx(value, abs=1e-3)


def test_intervals_pair_seeds_and_one_seed_is_unbounded():
    iv = claims.paired([0.60, 0.62, 0.61], [0.59, 0.60, 0.60])  # differences 1, 2, 1 points
    assert iv.mean == pytest.approx(0.04 / 3) and iv.n == 3
    sd = 0.01 / math.sqrt(3)  # of 1, 2, 1 points
    assert iv.hi - iv.mean == pytest.approx(claims.t_quantile(0.95, 2) * sd / math.sqrt(3))
    one = claims.Interval.of([0.5])
    assert one.lo == -math.inf and one.hi == math.inf
    with pytest.raises(ValueError, match="paired seeds"):
        claims.paired([0.1, 0.2], [0.1])


def test_three_outcomes_of_each_rule():
    iv = lambda lo, hi: claims.Interval((lo + hi) / 2, lo, hi, 3)  # noqa: E731
    assert claims.at_least(iv(0.01, 0.05), 0.02) == "reproduced"
    assert claims.at_least(iv(-0.01, 0.015), 0.02) == "not reproduced"  # excludes the claim
    assert claims.at_least(iv(-0.01, 0.05), 0.02) == "inconclusive"
    assert claims.at_most(iv(-0.01, 0.015), 0.02) == "reproduced"
    assert claims.at_most(iv(0.03, 0.05), 0.02) == "not reproduced"
    assert claims.at_most(iv(0.0, 0.05), 0.02) == "inconclusive"
    assert claims.within(iv(-0.01, 0.01), 0.02) == "reproduced"
    assert claims.within(iv(0.03, 0.05), 0.02) == "not reproduced"
    assert claims.within(iv(-0.05, -0.03), 0.02) == "not reproduced"
    assert claims.within(iv(0.0, 0.05), 0.02) == "inconclusive"


def test_fig1_reproduced_inconclusive_and_not():
    grows = {3: {1: [0.40, 0.42], 64: [0.95, 0.97]}}
    assert claims.evaluate("fig1_coverage_grows", grows).status == "reproduced"
    noisy = {3: {1: [0.4, 0.8], 64: [0.5, 0.9]}}
    assert claims.evaluate("fig1_coverage_grows", noisy).status == "inconclusive"
    shrinks = {3: {1: [0.9, 0.91], 64: [0.5, 0.51]}}
    assert claims.evaluate("fig1_coverage_grows", shrinks).status == "not reproduced"


def _fig2(full, chans, space):
    return {("full", 1): full, ("chans", 1): chans, ("space", 1): space}


@pytest.mark.parametrize("claim", ["fig2_chans_close_to_full", "fig5_chans_close_to_full"])
def test_chans_close_to_full(claim):
    ok = _fig2([0.85, 0.86, 0.855], [0.845, 0.852, 0.848], [0.70, 0.71, 0.705])
    assert claims.evaluate(claim, ok).status == "reproduced"
    far = _fig2([0.85, 0.86, 0.855], [0.80, 0.81, 0.805], [0.70, 0.71, 0.705])  # 5 points off
    assert claims.evaluate(claim, far).status == "not reproduced"
    space_ties = _fig2([0.85, 0.86, 0.855], [0.845, 0.852, 0.848], [0.845, 0.853, 0.847])
    assert claims.evaluate(claim, space_ties).status == "not reproduced"  # absent effect: no
    noisy = _fig2([0.80, 0.90, 0.85], [0.75, 0.89, 0.80], [0.60, 0.70, 0.65])
    assert claims.evaluate(claim, noisy).status == "inconclusive"
    two_seeds = _fig2([0.85, 0.86], [0.845, 0.852], [0.70, 0.71])  # t with 1 df: wide
    assert claims.evaluate(claim, two_seeds).measured[1]["n"] == 2
    one_seed = _fig2([0.85], [0.845], [0.70])
    assert claims.evaluate(claim, one_seed).status == "inconclusive"


def test_fig3_order_and_span_prediction():
    acc = {"random": [0.80, 0.81, 0.805], "same": [0.801, 0.809, 0.806],
           "box": [0.60, 0.61, 0.605], "identity": [0.50, 0.51, 0.505]}  # fmt: skip
    order = claims.evaluate("fig3_bank_order", acc)
    assert order.measured["same > box"]["status"] == "reproduced"
    assert order.measured["random > same"]["status"] == "not reproduced"  # no drop at all
    assert order.status == "not reproduced"
    assert claims.evaluate("fig3_same_matches_different", acc).status == "reproduced"
    acc["same"] = [0.70, 0.71, 0.705]
    assert claims.evaluate("fig3_same_matches_different", acc).status == "not reproduced"
    assert claims.evaluate("fig3_bank_order", acc).status == "reproduced"
    acc["box"] = [0.40, 0.41, 0.405]
    assert claims.evaluate("fig3_bank_order", acc).status == "not reproduced"


def test_fig4_gap_closes():
    closes = {("full", 8): [0.5, 0.51, 0.505], ("chans", 8): [0.40, 0.41, 0.405],
              ("full", 64): [0.6, 0.61, 0.605], ("chans", 64): [0.59, 0.60, 0.596]}  # fmt: skip
    assert claims.evaluate("fig4_gap_closes", closes).status == "reproduced"
    opens = {("full", 8): [0.5, 0.51, 0.505], ("chans", 8): [0.49, 0.50, 0.496],
             ("full", 64): [0.6, 0.61, 0.605], ("chans", 64): [0.40, 0.41, 0.405]}  # fmt: skip
    assert claims.evaluate("fig4_gap_closes", opens).status == "not reproduced"
    assert claims.evaluate("fig4_gap_closes", {("full", 8): [0.5]}).status == "inconclusive"


def test_fig6_more_robust_and_gap_gone():
    more = {"full": [0.30, 0.31, 0.305], "chans": [0.40, 0.41, 0.404]}
    clean = {"full": [0.85, 0.86, 0.855], "chans": [0.84, 0.85, 0.845]}
    verdict = claims.evaluate("fig6_chans_more_robust", more, clean)
    assert verdict.status == "reproduced" and "relative_chans_minus_full" in verdict.measured
    assert claims.evaluate("fig6_gap_gone_adversarial", more).status == "not reproduced"
    equal = {"full": [0.30, 0.31, 0.305], "chans": [0.301, 0.309, 0.306]}
    assert claims.evaluate("fig6_chans_more_robust", equal).status == "not reproduced"
    assert claims.evaluate("fig6_gap_gone_adversarial", equal).status == "reproduced"


# chapter 07 (issue 15): PSNR in dB per (regime, depth, width, k), three seeds
CENTRE, DEEP, WIDE, BIG_K = (8, 32, 9), (12, 32, 9), (8, 64, 9), (8, 32, 11)


def _sweep(full_gain=(2.0, 2.1, 1.9), chans_lag=(0.3, 0.4, 0.35)):
    """Fig. 10's one-at-a-time grid: each step along an axis adds full_gain dB per seed, and
    chans trails full by chans_lag dB per seed."""
    psnr = {}
    for i, shape in enumerate((CENTRE, DEEP, WIDE, BIG_K)):
        full = [18.0 + s * 0.1 + (g if i else 0) for s, g in enumerate(full_gain)]
        psnr["full", *shape] = full
        psnr["chans", *shape] = [f - lag for f, lag in zip(full, chans_lag, strict=True)]
    return psnr


def test_fig10_full_learns_beats_the_mean_image_by_the_stated_bar():
    mean = 11.7
    learns = claims.evaluate("fig10_full_learns", [20.0, 20.2, 20.1], mean)
    assert learns.status == "reproduced"
    assert learns.measured["gain"]["lo"] > claims.FULL_GAIN_DB
    barely = [mean + claims.FULL_GAIN_DB - 2, mean + claims.FULL_GAIN_DB - 1.9, mean + 3.05]
    assert claims.evaluate("fig10_full_learns", barely, mean).status == "not reproduced"
    noisy = [14.0, 20.0, 17.0]  # mean gain above the bar, interval across it
    assert claims.evaluate("fig10_full_learns", noisy, mean).status == "inconclusive"
    assert claims.evaluate("fig10_full_learns", [20.0], mean).status == "inconclusive"


def test_fig10_chans_within_the_margin_at_every_shape():
    assert claims.evaluate("fig10_chans_unshuffles", _sweep()).status == "reproduced"
    far = _sweep(chans_lag=(3.0, 3.1, 2.9))
    verdict = claims.evaluate("fig10_chans_unshuffles", far)
    assert verdict.status == "not reproduced" and len(verdict.measured) == 4
    one_shape_far = _sweep()
    one_shape_far["chans", *WIDE] = [v - 3 for v in one_shape_far["full", *WIDE]]
    verdict = claims.evaluate("fig10_chans_unshuffles", one_shape_far)
    assert verdict.status == "not reproduced"
    assert verdict.measured["depth 8, width 64, k 9"]["status"] == "not reproduced"
    assert verdict.measured["depth 8, width 32, k 9"]["status"] == "reproduced"
    noisy = _sweep(chans_lag=(0.2, 3.0, 1.4))
    assert claims.evaluate("fig10_chans_unshuffles", noisy).status == "inconclusive"
    assert claims.evaluate("fig10_chans_unshuffles", {}).status == "inconclusive"


def test_fig10_psnr_grows_along_every_axis():
    grows = claims.evaluate("fig10_psnr_grows", _sweep())
    assert grows.status == "reproduced"
    assert "full, depth 8 → 12 (width 32, k 9)" in grows.measured
    assert "chans, k 9 → 11 (depth 8, width 32)" in grows.measured
    flat = claims.evaluate("fig10_psnr_grows", _sweep(full_gain=(0.01, -0.02, 0.0)))
    assert flat.status == "not reproduced"  # every interval lies below GROWTH_DB
    noisy = claims.evaluate("fig10_psnr_grows", _sweep(full_gain=(-1.0, 3.0, 0.5)))
    assert noisy.status == "inconclusive"
    no_k = {key: v for key, v in _sweep().items() if key[1:] != BIG_K}
    verdict = claims.evaluate("fig10_psnr_grows", no_k)
    assert verdict.status == "inconclusive"  # growth along k is claimed but not measured
    assert verdict.measured["k: no two values"] == {"status": "inconclusive"}


def test_fig10_chans_parameter_count_flat_in_k():
    flat = claims.evaluate("fig10_chans_params_flat", {9: 5000, 11: 5000}, {9: 9000, 11: 10000})
    assert flat.status == "reproduced" and flat.measured["full"] == {9: 9000, 11: 10000}
    rises = claims.evaluate("fig10_chans_params_flat", {9: 5000, 11: 5300, 13: 5300})
    assert rises.status == "not reproduced"
    assert claims.evaluate("fig10_chans_params_flat", {9: 5000}).status == "inconclusive"


def test_issue15_claims_are_registered_and_formatted():
    from spatialmix import report

    ids = {"fig10_full_learns", "fig10_chans_unshuffles", "fig10_psnr_grows",
           "fig10_chans_params_flat"}  # fmt: skip
    assert ids <= set(claims.CLAIMS) and ids <= set(report.FORMATS)
    assert not ids & claims.AWAITING_RUNS  # chapter 07 stores their verdicts
    verdicts = {
        "learns": claims.evaluate("fig10_full_learns", [20.0, 20.2, 20.1], 11.7),
        "close": claims.evaluate("fig10_chans_unshuffles", _sweep()),
        "grows": claims.evaluate("fig10_psnr_grows", _sweep()),
        "flat": claims.evaluate("fig10_chans_params_flat", {9: 5000, 11: 5000}),
    }
    lines = {k: report.measured_text(v) for k, v in verdicts.items()}
    learns = "full 20.10 dB, mean image 11.70 dB: full − mean image +8.40 ["
    assert lines["learns"].startswith(learns)
    assert lines["close"].startswith("depth 8, width 32, k 9: full − chans +0.35 [")
    assert "full, depth 8 → 12 (width 32, k 9) +2.00 [" in lines["grows"]
    assert lines["flat"] == "chans learns k 9: 5,000, k 11: 5,000 parameters"
    table = report.verdict_table(verdicts)
    assert "overall" in table and "one seed" not in table


def test_unknown_claim():
    with pytest.raises(KeyError, match="fig1_coverage_grows"):
        claims.evaluate("fig99")


# --- issue 16: Figs. 7 and 9, and the coverage hypothesis ---------------------------------


def test_exceeds_a_stated_number():
    iv = lambda lo, hi: claims.Interval((lo + hi) / 2, lo, hi, 3)  # noqa: E731
    assert claims.exceeds(iv(0.30, 0.40), 0.25) == "reproduced"
    assert claims.exceeds(iv(0.05, 0.20), 0.25) == "not reproduced"  # a gain, but not the number
    assert claims.exceeds(iv(0.10, 0.40), 0.25) == "inconclusive"


CLEAN = {0.0: [0.85, 0.86, 0.855], 2.0: [0.851, 0.858, 0.856]}


def test_fig7_smoothing_robust_three_outcomes():
    rises = {0.0: [0.30, 0.31, 0.305], 1.0: [0.33, 0.34, 0.336], 2.0: [0.40, 0.41, 0.404]}
    verdict = claims.evaluate("fig7_smoothing_robust", rises, {**CLEAN, 1.0: CLEAN[0.0]})
    assert verdict.status == "reproduced"
    assert verdict.measured["sigma"] == 2.0 and list(verdict.measured["steps"]) == [
        "0 → 1", "1 → 2"]  # fmt: skip
    flat = {0.0: [0.30, 0.31, 0.305], 2.0: [0.301, 0.309, 0.306]}
    assert claims.evaluate("fig7_smoothing_robust", flat, CLEAN).status == "not reproduced"
    costly = {0.0: CLEAN[0.0], 2.0: [0.80, 0.81, 0.805]}  # robust gain, but 5 points of clean lost
    assert claims.evaluate("fig7_smoothing_robust", rises, costly).status == "not reproduced"
    noisy = {0.0: [0.30, 0.40, 0.35], 2.0: [0.28, 0.45, 0.40]}
    assert claims.evaluate("fig7_smoothing_robust", noisy, CLEAN).status == "inconclusive"
    no_baseline = {1.0: [0.3, 0.31], 2.0: [0.4, 0.41]}
    assert claims.evaluate("fig7_smoothing_robust", no_baseline, no_baseline).status == (
        "inconclusive")  # fmt: skip


def test_fig7_relative_gain_three_outcomes():
    base = [0.20, 0.21, 0.205]
    big = {0.0: base, 1.0: [0.22, 0.23, 0.225], 2.0: [0.27, 0.28, 0.276]}  # +35, +33, +35 %
    verdict = claims.evaluate("fig7_relative_gain", big)
    assert verdict.status == "reproduced" and verdict.measured["sigma_best"] == 2.0
    per_seed = [0.27 / 0.20 - 1, 0.28 / 0.21 - 1, 0.276 / 0.205 - 1]  # seed by seed, then mean
    assert verdict.measured["relative_gain"]["mean"] == pytest.approx(sum(per_seed) / 3)
    small = {0.0: base, 2.0: [0.22, 0.231, 0.225]}  # +10 %: a gain, not the paper's number
    assert claims.evaluate("fig7_relative_gain", small).status == "not reproduced"
    noisy = {0.0: base, 2.0: [0.22, 0.30, 0.26]}
    assert claims.evaluate("fig7_relative_gain", noisy).status == "inconclusive"
    broken = {0.0: [0.0, 0.01], 2.0: [0.1, 0.1]}  # no ratio for a seed with nothing left
    assert claims.evaluate("fig7_relative_gain", broken).status == "inconclusive"


def test_fig9_learned_filters_smoother_per_layer():
    random = [0.80, 0.81, 0.805]
    hf = {("chans", "b0"): random, ("full", "b0"): [0.60, 0.61, 0.605],
          ("chans", "b1"): random, ("full", "b1"): [0.70, 0.71, 0.704]}  # fmt: skip
    verdict = claims.evaluate("fig9_learned_filters_smoother", hf)
    assert verdict.status == "reproduced" and set(verdict.measured) == {"b0", "b1"}
    hf["full", "b1"] = [0.79, 0.80, 0.796]  # one layer as white as its init
    verdict = claims.evaluate("fig9_learned_filters_smoother", hf)
    assert verdict.measured["b1"]["status"] == "not reproduced"
    assert verdict.status == "not reproduced"
    hf["full", "b1"] = [0.70, 0.81, 0.74]
    assert claims.evaluate("fig9_learned_filters_smoother", hf).status == "inconclusive"


def test_spearman_matches_hand_computed_ranks():
    assert claims.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert claims.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties get their average rank: x ranks 1, 2.5, 2.5, 4 against y ranks 1, 2, 3, 4
    assert claims.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(4.5 * 5))
    assert claims.spearman([1, 1, 1, 1], [1, 2, 3, 4]) == 0.0


BANKS = {"identity": 1.0, "random": 0.95, "same": 0.7, "box": 0.2}


def test_coverage_predicts_accuracy_three_outcomes():
    rising = {"identity": [0.90, 0.91, 0.905], "random": [0.85, 0.86, 0.852],
              "same": [0.80, 0.81, 0.806], "box": [0.60, 0.61, 0.604]}  # fmt: skip
    verdict = claims.evaluate("coverage_predicts_accuracy", BANKS, rising)
    assert verdict.status == "reproduced" and verdict.measured["rho"]["mean"] == pytest.approx(1)
    falling = {"identity": [0.60, 0.61, 0.604], "random": [0.80, 0.81, 0.806],
               "same": [0.85, 0.86, 0.852], "box": [0.90, 0.91, 0.905]}  # fmt: skip
    assert claims.evaluate("coverage_predicts_accuracy", BANKS, falling).status == (
        "not reproduced")  # fmt: skip
    noisy = {"identity": [0.70, 0.90, 0.80], "random": [0.85, 0.75, 0.80],
             "same": [0.80, 0.72, 0.84], "box": [0.74, 0.86, 0.78]}  # fmt: skip
    verdict = claims.evaluate("coverage_predicts_accuracy", BANKS, noisy)
    assert verdict.status == "inconclusive"
    assert verdict.measured["rho"]["lo"] <= 0 < claims.COVERAGE_RHO <= verdict.measured["rho"]["hi"]
    three = {b: rising[b] for b in ("identity", "random", "same")}
    assert claims.evaluate("coverage_predicts_accuracy", BANKS, three).status == "inconclusive"
    one_seed = {b: v[:1] for b, v in rising.items()}
    assert claims.evaluate("coverage_predicts_accuracy", BANKS, one_seed).status == "inconclusive"


def test_coverage_per_seed_is_resampled_with_its_seed():
    cov = {b: [c, c] for b, c in BANKS.items()}
    acc = {"identity": [0.9, 0.91], "random": [0.85, 0.86], "same": [0.8, 0.81], "box": [0.6, 0.61]}
    verdict = claims.evaluate("coverage_predicts_accuracy", cov, acc)
    assert verdict.measured["coverage"] == pytest.approx(BANKS)
    with pytest.raises(ValueError, match="paired seeds"):
        claims.evaluate("coverage_predicts_accuracy", BANKS, {**acc, "box": [0.6]})


def test_issue16_claims_have_chapters_and_are_formatted():
    from spatialmix import report

    ids = {"fig7_smoothing_robust", "fig7_relative_gain", "fig9_learned_filters_smoother",
           "coverage_predicts_accuracy"}  # fmt: skip
    assert not ids & claims.AWAITING_RUNS  # chapters 05 and 06 store their verdicts
    assert ids <= set(report.FORMATS)
