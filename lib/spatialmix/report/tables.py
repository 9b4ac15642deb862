"""Tables of runs from results.frame: every figure prints the numbers it plots, since nbval
compares text (text.table)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ..claims import mean_sd, paired
from ..experiments import resnet
from ..models import build_model
from ..regimes import REGIMES, count_trainable
from ..scales import FULL_TRAIN, attack_steps, augment_for, compute_fraction, preset
from ..text import table

if TYPE_CHECKING:
    pass


def mean_sd_text(values: Sequence[float], percent: bool = False, digits: int = 1) -> str:
    """Format values as 'mean ± sd (n=N)', in % for fractions when percent is set; one value
    as 'value (n=1)' (a single run has no spread to show). A nonzero sd too small for `digits`
    reads '± <0.05' (at one digit), so it is not taken for a missing or zero spread."""
    m, sd, n = mean_sd(values)
    scale, half = (100 if percent else 1), 0.5 * 10**-digits
    shown = f"<{half:g}" if 0 < sd * scale < half else f"{sd * scale:.{digits}f}"
    spread = f" ± {shown}" if n > 1 else ""
    return f"{m * scale:.{digits}f}{spread} (n={n})"


def num(value: float | None, spec: str = ".1f", scale: float = 1.0) -> str:
    """Format value·scale with a format spec; "–" for no value (a verdict not evaluated)."""
    return "–" if value is None else format(value * scale, spec)


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


# Fig. 3's bars in the paper's order: full (random init, all learned), then chans per bank
BANK_ORDER = ("full", "random", "same", "box", "identity")


def bank_groups(df: pd.DataFrame) -> dict[str, list[float]]:
    """Fig. 3's test accuracies per seed, {"full" or the chans bank: [per seed]}, in the
    paper's order (BANK_ORDER); banks without runs are left out."""
    by_bank = groups(df, "test_acc", ("regime", "bank"))
    acc = {("full" if regime == "full" else bank): a for (regime, bank), a in by_bank.items()}
    return {b: acc[b] for b in BANK_ORDER if b in acc}


def bank_table(acc: Mapping[str, Sequence[float]], labels: Mapping[str, str]) -> str:
    """Fig. 3's numbers: bank (in `labels`' words), regime, test accuracy mean ± sd (n)."""
    rows = [(labels.get(b, b), "full" if b == "full" else "chans", mean_sd_text(a, True))
            for b, a in acc.items()]  # fmt: skip
    return table(["bank", "regime", "test accuracy %"], rows)


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


def _images(n_train: object) -> str:
    """A run's training images for a table: "all" (n_train 0) or the subset's size."""
    return "all" if not n_train else f"{int(n_train):,}"


def run_costs(df: pd.DataFrame, by: Sequence[str]) -> str:
    """What the runs cost: per group, runs, test accuracy, train img/s and s per run, where.
    Group by "n_train" too where runs of one configuration train on different subsets."""
    acc, speed = groups(df, "test_acc", by), groups(df, "img_per_s", by)
    seconds = groups(df, "train_seconds", by)
    where = df.drop_duplicates("key").groupby(list(by))
    device = {_key(k, by): ", ".join(sorted(set(g["device"].astype(str)))) for k, g in where}
    threads = {_key(k, by): "/".join(sorted(set(g["threads"].astype(str)))) for k, g in where}
    shown = [_images if c == "n_train" else str for c in by]  # n_train 0: every image
    rows = [(*(f(v) for f, v in zip(shown, k if len(by) > 1 else (k,), strict=True)), len(a),
             mean_sd_text(a, percent=True), f"{statistics.fmean(speed[k]):.0f}",
             f"{statistics.fmean(seconds[k]):.0f}", device[k], threads[k])
            for k, a in acc.items()]  # fmt: skip
    head = [*("train images" if c == "n_train" else c for c in by), "runs", "test accuracy %",
            "train img/s", "train s/run", "device", "threads"]  # fmt: skip
    return table(head, rows)


def compute_text(df: pd.DataFrame, cores: int = 2) -> str:
    """What training the runs in df took, in core-hours and in hours on `cores` cores.

    A run's core-hours are its train_seconds × the threads it ran with (the frame's core_seconds,
    from provenance.core_seconds, as `queue plan` counts them): two 1-thread runs side by side
    on 2 cores take the wall time of one, so a plain sum of train_seconds would count that time
    twice. Hours on `cores` cores = core-hours / cores, the wall time of a queue that keeps
    every core busy.
    """
    runs = df[df["metric"] == "core_seconds"].drop_duplicates("key")
    if runs.empty:
        return "no stored run records its training time"
    core_hours = runs["value"].sum() / 3600
    where = "; ".join(
        f"{cpu} ({isa}): " + ", ".join(
            f"{n} run{'s' * (n != 1)} at {t} thread{'s' * (t != 1)}"
            for t, n in g["threads"].fillna(1).astype(int).value_counts().sort_index().items())
        for (cpu, isa), g in runs.groupby(["cpu", "isa"]))  # fmt: skip
    n = len(runs)
    text = (f"{n} run{'s' * (n != 1)} trained for {core_hours:.1f} core-hours (training time × "
            f"threads; {where}), {core_hours / cores:.1f} h on {cores} cores")  # fmt: skip
    return text + _contention_text(runs)


