"""Training-step throughput of the reference path (as the paper and locuslab write it) vs ours.

`python -m spatialmix.bench [--out FILE] [--batch 128] [--steps 5] [--profile]` times, in one
process with the same threads, fp32 and no autocast: the separable ResNet (n = 3, w = 16, d = 9)
in every regime with explicit convs in NCHW (reference) vs the folded conv in channels-last (ours);
and ConvMixer-128/4 (k = 8, p = 1) as locuslab's nn.Sequential with padding="same" (reference) vs
our ConvMixer in channels-last, eager and through torch.compile (ours: what a run uses, see
accel.py). It prints img/s and the ratio per row and writes a JSON record; --profile adds
torch.profiler's top operators per step for the reference and our path.
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
from .models import ConvMixer, ModelConfig, build_model
from .provenance import peak_rss_mb, provenance, set_threads
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


def _timed_steps(model: nn.Module, x: torch.Tensor, steps: int, warmup: int,
                 compile: bool = False) -> tuple[list[float], CompiledStep]:  # fmt: skip
    """Seconds per full training step (forward, backward, SGD step) on one fixed batch."""
    one_step, stepper = _training_step(model, x, compile)
    times = []
    for _ in range(warmup + steps):
        t0 = time.perf_counter()
        one_step()
        times.append(time.perf_counter() - t0)
    return times, stepper


def step_throughput(model: nn.Module, x: torch.Tensor, steps: int, warmup: int = 2) -> float:
    """Median img/s of full training steps (forward, backward, SGD step) on one fixed batch."""
    times, _ = _timed_steps(model, x, steps, warmup)
    return len(x) / statistics.median(times[warmup:])


def compiled_throughput(model: nn.Module, x: torch.Tensor, steps: int) -> dict:
    """Median img/s through torch.compile; the first step's excess over it is the compile time."""
    times, stepper = _timed_steps(model, x, steps, warmup=3, compile=True)
    median = statistics.median(times[3:])
    return {"img_per_s": len(x) / median, "compiled": stepper.active,
            "compile_seconds": times[0] - median}  # fmt: skip


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
    steps: int = 5,
    width: int = 16,
    mixer_width: int = 128,
    profile: bool = False,
    compile: bool | None = None,
) -> dict:
    """Time every row; return {"rows": [...], "loader", "profile", "provenance", "peak_rss_mb"}.

    compile: whether "ours" also runs through torch.compile; None decides as a long training
    run (accel.MIN_STEPS steps or more) would (accel.want_compile). "ours_eager" is always timed.
    """
    rows = []
    x = torch.rand(batch, 3, 32, 32)
    x_last = x.contiguous(memory_format=torch.channels_last)

    def sep_resnet(regime: str, impl: str = "folded") -> nn.Module:
        torch.manual_seed(0)
        model = build_model(ModelConfig(arch="sep_resnet", regime=regime, depth=3, width=width,
                                        impl=impl))  # fmt: skip
        return model if impl == "explicit" else model.to(memory_format=torch.channels_last)

    def use_compile(arch: str) -> bool:
        return want_compile(arch, MIN_STEPS) if compile is None else compile

    def row(model: str, regime: str, reference: nn.Module, ours: Callable[[], nn.Module]) -> dict:
        """Reference, ours eagerly, and ours as a long run trains it (compiled where enabled)."""
        out = {"model": model, "regime": regime,
               "reference": step_throughput(reference, x, steps),
               "ours_eager": step_throughput(ours(), x_last, steps), "compiled": False}  # fmt: skip
        out["ours"] = out["ours_eager"]
        if use_compile("sep_resnet" if model.startswith("sep") else "convmixer"):
            done = compiled_throughput(ours(), x_last, steps)
            out.update(ours=done["img_per_s"], compiled=done["compiled"],
                       compile_seconds=done["compile_seconds"])  # fmt: skip
        return out

    for regime in REGIMES:
        rows.append(row("sep-ResNet-20 (n=3, d=9)", regime, sep_resnet(regime, "explicit"),
                        lambda r=regime: sep_resnet(r)))  # fmt: skip
    for regime in ("full", "chans"):
        rows.append(row(f"ConvMixer-{mixer_width}/4 (k=8, p=1)", regime,
                        _reference_convmixer(mixer_width, regime),
                        lambda r=regime: _our_convmixer(mixer_width, r)))  # fmt: skip
    model = sep_resnet("full")
    step_only = step_throughput(model, x_last, steps)
    end_to_end = loader_throughput(model, batch, steps)
    for row in rows:
        row["ratio"] = row["ours"] / row["reference"]
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
    return {"rows": rows, "loader": {"step_only": step_only, "with_loader": end_to_end},
            "batch": batch, "steps": steps, "profile": profiles, "peak_rss_mb": peak_rss_mb(),
            "provenance": provenance(torch.device("cpu"))}  # fmt: skip


def _ours_note(row: dict) -> str:
    if not row["compiled"]:
        return ""
    return f" (compiled; eager {row['ours_eager']:.0f}, compile {row['compile_seconds']:.0f} s)"


