"""A background queue: train a grid's missing runs one by one, committing each record as it lands.

    python -m spatialmix.queue plan converged            # every run, stored or not; hours spent
    python -m spatialmix.queue run converged --commit    # train what is missing, in grid order
    python -m spatialmix.queue run 04:quick --shard 0/2  # chapter 04's runs at a scale, half
    python -m spatialmix.queue run 07:converged --workers 2 --commit  # 2 processes, 1 core each
    python -m spatialmix.queue run converged --match w=32 --match "seed 0"  # those runs alone
    python -m spatialmix.queue merge OTHER_STORE ...     # join stores trained apart into this one

A grid is a named one (experiments.GRIDS) or "NN:scale": chapter NN's runs at its committed
parameters and that scale, with experiments.scale_parameters over them (the paper's shapes at
"paper"; at "converged", the values that make chapters 04-06 ask for exactly the two converged
grids, which `plan NN:converged` prints as papermill flags). --shard i/n trains every n-th run
of the grid from the i-th, so machines or GPUs can share a grid against one store (a per-record
lock keeps two from training the same run) or against separate stores that `merge` joins
afterwards.

--workers n starts n processes on this machine against one store, the cores shared among them
(SPATIALMIX_THREADS, else every core, divided by n); each claims the next missing run nobody
else holds (store.claim), so the grid's order is kept and no run is trained twice, and commits
one at a time. Small models use 2 cores poorly: on 2 cores (Intel Xeon, AVX-512, batch as the
recipes, training steps of synthetic data, nothing else running) two 1-thread processes together
trained 1.25× the images per second of one 2-thread process for the un-shuffler-32/8 (k 9,
28×28) and sep-ResNet n 1, 1.15× for n 3, and 1.0× for ConvMixer-128/8 (k 8, p 2).

Run it from a `git worktree` pinned at a commit, so edits elsewhere never make its records
"+dirty": it refuses a tree whose lib/ has changes. With --commit, each finished record is
committed at once in the git repository that holds the store (nothing else is staged), so a
stopped queue loses at most the run in progress, and started again it skips what is stored.
--hours stops it from starting a new run after that long, and passes over a run estimated
(from its stored twins or its FLOPs, `plan`'s estimates) to outlast that time, for shorter
ones: on a machine lent for a session, a run cut off at its end is lost. The estimates are
in the time of the kind of machine with the most stored runs; other kinds' runs count at their
pace against it, measured on the twins trained on both (machine_paces; `plan` states the grid
on each kind). A queue starts at its own kind's pace where that is known, and each run that
lands rescales the estimates to the pace it measures (Pace): contention counts too. The grids
are experiments.GRIDS, in priority order. Set the threads as for any run
(SPATIALMIX_THREADS; default: all cores).

On several GPUs of one machine, train each run data-parallel (distributed.py) instead:

    torchrun --standalone --nproc_per_node 8 -m spatialmix.queue run 04:paper

Every rank walks rank 0's plan; rank 0 alone prints, writes and commits. The global batch stays
the recipe's, so it must divide by the number of processes.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from . import distributed
from . import experiments as ex
from .chapters import chapter_parameters, chapter_path, parameters
from .experiments import GRIDS
from .provenance import core_seconds as run_core_seconds
from .provenance import cpu_name, git_commit, instruction_set, isa_text, set_threads
from .records import Record
from .results import RunConfig, lookup, merge_store, record_path, run, store_dir
from .store import claim, read_json, serialised


def chapter_grid(
    chapter: str, scale: str, available_only: bool = True, **changes: object
) -> list[RunConfig]:
    """Every run chapter 04, 05, 06 or 07 asks for at its committed parameters and a scale.

    available_only: chapter 04's Fig. 2 panels only where this machine has the data, as the
    chapter itself does; else every panel it names. changes: parameters passed with -p.
    """
    p = {**parameters(chapter), **changes}
    if chapter == "04":
        panels = list(dict.fromkeys([p["dataset"], *p["panels"]]))
        if available_only:
            panels = list(ex.load_available(panels)[0])
        factor = ex.budget_factor(scale)  # the deepest Fig. 2 point at `factor`× the epochs
        longer = ex.budget_check_runs(scale, max(p["depths"]), p["dataset"], p["seeds"][:1],
                                      factor) if factor else []  # fmt: skip
        return [*ex.fig2_runs(ex.REGIMES3, p["depths"], panels, p["seeds"], scale),
                *longer,
                *ex.fig3_runs(p["banks"], p["bank_depth"], p["dataset"], p["seeds"], scale),
                *ex.fig4_runs(("full", "chans"), p["widths"], p["width_depth"], p["dataset"],
                              p["seeds"], scale, ex.fig4_overrides(scale))]  # fmt: skip
    if chapter == "05":
        shape = (p["width"], p["kernel_size"], p["patch_size"])
        return [*ex.mixer_runs(ex.REGIMES3, p["depths"], p["dataset"], p["seeds"], scale, *shape),
                *ex.mixer_budget_runs(scale, max(p["depths"]), p["dataset"], p["seeds"][:1],
                                      *shape),
                *ex.patch_check_runs(scale, p["dataset"], p["seeds"], *shape)]  # fmt: skip
    if chapter == "06":
        eps = p["eps_255"] / 255
        p04, p05 = chapter_parameters("04", scale), chapter_parameters("05", scale)
        shape = {k: p05[k] for k in ("width", "kernel_size", "patch_size")}
        sm_depth = ex.smoothing_depth(p05["depths"])  # Fig. 7's, as the chapter
        return [
            *ex.fig2_runs(ex.REGIMES3, p["depths"], [p["dataset"]], p["seeds"], scale),
            *ex.adversarial_runs(
                p["adv_regimes"], p["adv_depths"], p["dataset"], p["seeds"], scale, eps
            ),  # as the chapter: FGSM training's own regimes
            *ex.smoothing_runs(p["sigmas"], sm_depth, p["dataset"], p05["seeds"], scale, **shape),
            *ex.fig3_runs(p04["banks"], p04["bank_depth"], p["dataset"], p04["seeds"], scale),
        ]
    if chapter == "07":
        shapes = ex.unshuffle_shapes(p["depth"], p["width"], p["kernel_size"], p["depths"],
                                     p["widths"], p["kernel_sizes"])  # fmt: skip
        panels = p["panels"]
        if available_only:
            panels = list(ex.load_available(panels)[0])
        runs = ex.fig10_runs(p["dataset"], panels, p["seeds"], scale, shapes)
        # the budget check right after the first seed's central model: it says early whether
        # the recipe is long enough
        budget = ex.unshuffle_budget_runs(scale, p["dataset"], p["seeds"][:1], shapes[0])
        return [*runs[: len(ex.REGIMES3)], *budget, *runs[len(ex.REGIMES3) :]]
    raise ValueError(f"chapter {chapter!r} trains no runs; chapters with runs: 04, 05, 06, 07")


def grid_named(name: str) -> list[RunConfig]:
    """A grid by name: one of experiments.GRIDS, or "NN:scale" for a chapter's runs."""
    if name in GRIDS:
        return GRIDS[name]()
    chapter, _, scale = name.partition(":")
    if not scale:
        raise ValueError(f"unknown grid {name!r}: one of {sorted(GRIDS)}, or NN:scale (04:quick)")
    changes = ex.scale_parameters(chapter, scale)  # as the runbook and chapter 06 read them
    return list({repr(c): c for c in chapter_grid(chapter, scale, **changes)}.values())