# a run "shared its cores" when the mean 1-minute load exceeded them by more than this: our
# choice of tolerance for a shell, a log, an editor beside the training processes
SHARED_LOAD_MARGIN = 0.5


def _contention_text(runs: pd.DataFrame) -> str:
    """Which runs shared their cores: mean load (train.load_average) above the machine's cores
    by more than SHARED_LOAD_MARGIN. Nothing where no run recorded its load (records before
    2026-11-30)."""
    if "load_mean" not in runs or runs["load_mean"].isna().all():
        return ""
    known = runs.dropna(subset=["load_mean", "cores"])
    shared = int((known["load_mean"] > known["cores"] + SHARED_LOAD_MARGIN).sum())
    return (
        f"; {shared} of the {len(known)} runs that recorded the machine's load trained while "
        f"it exceeded the cores by more than {SHARED_LOAD_MARGIN:g} (mean 1-minute load "
        "average; their times include waiting for a core)"
    )


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


AUGMENT_WORDS = {"crop": "random crop (pad 4)", "flip": "horizontal flip",
                 "randaugment": "RandAugment", "none": "no augmentation"}  # fmt: skip
OPTIMIZER_WORDS = {"sgd": "SGD", "adamw": "AdamW"}
SCHEDULE_WORDS = {
    "cosine": "a warm-up over {w:.0%} of the steps, then cosine decay",
    "onecycle": "a one-cycle schedule (rising over {w:.0%} of the steps)",
}
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decimal(x: float) -> str:
    """0.01 -> "0.01", 5e-4 -> "5·10⁻⁴" (below 10⁻³ in powers of ten)."""
    if x == 0 or x >= 1e-3:
        return f"{x:g}"
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}·10{str(int(exponent)).translate(SUPERSCRIPT)}"


def recipe_text(family: str, scale: str, dataset: str, also: Sequence[str] = ()) -> str:
    """The training recipe of a model family at a scale, in words, from its preset (what the
    runs of a chapter share): "SGD with Nesterov momentum 0.9, weight decay 5·10⁻⁴, batch 256,
    peak learning rate 0.2 with a one-cycle schedule (...), label smoothing 0.1, 20 epochs
    (fashion_mnist: 8); random crop (pad 4), horizontal flip". `also`: other datasets the
    chapter trains on, named where their epochs differ."""
    p = preset(family, scale, dataset)
    epochs = {n: preset(family, scale, n)["epochs"] for n in also if n != dataset}
    differ = ", ".join(f"{n}: {e}" for n, e in epochs.items() if e != p["epochs"])
    optimizer = OPTIMIZER_WORDS.get(p["optimizer"], p["optimizer"])
    if p["optimizer"] == "sgd" and p["momentum"]:
        optimizer += f" with {'Nesterov ' * bool(p['nesterov'])}momentum {p['momentum']:g}"
    schedule = SCHEDULE_WORDS.get(p["schedule"], p["schedule"]).format(w=p["warmup"])
    smoothing = f", label smoothing {p['label_smoothing']:g}" if p["label_smoothing"] else ""
    augment = ", ".join(AUGMENT_WORDS[a] for a in augment_for(family, scale, dataset).split("_"))
    return (f"{optimizer}, weight decay {_decimal(p['weight_decay'])}, batch {p['batch_size']}, "
            f"peak learning rate {p['lr']:g} with {schedule}{smoothing}, {p['epochs']} epochs"
            f"{f' ({differ})' if differ else ''}; {augment}")  # fmt: skip


def distance_text(family: str, scale: str, dataset: str, source: str = "") -> str:
    """How far a scale's runs are from the paper's, in words, from the presets: "at the
    `converged` scale each run trains on all 50,000 training images of cifar10 (JPEG q75 copy)
    for 20 epochs, where a paper-scale run trains on all 50,000 for 160: 12.5% of its image
    passes". `source`: where the data came from (a lossy copy is named)."""
    mine, paper = preset(family, scale, dataset), preset(family, "paper", dataset)
    full = FULL_TRAIN[dataset]
    n, n_paper = mine["n_train"] or full, paper["n_train"] or full

    def images(count: int) -> str:
        return f"all {count:,}" if count >= full else f"{count:,} of the {full:,}"

    epochs = f"{mine['epochs']} epoch{'s' * (mine['epochs'] != 1)}"
    told = f"each run trains on {images(n)} training images of {source or dataset} for {epochs}"
    if scale == "paper":
        return f"at the paper scale {told}, the paper's budget"
    fraction = compute_fraction(family, scale, dataset)
    return (f"at the `{scale}` scale {told}, where a paper-scale run trains on {images(n_paper)} "
            f"for {paper['epochs']}: {100 * fraction:.3g}% of its image passes")  # fmt: skip


