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
measured is typed here. Two claims of issue 16 state numbers of another kind: Fig. 7's relative
gain (a per-seed ratio, tested with `exceeds`) and §3.1's rank correlation over filter banks
(its interval a bootstrap over seeds).
"""

from __future__ import annotations

import functools
import math
import random
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


# --- issue 16: Figs. 7 and 9, and §3.1's coverage hypothesis, fixed before their runs ---------
SMOOTH_ROBUST_EFFECT = 0.01  # Fig. 7: the most smoothed bank keeps ≥ 1 point more under attack
SMOOTH_CLEAN_MARGIN = 0.02  # Fig. 7: smoothing costs ≤ 2 points clean ("not hurting ... at all")
RELATIVE_GAIN = 0.25  # Fig. 7, the paper's number: > 25 % relative robust gain at the strongest ε
SMOOTH_ATTACK = ("pgd2", 1 / 255)  # Fig. 7's robustness claim is judged under PGD-2 (steps of ε,
# Eq. 4) at ε = 1/255, the book's main radius (Fig. 6); the relative gain under PGD-2 at the
# largest ε measured ("the strongest attack"). Fixed before the runs (issue 16)
HF_EFFECT = 0.05  # Fig. 9: learned filters put ≥ 5 points less energy above half Nyquist than
# their random init (a random bank is near white: about 80 % of its energy lies above)
COVERAGE_RHO = 0.5  # §3.1: the weakest rank correlation (accuracy vs coverage) that we would
# count as "accuracy rises with coverage"; an interval wholly below it refutes the hypothesis
MIN_BANKS = 4  # fewer banks than this give no rank correlation worth testing: inconclusive
BOOTSTRAP_SAMPLES = 2000  # resamples of the seeds for ρ's interval (seeded: same data, same ρ)
# claims no chapter has a verdict for yet, because their runs are not made: the scoreboard shows
# them as "not run yet" (tests/test_scoreboard.py holds every other claim to a stored verdict)
AWAITING_RUNS: frozenset[str] = frozenset()


def exceeds(effect: Interval, value: float) -> str:
    """The paper states a number, effect > value: reproduced if the whole interval is above it,
    not reproduced if the whole interval is below it."""
    if effect.lo > value:
        return "reproduced"
    return "not reproduced" if effect.hi < value else "inconclusive"


def _fig7_smoothing_robust(
    robust: dict[float, list[float]], clean: dict[float, list[float]]
) -> Verdict:
    """robust[σ], clean[σ] = per-seed accuracy of chans ConvMixers whose frozen filters were
    smoothed at σ (robust: one attack at one ε), seeds paired across σ. The largest σ against
    σ = 0: robust gain ≥ SMOOTH_ROBUST_EFFECT (at_least) and clean drop ≤ SMOOTH_CLEAN_MARGIN
    (at_most). Each step of σ is measured but not tested: the paper compares smoothing with
    none, and with few seeds a small step can only be inconclusive."""
    sigmas = sorted(s for s in robust if s in clean)
    if len(sigmas) < 2 or sigmas[0] != 0:
        return Verdict("fig7_smoothing_robust", "inconclusive", {})
    top = sigmas[-1]
    gain, drop = paired(robust[top], robust[0]), paired(clean[0], clean[top])
    status = _combine([at_least(gain, SMOOTH_ROBUST_EFFECT), at_most(drop, SMOOTH_CLEAN_MARGIN)])
    steps = {f"{a:g} → {b:g}": paired(robust[b], robust[a]).as_dict()
             for a, b in zip(sigmas, sigmas[1:], strict=False)}  # fmt: skip
    measured = {"sigma": top, "robust_gain": gain.as_dict(), "clean_drop": drop.as_dict(),
                "steps": steps, "n": gain.n}  # fmt: skip
    return Verdict("fig7_smoothing_robust", status, measured)


def _fig7_relative_gain(robust: dict[float, list[float]]) -> Verdict:
    """robust[σ] = per-seed accuracy under the strongest attack, seeds paired across σ. The σ > 0
    with the highest mean against σ = 0 (the paper reports its best smoothing; choosing it on the
    same runs favours the claim a little): per seed, robust[σ] / robust[0] − 1, its interval
    wholly above RELATIVE_GAIN (exceeds). A seed with no accuracy left at σ = 0 has no ratio:
    inconclusive, with the reason measured."""
    sigmas = sorted(robust)
    if len(sigmas) < 2 or sigmas[0] != 0:
        return Verdict("fig7_relative_gain", "inconclusive", {})
    if min(robust[0]) <= 0:
        return Verdict("fig7_relative_gain", "inconclusive", {"why": "no accuracy at σ = 0"})
    best = max(sigmas[1:], key=lambda s: statistics.fmean(robust[s]))
    ratios = {s: [a / b - 1 for a, b in zip(robust[s], robust[0], strict=True)]
              for s in sigmas[1:]}  # fmt: skip
    gain = Interval.of(ratios[best])
    mean_gain = {f"{s:g}": statistics.fmean(r) for s, r in ratios.items()}
    measured = {"sigma_best": best, "relative_gain": gain.as_dict(), "mean_gain": mean_gain}
    return Verdict("fig7_relative_gain", exceeds(gain, RELATIVE_GAIN), measured)


def _fig9_learned_filters_smoother(hf: dict[tuple[str, object], list[float]]) -> Verdict:
    """hf[(regime, layer)] = per-seed share of a layer's spectral energy above half Nyquist. The
    full model's filters are learned; the chans model of the same seed keeps the random filters
    full started from. Per layer: chans − full ≥ HF_EFFECT (at_least)."""
    layers = [layer for r, layer in hf if r == "full" and ("chans", layer) in hf]
    measured, statuses = {}, []
    for layer in layers:
        diff = paired(hf["chans", layer], hf["full", layer])
        status = at_least(diff, HF_EFFECT)
        statuses.append(status)
        measured[layer] = {"random_minus_learned": diff.as_dict(), "status": status}
    return Verdict("fig9_learned_filters_smoother", _combine(statuses), measured)


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties given their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (ties averaged); 0 when either side is constant."""
    rx, ry = _ranks(x), _ranks(y)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx, syy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else 0.0