def read_command(name: str) -> str:
    """For "NN:scale" whose scale changes the chapter's parameters, the papermill command that
    makes the chapter ask for the same runs; else ""."""
    chapter, _, scale = name.partition(":")
    changes = ex.scale_parameters(chapter, scale) if scale else {}
    if not changes:
        return ""
    from .report import fill_command

    return fill_command(chapter_path(chapter).stem, "all", scale, changes)


def shard(grid: list[RunConfig], spec: str) -> list[RunConfig]:
    """The i-th of n shares of a grid ("i/n", 0 <= i < n): every n-th run from the i-th."""
    i, _, n = spec.partition("/")
    if not (i.isdigit() and n.isdigit() and 0 <= int(i) < int(n)):
        raise ValueError(f"--shard takes i/n with 0 <= i < n, e.g. 0/2; got {spec!r}")
    return grid[int(i) :: int(n)]


def describe(cfg: RunConfig) -> str:
    """One line naming a run: experiment, dataset, model, regime, seed, scale, changes."""
    m = cfg.model
    shape = f"n={m.depth} w={m.width}" if m.arch == "sep_resnet" else (
        f"{m.width}/{m.depth} k={m.kernel_size} p={m.patch_size}")  # fmt: skip
    bank = f" bank={m.bank}" if m.bank != "random" else ""
    bank += f" σ={m.sigma:g}" if m.sigma else ""
    extra = f" {dict(cfg.overrides)}" if cfg.overrides else ""
    return (f"{cfg.experiment}: {cfg.dataset} {m.arch} {shape}{bank} {m.regime} seed {cfg.seed} "
            f"at {cfg.scale}{extra}")  # fmt: skip


