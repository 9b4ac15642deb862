"""Each claim of the paper as a test over measurements, fixed before looking at the numbers.

A claim maps measured data to a Verdict: "reproduced", "not reproduced", or "inconclusive" when
the difference it rests on is within the seed-to-seed spread. Nothing measured is typed here.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

STATUSES = ("reproduced", "not reproduced", "inconclusive")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim's test, with the numbers it rests on."""

    claim: str
    status: str
    measured: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.claim}: {self.status}"


@dataclass(frozen=True)
class Claim:
    """One statement of the paper, where it is shown, and how we test it."""

    id: str
    figure: str
    statement: str
    test: Callable[..., Verdict]
    section: str  # the paper's section that makes the claim, e.g. "§4.1.2"


def mean_sd(values: Sequence[float]) -> tuple[float, float, int]:
    """Return (mean, sample sd or 0 for one value, n)."""
    values = list(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), sd, len(values)


def compare(diff: float, spread: float, wanted: bool) -> str:
    """Verdict for a difference that should be positive: inconclusive within the spread."""
    if abs(diff) <= spread:
        return "inconclusive"
    return "reproduced" if wanted else "not reproduced"


def _fig1_coverage_grows(coverage: dict[int, dict[int, list[float]]]) -> Verdict:
    """coverage[k][count] = per-seed coverage. Most filters vs one filter, for every k."""
    measured, statuses = {}, []
    for k, by_count in coverage.items():
        lo, hi = min(by_count), max(by_count)
        m_lo, sd_lo, n = mean_sd(by_count[lo])
        m_hi, sd_hi, _ = mean_sd(by_count[hi])
        diff = m_hi - m_lo
        statuses.append(compare(diff, sd_lo + sd_hi, diff > 0))
        measured[f"k={k}"] = {"count_lo": lo, "count_hi": hi, "coverage_lo": m_lo,
                              "coverage_hi": m_hi, "gain": diff, "spread": sd_lo + sd_hi,
                              "n": n}  # fmt: skip
    return Verdict("fig1_coverage_grows", _combine(statuses), measured)


def _spread(*groups: Sequence[float]) -> float:
    """Seed-to-seed spread of a difference of means: sqrt of the summed variances."""
    return sum(mean_sd(g)[1] ** 2 for g in groups) ** 0.5


def _fig2_chans_close_to_full(
    acc: dict[tuple[str, int], list[float]], claim: str = "fig2_chans_close_to_full"
) -> Verdict:
    """acc[(regime, depth)] = per-seed accuracies. At every depth: full − chans < ½(full − space)
    and space is last."""
    measured, statuses = {}, []
    depths = sorted({d for r, d in acc if r == "full"})
    for d in depths:
        if not all((r, d) in acc for r in ("full", "chans", "space")):
            continue
        full, chans, space = acc["full", d], acc["chans", d], acc["space", d]
        m_f, m_c, m_s = (mean_sd(g)[0] for g in (full, chans, space))
        margin = 0.5 * (m_f - m_s) - (m_f - m_c)  # > 0: chans is closer to full than to space
        last = min(m_f, m_c) - m_s  # > 0: space is last
        spread = _spread(full, chans, space)
        status = _combine([compare(margin, spread, margin > 0), compare(last, spread, last > 0)])
        statuses.append(status)
        measured[d] = {"full": m_f, "chans": m_c, "space": m_s, "full_minus_chans": m_f - m_c,
                       "full_minus_space": m_f - m_s, "spread": spread, "status": status,
                       "n": min(len(full), len(chans), len(space))}  # fmt: skip
    status = _combine(statuses) if statuses else "inconclusive"
    return Verdict(claim, status, measured)


def _fig5_chans_close_to_full(acc: dict[tuple[str, int], list[float]]) -> Verdict:
    """The Fig. 2 test applied to ConvMixers."""
    return _fig2_chans_close_to_full(acc, "fig5_chans_close_to_full")


def _fig6_chans_more_robust(robust: dict[str, list[float]]) -> Verdict:
    """robust[regime] = per-seed accuracy under attack: chans above full beyond the spread."""
    diff = mean_sd(robust["chans"])[0] - mean_sd(robust["full"])[0]
    spread = _spread(robust["chans"], robust["full"])
    measured = {"chans_minus_full": diff, "spread": spread, "n": len(robust["chans"])}
    return Verdict("fig6_chans_more_robust", compare(diff, spread, diff > 0), measured)


def _fig6_gap_gone_adversarial(robust: dict[str, list[float]]) -> Verdict:
    """After FGSM training, chans and full agree under attack within the seed spread."""
    diff = mean_sd(robust["chans"])[0] - mean_sd(robust["full"])[0]
    spread = _spread(robust["chans"], robust["full"])
    status = "reproduced" if abs(diff) <= spread else "not reproduced"
    return Verdict("fig6_gap_gone_adversarial", status, {"chans_minus_full": diff,
                                                         "spread": spread})  # fmt: skip