def format_rows(result: dict) -> str:
    """Format a benchmark result as a text table."""
    lines = [f"{'model':<28}{'regime':>7}{'reference img/s':>17}{'ours img/s':>12}{'ratio':>8}"]
    for r in result["rows"]:
        lines.append(f"{r['model']:<28}{r['regime']:>7}{r['reference']:>17.0f}{r['ours']:>12.0f}"
                     f"{r['ratio']:>7.1f}×{_ours_note(r)}")  # fmt: skip
    lo = result["loader"]
    lines.append(f"loader + step: {lo['with_loader']:.0f} img/s vs step alone {lo['step_only']:.0f}"
                 f" ({lo['with_loader'] / lo['step_only'] - 1:+.0%})")  # fmt: skip
    lines.append(f"peak RSS {result['peak_rss_mb']:.0f} MB; threads "
                 f"{result['provenance']['threads']}; {result['provenance']['cpu']}")  # fmt: skip
    for label, ops in result.get("profile", {}).items():
        top = ", ".join(f"{o['op']} {o['ms_per_step']:.0f} ms ({o['share']:.0%})" for o in ops[:4])
        lines.append(f"top operators, {label}: {top}")
    return "\n".join(lines)


def markdown_table(result: dict) -> str:
    """Format a stored benchmark record as the README's Markdown table."""
    prov = result["provenance"]
    lines = [f"Measured {prov['date'][:10]} on {prov['cpu']}, {prov['threads']} threads, torch "
             f"{prov['torch']}, batch {result['batch']}, median of {result['steps']} steps:", "",
             "| model | regime | reference img/s | ours img/s | ratio | ours, how |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in result["rows"]:
        how = "folded, channels-last" if r["model"].startswith("sep") else "channels-last"
        if r["compiled"]:
            how += (f", torch.compile (eager: {r['ours_eager']:.0f} img/s; "
                    f"compiling took {r['compile_seconds']:.0f} s once)")  # fmt: skip
        lines.append(f"| {r['model']} | {r['regime']} | {r['reference']:.0f} | {r['ours']:.0f} | "
                     f"{r['ratio']:.1f}× | {how} |")  # fmt: skip
    lo = result["loader"]
    lines += ["", f"Loader + step {lo['with_loader']:.0f} img/s vs step alone "
              f"{lo['step_only']:.0f}; peak RSS of the benchmark process "
              f"{result['peak_rss_mb']:.0f} MB."]  # fmt: skip
    return "\n".join(lines)


def profile_tables(result: dict) -> str:
    """Format the stored profiles as Markdown: one table of top operators per path."""
    parts = []
    for label, ops in result.get("profile", {}).items():
        rows = [f"**{label}** (self CPU time per training step)", "",
                "| operator | ms per step | share |", "|---|---|---|"]  # fmt: skip
        rows += [f"| `{o['op']}` | {o['ms_per_step']:.0f} | {o['share']:.0%} |" for o in ops]
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


# the benchmark's sizes: "cpu" (and "paper", the same) are the sizes the README reports
SIZES = {
    "smoke": {"batch": 4, "steps": 1, "width": 4, "mixer_width": 8, "compile": False},
    "cpu": {"batch": 128, "steps": 5, "width": 16, "mixer_width": 128, "compile": None},
}
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


def chapter_timing(chapter: str) -> dict | None:
    """The stored timed run of a chapter from an empty store (chapters.py `time`), if any."""
    path = record_file("cpu").with_name(f"chapter_{chapter}.json")
    return json.loads(path.read_text()) if path.exists() else None


def target_rows(result: dict, chapter_run: dict | None = None) -> list[dict]:
    """The issue's targets against a benchmark record (and a timed chapter run, for memory)."""
    sep = [r["ratio"] for r in result["rows"] if r["model"].startswith("sep")]
    mix = [r["ratio"] for r in result["rows"] if r["model"].startswith("ConvMixer")]
    lo = result["loader"]
    overhead = 1 - lo["with_loader"] / lo["step_only"]
    rows = [
        {"target": f"sep-ResNet step ≥ {TARGETS['sep_resnet_ratio']:.0f}× reference, every regime",
         "measured": f"{min(sep):.1f}× (lowest of {len(sep)})",
         "met": min(sep) >= TARGETS["sep_resnet_ratio"]},
        {"target": f"ConvMixer step ≥ {TARGETS['convmixer_ratio']:.0f}× reference",
         "measured": f"{min(mix):.1f}× (lowest of {len(mix)})",
         "met": min(mix) >= TARGETS["convmixer_ratio"]},
        {"target": f"loader + step within {TARGETS['loader_overhead']:.0%} of the step alone",
         "measured": f"{lo['with_loader']:.0f} vs {lo['step_only']:.0f} img/s ({-overhead:+.0%})",
         "met": overhead <= TARGETS["loader_overhead"]},
    ]  # fmt: skip
    memory = {"target": f"peak RSS of a CPU-scale run ≤ {TARGETS['run_peak_rss_mb'] / 1024:.0f} GB",
              "measured": "not measured", "met": None}  # fmt: skip
    if chapter_run and chapter_run.get("peak_rss_mb"):
        peak = chapter_run["peak_rss_mb"]
        memory.update(measured=f"{peak / 1024:.1f} GB (kernel of {chapter_run['chapter']}, "
                               f"{chapter_run['records_made']} runs in one process)",
                      met=peak <= TARGETS["run_peak_rss_mb"])  # fmt: skip
    return [*rows, memory]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the JSON record here")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per row (median)")
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
    result = run_benchmark(args.batch, args.steps, args.width, args.mixer_width, args.profile)
    print(format_rows(result))
    if args.out:
        write_atomically(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