def matches(cfg: RunConfig, match: Sequence[str]) -> bool:
    """Whether a run's one-line description (describe(), as `plan` prints it) holds every text of
    `match`: ("w=32", "seed 0") keeps Fig. 4's width-32 runs of seed 0."""
    line = describe(cfg)
    return all(text in line for text in match)


def plan(grid: list[RunConfig]) -> list[tuple[RunConfig, bool]]:
    """The grid's runs in order, each with whether the store already holds it."""
    return [(cfg, lookup(cfg) is not None) for cfg in grid]


def _twin(cfg: RunConfig) -> tuple:
    """What a run's cost depends on: everything but its seed and its frozen bank's values."""
    m = cfg.model
    return (cfg.experiment, cfg.dataset, cfg.scale, m.arch, m.regime, m.depth, m.width,
            m.kernel_size, m.patch_size, tuple(sorted(cfg.overrides.items())))  # fmt: skip


def _stored(grid: list[RunConfig]) -> dict[int, Record]:
    """The grid's stored records, by grid index (one lookup per run)."""
    return {i: record for i, cfg in enumerate(grid) if (record := lookup(cfg)) is not None}


def quiet_core_seconds(prov: dict) -> float | None:
    """A run's training core-seconds as a quiet machine would have taken them: core_seconds ×
    the share of a core each of the machine's runnable processes had, min(1, cores / load_mean),
    where the run recorded the load. Two 1-thread workers on 2 cores (load ~2) keep it whole; a
    run beside CI (load ~3.5) took 1.75× its quiet time, and counts 0.57 of it."""
    seconds = run_core_seconds(prov)
    load, cores = prov.get("load_mean"), prov.get("cores")
    if seconds is None or not load or not cores:
        return seconds
    return seconds * min(1.0, cores / load)


def machine(prov: dict) -> str:
    """The kind of machine a run trained on, as its provenance names it: "AMD EPYC (AVX2)"."""
    return f"{prov.get('cpu') or 'CPU not recorded'} ({isa_text(prov)})"


def this_machine() -> str:
    """The kind of machine this process runs on, named as machine() names a record's."""
    return machine({"cpu": cpu_name(), "isa": instruction_set()})


def machine_paces(grid: list[RunConfig], stored: dict[int, Record]) -> dict[str, tuple[float, int]]:
    """Each kind of machine's (machine()) time for the same work over the reference kind's, the
    kind with the most stored runs that recorded their load, and how many twins (_twin) the
    pace rests on: the geometric mean of the ratios of quiet_core_seconds of the twins trained
    on both kinds (the fastest of each). A kind that shares no twin with the
    reference is compared through a kind that does; one that shares none with any is left out.
    Runs that recorded no load are left out (their contention is unknown)."""
    best: dict[str, dict[tuple, float]] = {}
    runs: dict[str, int] = {}
    for i, record in stored.items():
        prov = record.provenance
        if prov.get("load_mean") and (seconds := quiet_core_seconds(prov)) is not None:
            kind, twin = machine(prov), _twin(grid[i])
            times, runs[kind] = best.setdefault(kind, {}), runs.get(kind, 0) + 1
            times[twin] = min(seconds, times.get(twin, math.inf))
    if not best:
        return {}
    reference = max(sorted(runs), key=runs.__getitem__)
    paces, grown = {reference: (1.0, 0)}, True
    while grown:  # each pass compares the kinds that share twins with a kind already placed
        grown = False
        for kind in sorted(best.keys() - paces.keys()):
            for known in list(paces):
                if shared := best[kind].keys() & best[known].keys():
                    logs = [math.log(best[kind][t] / best[known][t]) for t in shared]
                    paces[kind] = (paces[known][0] * math.exp(sum(logs) / len(logs)), len(shared))
                    grown = True
                    break
    return paces


def _pace_of(prov: dict, paces: dict[str, tuple[float, int]]) -> float:
    """A record's machine's pace against the reference (1 where its kind was compared with none)."""
    return paces.get(machine(prov), (1.0, 0))[0]


