"""Verdicts as the chapters print them: computed only once every run they rest on is stored
(else they wait, NOT_EVALUATED), in one table per chapter and a one-line summary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ..claims import CLAIMS, Verdict, evaluate
from ..text import table
from .measured import measured_text
from .tables import groups, mean_sd_text

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


def findings_text(verdicts: Mapping[str, Verdict] | Iterable[tuple[str, Verdict]]) -> str:
    """What the verdicts say, claim by claim, as Markdown bullets for the chapter's text: the
    claim's statement, then where it was reproduced, not reproduced, inconclusive or not yet
    evaluated ("- A Full un-shuffler ... — **reproduced** for *mnist, central model* and
    *fashion_mnist, central model*; **not reproduced** for *cifar10, central model*")."""
    by_claim: dict[str, dict[str, list[str]]] = {}
    for label, v in verdicts.items() if isinstance(verdicts, Mapping) else verdicts:
        by_claim.setdefault(v.claim, {}).setdefault(v.status, []).append(label)
    lines = []
    for claim, by_status in by_claim.items():
        where = "; ".join(f"**{status}** for {_listed(labels)}"
                          for status, labels in by_status.items())  # fmt: skip
        # a dash, not a colon: statements hold colons of their own
        lines.append(f"- {CLAIMS[claim].statement.rstrip('.')} — {where}.")
    return "\n".join(lines)


def _listed(labels: list[str]) -> str:
    """Labels in italics, "*a*", "*a* and *b*", "*a*, *b* and *c*" (labels may hold commas)."""
    words = [f"*{label}*" for label in labels]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def patch_check(
    cfgs: Sequence[RunConfig], records: Sequence[Record | None], grid: pd.DataFrame
) -> tuple[str, list[tuple[str, Verdict]]]:
    """Chapter 05's p check (experiments.patch_check_runs): a table of test accuracy by training
    images, p and regime, with the grid's runs of the same depth on all the data beside the
    subset's (what the subset costs); and Fig. 5's verdict at each p on the subset (does p change
    it?). grid: results.frame of Fig. 5's runs."""
    from ..results import frame  # results imports report's users; import late

    if not cfgs:
        return "", []
    depth = cfgs[0].model.depth
    check = frame(r for r in records if r is not None)
    both = pd.concat([grid[(grid["depth"] == depth) & (grid["metric"] == "test_acc")],
                      check[check["metric"] == "test_acc"] if len(check) else check])  # fmt: skip
    rows = [(f"{n_train:,}" if n_train else "all", p, r, mean_sd_text(v, percent=True))
            for (n_train, p, r), v in groups(both, "test_acc", ("n_train", "patch_size",
                                                                "regime")).items()]  # fmt: skip
    text = table(["training images", "p", "regime", f"test accuracy % (depth {depth})"], rows)
    verdicts = []
    n_train = cfgs[0].overrides.get("n_train")
    for p in sorted({c.model.patch_size for c in cfgs}):
        at_p = [c.model.patch_size == p for c in cfgs]
        cfgs_p = [c for c, keep in zip(cfgs, at_p, strict=True) if keep]
        records_p = [r for r, keep in zip(records, at_p, strict=True) if keep]
        acc = groups(frame(r for r in records_p if r), "test_acc", ("regime", "depth"))
        label = f"p {p}, {f'{n_train:,}' if n_train else 'all'} images"
        verdicts.append((label, verdict("fig5_chans_close_to_full", acc, cfgs_p, records_p)))
    return text, verdicts
