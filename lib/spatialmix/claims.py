"""Each claim of the paper as a test over measurements, fixed before looking at the numbers.

A claim maps per-seed measurements to a Verdict with three outcomes:
- "reproduced": the paper's effect is present (its 90 % interval clear of zero) or, for a claim
  of no difference, the interval lies inside the equivalence margin stated here;
- "not reproduced": the interval excludes the effect the paper claims (the smallest effect we
  would count as the paper's, stated here), or lies outside the equivalence margin;
- "inconclusive": anything else.
Intervals are 90 % Student-t intervals over seeds of a paired difference: seed s of one regime is
compared with seed s of another (the same data order and the same initial value of every tensor
they share). Values come in seed order, and chapters evaluate a claim only when every run it
rests on is in the store (report.verdict), so lists are paired by position. With one seed an
interval is unbounded: every such verdict is inconclusive. Margins and effects are accuracy
fractions (0.02 = 2 points), written down before the converged runs (issue 17). Nothing
measured is typed here.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

STATUSES = ("reproduced", "not reproduced", "inconclusive")
CONFIDENCE = 0.90  # two-sided, for every interval

# --- margins and claimed effects, fixed before the runs they judge ---------------------------
CLOSE_MARGIN = 0.02  # Figs. 2, 5: chans within 2 points of full (full − chans ≤ 2)
SPACE_EFFECT = 0.02  # Figs. 2, 5: space trails chans by at least 2 points
BANK_STEP = 0.01  # Fig. 3: each step of Different > Same > Box > Identity is ≥ 1 point
SAME_MARGIN = 0.01  # Fig. 3, our span prediction: |Different − Same| within 1 point
GAP_CLOSING = 0.01  # Fig. 4: full − chans shrinks by ≥ 1 point from the narrowest to the widest w
ROBUST_EFFECT = 0.01  # Fig. 6: under attack, chans beats full by ≥ 1 point
ADVERSARIAL_MARGIN = 0.02  # Fig. 6: after FGSM training, chans and full within 2 points


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


@functools.cache
def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t with df degrees of freedom (p > 0.5), by bisection on its
    CDF, integrated with Simpson's rule (accurate to about 1e-6 for df ≥ 1)."""

    def cdf(t: float, steps: int = 4000) -> float:
        c = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
        pdf = lambda x: c * (1 + x * x / df) ** (-(df + 1) / 2)  # noqa: E731
        h = t / steps
        total = pdf(0) + pdf(t) + sum((4 if i % 2 else 2) * pdf(i * h) for i in range(1, steps))
        return 0.5 + total * h / 3

    lo, hi = 0.0, 1000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


@dataclass(frozen=True)
class Interval:
    """A mean over seeds with its 90 % t-interval (unbounded for one seed)."""

    mean: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Interval:
        m, sd, n = mean_sd(values)
        if n < 2:
            return cls(m, -math.inf, math.inf, n)
        half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * sd / math.sqrt(n)
        return cls(m, m - half, m + half, n)

    def as_dict(self) -> dict:
        return {"mean": self.mean, "lo": self.lo, "hi": self.hi, "n": self.n}


def paired(a: Sequence[float], b: Sequence[float]) -> Interval:
    """The interval of a − b over seeds, seed by seed (lists in the same seed order)."""
    if len(a) != len(b):
        raise ValueError(f"paired seeds needed: {len(a)} values against {len(b)}")
    return Interval.of([x - y for x, y in zip(a, b, strict=True)])


def at_least(effect: Interval, claimed: float) -> str:
    """The paper claims effect ≥ claimed > 0: present if clear of zero, refuted if below it."""
    if effect.hi < claimed:
        return "not reproduced"
    return "reproduced" if effect.lo > 0 else "inconclusive"


def at_most(effect: Interval, margin: float) -> str:
    """One-sided equivalence: the paper claims effect ≤ margin (e.g. full − chans ≤ 2 points)."""
    if effect.hi < margin:
        return "reproduced"
    return "not reproduced" if effect.lo > margin else "inconclusive"


def within(effect: Interval, margin: float) -> str:
    """Two-sided equivalence: the claim is |effect| ≤ margin."""
    if -margin < effect.lo and effect.hi < margin:
        return "reproduced"
    return "not reproduced" if effect.lo > margin or effect.hi < -margin else "inconclusive"