def _spent(stored: dict[int, Record]) -> tuple[dict[int, float], set[str]]:
    """Core-seconds each stored run trained for (by grid index), as measured, and where."""
    spent, where = {}, set()
    for i, record in stored.items():
        seconds = run_core_seconds(record.provenance)
        if seconds is None:
            continue
        spent[i] = seconds
        threads = record.provenance.get("threads") or 1
        where.add(f"{record.provenance.get('cpu')}, {threads} thread{'s' * (threads != 1)}")
    return spent, where


BENCH_MODELS = {"sep-ResNet": "sep_resnet", "ConvMixer": "convmixer", "un-shuffler": "unshuffle"}


def bench_rates(record: dict | None) -> dict[tuple[str, str], float]:
    """Core-seconds per training FLOP of our training step, by (arch, regime), from a benchmark
    record (perf.suite): its threads / (img/s × FLOPs per image), with freed memory kept as our
    training runs. FLOPs are counted as run_flops.training_flops counts them, 3× the forward
    (the model's full-regime step), so a frozen regime's cheaper backward shows as a lower rate.
    The benchmark's threads work together on one step; two 1-thread workers are no slower."""
    if not record:
        return {}
    threads, batch = record["provenance"].get("threads") or 1, record["batch"]
    rows = [r for r in record["rows"] if r.get("allocator", "keep") == "keep"]
    full = {r["model"]: r["flops"] / batch for r in rows if r["regime"] == "full"}
    rates = {}
    for r in rows:
        arch = next((a for name, a in BENCH_MODELS.items() if r["model"].startswith(name)), None)
        if arch and r["model"] in full and r.get("ours"):
            rates[(arch, r["regime"])] = threads / (r["ours"] * full[r["model"]])
    return rates


def _stored_bench() -> dict | None:
    """The store's benchmark record (results/bench/bench.json), or None where it has none."""
    from .perf import record_file

    path = record_file("cpu")
    return read_json(path, "benchmark record") if path.exists() else None


def _from_stored(cfg: RunConfig, seen: dict[tuple, list[float]], known: bool) -> tuple | None:
    """A missing run's quiet core-seconds from the stored runs that did (not) record the load:
    its fastest twin, else its FLOPs at its family and regime's rate (its family's), else None."""
    from .run_flops import training_flops

    if twins := seen.get(("twin", _twin(cfg), known)):
        return min(twins), "twin"
    m = cfg.model
    rate = seen.get(("rate", (m.arch, m.regime), known)) or seen.get(("rate", (m.arch,), known))
    return (training_flops(cfg) * rate[0] / rate[1], "flops") if rate else None


def estimates(
    grid: list[RunConfig],
    stored: dict[int, Record] | None = None,
    bench: dict | None = None,
    paces: dict[str, tuple[float, int]] | None = None,
) -> dict[int, tuple[float, str]]:
    """Each missing run's training core-seconds on a quiet machine of the reference kind
    (machine_paces: each stored run's time is divided by its machine's pace) by grid index, and
    how it was estimated, from the stored runs' quiet_core_seconds: "twin", its fastest stored twin
    (the same run but seed or bank: sharing the cores only ever slows a run); else "flops", its
    training FLOPs (run_flops.training_flops) at the core-seconds per FLOP that the grid's stored
    runs of its family and regime took (of its family, where none of its regime is stored). Runs
    that recorded the machine's load come first: a twin or a rate from them where there is one,
    from the others (of unknown contention) only where there is none. A run of a family with
    nothing stored: "bench", its FLOPs at the rate of the benchmark's training step of its
    family and regime (bench_rates; `bench` is that record, the store's by default), a first
    guess until one of its runs lands; with no benchmark row either, it is not estimated.
    `stored` and `paces` default to the store's records of the grid and their machine_paces."""
    from .run_flops import training_flops

    stored = _stored(grid) if stored is None else stored
    paces = machine_paces(grid, stored) if paces is None else paces
    seen: dict[tuple, list[float]] = {}  # (twin, load known) and per-FLOP rates (below)
    for i, record in stored.items():
        if (seconds := quiet_core_seconds(record.provenance)) is None:
            continue
        seconds /= _pace_of(record.provenance, paces)
        cfg, known = grid[i], bool(record.provenance.get("load_mean"))
        seen.setdefault(("twin", _twin(cfg), known), []).append(seconds)
        flops = training_flops(cfg)
        for family in ((cfg.model.arch, cfg.model.regime), (cfg.model.arch,)):
            total = seen.setdefault(("rate", family, known), [0.0, 0.0])  # [seconds, FLOPs]
            total[0], total[1] = total[0] + seconds, total[1] + flops
    rates: dict[tuple[str, str], float] | None = None  # read only if a family has nothing stored

    out = {}
    for i, cfg in enumerate(grid):
        if i in stored:
            continue
        guess = _from_stored(cfg, seen, True) or _from_stored(cfg, seen, False)
        if guess is None:
            if rates is None:  # the benchmark's machine, at its pace too
                bench = _stored_bench() if bench is None else bench
                pace = _pace_of((bench or {}).get("provenance", {}), paces)
                rates = {k: rate / pace for k, rate in bench_rates(bench).items()}
            if rate := rates.get((cfg.model.arch, cfg.model.regime)):
                guess = (training_flops(cfg) * rate, "bench")
        if guess is not None:
            out[i] = guess
    return out


