"""Fig. 6 in words and numbers: robustness verdicts per condition and depth, the paired gaps
between regimes under attack, and what smoothing does to the filters' high frequencies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ..claims import Interval, Verdict, paired
from ..text import table
from .measured import _ci, _pts
from .missing import _compact
from .tables import mean_sd_text
from .verdicts import verdict

if TYPE_CHECKING:
    from ..records import Record
    from ..results import RunConfig


def robustness_verdicts(
    acc: Mapping[tuple[str, str, int], Sequence[float]],
    claims: Mapping[str, str],
    depths_of: Mapping[str, Sequence[int]],
    runs_of: Mapping[str, tuple[Sequence[RunConfig], Sequence[Record | None]]],
    clean_of: Mapping[str, str],
    pair: tuple[str, str] = ("full", "chans"),
) -> dict[str, Verdict]:
    """Fig. 6's verdicts, one per condition and depth: claims[condition] tested on the attacked
    accuracies acc[condition, regime, n] of the pair of regimes, with their clean accuracies
    acc[clean_of[condition], regime, n], once every run of runs_of[condition] at depth n is
    stored (a depth whose runs are all in gets its verdict while another still trains)."""
    out = {}
    for cond, claim_id in claims.items():
        cfgs, records = runs_of[cond]
        for n in depths_of[cond]:
            at_n = [(c, r) for c, r in zip(cfgs, records, strict=True) if c.model.depth == n]
            cfgs_n, records_n = [c for c, _ in at_n], [r for _, r in at_n]
            robust = {r: acc[c, r, m] for (c, r, m) in acc if c == cond and m == n}
            clean = {r: acc[c, r, m] for (c, r, m) in acc if c == clean_of[cond] and m == n}
            out[f"{cond}, n = {n}"] = verdict(claim_id, robust, cfgs_n, records_n, pair,
                                              clean=clean)  # fmt: skip
    return out


def robust_gaps(
    acc: Mapping[tuple[str, str, int], Sequence[float]],
    condition: str,
    clean: str,
    pair: tuple[str, str] = ("full", "chans"),
) -> dict[int, dict[str, Interval]]:
    """Per depth where both regimes are stored: second − first under `condition`, in accuracy
    ("points") and as a share of each run's clean accuracy acc[clean, regime, n] ("share"), each
    a paired Interval over seeds (acc as from attack_groups)."""
    a, b = pair
    out = {}
    for n in sorted({m for c, r, m in acc if c == condition and r == a}):
        keys = [(condition, a, n), (condition, b, n), (clean, a, n), (clean, b, n)]
        if not all(k in acc for k in keys) or len({len(acc[k]) for k in keys}) > 1:
            continue
        share = {r: [x / c for x, c in zip(acc[condition, r, n], acc[clean, r, n], strict=True)]
                 for r in pair}  # fmt: skip
        out[n] = {"points": paired(acc[condition, b, n], acc[condition, a, n]),
                  "share": paired(share[b], share[a])}  # fmt: skip
    return out


def robust_gap_table(
    acc: Mapping[tuple[str, str, int], Sequence[float]],
    conditions: Mapping[str, str],
    pair: tuple[str, str] = ("full", "chans"),
) -> str:
    """Per attack and depth: both regimes' accuracy, mean ± sd (n), and second − first in points
    and as a share of clean accuracy, each with its 90 % interval. conditions: attack -> clean."""
    a, b = pair
    rows = []
    for cond, clean in conditions.items():
        for n, gap in robust_gaps(acc, cond, clean, pair).items():
            rows.append((cond, n, mean_sd_text(acc[cond, a, n], True),
                         mean_sd_text(acc[cond, b, n], True), _ci(gap["points"].as_dict()),
                         _ci(gap["share"].as_dict())))  # fmt: skip
    head = ["attack", "depth", f"{a} %", f"{b} %", f"{b} − {a} (points)", "as a share of clean (%)"]
    return table(head, rows)


def _depths(depths: Sequence[int]) -> str:
    return f"depth{'s' if len(depths) > 1 else ''} {_compact(depths)}" if depths else "no depth"


def _direction(gaps: Mapping[int, Interval], a: str, b: str, what: str, unit: str) -> str:
    more = [n for n, g in gaps.items() if g.mean > 0]
    less = [n for n, g in gaps.items() if g.mean < 0]
    if len(less) == len(gaps):
        head = f"{b} keeps less {what} than {a} at every depth"
    elif len(more) == len(gaps):
        head = f"{b} keeps more {what} than {a} at every depth"
    else:
        head = f"{b} keeps more {what} than {a} at {_depths(more)} and less at {_depths(less)}"
    means = [g.mean for g in gaps.values()]
    clear = sum(g.lo > 0 or g.hi < 0 for g in gaps.values())
    return (f"{head} ({b} − {a} from {_pts(min(means))} to {_pts(max(means))} {unit}; the 90 % "
            f"interval excludes zero at {clear} of {len(gaps)} depths)")  # fmt: skip


def robust_gap_text(
    acc: Mapping[tuple[str, str, int], Sequence[float]],
    condition: str,
    clean: str,
    pair: tuple[str, str] = ("full", "chans"),
) -> str:
    """Which regime of the pair keeps more accuracy under `condition`, as a sentence, from the
    means and the paired intervals of robust_gaps: in accuracy, then as a share of clean."""
    gaps = robust_gaps(acc, condition, clean, pair)
    if not gaps:
        return f"No depth has stored runs of both {pair[0]} and {pair[1]} under {condition}."
    a, b = pair
    points = _direction({n: g["points"] for n, g in gaps.items()}, a, b, "accuracy", "points")
    share = _direction({n: g["share"] for n, g in gaps.items()}, a, b,
                       "of its clean accuracy", "% of clean")  # fmt: skip
    return f"Under {condition}, {points}; as a share of clean accuracy, {share}."


def smoothing_text(df: pd.DataFrame) -> str:
    """What the strongest smoothing leaves of a bank, as a sentence (df: smoothing_table)."""
    df = df.sort_values("sigma")
    first, last = df.iloc[0], df.iloc[-1]
    falls = bool((df["hf_fraction"].diff().dropna() < 0).all())
    return (f"At σ = {last.sigma:g}, {last.hf_fraction:.1%} of the bank's energy lies above half "
            f"the Nyquist frequency, against {first.hf_fraction:.1%} at σ = {first.sigma:g} "
            f"({'falling' if falls else 'not falling'} at every step of σ); the envelope's "
            f"coverage goes from {first.coverage:.2f} to {last.coverage:.2f}.")  # fmt: skip
