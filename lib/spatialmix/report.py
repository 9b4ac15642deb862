"""Plain-text tables: every figure prints the numbers it plots, since nbval compares text.

Also what a partial store means for a chapter: which runs are missing, the command that fills
them, and verdicts that wait for those runs instead of being computed from half the data.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from .claims import Verdict, evaluate, mean_sd
from .regimes import REGIMES

if TYPE_CHECKING:
    from .results import RunConfig

NOT_EVALUATED = "not evaluated: missing runs"  # a verdict whose runs are not all in the store
FILL_EXCLUDED = ("freeze", "scale")  # the fill command sets these itself


def mean_sd_text(values: Sequence[float], percent: bool = False, digits: int = 1) -> str:
    """Format values as 'mean ± sd (n=N)', in % for fractions when percent is set."""
    m, sd, n = mean_sd(values)
    scale = 100 if percent else 1
    return f"{m * scale:.{digits}f} ± {sd * scale:.{digits}f} (n={n})"


def num(value: float | None, spec: str = ".1f", scale: float = 1.0) -> str:
    """Format value·scale with a format spec; "–" for no value (a verdict not evaluated)."""
    return "–" if value is None else format(value * scale, spec)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Format rows as a fixed-width text table with a rule under the header."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _absent(
    cfgs: Sequence[RunConfig],
    records: Sequence[dict | None],
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
    records: Sequence[dict | None],
    regimes: Iterable[str] | None = None,
    dataset: str | None = None,
) -> Verdict:
    """claims.evaluate(claim_id, data), once every run the claim rests on is in the store.

    The claim rests on the configs of `cfgs` in `regimes` (all if None) and on `dataset` (all if
    None). If any of their records is None, the verdict is NOT_EVALUATED with nothing measured:
    a claim tested on part of its runs (or crashing on a missing regime) would say nothing true.
    """
    if _absent(cfgs, records, regimes, dataset):
        return Verdict(claim_id, NOT_EVALUATED, {})
    return evaluate(claim_id, data)


def _compact(values: Iterable[object]) -> str:
    """Sorted values, 3 or more consecutive integers as a range: [0, 1, 2, 5] -> '0–2, 5'."""
    values = set(values)
    runs: list[list] = []
    for v in sorted(values) if _all_int(values) else sorted(values, key=str):
        if runs and isinstance(v, int) and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def _all_int(values: Iterable[object]) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


# how a run differs from the others of a list: (label, value), in this order
_FIELDS = (
    ("", lambda c: c.dataset),
    ("depth", lambda c: c.model.depth),
    ("width", lambda c: c.model.width),
    ("kernel", lambda c: c.model.kernel_size),
    ("bank", lambda c: c.model.bank),
    ("seed", lambda c: c.seed),
)


def _describe(missing: Sequence[RunConfig], cfgs: Sequence[RunConfig]) -> str:
    """The missing runs of one regime in a few words: the dataset(s) and every field that varies."""
    parts = []
    for label, get in _FIELDS:
        if label and len({get(c) for c in cfgs}) < 2:
            continue
        values = {get(c) for c in missing}
        name = f"{label}{'s' if len(values) > 1 else ''} " if label else ""
        parts.append(name + _compact(values))
    return "; ".join(parts)


def injected_parameters() -> dict[str, object]:
    """The parameters papermill passed to this kernel, by name (empty outside papermill)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    if shell is None:
        return {}
    from .chapters import injected_names

    _, injected = injected_names(list(shell.user_ns.get("In", [])))
    return {n: shell.user_ns[n] for n in sorted(injected) if n in shell.user_ns}


def fill_command(
    chapter: str, freeze: str, scale: str, params: Mapping[str, object] | None = None
) -> str:
    """The papermill command that trains a chapter's missing runs of one regime (or "all").

    params: the chapter's other parameters to pass on (as YAML with -y); default: the ones
    papermill gave this kernel, so the command fills exactly the runs this execution asked for.
    """
    params = injected_parameters() if params is None else params
    extra = {k: v for k, v in params.items() if k not in FILL_EXCLUDED}
    cmd = f"papermill book/{chapter}.ipynb out.ipynb -p freeze {freeze} -p scale {scale}"
    return cmd + (f" -y {shlex.quote(json.dumps(extra, default=str))}" if extra else "")


def missing_runs(
    cfgs: Sequence[RunConfig],
    records: Sequence[dict | None],
    chapter: str,
    scale: str,
    label: str = "",
    params: Mapping[str, object] | None = None,
) -> str:
    """Say which runs of `cfgs` the store lacks (records[i] is None) and the command that fills
    them; one line when none is missing. chapter: "04_resnet"; label: e.g. "Fig. 2"."""
    cfgs, records = list(cfgs), list(records)
    head = f"{label}: " if label else ""
    missing = _absent(cfgs, records)
    if not missing:
        return f"{head}all {len(cfgs)} runs are in the store"
    by_regime = {r: [c for c in missing if c.model.regime == r] for r in REGIMES}
    by_regime = {r: m for r, m in by_regime.items() if m}
    lines = [f"{head}{len(missing)} of {len(cfgs)} runs are not in the store (left out of what "
             "follows):"]  # fmt: skip
    lines += [f"  {r}: {len(m)} run{'s' if len(m) > 1 else ''} ({_describe(m, cfgs)})"
              for r, m in by_regime.items()]  # fmt: skip
    freezes = ["all"] if set(by_regime) == set(REGIMES) else list(by_regime)
    lines.append("to train them, run from the repository root (stored runs are not trained again):")
    lines += [f"  {fill_command(chapter, f, scale, params)}" for f in freezes]
    return "\n".join(lines)


def custom_shape_note(cfgs: Sequence[RunConfig]) -> str:
    """Say which paper-scale runs have a model shape other than the paper's, so are "custom"."""
    changed = {tuple(c.shape_changes().items()) for c in cfgs if c.scale == "paper"} - {()}
    if not changed:
        return ""
    fields = ", ".join(f"{k}={given} (the paper's: {paper})"
                       for k, (given, paper) in sorted(set().union(*changed)))  # fmt: skip
    return (
        f"scale 'paper' with {fields}: these runs are stored as scale 'custom', never as "
        "'paper'; pass the paper's values to reproduce its runs"
    )