def attack_text(family: str, scale: str, dataset: str) -> str:
    """The attacks a scale's runs are measured under, in words, from the presets: "FGSM and PGD-2
    at ε ∈ {1, 2, 4}/255 on 2,000 stratified test images, PGD in steps of α = ε, each projected
    back onto the ε-ball (the paper's Eq. 4 iterated), and of α = ε/2 as a variant"."""
    s = preset(family, scale, dataset)
    eps = ", ".join(f"{e * 255:.3g}" for e in s["attack_eps"])
    images = f"{s['n_attack']:,} stratified" if s["n_attack"] else "all the"

    def alpha(step: float) -> str:
        return "α = ε" if step == 1 else f"α = ε/{1 / step:g}" if step < 1 else f"α = {step:g}ε"

    main, *variants = attack_steps(s)
    why = "the paper's Eq. 4 iterated" if main == 1 else "our choice; Eq. 4 steps by ε"
    text = (f"FGSM and PGD-{s['pgd_steps']} at ε ∈ {{{eps}}}/255 on {images} test images, PGD "
            f"in steps of {alpha(main)}, each projected back onto the ε-ball ({why})")  # fmt: skip
    if variants:
        text += f", and of {' and '.join(map(alpha, variants))} as a variant"
    return text


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
    name, unit = METRIC_LABELS.get(metric, metric), "points" if percent else "dB"
    digits, gap = (1, 100.0) if percent else (2, 1.0)
    rows = [(r, *(mean_sd_text(a[r], percent, digits) if r in a else "–" for a in at.values()))
            for r in REGIMES]  # fmt: skip
    rows += [
        (f"full − chans ({unit})", *(_gap(a, "full", "chans", gap) for a in at.values())),
        (f"chans − space ({unit})", *(_gap(a, "chans", "space", gap) for a in at.values())),
    ]
    return table(["", *(f"{name} at {k} the epochs" for k in at)], rows)


def budget_text(
    base: pd.DataFrame, longer: pd.DataFrame, factor: int, metric: str = "test_acc",
    still_learning: float | None = None,
) -> str:  # fmt: skip
    """The budget check in one sentence: what `factor` times the epochs changed, per regime
    and in the gaps between regimes (means over the seeds both budgets share, n stated).

    still_learning: the smallest gain (in the metric's units: a fraction, or dB) read as
    "training had not finished"; with it the sentence ends in what the gains say against it.
    """
    at = [groups(frame, metric, ("regime",)) for frame in (base, longer)]
    regimes = [r for r in REGIMES if r in at[0] and r in at[1]]
    if not regimes:
        return "The budget check has no regime at both budgets yet."
    percent = metric == "test_acc"
    scale, unit, digits = (100.0, " points", 1) if percent else (1.0, " dB", 2)
    mean = {r: [statistics.fmean(a[r]) for a in at] for r in regimes}
    gains = {r: mean[r][1] - mean[r][0] for r in regimes}
    n = min(min(len(a[r]) for a in at) for r in regimes)
    changes = ", ".join(f"{r} by {gains[r] * scale:+.{digits}f}{unit}" for r in regimes)
    text = f"{factor}× the epochs changed {changes} (n = {n})"
    pairs = [(x, y) for x, y in (("full", "chans"), ("chans", "space")) if {x, y} <= set(mean)]
    text += "".join(
        f"; {x} − {y} went from {(mean[x][0] - mean[y][0]) * scale:+.{digits}f} to "
        f"{(mean[x][1] - mean[y][1]) * scale:+.{digits}f}{unit}" for x, y in pairs)  # fmt: skip
    if still_learning is None:
        return text + "."
    bar = f"{still_learning * scale:g}{unit}"
    rising = [r for r in regimes if gains[r] >= still_learning]
    if len(rising) == len(regimes):
        done = "training had not finished"
        return text + f". Every regime at both budgets gained at least {bar}: {done}."
    if not rising:
        return text + f". No regime gained {bar}: the curves had flattened."
    return text + f". {', '.join(rising)} gained at least {bar} (still learning), the rest less."


def paired_gap_text(
    a: Sequence[float], b: Sequence[float], label: str, unit: str = " dB", scale: float = 1.0
) -> str:
    """'label: +1.65 dB [90 % interval] (n = 2)' for a − b paired seed by seed."""
    gap = paired(a, b)
    spread = "" if gap.n < 2 else f" [{gap.lo * scale:+.2f}, {gap.hi * scale:+.2f}]"
    return f"{label}: {gap.mean * scale:+.2f}{unit}{spread} (n = {gap.n})"


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
