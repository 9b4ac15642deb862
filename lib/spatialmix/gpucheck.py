"""The GPU check: every chapter at smoke scale on the GPU, then timed paper-scale epochs.

    make gpu-check      # python -m spatialmix.gpucheck --out results/bench/gpu_check.json

Offline, with only the repository and a data folder (SPATIALMIX_DATA): first every chapter runs
at `-p scale smoke` on the device in a temporary store (nothing lands in results/), then one
training step of each model family at its paper-scale batch is timed, as a GPU user would run
it: channels-last, torch.compile, and bf16 autocast. bf16 is used for timing only: the book's
records train in fp32, so no stored number or claim depends on it. Seconds per epoch are the
median step time × the steps of one epoch of the full training split. The JSON names the GPU,
torch, and every timing; the runbook and README take GPU times from it once it exists.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .accel import CompiledStep
from .models import ModelConfig, build_model
from .provenance import provenance, resolve_device, set_threads
from .train import TrainConfig, make_optimizer

# model family -> (model, dataset shape (channels, side, classes), training images, paper batch)
FAMILIES = {
    "sep-ResNet-20 (n=3, d=9), CIFAR-10": (
        ModelConfig(arch="sep_resnet", depth=3, width=16, kernel_size=3, multiplier=9),
        (3, 32, 10), 50_000, 128),
    "ConvMixer-128/8 (k=8, p=1), CIFAR-10": (
        ModelConfig(arch="convmixer", width=128, depth=8, kernel_size=8, patch_size=1),
        (3, 32, 10), 50_000, 512),
    "un-shuffler 512/16 (k=7), MNIST": (
        ModelConfig(arch="unshuffle", width=512, depth=16, kernel_size=7),
        (1, 28, 10), 60_000, 128),
}  # fmt: skip
CHAPTERS = ("01", "02", "03", "04", "05", "06", "07")


def time_step(model: ModelConfig, shape: tuple[int, int, int], batch: int, device: torch.device,
              steps: int, bf16: bool, compile: bool) -> dict:  # fmt: skip
    """Median seconds of one full training step (forward, backward, SGD) on one fixed batch."""
    channels, side, classes = shape
    torch.manual_seed(0)
    net = build_model(model, classes, channels).to(device, memory_format=torch.channels_last)
    x = torch.rand(batch, channels, side, side, device=device)
    x = x.contiguous(memory_format=torch.channels_last)
    target = x if model.arch == "unshuffle" else torch.arange(batch, device=device) % classes
    loss = F.mse_loss if model.arch == "unshuffle" else F.cross_entropy
    opt = make_optimizer(net, TrainConfig(optimizer="sgd", lr=0.01))
    stepper = CompiledStep(net, enabled=compile)
    dtype = torch.bfloat16 if bf16 else torch.float32

    def one() -> float:
        sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
        sync()
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=bf16):
            stepper.step(x, lambda out: loss(out.float(), target))
        opt.step()
        sync()
        return time.perf_counter() - t0

    first = one()  # compiles here
    times = sorted(one() for _ in range(steps))
    return {"first_step_s": first, "step_s": times[len(times) // 2], "compiled": stepper.active}


def run_chapters(device: str, chapters: tuple[str, ...]) -> dict[str, dict]:
    """Each chapter at smoke scale on the device, in a temporary store: {NN: {ok, seconds}}."""
    from .chapters import chapter_path, parameters

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SPATIALMIX_RESULTS": str(Path(tmp) / "results")}
        for name in chapters:
            params = ["-p", "scale", "smoke"]
            if "device" in parameters(name):
                params += ["-p", "device", device]
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "papermill", str(chapter_path(name)),
                                   str(Path(tmp) / f"{name}.ipynb"), *params, "--cwd", tmp],
                                  env=env, capture_output=True, text=True)  # fmt: skip
            out[name] = {"ok": done.returncode == 0, "seconds": time.perf_counter() - t0}
            if done.returncode:
                out[name]["error"] = done.stderr[-2000:]
    return out


def gpu_check(
    device: str = "cuda",
    steps: int = 20,
    chapters: tuple[str, ...] = CHAPTERS,
    batch: int | None = None,
    bf16: bool = True,
    compile: bool = True,
) -> dict:
    """Run the check; batch overrides every family's paper batch (a quick test on a CPU)."""
    dev = resolve_device(device)
    result = {"provenance": provenance(dev), "settings": {"channels_last": True, "bf16": bf16,
              "compile": compile, "steps": steps}, "chapters": run_chapters(device, chapters),
              "epochs": []}  # fmt: skip
    for name, (model, shape, images, paper_batch) in FAMILIES.items():
        for regime in ("full", "chans", "space"):
            b = batch or paper_batch
            cfg = ModelConfig(**{**model.__dict__, "regime": regime})
            timed = time_step(cfg, shape, b, dev, steps, bf16, compile)
            per_epoch = timed["step_s"] * math.ceil(images / b)
            speed = b / timed["step_s"]
            result["epochs"].append({"model": name, "regime": regime, "batch": b,
                                     "seconds_per_epoch": per_epoch, "img_per_s": speed,
                                     **timed})  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=None, help="override (tests on a CPU)")
    parser.add_argument("--chapters", default=",".join(CHAPTERS), help="e.g. 03,04; none: ''")
    parser.add_argument("--no-bf16", action="store_true")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: the GPU check needs one (--device cpu only tests the script)")
        return 2
    set_threads()
    chapters = tuple(c for c in args.chapters.split(",") if c)
    result = gpu_check(args.device, args.steps, chapters, args.batch, not args.no_bf16,
                       not args.no_compile)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for row in result["epochs"]:
        print(f"{row['model']:>38} {row['regime']:>5}: {row['seconds_per_epoch']:8.1f} s/epoch "
              f"({row['img_per_s']:,.0f} img/s, batch {row['batch']})")  # fmt: skip
    failed = [n for n, c in result["chapters"].items() if not c["ok"]]
    print(f"chapters at smoke scale: {len(chapters) - len(failed)} of {len(chapters)} ran"
          + (f"; failed: {failed}" if failed else ""))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