@dataclass
class GridCost:
    """A grid's training, measured and estimated (grid_cost): core-hours as taken, the quiet
    core-hours of the stored runs and the estimate of the missing ones in the reference kind of
    machine's time, and each kind's pace against it."""

    runs: int
    stored: dict[int, Record]
    spent: float  # core-hours the stored runs took, as measured
    where: set[str]
    quiet: float  # the stored runs' quiet core-hours, in the reference kind's time
    guess: dict[int, tuple[float, str]]  # the missing runs' estimates (estimates())
    paces: dict[str, tuple[float, int]]  # machine_paces
    blind: list[int]  # stored runs that recorded no load

    @property
    def left(self) -> float:  # core-hours the missing runs would take, reference kind
        return sum(seconds for seconds, _ in self.guess.values()) / 3600

    @property
    def unestimated(self) -> int:
        return self.runs - len(self.stored) - len(self.guess)


def grid_cost(
    grid: list[RunConfig], bench: dict | None = None, match: Sequence[str] = ()
) -> GridCost:
    """The grid's training: spent on its stored runs, estimated for the missing ones
    (estimates()), in the time of the reference kind of machine (machine_paces). A stored run
    that recorded no load counts, quiet, as the lesser of what it took and what the runs that
    recorded their load estimate for it. With `match`, of the runs that match it (matches())
    alone, estimated from the whole grid's stored runs."""
    every = _stored(grid)
    paces = machine_paces(grid, every)
    guess = estimates(grid, every, bench, paces)
    keep = {i for i, cfg in enumerate(grid) if matches(cfg, match)}
    stored = {i: r for i, r in every.items() if i in keep}
    spent_by, where = _spent(stored)
    quiet_by = {i: (quiet_core_seconds(r.provenance) or 0.0) / _pace_of(r.provenance, paces)
                for i, r in stored.items()}  # fmt: skip
    blind = [i for i, r in stored.items() if not r.provenance.get("load_mean")]
    if blind:  # of unknown contention: no more than the runs that recorded it estimate them
        known = {i: r for i, r in every.items() if r.provenance.get("load_mean")}
        redo = estimates(grid, known, bench, paces)
        quiet_by.update({i: min(quiet_by[i], redo[i][0]) for i in blind if i in redo})
    return GridCost(
        runs=len(keep), stored=stored, spent=sum(spent_by.values()) / 3600, where=where,
        quiet=sum(quiet_by.values()) / 3600, paces=paces, blind=blind,
        guess={i: g for i, g in guess.items() if i in keep},
    )  # fmt: skip


def cost(
    grid: list[RunConfig], cores: int = 2, bench: dict | None = None, match: Sequence[str] = ()
) -> str:
    """The grid's training in core-hours (provenance.core_seconds, as report.compute_text): spent
    on its stored runs, and estimated for the missing ones (estimates()); each also as hours on
    `cores` cores kept busy, and the grid in all as each kind of machine compared
    (machine_paces) would take it quiet (grid_cost)."""
    c = grid_cost(grid, bench, match)
    spent, left, paces = c.spent, c.left, c.paces
    how = [h for _, h in c.guess.values()]
    sources = [
        f"{how.count('twin')} from their fastest stored twin (another seed or bank)",
        f"{how.count('flops')} from their FLOPs at the rate of their family's stored runs",
    ]
    if "bench" in how:
        sources.append(
            f"{how.count('bench')} from their FLOPs at the rate of the benchmark's "
            "training step of their family (results/bench; a first guess)"
        )
    reference = f"quiet {next(iter(paces))}" if paces else "quiet machine"
    head = (
        f"spent {spent:.1f} core-hours training the stored runs, {spent / cores:.1f} h on {cores} "
        f"cores ({'; '.join(sorted(c.where)) or '-'}); {len(c.guess)} of the "
        f"{c.runs - len(c.stored)} missing runs would take about {left:.1f} core-hours more on a "
        f"{reference}, {left / cores:.1f} h on {cores} cores ({', '.join(sources)})"
    )
    if c.unestimated:
        return (f"{head}; {c.unestimated} runs of families with neither a stored run nor a "
                "benchmark row are not estimated")  # fmt: skip
    return head + _in_all(spent + left, c.quiet + left, cores, paces, c.stored, c.blind)