def _rho_interval(cov: dict[str, list[float]], acc: dict[str, list[float]], n: int) -> Interval:
    """ρ of the bank means, with a 90 % percentile interval from resampling the seeds (the same
    resampled seeds for every bank, since seeds are paired); unbounded for one seed."""
    banks = list(acc)

    def rho(idx: Sequence[int]) -> float:
        means = lambda d: [statistics.fmean(d[b][i] for i in idx) for b in banks]  # noqa: E731
        return spearman(means(cov), means(acc))

    observed = rho(range(n))
    if n < 2:
        return Interval(observed, -math.inf, math.inf, n)
    rng = random.Random(0)
    draws = sorted(rho([rng.randrange(n) for _ in range(n)]) for _ in range(BOOTSTRAP_SAMPLES))
    tail = (1 - CONFIDENCE) / 2
    lo, hi = draws[int(tail * BOOTSTRAP_SAMPLES)], draws[int((1 - tail) * BOOTSTRAP_SAMPLES) - 1]
    return Interval(observed, lo, hi, n)


def _coverage_predicts_accuracy(
    coverage: dict[str, float | Sequence[float]], acc: dict[str, list[float]]
) -> Verdict:
    """coverage[bank] = the coverage of a frozen bank's envelope (one number, or one per seed);
    acc[bank] = per-seed accuracy of the chans model that freezes it, seeds paired across banks,
    all of one model family. Spearman ρ between coverage and accuracy over the banks, its
    interval from a bootstrap over seeds; ρ ≥ COVERAGE_RHO claimed (at_least): reproduced if the
    interval is above 0, not reproduced if it lies wholly below COVERAGE_RHO."""
    banks = [b for b in acc if b in coverage]
    if len(banks) < MIN_BANKS:
        return Verdict("coverage_predicts_accuracy", "inconclusive", {"banks": len(banks)})
    n = len(acc[banks[0]])
    if any(len(acc[b]) != n for b in banks):
        raise ValueError(f"paired seeds needed: {[len(acc[b]) for b in banks]} values per bank")
    cov = {b: [float(c)] * n if isinstance(c, int | float) else list(c)
           for b, c in ((b, coverage[b]) for b in banks)}  # fmt: skip
    rho = _rho_interval(cov, {b: acc[b] for b in banks}, n)
    measured = {"rho": rho.as_dict(), "banks": len(banks),
                "coverage": {b: statistics.fmean(cov[b]) for b in banks},
                "accuracy": {b: statistics.fmean(acc[b]) for b in banks}}  # fmt: skip
    return Verdict("coverage_predicts_accuracy", at_least(rho, COVERAGE_RHO), measured)