def compare(diff: float, spread: float, wanted: bool) -> str:
    """Verdict for a difference that should be positive: inconclusive within the spread."""
    if abs(diff) <= spread:
        return "inconclusive"
    return "reproduced" if wanted else "not reproduced"


def _spread(*groups: Sequence[float]) -> float:
    """Seed-to-seed spread of a difference of means: sqrt of the summed variances."""
    return sum(mean_sd(g)[1] ** 2 for g in groups) ** 0.5


def _combine(statuses: list[str]) -> str:
    if "not reproduced" in statuses:
        return "not reproduced"
    return "inconclusive" if "inconclusive" in statuses or not statuses else "reproduced"


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


def _fig2_chans_close_to_full(
    acc: dict[tuple[str, int], list[float]], claim: str = "fig2_chans_close_to_full"
) -> Verdict:
    """acc[(regime, depth)] = per-seed accuracies. At every depth: full − chans ≤ CLOSE_MARGIN,
    and chans − space ≥ SPACE_EFFECT."""
    measured, statuses = {}, []
    for d in sorted({d for r, d in acc if r == "full"}):
        if not all((r, d) in acc for r in ("full", "chans", "space")):
            continue
        full, chans, space = acc["full", d], acc["chans", d], acc["space", d]
        close, last = paired(full, chans), paired(chans, space)
        status = _combine([at_most(close, CLOSE_MARGIN), at_least(last, SPACE_EFFECT)])
        statuses.append(status)
        measured[d] = {"full": statistics.fmean(full), "chans": statistics.fmean(chans),
                       "space": statistics.fmean(space), "full_minus_chans": close.as_dict(),
                       "chans_minus_space": last.as_dict(), "status": status,
                       "n": close.n}  # fmt: skip
    return Verdict(claim, _combine(statuses), measured)


def _fig5_chans_close_to_full(acc: dict[tuple[str, int], list[float]]) -> Verdict:
    """The Fig. 2 test applied to ConvMixers."""
    return _fig2_chans_close_to_full(acc, "fig5_chans_close_to_full")


def _fig3_bank_order(acc: dict[str, list[float]]) -> Verdict:
    """acc[bank] = per-seed chans accuracies. Different (random) > Same > Box > Identity, each
    step ≥ BANK_STEP."""
    order = [b for b in ("random", "same", "box", "identity") if b in acc]
    measured, statuses = {}, []
    for a, b in zip(order, order[1:], strict=False):
        step = paired(acc[a], acc[b])
        status = at_least(step, BANK_STEP)
        statuses.append(status)
        measured[f"{a} > {b}"] = {"difference": step.as_dict(), "status": status}
    status = _combine(statuses) if len(order) == 4 else "inconclusive"
    return Verdict("fig3_bank_order", status, measured)


def _fig3_same_matches_different(acc: dict[str, list[float]]) -> Verdict:
    """Our prediction from the span argument: |Different − Same| ≤ SAME_MARGIN."""
    if not {"random", "same"} <= set(acc):
        return Verdict("fig3_same_matches_different", "inconclusive", {})
    diff = paired(acc["random"], acc["same"])
    status = within(diff, SAME_MARGIN)
    return Verdict("fig3_same_matches_different", status, {"difference": diff.as_dict()})


def _fig4_gap_closes(acc: dict[tuple[str, int], list[float]]) -> Verdict:
    """acc[(regime, width)]: the full − chans gap shrinks by ≥ GAP_CLOSING from the narrowest
    to the widest w (a paired difference of paired differences)."""
    widths = sorted({w for r, w in acc if (("full", w) in acc and ("chans", w) in acc)})
    if len(widths) < 2:
        return Verdict("fig4_gap_closes", "inconclusive", {})
    gaps = {w: paired(acc["full", w], acc["chans", w]) for w in widths}
    lo, hi = widths[0], widths[-1]
    per_seed = [(f - c) - (fw - cw) for f, c, fw, cw in
                zip(acc["full", lo], acc["chans", lo], acc["full", hi], acc["chans", hi],
                    strict=True)]  # fmt: skip
    closing = Interval.of(per_seed)
    measured = {"gaps": {w: g.as_dict() for w, g in gaps.items()}, "narrowest": lo,
                "widest": hi, "closing": closing.as_dict()}  # fmt: skip
    return Verdict("fig4_gap_closes", at_least(closing, GAP_CLOSING), measured)