def budget_text(name: str, cores: int = 2) -> str:
    """A named grid (GRIDS) from an empty store, in a sentence for a chapter: its runs stored so
    far and what they took, and the whole grid in hours on `cores` cores of each kind of quiet
    machine compared (grid_cost: the stored runs' quiet times and the missing runs' estimates)."""
    c = grid_cost(grid_named(name))
    done = (f"the `{name}` grid: {len(c.stored)} of its {c.runs} runs stored, trained for "
            f"{c.spent:.1f} core-hours")  # fmt: skip
    plan = f"`python -m spatialmix.queue plan {name}`"
    if c.unestimated:
        return f"{done}; too few stored to estimate the rest ({plan})"
    total = c.quiet + c.left
    if not c.paces:  # nothing stored that recorded its load: the benchmark's step, a first guess
        bench = _stored_bench()
        where = f" of {machine(bench['provenance'])}" if bench else ""
        return (
            f"{done}; from an empty store, a first guess from the benchmark's training step: "
            f"about {total / cores:.1f} h on {cores} cores{where} kept busy ({plan})"
        )

    def on(kind: str, pace: float, n: int) -> str:
        how = f"× {pace:.2f}, from {n} runs with a twin on the reference" if n else "the reference"
        return f"{total * pace / cores:.1f} h on a quiet {kind} ({how})"

    each = "; ".join(on(k, pace, n) for k, (pace, n) in sorted(c.paces.items(), key=lambda i: i[1]))
    return (
        f"{done}; from an empty store, the whole grid would take about {each}, on {cores} cores "
        f"kept busy (the stored runs' times, the rest estimated from them: {plan})"
    )


def _in_all(
    taken: float, quiet: float, cores: int, paces: dict[str, tuple[float, int]],
    stored: dict[int, Record], blind: list[int],
) -> str:  # fmt: skip
    """cost()'s last clause: the grid in all, as taken and on each kind of machine compared."""
    here = this_machine()
    kinds = sorted(paces.items(), key=lambda item: item[1][0]) or [("a quiet machine", (1.0, 0))]

    def one(kind: str, pace: float, n: int) -> str:
        said = ["this machine"] * (kind == here) + [f"× {pace:.2f}, from {n} twins"] * bool(n)
        return f"{quiet * pace / cores:.1f} h on {kind}" + (f" ({'; '.join(said)})" if said else "")

    each = ", ".join(one(kind, pace, n) for kind, (pace, n) in kinds)
    notes = []
    if blind:
        notes.append(f"{len(blind)} of them recorded no load, counted as the lesser of what they "
                     "took and what the runs that recorded it estimate")  # fmt: skip
    if paces and (apart := sorted({machine(r.provenance) for r in stored.values()} - paces.keys())):
        notes.append(f"{', '.join(apart)}: no twin compared, counted as {next(iter(paces))}")
    if paces and here not in paces:
        notes.append(f"this machine, {here}, not compared yet: its queue learns its pace")
    reference = "a quiet machine" if not paces else f"a quiet {next(iter(paces))}"
    return (
        f"; the grid in all: about {taken / cores:.1f} h on {cores} cores (the stored runs as "
        f"they took, the rest as {reference} would); quiet: {each} (the stored runs' times "
        "scaled by their share of the cores, quiet_core_seconds, and by each kind of machine's "
        "pace, from the twins trained on both" + "".join(f"; {note}" for note in notes) + ")"
    )


