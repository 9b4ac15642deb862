"""What a partial store means for a chapter: which runs are missing, and the command that
fills them."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..regimes import REGIMES
from .verdicts import _absent

if TYPE_CHECKING:
    from ..records import Record
    from ..results import RunConfig


FILL_EXCLUDED = ("freeze", "scale")  # the fill command sets these itself


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
    from ..chapters import injected_names

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
    records: Sequence[Record | None],
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


def queue_progress(
    cfgs: Sequence[RunConfig], records: Sequence[Record | None], grid: str, label: str
) -> str:
    """How far a background queue's grid has come for one figure: the runs of `cfgs` the store
    holds, what is still to come per regime, and the queue command that trains them (a chapter
    committed at another scale shows the grid so far; it trains none of it)."""
    cfgs, records = list(cfgs), list(records)
    missing = _absent(cfgs, records)
    if not missing:
        return f"{label}: all {len(cfgs)} runs of the `{grid}` grid are stored"
    lines = [f"{label}: {len(cfgs) - len(missing)} of {len(cfgs)} runs of the `{grid}` grid "
             "stored so far (the rest left out of what follows); still to come:"]  # fmt: skip
    lines += [f"  {r}: {len(m)} run{'s' if len(m) > 1 else ''} ({_describe(m, cfgs)})"
              for r in REGIMES if (m := [c for c in missing if c.model.regime == r])]  # fmt: skip
    queue = "python -m spatialmix.queue"
    lines.append(f"the background queue trains them: {queue} run {grid} --commit "
                 f"(`{queue} plan {grid}` lists every run)")  # fmt: skip
    return "\n".join(lines)