def _fig10_chans_unshuffles(psnr: dict[str, list[float]], min_gain: float = 1.0) -> Verdict:
    """psnr[regime or "baseline"]: full − chans < ½ (full − baseline), beyond the spread.

    The baseline is the better of two outputs that learn nothing about the shuffle (the input
    itself, the mean image). If full does not beat it by min_gain dB, the claim cannot be tested
    at this size: inconclusive.
    """
    m_f, m_c, m_b = (mean_sd(psnr[k])[0] for k in ("full", "chans", "baseline"))
    margin = 0.5 * (m_f - m_b) - (m_f - m_c)
    spread = _spread(psnr["full"], psnr["chans"])
    measured = {"full": m_f, "chans": m_c, "baseline": m_b, "margin": margin, "spread": spread}
    if m_f - m_b <= min_gain:
        return Verdict("fig10_chans_unshuffles", "inconclusive", measured)
    return Verdict("fig10_chans_unshuffles", compare(margin, spread, margin > 0), measured)


def _fig3_bank_order(acc: dict[str, list[float]]) -> Verdict:
    """acc[bank] = per-seed chans accuracies. Different (random) > Same > Box > Identity."""
    order = [b for b in ("random", "same", "box", "identity") if b in acc]
    measured, statuses = {}, []
    for a, b in zip(order, order[1:], strict=False):
        diff = mean_sd(acc[a])[0] - mean_sd(acc[b])[0]
        spread = _spread(acc[a], acc[b])
        status = compare(diff, spread, diff > 0)
        statuses.append(status)
        measured[f"{a} > {b}"] = {"difference": diff, "spread": spread, "status": status}
    status = _combine(statuses) if len(order) == 4 else "inconclusive"
    return Verdict("fig3_bank_order", status, measured)


def _fig3_same_matches_different(acc: dict[str, list[float]]) -> Verdict:
    """Our prediction from the span argument: |Different − Same| within the seed spread."""
    if not {"random", "same"} <= set(acc):
        return Verdict("fig3_same_matches_different", "inconclusive", {})
    diff = mean_sd(acc["random"])[0] - mean_sd(acc["same"])[0]
    spread = _spread(acc["random"], acc["same"])
    status = "reproduced" if abs(diff) <= spread else "not reproduced"
    return Verdict("fig3_same_matches_different", status, {"difference": diff, "spread": spread})


def _fig4_gap_closes(acc: dict[tuple[str, int], list[float]]) -> Verdict:
    """acc[(regime, width)]: the full − chans gap at the widest w is below that at the narrowest."""
    widths = sorted({w for r, w in acc if (("full", w) in acc and ("chans", w) in acc)})
    if len(widths) < 2:
        return Verdict("fig4_gap_closes", "inconclusive", {})
    gaps = {w: mean_sd(acc["full", w])[0] - mean_sd(acc["chans", w])[0] for w in widths}
    lo, hi = widths[0], widths[-1]
    closing = gaps[lo] - gaps[hi]
    spread = _spread(acc["full", lo], acc["chans", lo], acc["full", hi], acc["chans", hi])
    measured = {"gaps": gaps, "narrowest": lo, "widest": hi, "closing": closing, "spread": spread}
    return Verdict("fig4_gap_closes", compare(closing, spread, closing > 0), measured)


def _combine(statuses: list[str]) -> str:
    if "not reproduced" in statuses:
        return "not reproduced"
    return "inconclusive" if "inconclusive" in statuses else "reproduced"


CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in [
        Claim("fig1_coverage_grows", "Fig. 1",
              "The spectral envelope of a random filter bank covers more of the frequency plane "
              "as the bank gains filters.", _fig1_coverage_grows, section="§3.1"),
        Claim("fig2_chans_close_to_full", "Fig. 2",
              "At every depth, Chans is closer to Full than to Space (full − chans < ½ (full − "
              "space)), and Space is last.", _fig2_chans_close_to_full, section="§4.1.2"),
        Claim("fig3_bank_order", "Fig. 3",
              "Chans with fixed banks ranks Different > Same > Box > Identity.", _fig3_bank_order,
              section="§4.1.3"),
        Claim("fig3_same_matches_different", "Fig. 3 (our prediction)",
              "With d = k², a Same bank spans as much as Different, so their accuracies agree "
              "within the seed-to-seed spread.", _fig3_same_matches_different,
              section="§3.2, §4.1.3"),
        Claim("fig5_chans_close_to_full", "Fig. 5",
              "ConvMixers: at every depth, Chans is closer to Full than to Space, and Space is "
              "last.", _fig5_chans_close_to_full, section="§4.2.1"),
        Claim("fig6_chans_more_robust", "Fig. 6",
              "Under attack, Chans separable ResNets keep more accuracy than Full ones.",
              _fig6_chans_more_robust, section="§4.3.2"),
        Claim("fig6_gap_gone_adversarial", "Fig. 6",
              "After FGSM adversarial training, Chans and Full are equally robust.",
              _fig6_gap_gone_adversarial, section="§4.3.2"),
        Claim("fig10_chans_unshuffles", "Fig. 10",
              "A Chans ConvMixer learns to undo a fixed pixel permutation nearly as well as Full "
              "(closer to Full than to doing nothing).", _fig10_chans_unshuffles, section="§4.4"),
        Claim("fig4_gap_closes", "Fig. 4",
              "The full − chans gap is smaller at the widest width than at the narrowest.",
              _fig4_gap_closes, section="§4.1.4"),
    ]
}  # fmt: skip


def evaluate(claim_id: str, *args: object, **kwargs: object) -> Verdict:
    """Run a claim's test on measurements and return its Verdict."""
    if claim_id not in CLAIMS:
        raise KeyError(f"unknown claim {claim_id!r}; known: {sorted(CLAIMS)}")
    verdict = CLAIMS[claim_id].test(*args, **kwargs)
    assert verdict.status in STATUSES
    return verdict