# --- issue 15: chapter 07, un-shuffling (Figs. 10-11), fixed before its runs -----------------
# These margins are in dB of test PSNR, not accuracy fractions; seeds are paired as above, and a
# model shape is (depth, width, kernel_size).
FULL_GAIN_DB = 5.0  # Fig. 10: full beats the mean training image by ≥ 5 dB: the task is learned
CHANS_MARGIN_DB = 1.5  # Fig. 10: chans within 1.5 dB of full (full − chans ≤ 1.5 dB)
GROWTH_DB = 0.5  # Fig. 10: the smallest gain, smallest to largest depth, width or k, that we
# would count as "PSNR grows"; an interval wholly below it refutes the growth
UNSHUFFLE_AXES = ("depth", "width", "kernel_size")


def _shape_text(shape: Sequence[int]) -> str:
    return ", ".join(f"{'k' if a == 'kernel_size' else a} {v}"
                     for a, v in zip(UNSHUFFLE_AXES, shape, strict=True))  # fmt: skip


def _fig10_full_learns(full: Sequence[float], mean_image: float) -> Verdict:
    """full = per-seed test PSNR of one full un-shuffler; mean_image = the PSNR of returning
    the mean training image (the same for every seed). full − mean_image ≥ FULL_GAIN_DB, the
    whole interval above it (exceeds): the model learned the task at all."""
    gain = Interval.of([p - mean_image for p in full])
    measured = {"full": statistics.fmean(full), "mean_image": mean_image, "gain": gain.as_dict()}
    return Verdict("fig10_full_learns", exceeds(gain, FULL_GAIN_DB), measured)


def _fig10_chans_unshuffles(psnr: dict[tuple[str, int, int, int], list[float]]) -> Verdict:
    """psnr[(regime, depth, width, k)] = per-seed test PSNR. At every shape holding both full
    and chans: full − chans ≤ CHANS_MARGIN_DB (at_most)."""
    measured, statuses = {}, []
    for shape in sorted({tuple(s) for r, *s in psnr if r == "full" and ("chans", *s) in psnr}):
        full, chans = psnr[("full", *shape)], psnr[("chans", *shape)]
        gap = paired(full, chans)
        status = at_most(gap, CHANS_MARGIN_DB)
        statuses.append(status)
        measured[_shape_text(shape)] = {"full": statistics.fmean(full),
                                        "chans": statistics.fmean(chans),
                                        "full_minus_chans": gap.as_dict(),
                                        "status": status}  # fmt: skip
    return Verdict("fig10_chans_unshuffles", _combine(statuses), measured)


def _fig10_psnr_grows(
    psnr: dict[tuple[str, int, int, int], list[float]], regimes: Sequence[str] = ("full", "chans")
) -> Verdict:
    """psnr[(regime, depth, width, k)] = per-seed test PSNR. Along each axis, for each regime
    and each setting of the other two axes that has two or more values on it: the largest value
    minus the smallest ≥ GROWTH_DB (at_least). An axis with no such pair leaves the claim
    inconclusive at best (the paper claims growth along all three)."""
    measured, statuses = {}, []
    for i, axis in enumerate(UNSHUFFLE_AXES):
        found, name = False, "k" if axis == "kernel_size" else axis
        for regime in regimes:
            lines: dict[tuple, list[tuple]] = {}
            for r, *shape in psnr:
                if r == regime:
                    lines.setdefault((*shape[:i], *shape[i + 1 :]), []).append(tuple(shape))
            for shapes in (v for _, v in sorted(lines.items()) if len(v) > 1):
                lo, hi = min(shapes, key=lambda s: s[i]), max(shapes, key=lambda s: s[i])
                gain = paired(psnr[(regime, *hi)], psnr[(regime, *lo)])
                status, found = at_least(gain, GROWTH_DB), True
                statuses.append(status)
                held = _shape_text(lo).split(", ")
                held = ", ".join(held[:i] + held[i + 1 :])
                measured[f"{regime}, {name} {lo[i]} → {hi[i]} ({held})"] = {
                    "gain": gain.as_dict(), "status": status}  # fmt: skip
        if not found:
            statuses.append("inconclusive")
            measured[f"{name}: no two values"] = {"status": "inconclusive"}
    return Verdict("fig10_psnr_grows", _combine(statuses), measured)


