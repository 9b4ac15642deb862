"""What the chapters print: tables of runs from results.frame, and every verdict as text.

Every figure prints the numbers it plots, since nbval compares text (text.table). Also what a
partial store means for a chapter: which runs are missing, the command that fills them, and
verdicts that wait for those runs instead of being computed from half the data.
"""

from __future__ import annotations

import json
import math
import shlex
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .claims import CLAIMS, Interval, Verdict, evaluate, mean_sd, paired
from .experiments import resnet
from .models import build_model
from .regimes import REGIMES, count_trainable
from .scales import compute_fraction, preset
from .text import table

if TYPE_CHECKING:
    from .records import Record
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


# --- verdicts as text: the scoreboard's lines and every chapter's verdict table ---------------


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


# --- tables of runs: select and group results.frame(...) -------------------------------------


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (keys stay hashable and JSON-ready)."""
    return value.item() if hasattr(value, "item") else value


def groups(
    df: pd.DataFrame, metric: str, by: Sequence[str], **where: object
) -> dict[object, list[float]]:
    """One metric's values per group, seeds in order: {values of `by`: [per seed]}.

    Keys are tuples of the `by` columns' values; a single column gives bare values, and no
    column the key () (every run in one group).

    df is results.frame(...); `where` selects rows by column value, e.g. eps_label="1/255".
    """
    rows = df[df["metric"] == metric]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    out: dict[object, list[float]] = {}
    for _, row in rows.sort_values([*by, "seed"], kind="stable").iterrows():
        key = tuple(_plain(row[c]) for c in by)
        out.setdefault(key[0] if len(by) == 1 else key, []).append(float(row["value"]))
    return out


def attack_groups(
    df: pd.DataFrame, eps_label: str, training: str = "", pgd_step: float | None = None
) -> dict[tuple[str, str, int], list[float]]:
    """Clean, FGSM and PGD accuracy at one radius by (condition, regime, depth n).

    Conditions are "clean", "FGSM" and e.g. "PGD-2", each followed by ", <training>" when given
    (e.g. "PGD-2, FGSM-trained"). Depths stay apart: they are never pooled as if seeds. Of the
    attack evaluations a run holds, the one with PGD steps of pgd_step·ε is used (default: the
    largest step stored, 1.0 = the paper's Eq. 4 where it exists).
    """
    steps = df["pgd_step"].dropna()
    if len(steps):
        df = df[df["pgd_step"] == (max(steps) if pgd_step is None else pgd_step)]
    suffix = f", {training}" if training else ""
    pgds = sorted({m for m in df["metric"].unique() if str(m).startswith("pgd")})
    names = {"attack_clean": "clean", "fgsm": "FGSM", **{p: p.upper().replace("PGD", "PGD-")
                                                           for p in pgds}}  # fmt: skip
    out = {}
    for metric, name in names.items():
        where = {} if metric == "attack_clean" else {"eps_label": eps_label}
        for (regime, n), values in groups(df, metric, ("regime", "depth"), **where).items():
            out[name + suffix, regime, n] = values
    return out


METRIC_LABELS = {"test_acc": "test accuracy", "test_psnr": "test PSNR (dB)"}


def mean_table(df: pd.DataFrame, metric: str, by: Sequence[str], percent: bool = True) -> str:
    """A table of one metric, mean ± sd (n) per group of `by` columns."""
    rows = [(*(k if len(by) > 1 else (k,)), mean_sd_text(v, percent=percent))
            for k, v in groups(df, metric, by).items()]  # fmt: skip
    return table([*by, f"{METRIC_LABELS.get(metric, metric)}{' %' if percent else ''}"], rows)


def run_costs(df: pd.DataFrame, by: Sequence[str]) -> str:
    """What the runs cost: per group, runs, test accuracy, train img/s and s per run, where."""
    acc, speed = groups(df, "test_acc", by), groups(df, "img_per_s", by)
    seconds = groups(df, "train_seconds", by)
    where = df.drop_duplicates("key").groupby(list(by))
    device = {_key(k, by): ", ".join(sorted(set(g["device"].astype(str)))) for k, g in where}
    threads = {_key(k, by): "/".join(sorted(set(g["threads"].astype(str)))) for k, g in where}
    rows = [(*(k if len(by) > 1 else (k,)), len(a), mean_sd_text(a, percent=True),
             f"{statistics.fmean(speed[k]):.0f}", f"{statistics.fmean(seconds[k]):.0f}",
             device[k], threads[k]) for k, a in acc.items()]  # fmt: skip
    head = [*by, "runs", "test accuracy %", "train img/s", "train s/run", "device", "threads"]
    return table(head, rows)


def _key(k: object, by: Sequence[str]) -> object:
    k = tuple(_plain(v) for v in (k if isinstance(k, tuple) else (k,)))
    return k if len(by) > 1 else k[0]


def scale_table(family: str, scale: str, dataset: str) -> str:
    """A scale's data sizes and recipe, and its share of the paper's training compute."""
    p, fraction = preset(family, scale), compute_fraction(family, scale, dataset)
    head = ["scale", "train images", "test images", "attacked", "epochs", "batch", "lr",
            "of paper compute"]  # fmt: skip
    row = (scale, p["n_train"] or "all", p["n_test"] or "all", p["n_attack"], p["epochs"],
           p["batch_size"], p["lr"], f"{fraction:.2%}")  # fmt: skip
    return table(head, [row])


def depth_table(acc: Mapping[tuple[str, str, int], Sequence[float]], data: Mapping) -> str:
    """Fig. 2's numbers: per dataset, depth n and regime, learned parameters and accuracy."""
    rows = []
    for (name, regime, n), accs in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][2])):
        d = data[name]
        model = build_model(resnet(regime, n, imagenet=name == "imagenet"), len(d.classes),
                            d.channels)  # fmt: skip
        learned = f"{count_trainable(model):,}"
        rows.append((name, n, 6 * n + 2, regime, learned, mean_sd_text(accs, percent=True)))
    return table(["dataset", "n", "layers", "regime", "learned params", "test accuracy %"], rows)