def commit_record(cfg: RunConfig, message: str) -> None:
    """Commit one run's record in the git repository holding the store, and nothing else."""
    path, _ = record_path(cfg)
    root = store_dir()
    with serialised(root / ".commit.lock"):  # queue workers share the repository's index
        subprocess.run(["git", "add", "--", str(path)], cwd=root, check=True)
        subprocess.run(["git", "commit", "-q", "-m", message, "--", str(path)], cwd=root,
                       check=True)  # fmt: skip


@dataclass
class Pace:
    """How this machine trains against the estimates (which come from other machines' runs, or
    a benchmark): the core-seconds the runs landed here took over the core-seconds estimated for
    them. An AVX2-only machine took about 2.3× what an AVX-512 one's records estimate, so without
    it a queue given hours starts runs it cannot finish. Contention counts: it slows the runs
    that follow as it slowed these."""

    estimated: float = 0.0
    took: float = 0.0
    prior: float = 1.0  # until a run lands: this kind of machine's pace (machine_paces), if known

    def add(self, estimated: float, took: float) -> None:
        self.estimated, self.took = self.estimated + estimated, self.took + took

    @property
    def factor(self) -> float:
        return self.took / self.estimated if self.estimated > 0 else self.prior

    def text(self) -> str:
        if not self.estimated and self.prior == 1.0:
            return ""
        return f" (the estimate × {self.factor:.2f}, this machine's pace)"


def run_queue(
    grid: list[RunConfig],
    hours: float = float("inf"),
    commit: bool = False,
    device: str | torch.device = "auto",
    require_clean: bool = True,
    say: Callable[[str], None] = print,
    match: Sequence[str] = (),
) -> int:
    """Train the grid's missing runs in order, committing each if asked; return how many landed.
    With `match`, only the runs that match it (matches()); the whole grid's stored runs still
    estimate their hours.

    Under torchrun every rank walks rank 0's plan and trains each run with it; rank 0 alone
    says and commits. A run another process has claimed (queue --workers) is skipped.
    """
    device = distributed.init(device)  # joins torchrun's process group, if any
    if not distributed.is_main():
        say, commit = (lambda text: None), False
    if require_clean and git_commit().endswith("+dirty"):
        raise SystemExit("lib/ has uncommitted changes: records must come from a clean commit "
                         "(run the queue from a git worktree pinned at a commit)")  # fmt: skip
    started, landed = time.monotonic(), 0
    todo = plan(grid) if distributed.is_main() else None
    # with an end in sight, a run estimated to outlast it is passed over for shorter ones: a
    # run cut off by the machine going away is lost (its checkpoint stays on that machine)
    guess, prior = {}, 1.0
    if distributed.is_main() and hours != float("inf"):
        stored_runs = _stored(grid)
        paces = machine_paces(grid, stored_runs)
        guess = estimates(grid, stored_runs, paces=paces)
        prior = paces.get(this_machine(), (1.0, 0))[0]
    threads, pace = torch.get_num_threads(), Pace(prior=prior)
    for i, (cfg, stored) in enumerate(distributed.broadcast(todo)):  # rank 0's plan
        if stored or not matches(cfg, match):
            continue
        left = hours * 3600 - (time.monotonic() - started)
        if distributed.broadcast(left < 0):
            say(f"stopping after {hours:g} h; run again to go on")
            break
        need = guess[i][0] * pace.factor / threads if i in guess else 0.0
        too_long = ""
        if distributed.broadcast(need > left):
            too_long = (f"passing over {describe(cfg)}: about {need / 60:.0f} min at {threads} "
                        f"thread{'s' * (threads != 1)}{pace.text()}, {left / 60:.0f} min "
                        "left")  # fmt: skip
        record = _train_claimed(cfg, commit, device, say, too_long)
        if record is not None:
            landed += 1
            if i in guess and (took := run_core_seconds(record.provenance)) is not None:
                pace.add(guess[i][0], took)
                say(f"  took {took / guess[i][0]:.2f}× its estimate; estimates now × "
                    f"{pace.factor:.2f}")  # fmt: skip
    return landed


