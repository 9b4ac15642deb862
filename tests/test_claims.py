"""Each claim's test gives the verdict its definition promises on constructed measurements."""

import pytest

from spatialmix import claims


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
    ok = _fig2([0.60, 0.61], [0.59, 0.60], [0.40, 0.41])
    assert claims.evaluate(claim, ok).status == "reproduced"
    far = _fig2([0.60, 0.61], [0.42, 0.43], [0.40, 0.41])  # chans closer to space
    assert claims.evaluate(claim, far).status == "not reproduced"
    space_wins = _fig2([0.60, 0.61], [0.59, 0.60], [0.70, 0.71])
    assert claims.evaluate(claim, space_wins).status == "not reproduced"
    noisy = _fig2([0.5, 0.7], [0.4, 0.6], [0.3, 0.5])
    assert claims.evaluate(claim, noisy).status == "inconclusive"
    assert claims.evaluate(claim, ok).measured[1]["n"] == 2


def test_fig3_order_and_span_prediction():
    acc = {"random": [0.6, 0.61], "same": [0.6, 0.605], "box": [0.4, 0.41], "identity": [0.3, 0.3]}
    order = claims.evaluate("fig3_bank_order", acc)
    assert order.measured["same > box"]["status"] == "reproduced"
    assert order.measured["random > same"]["status"] == "inconclusive"
    assert order.status == "inconclusive"
    assert claims.evaluate("fig3_same_matches_different", acc).status == "reproduced"
    acc["same"] = [0.5, 0.51]
    assert claims.evaluate("fig3_same_matches_different", acc).status == "not reproduced"
    assert claims.evaluate("fig3_bank_order", acc).status == "reproduced"
    acc["box"] = [0.2, 0.21]
    assert claims.evaluate("fig3_bank_order", acc).status == "not reproduced"


def test_fig4_gap_closes():
    closes = {("full", 8): [0.5, 0.51], ("chans", 8): [0.40, 0.41],
              ("full", 32): [0.6, 0.61], ("chans", 32): [0.59, 0.60]}  # fmt: skip
    assert claims.evaluate("fig4_gap_closes", closes).status == "reproduced"
    opens = {("full", 8): [0.5, 0.51], ("chans", 8): [0.49, 0.50],
             ("full", 32): [0.6, 0.61], ("chans", 32): [0.40, 0.41]}  # fmt: skip
    assert claims.evaluate("fig4_gap_closes", opens).status == "not reproduced"
    assert claims.evaluate("fig4_gap_closes", {("full", 8): [0.5]}).status == "inconclusive"


def test_fig6_and_fig10():
    more = {"full": [0.30, 0.31], "chans": [0.40, 0.41]}
    assert claims.evaluate("fig6_chans_more_robust", more).status == "reproduced"
    assert claims.evaluate("fig6_gap_gone_adversarial", more).status == "not reproduced"
    same = {"full": [0.30, 0.40], "chans": [0.36, 0.35]}
    assert claims.evaluate("fig6_gap_gone_adversarial", same).status == "reproduced"
    psnr = {"full": [20.0, 20.2], "chans": [19.0, 19.1], "baseline": [10.0, 10.0]}
    assert claims.evaluate("fig10_chans_unshuffles", psnr).status == "reproduced"
    psnr["chans"] = [11.0, 11.1]
    assert claims.evaluate("fig10_chans_unshuffles", psnr).status == "not reproduced"
    untrained = {"full": [10.3], "chans": [10.2], "baseline": [10.0]}  # nothing learned
    assert claims.evaluate("fig10_chans_unshuffles", untrained).status == "inconclusive"


def test_unknown_claim():
    with pytest.raises(KeyError, match="fig1_coverage_grows"):
        claims.evaluate("fig99")