def spectra_table(df: pd.DataFrame) -> str:
    """Per regime and spatial layer (in depth order): coverage and high-frequency energy."""
    rows = []
    for regime in sorted(df["regime"].unique()):
        sel = df[df["regime"] == regime]
        cov = sel[sel["metric"] == "coverage"]["value"].tolist()
        hf = sel[sel["metric"] == "hf_fraction"]["value"].tolist()
        rows += [
            (regime, i + 1, f"{c:.3f}", f"{h:.3f}")
            for i, (c, h) in enumerate(zip(cov, hf, strict=True))
        ]
    return table(["regime", "layer", "coverage", "high-frequency energy"], rows)


def sample_size(df: pd.DataFrame, metric: str) -> int:
    """How many images a metric was measured on (the largest n among the runs; 0 if none)."""
    n = df.loc[df["metric"] == metric, "n"] if len(df) else []
    return int(max(n)) if len(n) else 0


def verdict_summary(verdicts: Mapping[str, Verdict]) -> str:
    """The verdicts in one Markdown line, for the chapter text: "label: **status**, ..."."""
    return ", ".join(f"{label}: **{v.status}**" for label, v in verdicts.items())


def curves(history: pd.DataFrame, metric: str = "test_acc") -> dict[str, dict[int, list[float]]]:
    """Training curves from results.history_frame: {regime: {epoch: [per seed, in order]}}."""
    out: dict[str, dict[int, list[float]]] = {}
    for (regime, epoch), values in groups(history, metric, ("regime", "epoch")).items():
        out.setdefault(regime, {})[int(epoch)] = values
    return out


def _gap(values: Mapping[str, Sequence[float]], x: str, y: str, scale: float = 100.0) -> str:
    """Mean of x minus mean of y, times scale ("–" if either is missing)."""
    if not {x, y} <= set(values):
        return "–"
    return f"{(statistics.fmean(values[x]) - statistics.fmean(values[y])) * scale:+.1f}"


def budget_table(
    base: pd.DataFrame, longer: pd.DataFrame, factor: int, metric: str = "test_acc"
) -> str:
    """The budget check: `metric` per regime at the recipe's epochs and at `factor` times them
    (the same seeds), and full − chans, chans − space at both budgets. Accuracy in %, gaps in
    points; test_psnr in dB."""
    at = {"1×": groups(base, metric, ("regime",)),
          f"{factor}×": groups(longer, metric, ("regime",))}  # fmt: skip
    percent = metric == "test_acc"
    name, unit = ("test accuracy", "points") if percent else (metric.replace("_", " "), "dB")
    digits, gap = (1, 100.0) if percent else (2, 1.0)
    rows = [(r, *(mean_sd_text(a[r], percent, digits) if r in a else "–" for a in at.values()))
            for r in REGIMES]  # fmt: skip
    rows += [
        (f"full − chans ({unit})", *(_gap(a, "full", "chans", gap) for a in at.values())),
        (f"chans − space ({unit})", *(_gap(a, "chans", "space", gap) for a in at.values())),
    ]
    return table(["", *(f"{name} at {k} the epochs" for k in at)], rows)


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
    acc[clean_of[condition], regime, n], once every run of runs_of[condition] is stored."""
    out = {}
    for cond, claim_id in claims.items():
        cfgs, records = runs_of[cond]
        for n in depths_of[cond]:
            robust = {r: acc[c, r, m] for (c, r, m) in acc if c == cond and m == n}
            clean = {r: acc[c, r, m] for (c, r, m) in acc if c == clean_of[cond] and m == n}
            out[f"{cond}, n = {n}"] = verdict(claim_id, robust, cfgs, records, pair, clean=clean)
    return out


# --- issue 16: which way full vs chans goes under attack, and what smoothing leaves (Fig. 8) ---


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


# --- issue 15: chapter 07's tables (un-shuffling, Figs. 10-11) --------------------------------


def curve_table(curves: Mapping[str, Mapping[int, Sequence[float]]], digits: int = 2) -> str:
    """A metric after every epoch per regime, mean ± sd (n), from curves(...) (e.g. test PSNR)."""
    regimes = [r for r in REGIMES if r in curves]
    epochs = sorted({e for r in regimes for e in curves[r]})
    rows = [(e, *(mean_sd_text(curves[r][e], digits=digits) if e in curves[r] else "–"
                  for r in regimes)) for e in epochs]  # fmt: skip
    return table(["epoch", *regimes], rows)


def shape_table(
    psnr: Mapping[str, Mapping[tuple[str, int, int, int], Sequence[float]]], digits: int = 2
) -> str:
    """Fig. 10's numbers: per data set and shape (depth, width, k), each regime's test PSNR
    mean ± sd (n); psnr[dataset][(regime, depth, width, k)] = per seed."""
    rows = []
    for name, by_key in psnr.items():
        for shape in sorted({tuple(key[1:]) for key in by_key}):
            cells = [mean_sd_text(by_key[(r, *shape)], digits=digits)
                     if (r, *shape) in by_key else "–" for r in REGIMES]  # fmt: skip
            rows.append((name, *shape, *cells))
    return table(["dataset", "depth", "width", "k", *(f"{r} PSNR (dB)" for r in REGIMES)], rows)