def _fig10_chans_params_flat(chans: dict[int, int], full: dict[int, int] | None = None) -> Verdict:
    """chans[k] = trainable parameters of the chans un-shuffler with kernel k (counted on built
    models, every other field held); full[k], if given, is measured for contrast. Reproduced if
    the count never rises with k, not reproduced if it does; fewer than two k: inconclusive."""
    ks = sorted(chans)
    measured = {"chans": {k: chans[k] for k in ks}, **({"full": dict(full)} if full else {})}
    if len(ks) < 2:
        return Verdict("fig10_chans_params_flat", "inconclusive", measured)
    grows = any(chans[b] > chans[a] for a, b in zip(ks, ks[1:], strict=False))
    return Verdict("fig10_chans_params_flat", "not reproduced" if grows else "reproduced", measured)


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
        # issue 15: chapter 07's claims, committed before its runs
        Claim("fig10_full_learns", "Fig. 10",
              f"A Full un-shuffler restores shuffled images at least {FULL_GAIN_DB:g} dB better "
              "(test PSNR) than the mean training image: the task is learned at all.",
              _fig10_full_learns, section="§4.4"),
        Claim("fig10_chans_unshuffles", "Fig. 10",
              f"A Chans ConvMixer undoes a fixed pixel permutation nearly as well as Full: "
              f"within {CHANS_MARGIN_DB:g} dB of test PSNR at every model shape.",
              _fig10_chans_unshuffles, section="§4.4"),
        Claim("fig10_psnr_grows", "Fig. 10",
              f"Un-shuffling PSNR grows with depth, width and kernel size k (largest against "
              f"smallest, by at least {GROWTH_DB:g} dB), for Full and Chans.", _fig10_psnr_grows,
              section="§4.4"),
        Claim("fig10_chans_params_flat", "Fig. 10 (our check)",
              "The trainable parameter count of a Chans un-shuffler does not grow with k (its "
              "k×k filters are frozen), counted on built models.", _fig10_chans_params_flat,
              section="§4.4"),
        Claim("fig4_gap_closes", "Fig. 4",
              f"The full − chans gap shrinks by at least {_pts(GAP_CLOSING)} point from the "
              "narrowest width to the widest.", _fig4_gap_closes, section="§4.1.4"),
        # issue 16: claims committed before their runs (AWAITING_RUNS until a chapter stores them)
        Claim("fig7_smoothing_robust", "Fig. 7",
              f"Smoothing the frozen random filters of Chans ConvMixers (largest σ against none) "
              f"raises accuracy under attack by at least {_pts(SMOOTH_ROBUST_EFFECT)} point and "
              f"costs at most {_pts(SMOOTH_CLEAN_MARGIN)} points of clean accuracy.",
              _fig7_smoothing_robust, section="§4.3.3"),
        Claim("fig7_relative_gain", "Fig. 7",
              f"At the strongest attack, the best smoothing raises Chans ConvMixers' accuracy by "
              f"over {RELATIVE_GAIN:.0%} relative to unsmoothed filters.", _fig7_relative_gain,
              section="§4.3.3"),
        Claim("fig9_learned_filters_smoother", "Fig. 9",
              f"In every layer, a trained Full ConvMixer's filters put at least "
              f"{_pts(HF_EFFECT)} points less of their energy above half the Nyquist frequency "
              "than the random filters they started from.", _fig9_learned_filters_smoother,
              section="§4.2.2, §4.3.3"),
        Claim("coverage_predicts_accuracy", "Figs. 3, 7 (our test)",
              f"Across frozen filter banks, accuracy rises with the coverage of the bank's "
              f"spectral envelope (Spearman ρ at least {COVERAGE_RHO:g}).",
              _coverage_predicts_accuracy, section="§3.1"),
    ]
}  # fmt: skip


def evaluate(claim_id: str, *args: object, **kwargs: object) -> Verdict:
    """Run a claim's test on measurements and return its Verdict."""
    if claim_id not in CLAIMS:
        raise KeyError(f"unknown claim {claim_id!r}; known: {sorted(CLAIMS)}")
    verdict = CLAIMS[claim_id].test(*args, **kwargs)
    assert verdict.status in STATUSES
    return verdict
