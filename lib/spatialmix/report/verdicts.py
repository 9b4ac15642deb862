"""Verdicts as the chapters print them: computed only once every run they rest on is stored
(else they wait, NOT_EVALUATED), in one table per chapter and a one-line summary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..claims import CLAIMS, Verdict, evaluate
from ..text import table
from .measured import measured_text

if TYPE_CHECKING:
    from ..records import Record
    from ..results import RunConfig


NOT_EVALUATED = "not evaluated: missing runs"  # a verdict whose runs are not all in the store


def _absent(
    cfgs: Sequence[RunConfig],
    records: Sequence[Record | None],
    regimes: Iterable[str] | None = None,
    dataset: str | None = None,
) -> list[RunConfig]:
    regimes = None if regimes is None else set(regimes)
    return [c for c, r in zip(cfgs, records, strict=True) if r is None
            and (regimes is None or c.model.regime in regimes)
            and (dataset is None or c.dataset == dataset)]  # fmt: skip


def verdict(
    claim_id: str,
    data: object,
    cfgs: Sequence[RunConfig],
    records: Sequence[Record | None],
    regimes: Iterable[str] | None = None,
    dataset: str | None = None,
    **extra: object,
) -> Verdict:
    """claims.evaluate(claim_id, data, **extra), once every run the claim rests on is stored.

    The claim rests on the configs of `cfgs` in `regimes` (all if None) and on `dataset` (all if
    None). If any of their records is None, the verdict is NOT_EVALUATED with nothing measured:
    a claim tested on part of its runs (or crashing on a missing regime) would say nothing true.
    """
    if _absent(cfgs, records, regimes, dataset):
        return Verdict(claim_id, NOT_EVALUATED, {})
    return evaluate(claim_id, data, **extra)


def _parts(verdict: Verdict) -> list[Verdict]:
    """A verdict measured per part (depth, comparison) as one verdict per part, else none."""
    m = verdict.measured
    if m and all(isinstance(v, Mapping) and "status" in v for v in m.values()):
        return [Verdict(verdict.claim, v["status"], {k: v}) for k, v in m.items()]
    return []


def verdict_table(verdicts: Mapping[str, Verdict] | Iterable[tuple[str, Verdict]]) -> str:
    """Every verdict of a chapter as one table: label, figure, measured ± spread, verdict.

    verdicts: label -> Verdict, or (label, Verdict) pairs. A claim tested per depth or per
    comparison gets a row per part, then a row with its overall verdict.
    """
    pairs = list(verdicts.items() if isinstance(verdicts, Mapping) else verdicts)
    rows = []
    for label, v in pairs:
        figure, parts = CLAIMS[v.claim].figure, _parts(v)
        rows += [(label, figure, measured_text(p), p.status) for p in parts]
        measured = "overall" if parts else measured_text(v) if v.measured else "–"
        rows.append((label, figure, measured, v.status))
    return table(["", "figure", "measured (90 % interval over seeds)", "verdict"], rows)


def verdict_summary(verdicts: Mapping[str, Verdict]) -> str:
    """The verdicts in one Markdown line, for the chapter text: "label: **status**, ..."."""
    return ", ".join(f"{label}: **{v.status}**" for label, v in verdicts.items())
