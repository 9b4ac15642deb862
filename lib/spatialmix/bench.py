"""Training-step throughput of the reference path (as the paper and locuslab write it) vs ours.

`python -m spatialmix.bench [--record | --out FILE] [--steps 9] [--profile]` times, in one
process with the same threads, fp32 and no autocast, the paths of a row taking turns on the same
batch: the separable ResNet (n = 3, w = 16, d = 9)
in every regime with explicit convs in NCHW (reference) vs the folded conv in channels-last (ours);
and ConvMixer-128/4 (k = 8, p = 1) as locuslab's nn.Sequential with padding="same" (reference) vs
our ConvMixer in channels-last, eager and through torch.compile (ours: what a run uses, see
accel.py). It prints img/s (median and interquartile range) and the ratio per row and writes a
JSON record; --profile adds torch.profiler's top operators per step for the reference and ours.
For the sep-ResNet it also measures the ceiling of our step: the img/s it would reach if all its
FLOPs ran at this machine's matmul peak, which bounds any speed-up that keeps the math.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .accel import MIN_STEPS, CompiledStep, want_compile
from .data import Loader
from .layers import SeparableConv2d
from .models import ConvMixer, ModelConfig, build_model
from .provenance import (
    allocator,
    isa_text,
    keep_freed_memory,
    peak_rss_mb,
    provenance,
    set_threads,
)
from .regimes import REGIMES, apply_regime
from .results import MissingRecordError, store_dir, store_is_readonly, write_atomically
from .train import TrainConfig, make_optimizer


class Residual(nn.Module):
    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x) + x


def locuslab_convmixer(dim: int, depth: int, kernel_size: int, patch_size: int) -> nn.Module:
    """ConvMixer exactly as the reference code writes it (Trockman & Kolter, locuslab/convmixer)."""
    return nn.Sequential(
        nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size), nn.GELU(),
        nn.BatchNorm2d(dim),
        *[nn.Sequential(
            Residual(nn.Sequential(nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                                   nn.GELU(), nn.BatchNorm2d(dim))),
            nn.Conv2d(dim, dim, kernel_size=1), nn.GELU(), nn.BatchNorm2d(dim),
        ) for _ in range(depth)],
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(dim, 10),
    )  # fmt: skip


def _training_step(model: nn.Module, x: torch.Tensor, compile: bool = False):  # noqa: ANN202
    """Return (one full training step on the fixed batch x as a function, its CompiledStep)."""
    y = torch.arange(len(x)) % 10
    opt = make_optimizer(model, TrainConfig(optimizer="sgd", lr=0.01))
    stepper = CompiledStep(model, enabled=compile)
    model.train()

    def one_step() -> None:
        stepper.step(x, lambda out: F.cross_entropy(out, y))
        opt.step()

    return one_step, stepper


def _quartiles(times: list[float], batch: int) -> dict:
    """img/s at the median step time, and at its first and third quartiles (slow, fast)."""
    q1, median, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else times * 3
    return {"img_per_s": batch / median, "iqr": [batch / q3, batch / q1]}


def interleaved_throughput(paths: dict[str, Callable[[], None]], batch: int, steps: int,
                           rounds: int = 3, warmup: int = 2) -> dict[str, dict]:  # fmt: skip
    """Time training-step callables side by side: img/s per path, median and interquartile range.

    Every path first runs `warmup` steps (a compiled path compiles here), then the paths take
    turns, `rounds` times, so that a slow or fast phase of the machine falls on all paths alike
    rather than on whichever ran then. A turn is one untimed step (so every timed step follows a
    step of its own path, with its own data in cache, as in training) and ceil(steps / rounds)
    timed steps. Returns {path: {"img_per_s", "iqr", "steps", "first_step_s"}}, where "iqr" is
    [slow, fast]: img/s at the third and first quartile of the step times.
    """
    first = {}
    for name, one_step in paths.items():
        t0 = time.perf_counter()
        one_step()
        first[name] = time.perf_counter() - t0
        for _ in range(warmup - 1):
            one_step()
    per_round = -(-steps // rounds)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for i in range(rounds):
        order = list(paths) if i % 2 == 0 else list(paths)[::-1]
        for name in order:
            paths[name]()
            for _ in range(per_round):
                t0 = time.perf_counter()
                paths[name]()
                times[name].append(time.perf_counter() - t0)
    return {name: {**_quartiles(t, batch), "steps": len(t), "first_step_s": first[name]}
            for name, t in times.items()}  # fmt: skip


def step_throughput(model: nn.Module, x: torch.Tensor, steps: int, warmup: int = 2) -> float:
    """Median img/s of full training steps (forward, backward, SGD step) on one fixed batch."""
    one_step, _ = _training_step(model, x)
    timed = interleaved_throughput({"model": one_step}, len(x), steps, rounds=1, warmup=warmup)
    return timed["model"]["img_per_s"]


def step_flops(model: nn.Module, x: torch.Tensor) -> float:
    """FLOPs of one training step (forward and backward), counted by torch.utils.flop_counter.

    Exact for dense convolutions and matmuls. torch's counter overcounts a grouped conv's
    backward (a 16-group depthwise conv: 17× its forward, not 2×), so models that run grouped
    convs are refused: use it for the folded sep-ResNet.
    """
    from torch.utils.flop_counter import FlopCounterMode

    # a folded separable conv holds its depthwise weight but never runs it as a conv
    folded = {id(m.spatial) for m in model.modules()
              if isinstance(m, SeparableConv2d) and m.impl == "folded"}  # fmt: skip
    if any(isinstance(m, nn.Conv2d) and m.groups > 1 and id(m) not in folded
           for m in model.modules()):  # fmt: skip
        raise ValueError("step_flops overcounts grouped convolutions; the model runs some")
    one_step, _ = _training_step(model, x)
    with FlopCounterMode(display=False) as counter:
        one_step()
    return float(counter.get_total_flops())


def peak_gflops(repeats: int = 5) -> dict[str, float]:
    """This machine's practical fp32 peak, GFLOP/s (median of `repeats`) of two large products.

    "matmul": a 2048×2048 matrix product (BLAS); "conv": a dense 3×3 convolution forward with
    256 channels at 16×16, batch 32, channels-last (oneDNN, the library our convs run on).
    """
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(2048, 2048, generator=gen), torch.randn(2048, 2048, generator=gen)
    x = torch.randn(32, 256, 16, 16, generator=gen).contiguous(memory_format=torch.channels_last)
    w = torch.randn(256, 256, 3, 3, generator=gen)
    probes = {
        "matmul": (lambda: a @ b, 2 * 2048**3),
        "conv": (lambda: F.conv2d(x, w, padding=1), 2 * 32 * 16 * 16 * 256 * 256 * 9),
    }
    out = {}
    for name, (run, flops) in probes.items():
        for _ in range(3):  # warm-up: thread pool, first-touch pages, kernel choice
            run()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        out[name] = flops / statistics.median(times) / 1e9
    return out


def convs_only(model: nn.Module) -> nn.Module:
    """The model with every BatchNorm and ReLU module replaced by nn.Identity, in place.

    NOT the same function: a bound. Its step time is what ours would take if all the
    normalisation and activation work were free, i.e. what fusing or tuning it could gain at most.
    """
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d | nn.ReLU):
                setattr(module, name, nn.Identity())
    return model


def profile_step(model: nn.Module, x: torch.Tensor, steps: int = 2, top: int = 8,
                 compile: bool = False) -> list[dict]:  # fmt: skip
    """torch.profiler over `steps` training steps after warm-up: the top operators by self CPU time.

    Returns rows {op, ms_per_step, share}; share is of the summed self time of all operators.
    """
    # kineto prints start/stop and GPU-probe lines to stderr at its default log level
    os.environ.setdefault("KINETO_LOG_LEVEL", "99")
    from torch.profiler import ProfilerActivity, profile

    one_step, _ = _training_step(model, x, compile)
    for _ in range(2):  # warm-up (and compile) outside the profile
        one_step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            one_step()
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    return [{"op": e.key, "ms_per_step": e.self_cpu_time_total / 1000 / steps,
             "share": e.self_cpu_time_total / total} for e in events[:top]]  # fmt: skip


def loader_throughput(model: nn.Module, batch: int, steps: int) -> float:
    """img/s of loader (uint8 -> crop/flip -> float, channels-last) plus training step."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (batch * (steps + 2), 3, 32, 32), dtype=torch.uint8, generator=gen)
    loader = Loader(x, torch.arange(len(x)) % 10, batch, train=True, augment="crop_flip",
                    channels_last=True)  # fmt: skip
    opt = make_optimizer(model, TrainConfig(optimizer="sgd", lr=0.01))
    model.train()
    times = []
    t0 = time.perf_counter()
    for i, (xb, yb) in enumerate(loader.epoch(0)):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        now = time.perf_counter()
        if i >= 2:
            times.append(now - t0)
        t0 = now
    return batch / statistics.median(times)


