"""Training-step throughput of the reference path (as the paper and locuslab write it) vs ours.

`python -m spatialmix.perf [--record | --out FILE] [--steps 9] [--profile]` times, in one
process with the same threads, fp32 and no autocast, the paths of a row taking turns on the same
batch, in every regime: the separable ResNet (n = 3, w = 16, d = 9) with explicit convs in NCHW
(reference) vs the folded conv in channels-last (ours); ConvMixer-128/4 (k = 8, p = 1) as
locuslab's nn.Sequential with padding="same" (reference) vs our ConvMixer in channels-last; and
chapter 07's central un-shuffler (width 32, depth 8, k = 9, 1×28×28) on PyTorch's kernels
only (reference) vs the same model on ours. "Ours" is what a run uses (accel.py: eager with the
native depthwise kernel on the CPU, compiled where want_compile says so). It prints img/s (median
and interquartile range) and the ratio per row and writes a JSON record with each row's FLOPs
per step and the machine's practical peak (the roofline: all FLOPs at the peak bound any
speed-up that keeps the math), and the depthwise ops by themselves, ours vs PyTorch's (ops.py);
--profile adds torch.profiler's top operators per step for the reference and ours.
The record lives in the results store (results/bench/bench.json), read and written through
results.py; earlier records are kept under results/bench/runs/.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .. import depthwise
from ..accel import MIN_STEPS, CompiledStep, allocator, keep_freed_memory, want_compile
from ..provenance import peak_rss_mb, provenance, set_threads
from ..regimes import REGIMES
from ..store import (
    MissingRecordError,
    read_json,
    store_dir,
    store_is_readonly,
    write_atomically,
)
from .ops import time_depthwise_ops, time_elementwise_ops, time_pointwise_ops
from .reference import (
    UNSHUFFLE,
    UNSHUFFLE_IMAGE,
    convs_only,
    our_convmixer,
    reference_convmixer,
    sep_resnet,
    unshuffler,
)
from .report import format_rows, markdown_table
from .timing import (
    interleaved_throughput,
    loader_throughput,
    peak_gflops,
    peak_probes,
    profile_step,
    step_flops,
    step_throughput,
    training_step,
)

Builder = Callable[[str], nn.Module]  # a path's model in a regime


def _torch_kernel(one_step: Callable[[], None]) -> Callable[[], None]:
    """The step on PyTorch's kernels only (depthwise.native_disabled: no native depthwise conv,
    no fused norms): the reference path of the sep-ResNet and the un-shuffler."""

    def step() -> None:
        with depthwise.native_disabled():
            one_step()

    return step


def reference_path(arch: str, model: nn.Module, x: torch.Tensor,
                   target: torch.Tensor | None = None) -> Callable[[], None]:  # fmt: skip
    """The reference's training step: locuslab's ConvMixer as it is written, the sep-ResNet and
    the un-shuffler on PyTorch's kernels only (_torch_kernel; ours would otherwise reach the
    native depthwise conv and the fused norms through the layers they share)."""
    step = training_step(model, x, target=target)[0]
    return step if arch == "convmixer" else _torch_kernel(step)


def run_benchmark(
    batch: int = 128,
    steps: int = 9,
    width: int = 16,
    mixer_width: int = 128,
    profile: bool = False,
    compile: bool | None = None,
    rounds: int = 3,
    keep_memory: bool = True,
    unshuffle_width: int = UNSHUFFLE["width"],
    unshuffle_depth: int = UNSHUFFLE["depth"],
) -> dict:
    """Time every row; return {"rows", "depthwise_ops", "loader", "profile", "provenance", ...}.

    The rows are timed with the allocator as the process found it (row["allocator"]), and then,
    with `keep_memory` and where that changes anything, again after keep_freed_memory(): the
    reference's large buffers cost page faults every step under glibc's defaults.

    Rows: the sep-ResNet, ConvMixer-h/4 and the un-shuffler (chapter 07's central shape,
    reference.UNSHUFFLE; its reference is the same model on PyTorch's kernels only), each in
    every regime. Per row the reference, ours eagerly and (where it compiles) ours through
    torch.compile take turns on the same batch (interleaved_throughput: `steps` timed steps
    each, in `rounds`). compile: whether "ours" also runs through torch.compile; None decides as
    a long training run (accel.MIN_STEPS steps or more) would (accel.want_compile). "ours_eager"
    is always timed. Every row carries "flops" and "reference_flops" (step_flops of each path)
    and "ceiling", the img/s if all of our step's FLOPs ran at this machine's practical peak and
    nothing else took time. The peak is the row's own: the two peak_probes take turns with the
    row's paths ("peak_gflops": GFLOP/s of each), so a host whose speed drifts during the run
    moves a row's steps and its peak alike; the record's "peak_gflops" are probes taken before
    and after the rows.
    Sep-ResNet rows also carry "convs_only", the measured img/s of our step with BatchNorm and
    ReLU deleted (convs_only(): a bound, not the same function), timed in the same turns.
    "depthwise_ops": the depthwise layers of ConvMixer and the un-shuffler by themselves
    (ops.time_depthwise_ops, 3·`steps` calls per op), timed after the rows; "pointwise_ops"
    their 1×1 layers (ops.time_pointwise_ops), "elementwise_ops" the GELU + BatchNorm work
    between them at the same activation shapes (ops.time_elementwise_ops), and "mixer_layers"
    {row model: {"depth", "depthwise", "pointwise"}}, which layer shapes a mixer's step repeats
    and how often (flops.bound_rows; the element-wise rows go by the 1×1 layer's name).
    """
    x = torch.rand(batch, 3, 32, 32)
    x_last = x.contiguous(memory_format=torch.channels_last)
    image = torch.rand(batch, *UNSHUFFLE_IMAGE).contiguous(memory_format=torch.channels_last)
    target = torch.rand_like(image)  # the un-shuffler's loss: MSE against a target image
    peaks = [peak_gflops()]
    probes = peak_probes()
    mixer = f"ConvMixer-{mixer_width}/4 (k=8, p=1)"
    k, (_, h, w) = UNSHUFFLE["kernel_size"], UNSHUFFLE_IMAGE
    unshuffle = f"un-shuffler-{unshuffle_width}/{unshuffle_depth} (k={k}, {h}×{w})"

    def use_compile(arch: str) -> bool:
        return want_compile(arch, MIN_STEPS) if compile is None else compile

    # per model: (arch, reference(regime), ours(regime), reference's input, target or None)
    models: dict[str, tuple[str, Builder, Builder, torch.Tensor, torch.Tensor | None]] = {
        "sep-ResNet-20 (n=3, d=9)": ("sep_resnet", lambda g: sep_resnet(width, g, "explicit"),
                                     lambda g: sep_resnet(width, g), x, None),
        mixer: ("convmixer", lambda g: reference_convmixer(mixer_width, g),
                lambda g: our_convmixer(mixer_width, g), x, None),
        unshuffle: ("unshuffle", lambda g: unshuffler(unshuffle_width, unshuffle_depth, g),
                    lambda g: unshuffler(unshuffle_width, unshuffle_depth, g), image, target),
    }  # fmt: skip

    def paths(name: str, regime: str) -> tuple[dict[str, Callable[[], None]], CompiledStep | None]:
        """The row's training steps by path, and ours' CompiledStep where it compiles."""
        arch, reference, ours, x_ref, y = models[name]
        x_ours = x_last if y is None else x_ref
        out = {"reference": reference_path(arch, reference(regime), x_ref, y),
               "ours_eager": training_step(ours(regime), x_ours, target=y)[0]}  # fmt: skip
        if arch == "sep_resnet":
            out["convs_only"] = training_step(convs_only(ours(regime)), x_ours)[0]
        if not use_compile(arch):
            return out, None
        out["ours_compiled"], stepper = training_step(ours(regime), x_ours, True, y)
        return out, stepper

    def row(name: str, regime: str) -> dict:
        """Reference, ours eagerly, ours as a long run trains it (compiled where enabled), and
        for the sep-ResNet ours without BatchNorm and ReLU, taking turns."""
        steps_of, stepper = paths(name, regime)
        probe_calls = {f"probe {p}": call for p, (call, _) in probes.items()}
        timed = interleaved_throughput({**steps_of, **probe_calls}, batch, steps, rounds)
        out = {"model": name, "regime": regime, "reference": timed["reference"]["img_per_s"],
               "reference_iqr": timed["reference"]["iqr"],
               "ours_eager": timed["ours_eager"]["img_per_s"], "compiled": False,
               "depthwise": depthwise.kernel_name(), **flops[name, regime],
               "peak_gflops": {p: timed[f"probe {p}"]["img_per_s"] / batch * n / 1e9
                               for p, (_, n) in probes.items()}}  # fmt: skip
        best = timed["ours_eager"]
        if stepper is not None:
            best = timed["ours_compiled"]
            out.update(compiled=stepper.active, compile_seconds=max(0.0, best["first_step_s"]
                       - batch / best["img_per_s"]))  # fmt: skip
        out.update(ours=best["img_per_s"], ours_iqr=best["iqr"], steps=best["steps"])
        out["ratio"] = out["ours"] / out["reference"]
        if "convs_only" in timed:
            out["convs_only"] = timed["convs_only"]["img_per_s"]
            out["convs_only_ratio"] = out["convs_only"] / out["reference"]
        return out

    def count(name: str, regime: str) -> dict[str, float]:
        arch, reference, ours, x_ref, y = models[name]
        with depthwise.native_disabled() if arch != "convmixer" else contextlib.nullcontext():
            ref = step_flops(reference(regime), x_ref, y)
        return {"flops": step_flops(ours(regime), x_last if y is None else x_ref, y),
                "reference_flops": ref}  # fmt: skip

    flops = {(name, regime): count(name, regime) for name in models for regime in REGIMES}

    def every_row() -> list[dict]:
        out = [row(name, regime) for name in models for regime in REGIMES]
        for r in out:
            r["allocator"] = allocator()
        return out

    rows = every_row()
    model = sep_resnet(width, "full")
    step_only = step_throughput(model, x_last, steps)
    end_to_end = loader_throughput(model, batch, steps)
    profiles = {}
    if profile:
        with depthwise.native_disabled():  # the reference's BatchNorm and ReLU: PyTorch's
            sep_reference = profile_step(sep_resnet(width, "full", "explicit"), x)
        profiles = {
            "sep-ResNet full, reference": sep_reference,
            "sep-ResNet full, ours": profile_step(sep_resnet(width, "full"), x_last,
                                                  compile=use_compile("sep_resnet")),
            "ConvMixer full, reference": profile_step(reference_convmixer(mixer_width, "full"), x),
            "ConvMixer full, ours": profile_step(our_convmixer(mixer_width, "full"), x_last,
                                                 compile=use_compile("convmixer")),
        }  # fmt: skip
        shuffler = unshuffler(unshuffle_width, unshuffle_depth, "full")
        with depthwise.native_disabled():
            profiles["un-shuffler full, reference (PyTorch's kernels)"] = profile_step(
                shuffler, image, target=target)  # fmt: skip
        profiles["un-shuffler full, ours"] = profile_step(
            unshuffler(unshuffle_width, unshuffle_depth, "full"), image,
            compile=use_compile("unshuffle"), target=target)  # fmt: skip
    if keep_memory and allocator() == "default" and keep_freed_memory() == "keep":
        rows += every_row()
    dw = {mixer: f"ConvMixer-{mixer_width} layer (k=8, 32×32)",
          unshuffle: f"un-shuffler-{unshuffle_width} layer (k={k}, {h}×{w})"}  # fmt: skip
    pw = {mixer: f"ConvMixer-{mixer_width} 1×1 (32×32)",
          unshuffle: f"un-shuffler-{unshuffle_width} 1×1 ({h}×{w})"}  # fmt: skip
    ops = time_depthwise_ops({dw[mixer]: (batch, mixer_width, 32, 32, 8),
                              dw[unshuffle]: (batch, unshuffle_width, h, w, k)},
                             3 * steps, rounds)  # fmt: skip
    pointwise = time_pointwise_ops({pw[mixer]: (batch, mixer_width, 32, 32),
                                    pw[unshuffle]: (batch, unshuffle_width, h, w)},
                                   3 * steps, rounds)  # fmt: skip
    elementwise = time_elementwise_ops({pw[mixer]: (batch, mixer_width, 32, 32),
                                        pw[unshuffle]: (batch, unshuffle_width, h, w)},
                                       3 * steps, rounds)  # fmt: skip
    layers = {name: {"depth": depth, "depthwise": dw[name], "pointwise": pw[name]}
              for name, depth in ((mixer, 4), (unshuffle, unshuffle_depth))}  # fmt: skip
    peaks.append(peak_gflops())
    peak = {name: max(p[name] for p in peaks) for name in peaks[0]}
    for r in rows:
        r["ceiling"] = batch * max(r["peak_gflops"].values()) * 1e9 / r["flops"]
        r["ceiling_ratio"] = r["ceiling"] / r["reference"]
    return {"rows": rows, "depthwise_ops": ops, "pointwise_ops": pointwise,
            "elementwise_ops": elementwise, "mixer_layers": layers,
            "loader": {"step_only": step_only,
            "with_loader": end_to_end}, "batch": batch, "steps": steps, "rounds": rounds,
            "peak_gflops": peak, "profile": profiles, "peak_rss_mb": peak_rss_mb(),
            "provenance": provenance(torch.device("cpu"))}  # fmt: skip


# the benchmark's sizes: "cpu" (and "paper", the same) are the sizes the README reports
SIZES = {
    "smoke": {"batch": 4, "steps": 2, "width": 4, "mixer_width": 8, "compile": False,
              "rounds": 2, "unshuffle_width": 4, "unshuffle_depth": 1},
    "cpu": {"batch": 128, "steps": 9, "width": 16, "mixer_width": 128, "compile": None,
            "rounds": 3, "unshuffle_width": UNSHUFFLE["width"],
            "unshuffle_depth": UNSHUFFLE["depth"]},
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
    parser.add_argument("--unshuffle-width", type=int, default=UNSHUFFLE["width"],
                        help="un-shuffler width")  # fmt: skip
    parser.add_argument("--unshuffle-depth", type=int, default=UNSHUFFLE["depth"],
                        help="un-shuffler depth")  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="add torch.profiler top operators")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="print the README table of a stored record and exit")  # fmt: skip
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(read_json(args.markdown, "benchmark record")))
        return 0
    set_threads()
    result = run_benchmark(args.batch, args.steps, args.width, args.mixer_width, args.profile,
                           rounds=args.rounds, unshuffle_width=args.unshuffle_width,
                           unshuffle_depth=args.unshuffle_depth)  # fmt: skip
    print(format_rows(result))
    if args.record:
        kept = keep_as_history(record_file("cpu"))
        if kept:
            print(f"previous record kept as {kept}")
        write_atomically(record_file("cpu"), result)
    if args.out:
        write_atomically(args.out, result)
    return 0
