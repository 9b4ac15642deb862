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
                              "coverage_hi": m_hi, "gain": diff, "n": n}  # fmt: skip
    return Verdict("fig1_coverage_grows", _combine(statuses), measured)


def _combine(statuses: list[str]) -> str:
    if "not reproduced" in statuses:
        return "not reproduced"
    return "inconclusive" if "inconclusive" in statuses else "reproduced"


CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in [
        Claim("fig1_coverage_grows", "Fig. 1",
              "The spectral envelope of a random filter bank covers more of the frequency plane "
              "as the bank gains filters.", _fig1_coverage_grows),
    ]
}  # fmt: skip


def evaluate(claim_id: str, *args: object, **kwargs: object) -> Verdict:
    """Run a claim's test on measurements and return its Verdict."""
    if claim_id not in CLAIMS:
        raise KeyError(f"unknown claim {claim_id!r}; known: {sorted(CLAIMS)}")
    verdict = CLAIMS[claim_id].test(*args, **kwargs)
    assert verdict.status in STATUSES
    return verdict