def _robust(
    robust: dict[str, list[float]], clean: dict[str, list[float]] | None
) -> tuple[Interval, dict]:
    """(chans − full under attack, what is measured: that and, given clean, its share)."""
    diff = paired(robust["chans"], robust["full"])
    measured = {"chans_minus_full": diff.as_dict()}
    if clean:  # robust accuracy relative to clean accuracy, per run
        rel = {r: [a / c for a, c in zip(robust[r], clean[r], strict=True)] for r in robust}
        measured["relative_chans_minus_full"] = paired(rel["chans"], rel["full"]).as_dict()
    return diff, measured


def _fig6_chans_more_robust(
    robust: dict[str, list[float]], clean: dict[str, list[float]] | None = None
) -> Verdict:
    """robust[regime] = per-seed accuracy under attack: chans − full ≥ ROBUST_EFFECT."""
    diff, measured = _robust(robust, clean)
    status = at_least(diff, ROBUST_EFFECT)
    return Verdict("fig6_chans_more_robust", status, measured)


def _fig6_gap_gone_adversarial(
    robust: dict[str, list[float]], clean: dict[str, list[float]] | None = None
) -> Verdict:
    """After FGSM adversarial training, |chans − full| under attack ≤ ADVERSARIAL_MARGIN."""
    diff, measured = _robust(robust, clean)
    status = within(diff, ADVERSARIAL_MARGIN)
    return Verdict("fig6_gap_gone_adversarial", status, measured)


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


def _pts(x: float) -> str:
    return f"{x * 100:g}"


CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in [
        Claim("fig1_coverage_grows", "Fig. 1",
              "The spectral envelope of a random filter bank covers more of the frequency plane "
              "as the bank gains filters.", _fig1_coverage_grows, section="§3.1"),
        Claim("fig2_chans_close_to_full", "Fig. 2",
              f"At every depth, Chans is within {_pts(CLOSE_MARGIN)} points of Full, and Space "
              f"trails Chans by at least {_pts(SPACE_EFFECT)} points.", _fig2_chans_close_to_full,
              section="§4.1.2"),
        Claim("fig3_bank_order", "Fig. 3",
              f"Chans with fixed banks ranks Different > Same > Box > Identity, each step at "
              f"least {_pts(BANK_STEP)} point.", _fig3_bank_order, section="§4.1.3"),
        Claim("fig3_same_matches_different", "Fig. 3 (our prediction)",
              f"With d = k², a Same bank spans as much as Different, so their accuracies agree "
              f"within {_pts(SAME_MARGIN)} point.", _fig3_same_matches_different,
              section="§3.2, §4.1.3"),
        Claim("fig5_chans_close_to_full", "Fig. 5",
              f"ConvMixers: at every depth, Chans is within {_pts(CLOSE_MARGIN)} points of Full, "
              f"and Space trails Chans by at least {_pts(SPACE_EFFECT)} points.",
              _fig5_chans_close_to_full, section="§4.2.1"),
        Claim("fig6_chans_more_robust", "Fig. 6",
              f"Under attack, Chans separable ResNets keep at least {_pts(ROBUST_EFFECT)} point "
              "more accuracy than Full ones.", _fig6_chans_more_robust, section="§4.3.2"),
        Claim("fig6_gap_gone_adversarial", "Fig. 6",
              f"After FGSM adversarial training, Chans and Full are equally robust (within "
              f"{_pts(ADVERSARIAL_MARGIN)} points).", _fig6_gap_gone_adversarial,
              section="§4.3.2"),
        Claim("fig10_chans_unshuffles", "Fig. 10",
              "A Chans ConvMixer learns to undo a fixed pixel permutation nearly as well as Full "
              "(closer to Full than to doing nothing).", _fig10_chans_unshuffles, section="§4.4"),
        Claim("fig4_gap_closes", "Fig. 4",
              f"The full − chans gap shrinks by at least {_pts(GAP_CLOSING)} point from the "
              "narrowest width to the widest.", _fig4_gap_closes, section="§4.1.4"),
    ]
}  # fmt: skip


def evaluate(claim_id: str, *args: object, **kwargs: object) -> Verdict:
    """Run a claim's test on measurements and return its Verdict."""
    if claim_id not in CLAIMS:
        raise KeyError(f"unknown claim {claim_id!r}; known: {sorted(CLAIMS)}")
    verdict = CLAIMS[claim_id].test(*args, **kwargs)
    assert verdict.status in STATUSES
    return verdict
