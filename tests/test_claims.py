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


def test_fig10():
    psnr = {"full": [20.0, 20.2], "chans": [19.0, 19.1], "baseline": [10.0, 10.0]}
    assert claims.evaluate("fig10_chans_unshuffles", psnr).status == "reproduced"
    psnr["chans"] = [11.0, 11.1]
    assert claims.evaluate("fig10_chans_unshuffles", psnr).status == "not reproduced"
    untrained = {"full": [10.3], "chans": [10.2], "baseline": [10.0]}  # nothing learned
    assert claims.evaluate("fig10_chans_unshuffles", untrained).status == "inconclusive"


def test_unknown_claim():
    with pytest.raises(KeyError, match="fig1_coverage_grows"):
        claims.evaluate("fig99")