def _train_claimed(
    cfg: RunConfig,
    commit: bool,
    device: torch.device,
    say: Callable[[str], None],
    too_long: str = "",
) -> Record | None:
    """Train and commit one run unless another worker holds it or has stored it meanwhile;
    return its record if it landed here, else None. A run that would outlast the queue's hours
    (too_long: what to say) is passed over, said only where nobody else has it. Under torchrun
    rank 0 alone claims, and every rank follows its decision."""
    with claim(record_path(cfg)[0]) if distributed.is_main() else _held() as mine:
        if not distributed.broadcast(mine and lookup(cfg) is None):
            return None
        if too_long:
            say(too_long)
            return None
        t0 = time.monotonic()
        say(f"training {describe(cfg)}")
        record = run(cfg, device=device, progress=False)
        # training time over every sitting of the run (a resumed run's earlier ones included)
        minutes = record.provenance.get("train_seconds", time.monotonic() - t0) / 60
        cpu, threads = record.provenance.get("cpu"), record.provenance.get("threads")
        where = f"{cpu}, {threads} thread{'s' * (threads != 1)}"
        say(f"  landed {record.key}, trained {minutes:.0f} min ({where}): "
            f"{ {k: round(v, 4) for k, v in record.clean.items()} }")  # fmt: skip
        if commit:
            commit_record(cfg, f"Record: {describe(cfg)} (trained {minutes:.0f} min, {where})")
        return record


@contextlib.contextmanager
def _held() -> Iterator[bool]:  # a claim that always holds: torchrun's ranks other than 0
    yield True


def run_workers(argv: list[str], workers: int) -> int:
    """Run this command line as `workers` processes sharing the cores (see the module's
    docstring); their lines come prefixed "w0", "w1", ... Return the worst exit status."""
    cores = int(os.environ.get("SPATIALMIX_THREADS", 0)) or os.cpu_count() or 1
    if workers > cores:
        raise SystemExit(f"--workers {workers} exceeds the {cores} cores (SPATIALMIX_THREADS)")
    env = {**os.environ, "SPATIALMIX_THREADS": str(cores // workers)}
    procs = [subprocess.Popen([sys.executable, "-m", "spatialmix.queue", *argv,
                               "--worker-name", f"w{i}"], env=env)  # fmt: skip
             for i in range(workers)]  # fmt: skip

    def stop(signum: int, _frame: object) -> None:  # stopping the queue stops its workers
        for proc in procs:
            proc.terminate()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        return max(p.wait() for p in procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("plan", "run", "merge"))
    parser.add_argument("grid", nargs="+", help="a grid (plan, run) or other stores (merge)")
    parser.add_argument("--shard", default="0/1", help="train the i-th of n shares: i/n")
    parser.add_argument(
        "--hours",
        type=float,
        default=float("inf"),
        help="start no run after this long, nor one estimated to outlast it",
    )
    parser.add_argument("--commit", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes on this machine, the cores shared among them")  # fmt: skip
    parser.add_argument("--worker-name", default="", help=argparse.SUPPRESS)
    parser.add_argument("--match", action="append", default=[], metavar="TEXT",
                        help="only the runs whose line in `plan` holds TEXT (repeat: every "
                        "TEXT), e.g. --match w=32 --match 'seed 0'")  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "run" and args.workers > 1:
        rest = sys.argv[1:] if argv is None else list(argv)
        return run_workers(_without_workers(rest), args.workers)
    if args.command == "merge":
        for other in args.grid:
            added = merge_store(other, store_dir())
            print(f"merged {other}: {len(added)} record(s) added or extended")
        return 0
    grid = shard(grid_named(args.grid[0]), args.shard)
    if args.command == "plan":
        rows = [(cfg, stored) for cfg, stored in plan(grid) if matches(cfg, args.match)]
        for cfg, stored in rows:
            print(f"{'stored ' if stored else 'missing'}  {describe(cfg)}")
        which = f" that match {' and '.join(map(repr, args.match))}" if args.match else ""
        print(f"{sum(s for _, s in rows)} of {len(rows)} runs{which} stored")
        print(cost(grid, match=args.match))
        if read := read_command(args.grid[0]):
            print(
                f"the chapter reads these runs with: {read}\n(prefixed with "
                "SPATIALMIX_READONLY=partial, it shows what is stored and trains nothing)"
            )
        return 0
    set_threads()
    name = f" {args.worker_name}" if args.worker_name else ""
    logging.basicConfig(format=f"%(asctime)s{name}   %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("spatialmix.train").setLevel(logging.INFO)  # a line per epoch of a run
    say = lambda text: print(f"{time.strftime('%H:%M:%S')}{name} {text}", flush=True)  # noqa: E731
    run_queue(grid, args.hours, args.commit, args.device, say=say, match=args.match)
    return 0


def _without_workers(argv: list[str]) -> list[str]:
    """A command line with its --workers option (either spelling) taken out."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


if __name__ == "__main__":
    sys.exit(main())
