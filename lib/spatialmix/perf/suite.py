"""Training-step throughput of the reference path (as the paper and locuslab write it) vs ours.

`python -m spatialmix.perf [--record | --out FILE] [--steps 9] [--profile]` times, in one
process with the same threads, fp32 and no autocast, the paths of a row taking turns on the same
batch: the separable ResNet (n = 3, w = 16, d = 9)
in every regime with explicit convs in NCHW (reference) vs the folded conv in channels-last (ours);
and ConvMixer-128/4 (k = 8, p = 1) as locuslab's nn.Sequential with padding="same" (reference) vs
our ConvMixer in channels-last, eager and through torch.compile (ours: what a run uses, see
accel.py). It prints img/s (median and interquartile range) and the ratio per row and writes a
JSON record; --profile adds torch.profiler's top operators per step for the reference and ours.
For the sep-ResNet it also measures the ceiling of our step: the img/s it would reach if all its
FLOPs ran at this machine's matmul peak, which bounds any speed-up that keeps the math.
The record lives in the results store (results/bench/bench.json), read and written through
results.py; earlier records are kept under results/bench/runs/.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..accel import MIN_STEPS, allocator, keep_freed_memory, want_compile
from ..provenance import peak_rss_mb, provenance, set_threads
from ..regimes import REGIMES
from ..results import (
    MissingRecordError,
    read_json,
    store_dir,
    store_is_readonly,
    write_atomically,
)
from .reference import convs_only, our_convmixer, reference_convmixer, sep_resnet
from .report import format_rows, markdown_table
from .timing import (
    interleaved_throughput,
    loader_throughput,
    peak_gflops,
    profile_step,
    step_flops,
    step_throughput,
    training_step,
)


def run_benchmark(
    batch: int = 128,
    steps: int = 9,
    width: int = 16,
    mixer_width: int = 128,
    profile: bool = False,
    compile: bool | None = None,
    rounds: int = 3,
    keep_memory: bool = True,
) -> dict:
    """Time every row; return {"rows": [...], "loader", "profile", "provenance", "peak_rss_mb"}.

    The rows are timed with the allocator as the process found it (row["allocator"]), and then,
    with `keep_memory` and where that changes anything, again after keep_freed_memory(): the
    reference's large buffers cost page faults every step under glibc's defaults.

    Per row the reference, ours eagerly and (where it compiles) ours through torch.compile take
    turns on the same batch (interleaved_throughput: `steps` timed steps each, in `rounds`).
    compile: whether "ours" also runs through torch.compile; None decides as a long training
    run (accel.MIN_STEPS steps or more) would (accel.want_compile). "ours_eager" is always timed.
    Sep-ResNet rows also carry two bounds on our path: "convs_only", the measured img/s of our
    step with BatchNorm and ReLU deleted (convs_only(): a bound, not the same function), timed in
    the same turns; and "ceiling", the img/s if all of the step's FLOPs ran at this machine's
    practical peak (peak_gflops, the best probe, taken before and after the rows) and nothing
    else took time.
    """
    x = torch.rand(batch, 3, 32, 32)
    x_last = x.contiguous(memory_format=torch.channels_last)
    peaks = [peak_gflops()]

    def sep_model(regime: str, impl: str = "folded") -> nn.Module:
        return sep_resnet(width, regime, impl)

    def use_compile(arch: str) -> bool:
        return want_compile(arch, MIN_STEPS) if compile is None else compile

    def row(model: str, regime: str, reference: nn.Module, ours: Callable[[], nn.Module],
            bound: bool = False) -> dict:  # fmt: skip
        """Reference, ours eagerly, ours as a long run trains it (compiled where enabled), and
        with `bound` ours without BatchNorm and ReLU."""
        paths = {"reference": training_step(reference, x)[0],
                 "ours_eager": training_step(ours(), x_last)[0]}  # fmt: skip
        if bound:
            paths["convs_only"] = training_step(convs_only(ours()), x_last)[0]
        stepper = None
        if use_compile("sep_resnet" if model.startswith("sep") else "convmixer"):
            paths["ours_compiled"], stepper = training_step(ours(), x_last, compile=True)
        timed = interleaved_throughput(paths, batch, steps, rounds)
        out = {"model": model, "regime": regime, "reference": timed["reference"]["img_per_s"],
               "reference_iqr": timed["reference"]["iqr"],
               "ours_eager": timed["ours_eager"]["img_per_s"], "compiled": False}  # fmt: skip
        best = timed["ours_eager"]
        if stepper is not None:
            best = timed["ours_compiled"]
            out.update(compiled=stepper.active, compile_seconds=max(0.0, best["first_step_s"]
                       - batch / best["img_per_s"]))  # fmt: skip
        out.update(ours=best["img_per_s"], ours_iqr=best["iqr"], steps=best["steps"])
        out["ratio"] = out["ours"] / out["reference"]
        if bound:
            out["convs_only"] = timed["convs_only"]["img_per_s"]
            out["convs_only_ratio"] = out["convs_only"] / out["reference"]
        return out

    flops = {regime: step_flops(sep_model(regime), x_last) for regime in REGIMES}

    def every_row() -> list[dict]:
        out = []
        for regime in REGIMES:
            r = row("sep-ResNet-20 (n=3, d=9)", regime, sep_model(regime, "explicit"),
                    lambda g=regime: sep_model(g), bound=True)  # fmt: skip
            out.append({**r, "flops": flops[regime]})
        for regime in ("full", "chans"):
            out.append(row(f"ConvMixer-{mixer_width}/4 (k=8, p=1)", regime,
                           reference_convmixer(mixer_width, regime),
                           lambda g=regime: our_convmixer(mixer_width, g)))  # fmt: skip
        for r in out:
            r["allocator"] = allocator()
        return out

    rows = every_row()
    model = sep_model("full")
    step_only = step_throughput(model, x_last, steps)
    end_to_end = loader_throughput(model, batch, steps)
    profiles = {}
    if profile:
        profiles = {
            "sep-ResNet full, reference": profile_step(sep_model("full", "explicit"), x),
            "sep-ResNet full, ours": profile_step(sep_model("full"), x_last,
                                                  compile=use_compile("sep_resnet")),
            "ConvMixer full, reference": profile_step(reference_convmixer(mixer_width, "full"), x),
            "ConvMixer full, ours": profile_step(our_convmixer(mixer_width, "full"), x_last,
                                                 compile=use_compile("convmixer")),
        }  # fmt: skip
    if keep_memory and allocator() == "default" and keep_freed_memory() == "keep":
        rows += every_row()
    peaks.append(peak_gflops())
    peak = {name: max(p[name] for p in peaks) for name in peaks[0]}
    for r in rows:
        if "flops" in r:
            r["ceiling"] = batch * max(peak.values()) * 1e9 / r["flops"]
            r["ceiling_ratio"] = r["ceiling"] / r["reference"]
    return {"rows": rows, "loader": {"step_only": step_only, "with_loader": end_to_end},
            "batch": batch, "steps": steps, "rounds": rounds, "peak_gflops": peak,
            "profile": profiles, "peak_rss_mb": peak_rss_mb(),
            "provenance": provenance(torch.device("cpu"))}  # fmt: skip


# the benchmark's sizes: "cpu" (and "paper", the same) are the sizes the README reports
SIZES = {
    "smoke": {"batch": 4, "steps": 2, "width": 4, "mixer_width": 8, "compile": False,
              "rounds": 2},
    "cpu": {"batch": 128, "steps": 9, "width": 16, "mixer_width": 128, "compile": None,
            "rounds": 3},
}  # fmt: skip
SIZES["paper"] = SIZES["cpu"]


def record_file(scale: str) -> Path:
    """Where the store keeps the benchmark record of a scale (results/bench/)."""
    return store_dir() / "bench" / ("bench_smoke.json" if scale == "smoke" else "bench.json")


def stored_or_run(scale: str = "cpu") -> dict:
    """Return the stored benchmark record for `scale`, measuring it first if the store lacks it."""
    path = record_file(scale)
    if path.exists():
        return read_json(path, "benchmark record")
    if store_is_readonly():
        raise MissingRecordError(f"no benchmark record at {path} in the read-only store; run "
                                 f"python -m spatialmix.perf --profile --out {path}")  # fmt: skip
    result = run_benchmark(**SIZES[scale], profile=True)
    write_atomically(path, result)
    return result


def keep_as_history(path: Path) -> Path | None:
    """Move the record at `path` into runs/ beside it, named by its date; return where it went."""
    if not path.exists():
        return None
    date = read_json(path, "benchmark record")["provenance"]["date"]
    kept = path.parent / "runs" / f"bench_{date[:19].replace(':', '-')}.json"
    kept.parent.mkdir(parents=True, exist_ok=True)
    path.replace(kept)
    return kept


def run_history(scale: str = "cpu") -> list[dict]:
    """Every benchmark record of `scale` in the store, kept runs and the current one, by date."""
    current = record_file(scale)
    paths = sorted((current.parent / "runs").glob("bench_*.json")) if scale != "smoke" else []
    records = [read_json(p, "benchmark record") for p in [*paths, current] if p.exists()]
    return sorted(records, key=lambda r: r["provenance"]["date"])


def main(argv: list[str] | None = None) -> int:
    """The command line: time every row and print it, or print a stored record's README table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the JSON record here")
    parser.add_argument("--record", action="store_true",
                        help="write the store's record (results/bench/bench.json), keeping the "
                             "previous one under results/bench/runs/")  # fmt: skip
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=9, help="timed steps per path (median)")
    parser.add_argument("--rounds", type=int, default=3, help="turns the paths of a row take")
    parser.add_argument("--width", type=int, default=16, help="sep-ResNet w")
    parser.add_argument("--mixer-width", type=int, default=128, help="ConvMixer h")
    parser.add_argument("--profile", action="store_true", help="add torch.profiler top operators")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="print the README table of a stored record and exit")  # fmt: skip
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(read_json(args.markdown, "benchmark record")))
        return 0
    set_threads()
    result = run_benchmark(args.batch, args.steps, args.width, args.mixer_width, args.profile,
                           rounds=args.rounds)  # fmt: skip
    print(format_rows(result))
    if args.record:
        kept = keep_as_history(record_file("cpu"))
        if kept:
            print(f"previous record kept as {kept}")
        write_atomically(record_file("cpu"), result)
    if args.out:
        write_atomically(args.out, result)
    return 0
