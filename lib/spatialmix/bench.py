"""Training-step throughput of the reference path (as the paper and locuslab write it) vs ours.

`python -m spatialmix.bench [--out FILE] [--batch 128] [--steps 5]` times, in one process with the
same threads, fp32 and no autocast: the separable ResNet (n = 3, w = 16, d = 9) in every regime
with explicit convs in NCHW (reference) vs the folded conv in channels-last (ours); and
ConvMixer-128/4 (k = 8, p = 1) as locuslab's nn.Sequential with padding="same" (reference) vs
our ConvMixer in channels-last. It prints img/s and the ratio per row and writes a JSON record.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import Loader
from .models import ConvMixer, ModelConfig, build_model
from .provenance import provenance, set_threads
from .regimes import REGIMES, apply_regime
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


def step_throughput(model: nn.Module, x: torch.Tensor, steps: int, warmup: int = 2) -> float:
    """Median img/s of full training steps (forward, backward, SGD step) on one fixed batch."""
    y = torch.arange(len(x)) % 10
    opt = make_optimizer(model, TrainConfig(optimizer="sgd", lr=0.01))
    model.train()
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return len(x) / statistics.median(times)


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


def run_benchmark(
    batch: int = 128, steps: int = 5, width: int = 16, mixer_width: int = 128
) -> dict:
    """Time every row; return {"rows": [...], "provenance": ..., "peak_rss_mb": ...}."""
    rows = []
    x = torch.rand(batch, 3, 32, 32)
    x_last = x.contiguous(memory_format=torch.channels_last)
    for regime in REGIMES:
        torch.manual_seed(0)
        ref = build_model(ModelConfig(arch="sep_resnet", regime=regime, depth=3, width=width,
                                      impl="explicit"))  # fmt: skip
        ours = build_model(ModelConfig(arch="sep_resnet", regime=regime, depth=3, width=width))
        ours = ours.to(memory_format=torch.channels_last)
        rows.append({"model": "sep-ResNet-20 (n=3, d=9)", "regime": regime,
                     "reference": step_throughput(ref, x, steps),
                     "ours": step_throughput(ours, x_last, steps)})  # fmt: skip
    for regime in ("full", "chans"):
        torch.manual_seed(0)
        ref = locuslab_convmixer(mixer_width, 4, 8, 1)
        ours = ConvMixer(mixer_width, 4, 8, 1, 10).to(memory_format=torch.channels_last)
        if regime == "chans":  # reference: freeze the stem and every depthwise conv by hand
            ref[0].requires_grad_(False)
            for m in ref.modules():
                if isinstance(m, nn.Conv2d) and m.groups > 1:
                    m.requires_grad_(False)
        apply_regime(ours, regime)
        rows.append({"model": f"ConvMixer-{mixer_width}/4 (k=8, p=1)", "regime": regime,
                     "reference": step_throughput(ref, x, steps),
                     "ours": step_throughput(ours, x_last, steps)})  # fmt: skip
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="sep_resnet", depth=3, width=width))
    model = model.to(memory_format=torch.channels_last)
    step_only = step_throughput(model, x_last, steps)
    end_to_end = loader_throughput(model, batch, steps)
    for row in rows:
        row["ratio"] = row["ours"] / row["reference"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": rows, "loader": {"step_only": step_only, "with_loader": end_to_end},
            "batch": batch, "steps": steps, "peak_rss_mb": peak,
            "provenance": provenance(torch.device("cpu"))}  # fmt: skip


def format_rows(result: dict) -> str:
    """Format a benchmark result as a text table."""
    lines = [f"{'model':<28}{'regime':>7}{'reference img/s':>17}{'ours img/s':>12}{'ratio':>8}"]
    for r in result["rows"]:
        lines.append(f"{r['model']:<28}{r['regime']:>7}{r['reference']:>17.0f}{r['ours']:>12.0f}"
                     f"{r['ratio']:>7.1f}×")  # fmt: skip
    lo = result["loader"]
    lines.append(f"loader + step: {lo['with_loader']:.0f} img/s vs step alone {lo['step_only']:.0f}"
                 f" ({lo['with_loader'] / lo['step_only'] - 1:+.0%})")  # fmt: skip
    lines.append(f"peak RSS {result['peak_rss_mb']:.0f} MB; threads "
                 f"{result['provenance']['threads']}; {result['provenance']['cpu']}")  # fmt: skip
    return "\n".join(lines)


def markdown_table(result: dict) -> str:
    """Format a stored benchmark record as the README's Markdown table."""
    prov = result["provenance"]
    lines = [f"Measured {prov['date'][:10]} on {prov['cpu']}, {prov['threads']} threads, torch "
             f"{prov['torch']}, batch {result['batch']}, median of {result['steps']} steps:", "",
             "| model | regime | reference img/s | ours img/s | ratio |",
             "|---|---|---|---|---|"]  # fmt: skip
    for r in result["rows"]:
        lines.append(f"| {r['model']} | {r['regime']} | {r['reference']:.0f} | {r['ours']:.0f} | "
                     f"{r['ratio']:.1f}× |")  # fmt: skip
    lo = result["loader"]
    lines += ["", f"Loader + step {lo['with_loader']:.0f} img/s vs step alone "
              f"{lo['step_only']:.0f}; peak RSS of the benchmark process "
              f"{result['peak_rss_mb']:.0f} MB."]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the JSON record here")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per row (median)")
    parser.add_argument("--width", type=int, default=16, help="sep-ResNet w")
    parser.add_argument("--mixer-width", type=int, default=128, help="ConvMixer h")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="print the README table of a stored record and exit")  # fmt: skip
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(json.loads(args.markdown.read_text())))
        return 0
    set_threads()
    result = run_benchmark(args.batch, args.steps, args.width, args.mixer_width)
    print(format_rows(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
