"""What each claim's measurement says, in one line: the paired differences a verdict rests on,
with their 90 % interval over seeds (claims.py states the margins)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..claims import Verdict

if TYPE_CHECKING:
    pass


def _pts(x: float) -> str:
    return f"{x * 100:+.1f}"


def _sd(x: float) -> str:
    return f"{x * 100:.1f}"


def _ci(d: Mapping) -> str:
    """A paired difference in points with its 90 % interval: '+0.7 [-1.2, +2.6]'."""
    if not math.isfinite(d["lo"]):
        return f"{_pts(d['mean'])} [one seed: no interval]"
    return f"{_pts(d['mean'])} [{_pts(d['lo'])}, {_pts(d['hi'])}]"


def _fig1(m: Mapping) -> str:
    return "; ".join(
        f"{k}: {v['count_lo']} → {v['count_hi']} filters, coverage {_pts(v['gain'])} ± "
        f"{_sd(v['spread'])} points of the plane"
        for k, v in m.items()
    )


def _regimes(unit: str) -> Callable[[Mapping], str]:
    def fmt(m: Mapping) -> str:
        return "; ".join(f"{unit}{d}: full − chans {_ci(v['full_minus_chans'])}, chans − space "
                         f"{_ci(v['chans_minus_space'])} points" for d, v in m.items())  # fmt: skip

    return fmt


def _fig3_order(m: Mapping) -> str:
    return "; ".join(f"{k} {_ci(v['difference'])}" for k, v in m.items()) + " points"


def _fig3_same(m: Mapping) -> str:
    return f"Different − Same {_ci(m['difference'])} points"


def _fig4(m: Mapping) -> str:
    lo, hi = m["narrowest"], m["widest"]
    gaps = {int(w): g for w, g in m["gaps"].items()}
    return (f"full − chans at w={lo} {_ci(gaps[lo])}, at w={hi} {_ci(gaps[hi])}: closes by "
            f"{_ci(m['closing'])} points")  # fmt: skip


def _fig6(m: Mapping) -> str:
    text = f"chans − full {_ci(m['chans_minus_full'])} points"
    if "relative_chans_minus_full" in m:
        text += f" (as a share of clean accuracy: {_ci(m['relative_chans_minus_full'])} %)"
    return text


def _db(d: Mapping) -> str:
    """A paired difference in dB with its 90 % interval: '+0.70 [-1.20, +2.60] dB'."""
    if not math.isfinite(d["lo"]):
        return f"{d['mean']:+.2f} dB [one seed: no interval]"
    return f"{d['mean']:+.2f} [{d['lo']:+.2f}, {d['hi']:+.2f}] dB"


def _fig10_learns(m: Mapping) -> str:
    return (f"full {m['full']:.2f} dB, mean image {m['mean_image']:.2f} dB: full − mean image "
            f"{_db(m['gain'])}")  # fmt: skip


def _fig10_chans(m: Mapping) -> str:
    return "; ".join(f"{shape}: full − chans {_db(v['full_minus_chans'])}"
                     for shape, v in m.items())  # fmt: skip


def _fig10_grows(m: Mapping) -> str:
    return "; ".join(f"{label} {_db(v['gain'])}" if "gain" in v else label
                     for label, v in m.items())  # fmt: skip


def _fig10_params(m: Mapping) -> str:
    text = ", ".join(f"k {k}: {n:,}" for k, n in m["chans"].items())
    full = ", ".join(f"k {k}: {n:,}" for k, n in m.get("full", {}).items())
    return f"chans learns {text}" + (f" (full: {full})" if full else "") + " parameters"


def _fig7_robust(m: Mapping) -> str:
    return (f"σ {m['sigma']:g} against σ 0: robust accuracy {_ci(m['robust_gain'])} points, "
            f"clean accuracy lost {_ci(m['clean_drop'])} points")  # fmt: skip


def _fig7_gain(m: Mapping) -> str:
    if "why" in m:
        return str(m["why"])
    return f"best σ {m['sigma_best']:g} against σ 0: relative gain {_ci(m['relative_gain'])} %"


def _fig9(m: Mapping) -> str:
    return "; ".join(f"{layer}: random − learned {_ci(v['random_minus_learned'])} points of the "
                     "energy above half Nyquist" for layer, v in m.items())  # fmt: skip


def _coverage(m: Mapping) -> str:
    if "rho" not in m:
        return f"{m['banks']} banks: too few for a rank correlation"
    r = m["rho"]
    lo_hi = f"{r['lo']:+.2f}, {r['hi']:+.2f}" if math.isfinite(r["lo"]) else "one seed: no interval"
    return f"Spearman ρ {r['mean']:+.2f} [{lo_hi}] over {m['banks']} banks"


# claim id -> what its Verdict.measured says, in one line: each paired difference the claim
# rests on, in points, with its 90 % interval over seeds (claims.py states the margins)
FORMATS: dict[str, Callable[[Mapping], str]] = {
    "fig1_coverage_grows": _fig1,
    "fig2_chans_close_to_full": _regimes("n="),
    "fig3_bank_order": _fig3_order,
    "fig3_same_matches_different": _fig3_same,
    "fig5_chans_close_to_full": _regimes("depth "),
    "fig6_chans_more_robust": _fig6,
    "fig6_gap_gone_adversarial": _fig6,
    "fig10_full_learns": _fig10_learns,  # issue 15: chapter 07, in dB
    "fig10_chans_unshuffles": _fig10_chans,
    "fig10_psnr_grows": _fig10_grows,
    "fig10_chans_params_flat": _fig10_params,
    "fig4_gap_closes": _fig4,
    "fig7_smoothing_robust": _fig7_robust,  # issue 16
    "fig7_relative_gain": _fig7_gain,
    "fig9_learned_filters_smoother": _fig9,
    "coverage_predicts_accuracy": _coverage,
}


def measured_text(verdict: Verdict) -> str:
    """What a verdict's measurement says, in one line (e.g. "full − chans ... ± ... points")."""
    return FORMATS[verdict.claim](verdict.measured)