def _reference_convmixer(width: int, regime: str) -> nn.Module:
    torch.manual_seed(0)
    # PyTorch warns that padding="same" with an even k pads a copy of the input: that copy is
    # part of what the reference path costs, so it is measured, and the warning silenced
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
    ref = locuslab_convmixer(width, 4, 8, 1)
    if regime == "chans":  # reference: freeze the stem and every depthwise conv by hand
        ref[0].requires_grad_(False)
        for m in ref.modules():
            if isinstance(m, nn.Conv2d) and m.groups > 1:
                m.requires_grad_(False)
    return ref


def _our_convmixer(width: int, regime: str) -> nn.Module:
    torch.manual_seed(0)
    ours = ConvMixer(width, 4, 8, 1, 10).to(memory_format=torch.channels_last)
    apply_regime(ours, regime)
    return ours


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

    def sep_resnet(regime: str, impl: str = "folded") -> nn.Module:
        torch.manual_seed(0)
        model = build_model(ModelConfig(arch="sep_resnet", regime=regime, depth=3, width=width,
                                        impl=impl))  # fmt: skip
        return model if impl == "explicit" else model.to(memory_format=torch.channels_last)

    def use_compile(arch: str) -> bool:
        return want_compile(arch, MIN_STEPS) if compile is None else compile

    def row(model: str, regime: str, reference: nn.Module, ours: Callable[[], nn.Module],
            bound: bool = False) -> dict:  # fmt: skip
        """Reference, ours eagerly, ours as a long run trains it (compiled where enabled), and
        with `bound` ours without BatchNorm and ReLU."""
        paths = {"reference": _training_step(reference, x)[0],
                 "ours_eager": _training_step(ours(), x_last)[0]}  # fmt: skip
        if bound:
            paths["convs_only"] = _training_step(convs_only(ours()), x_last)[0]
        stepper = None
        if use_compile("sep_resnet" if model.startswith("sep") else "convmixer"):
            paths["ours_compiled"], stepper = _training_step(ours(), x_last, compile=True)
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

    flops = {regime: step_flops(sep_resnet(regime), x_last) for regime in REGIMES}

    def every_row() -> list[dict]:
        out = []
        for regime in REGIMES:
            r = row("sep-ResNet-20 (n=3, d=9)", regime, sep_resnet(regime, "explicit"),
                    lambda g=regime: sep_resnet(g), bound=True)  # fmt: skip
            out.append({**r, "flops": flops[regime]})
        for regime in ("full", "chans"):
            out.append(row(f"ConvMixer-{mixer_width}/4 (k=8, p=1)", regime,
                           _reference_convmixer(mixer_width, regime),
                           lambda g=regime: _our_convmixer(mixer_width, g)))  # fmt: skip
        for r in out:
            r["allocator"] = allocator()
        return out

    rows = every_row()
    model = sep_resnet("full")
    step_only = step_throughput(model, x_last, steps)
    end_to_end = loader_throughput(model, batch, steps)
    profiles = {}
    if profile:
        profiles = {
            "sep-ResNet full, reference": profile_step(sep_resnet("full", "explicit"), x),
            "sep-ResNet full, ours": profile_step(sep_resnet("full"), x_last,
                                                  compile=use_compile("sep_resnet")),
            "ConvMixer full, reference": profile_step(_reference_convmixer(mixer_width, "full"), x),
            "ConvMixer full, ours": profile_step(_our_convmixer(mixer_width, "full"), x_last,
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


def _ours_note(row: dict) -> str:
    if not row["compiled"]:
        return ""
    return f" (compiled; eager {row['ours_eager']:.0f}, compile {row['compile_seconds']:.0f} s)"


def with_iqr(row: dict, key: str) -> str:
    """A row's img/s for `key` ("reference", "ours") with its interquartile range: "51 (48–54)"."""
    lo, hi = row.get(f"{key}_iqr", (row[key], row[key]))
    return f"{row[key]:.0f} ({lo:.0f}–{hi:.0f})"


def format_rows(result: dict) -> str:
    """Format a benchmark result as a text table."""
    lines = [f"{'model':<28}{'regime':>7}{'memory':>8}{'reference img/s':>18}{'ours img/s':>18}"
             f"{'ratio':>8}{'convs only':>12}{'ceiling':>9}"]  # fmt: skip
    for r in result["rows"]:
        bounds = (f"{r['convs_only_ratio']:>11.1f}×{r['ceiling_ratio']:>8.1f}×"
                  if "ceiling_ratio" in r else "")  # fmt: skip
        lines.append(f"{r['model']:<28}{r['regime']:>7}{r.get('allocator', '?'):>8}"
                     f"{with_iqr(r, 'reference'):>18}"
                     f"{with_iqr(r, 'ours'):>18}{r['ratio']:>7.1f}×{bounds}"
                     f"{_ours_note(r)}")  # fmt: skip
    lo = result["loader"]
    lines.append(f"loader + step: {lo['with_loader']:.0f} img/s vs step alone {lo['step_only']:.0f}"
                 f" ({lo['with_loader'] / lo['step_only'] - 1:+.0%})")  # fmt: skip
    peak = result["peak_gflops"]
    lines.append(f"peak RSS {result['peak_rss_mb']:.0f} MB; peak GFLOP/s: matmul "
                 f"{peak['matmul']:.0f}, conv {peak['conv']:.0f}; threads "
                 f"{result['provenance']['threads']}; {result['provenance']['cpu']}, "
                 f"{isa_text(result['provenance'])}")  # fmt: skip
    for label, ops in result.get("profile", {}).items():
        top = ", ".join(f"{o['op']} {o['ms_per_step']:.0f} ms ({o['share']:.0%})" for o in ops[:4])
        lines.append(f"top operators, {label}: {top}")
    return "\n".join(lines)


PROBES = {"matmul": "a large matrix product", "conv": "a dense conv"}


def _best_probe(result: dict) -> str:
    name, gflops = max(result["peak_gflops"].items(), key=lambda kv: kv[1])
    return f"{gflops:.0f} GFLOP/s, {PROBES[name]}"


def markdown_table(result: dict) -> str:
    """Format a stored benchmark record as the README's Markdown table."""
    prov = result["provenance"]
    lines = [f"Measured {prov['date'][:10]} on {prov['cpu']} ({isa_text(prov)}), "
             f"{prov['threads']} threads, torch "
             f"{prov['torch']}, batch {result['batch']}; img/s is the median of "
             f"{result['steps']} steps per path (interquartile range in brackets), the paths of a "
             f"row taking turns in {result['rounds']} rounds. Two bounds on ours, as ratios to "
             f"the reference: *convs only* is measured, our step with BatchNorm and ReLU deleted "
             f"(not the same function); *ceiling* is all of our step's FLOPs at this machine's "
             f"practical peak ({_best_probe(result)}) "
             f"with nothing else taking time. Memory: *default* is glibc's allocator as PyTorch "
             f"finds it, *keep* keeps freed blocks in the heap "
             f"(`spatialmix.provenance.keep_freed_memory`, what our training does).", "",
             "| model | regime | memory | reference img/s | ours img/s | ratio | convs only "
             "| ceiling | ours, how |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in result["rows"]:
        how = "folded, channels-last" if r["model"].startswith("sep") else "channels-last"
        if r["compiled"]:
            how += (f", torch.compile (eager: {r['ours_eager']:.0f} img/s; "
                    f"compiling took {r['compile_seconds']:.0f} s once)")  # fmt: skip
        bounds = (f"{r['convs_only_ratio']:.1f}× | {r['ceiling_ratio']:.1f}×"
                  if "ceiling_ratio" in r else "— | —")  # fmt: skip
        lines.append(f"| {r['model']} | {r['regime']} | {r.get('allocator', '?')} | "
                     f"{with_iqr(r, 'reference')} | "
                     f"{with_iqr(r, 'ours')} | {r['ratio']:.1f}× | {bounds} | {how} |")  # fmt: skip
    lo = result["loader"]
    lines += ["", f"Loader + step {lo['with_loader']:.0f} img/s vs step alone "
              f"{lo['step_only']:.0f}; peak RSS of the benchmark process "
              f"{result['peak_rss_mb']:.0f} MB."]  # fmt: skip
    return "\n".join(lines)


def roofline_rows(result: dict) -> list[dict]:
    """Per sep-ResNet row: our step's time and GFLOP/s next to its two bounds (run_benchmark)."""
    out = []
    for r in result["rows"]:
        if "flops" not in r:
            continue
        step_ms = 1000 * result["batch"] / r["ours"]
        out.append({"regime": r["regime"], "allocator": r.get("allocator", "?"),
                    "gflop_per_step": r["flops"] / 1e9,
                    "step_ms": step_ms, "convs_only_ms": 1000 * result["batch"] / r["convs_only"],
                    "at_peak_ms": 1000 * result["batch"] / r["ceiling"],
                    "achieved_gflops": r["flops"] / 1e6 / step_ms, "ratio": r["ratio"],
                    "convs_only_ratio": r["convs_only_ratio"],
                    "ceiling_ratio": r["ceiling_ratio"]})  # fmt: skip
    return out


def allocator_rows(result: dict) -> list[dict]:
    """Per model and regime timed both ways: img/s with glibc's default and with memory kept."""
    timed = {(r["model"], r["regime"], r.get("allocator")): r for r in result["rows"]}
    out = []
    for (model, regime, state), d in timed.items():
        k = timed.get((model, regime, "keep"))
        if state != "default" or k is None:
            continue
        out.append({"model": model, "regime": regime,
                    "reference_default": d["reference"], "reference_keep": k["reference"],
                    "reference_gain": k["reference"] / d["reference"],
                    "ours_default": d["ours"], "ours_keep": k["ours"],
                    "ours_gain": k["ours"] / d["ours"]})  # fmt: skip
    return out


def _by_allocator(rows: list[dict]) -> dict[str, dict[str, list[float]]]:
    """Group a record's rows by allocator state: {state: {"sep", "mix", "bound": ratios}}."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        group = out.setdefault(r.get("allocator", "?"), {"sep": [], "mix": [], "bound": []})
        group["sep" if r["model"].startswith("sep") else "mix"].append(r["ratio"])
        if "convs_only_ratio" in r:
            group["bound"].append(r["convs_only_ratio"])
    return out


def _span(values: list[float], fmt: str = ".1f") -> str:
    lo, hi = min(values), max(values)
    return f"{lo:{fmt}}×" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}–{hi:{fmt}}×"


def summary(result: dict) -> str:
    """The benchmark's findings as sentences, every number read from the record."""
    lines = []
    for state, g in _by_allocator(result["rows"]).items():
        lines.append(f"With {MEMORY[state]} for both paths, ours is {_span(g['sep'])} the "
                     f"reference on the sep-ResNet (convs-only bound {_span(g['bound'])}) and "
                     f"{_span(g['mix'])} on ConvMixer.")  # fmt: skip
    gains = allocator_rows(result)
    if gains:
        sep = [g for g in gains if g["model"].startswith("sep")]
        mix = [g for g in gains if g["model"].startswith("ConvMixer")]

        def gain(rows: list[dict], path: str) -> str:
            return _span([g[f"{path}_gain"] for g in rows], ".2f")

        lines.append(f"Keeping freed memory makes the reference {gain(sep, 'reference')} as fast "
                     f"on the sep-ResNet and {gain(mix, 'reference')} on ConvMixer; ours "
                     f"{gain(sep, 'ours')} (sep-ResNet) and {gain(mix, 'ours')} "
                     f"(ConvMixer).")  # fmt: skip
    return " ".join(lines)


# the benchmark's sizes: "cpu" (and "paper", the same) are the sizes the README reports
SIZES = {
    "smoke": {"batch": 4, "steps": 2, "width": 4, "mixer_width": 8, "compile": False,
              "rounds": 2},
    "cpu": {"batch": 128, "steps": 9, "width": 16, "mixer_width": 128, "compile": None,
            "rounds": 3},
}  # fmt: skip
SIZES["paper"] = SIZES["cpu"]
TARGETS = {"sep_resnet_ratio": 10.0, "convmixer_ratio": 2.0, "loader_overhead": 0.15,
           "run_peak_rss_mb": 4096.0}  # fmt: skip


def record_file(scale: str) -> Path:
    """Where the store keeps the benchmark record of a scale (results/bench/)."""
    return store_dir() / "bench" / ("bench_smoke.json" if scale == "smoke" else "bench.json")


def stored_or_run(scale: str = "cpu") -> dict:
    """Return the stored benchmark record for `scale`, measuring it first if the store lacks it."""
    path = record_file(scale)
    if path.exists():
        return json.loads(path.read_text())
    if store_is_readonly():
        raise MissingRecordError(f"no benchmark record at {path} in the read-only store; run "
                                 f"python -m spatialmix.bench --profile --out {path}")  # fmt: skip
    result = run_benchmark(**SIZES[scale], profile=True)
    write_atomically(path, result)
    return result


def keep_as_history(path: Path) -> Path | None:
    """Move the record at `path` into runs/ beside it, named by its date; return where it went."""
    if not path.exists():
        return None
    date = json.loads(path.read_text())["provenance"]["date"]
    kept = path.parent / "runs" / f"bench_{date[:19].replace(':', '-')}.json"
    kept.parent.mkdir(parents=True, exist_ok=True)
    path.replace(kept)
    return kept


def run_history(scale: str = "cpu") -> list[dict]:
    """Every benchmark record of `scale` in the store, kept runs and the current one, by date."""
    current = record_file(scale)
    paths = sorted((current.parent / "runs").glob("bench_*.json")) if scale != "smoke" else []
    records = [json.loads(p.read_text()) for p in [*paths, current] if p.exists()]
    return sorted(records, key=lambda r: r["provenance"]["date"])


def history_rows(records: list[dict]) -> list[dict]:
    """Per benchmark run: how it timed, its ratio per row, whether the ratio targets held."""
    out = []
    for r in records:
        ratios = {f"{'sep' if row['model'].startswith('sep') else 'mixer'} {row['regime']}"
                  f"{', keep' if row.get('allocator') == 'keep' else ''}": row["ratio"]
                  for row in r["rows"]}  # fmt: skip
        how = (f"turns: {r['steps']} steps in {r['rounds']} rounds" if "rounds" in r
               else f"one after another: {r['steps']} steps")  # fmt: skip
        # judged as the issue first measured: with the allocator as PyTorch finds it
        groups = _by_allocator(r["rows"])
        judged = next((g for state, g in groups.items() if state != "keep"), groups.get("keep"))
        out.append({"date": r["provenance"]["date"][:16].replace("T", " "), "timing": how,
                    "ratios": ratios,
                    "sep_met": min(judged["sep"]) >= TARGETS["sep_resnet_ratio"],
                    "mixer_met": min(judged["mix"]) >= TARGETS["convmixer_ratio"]})  # fmt: skip
    return out


def chapter_timing(chapter: str) -> dict | None:
    """The stored timed run of a chapter from an empty store (chapters.py `time`), if any."""
    path = record_file("cpu").with_name(f"chapter_{chapter}.json")
    return json.loads(path.read_text()) if path.exists() else None


MEMORY = {"default": "glibc's default allocator", "keep": "freed memory kept",
          "?": "allocator not recorded"}  # fmt: skip


def target_rows(result: dict, chapter_runs: list[dict] | None = None) -> list[dict]:
    """The issue's targets against a benchmark record (and timed chapter runs, for memory).

    The two ratio targets are judged once per allocator state the record timed (bench.MEMORY).
    """
    rows = []
    for state, g in _by_allocator(result["rows"]).items():
        sep, mix, bound = g["sep"], g["mix"], g["bound"]
        note = f"; convs only {min(bound):.1f}×" if bound else ""
        rows += [
            {"target": f"sep-ResNet step ≥ {TARGETS['sep_resnet_ratio']:.0f}× reference, every "
                       f"regime ({MEMORY[state]})",
             "measured": f"{min(sep):.2f}× (lowest of {len(sep)}{note})",
             "met": min(sep) >= TARGETS["sep_resnet_ratio"]},
            {"target": f"ConvMixer step ≥ {TARGETS['convmixer_ratio']:.0f}× reference "
                       f"({MEMORY[state]})",
             "measured": f"{min(mix):.2f}× (lowest of {len(mix)})",
             "met": min(mix) >= TARGETS["convmixer_ratio"]},
        ]  # fmt: skip
    lo = result["loader"]
    overhead = 1 - lo["with_loader"] / lo["step_only"]
    within = f"loader + step within {TARGETS['loader_overhead']:.0%} of the step alone"
    rows.append({"target": within,
                 "measured": f"{lo['with_loader']:.0f} vs {lo['step_only']:.0f} img/s "
                             f"({-overhead:+.0%})",
                 "met": overhead <= TARGETS["loader_overhead"]})  # fmt: skip
    target = f"peak RSS of a CPU-scale run ≤ {TARGETS['run_peak_rss_mb'] / 1024:.0f} GB"
    timed = [c for c in chapter_runs or [] if c.get("peak_rss_mb")]
    if not timed:
        return [*rows, {"target": target, "measured": "not measured", "met": None}]
    for c in timed:
        states = ", ".join(MEMORY[a] for a in c.get("allocator", ["?"]))
        rows.append({"target": f"{target} ({c['chapter']})",
                     "measured": f"{c['peak_rss_mb'] / 1024:.1f} GB: {c['records_made']} runs in "
                                 f"one kernel, {states}",
                     "met": c["peak_rss_mb"] <= TARGETS["run_peak_rss_mb"]})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
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
        print(markdown_table(json.loads(args.markdown.read_text())))
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


if __name__ == "__main__":
    sys.exit(main())
