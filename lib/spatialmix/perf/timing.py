"""The timing harness: training steps timed in turns, their FLOPs, the machine's peak, profiles.

Every measurement runs full training steps (forward, backward, SGD step) on one fixed batch, in
fp32 without autocast, with the threads the process has (provenance.set_threads). A classifier's
step takes cross-entropy against fixed labels; given a target image (the un-shuffler), the mean
squared error against it, as train.py does.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .. import depthwise
from ..accel import CompiledStep
from ..data import Loader
from ..train import TrainConfig, make_optimizer

# how a row was timed: the allocator state (accel.keep_freed_memory) in words
MEMORY = {"default": "glibc's default allocator", "keep": "freed memory kept",
          "?": "allocator not recorded"}  # fmt: skip


def training_step(
    model: nn.Module, x: torch.Tensor, compile: bool = False, target: torch.Tensor | None = None
) -> tuple[Callable[[], None], CompiledStep]:
    """Return (one full training step on the fixed batch x as a function, its CompiledStep).

    The loss is cross-entropy against fixed labels, or with `target` (an image batch shaped like
    the model's output) the mean squared error against it.
    """
    y = torch.arange(len(x)) % 10
    opt = make_optimizer(model, TrainConfig(optimizer="sgd", lr=0.01))
    stepper = CompiledStep(model, enabled=compile)
    model.train()

    def loss(out: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y) if target is None else F.mse_loss(out, target)

    def one_step() -> None:
        stepper.step(x, loss)
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
    one_step, _ = training_step(model, x)
    timed = interleaved_throughput({"model": one_step}, len(x), steps, rounds=1, warmup=warmup)
    return timed["model"]["img_per_s"]


def _conv_backward_flops(grad_out_shape: list[int], x_shape: list[int], w_shape: list[int],
                         *args: object, **kwargs: object) -> int:  # fmt: skip
    """A convolution's gradients: each one asked for costs what its forward does, any groups.

    torch's own formula counts the weight gradient as if the conv had one group (a 128-channel
    depthwise conv: 128× too many); for one group the two formulas agree.
    """
    from torch.utils.flop_counter import conv_flop_count

    transposed, output_mask = args[4], args[7]
    if transposed:
        raise ValueError("step_flops does not count transposed convolutions")
    return conv_flop_count(x_shape, w_shape, grad_out_shape) * sum(map(bool, output_mask[:2]))


def _depthwise_flops(image_shape: list[int], k: int) -> int:
    """One pass of a depthwise k×k convolution over an N×C×H×W image: 2·N·C·H·W·k² FLOPs."""
    return 2 * math.prod(image_shape) * k * k


# the native depthwise ops (depthwise.py), by their arguments' shapes
NATIVE_FLOPS: dict[str, Callable[..., int]] = {
    "dw_forward": lambda x, w, *args, **kwargs: _depthwise_flops(x, w[-1]),
    "dw_input_grad": lambda g, w, *args, **kwargs: _depthwise_flops(g, w[-1]),
    "dw_weight_grad": lambda x, g, k, *args, **kwargs: _depthwise_flops(g, k),
}


def step_flops(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None) -> float:
    """FLOPs of one training step (forward and backward), counted by torch.utils.flop_counter.

    Exact for convolutions (grouped ones too, with a corrected formula for their gradients), the
    native depthwise ops and matmuls; element-wise work (BatchNorm, activations) is not counted.
    A depthwise layer costs 2·N·C·H·W·k² per pass, whichever kernel computes it (PyTorch's
    kernel on an even k computes one extra row and column, which it then crops: counted).
    """
    from torch.utils.flop_counter import FlopCounterMode

    formulas = {torch.ops.aten.convolution_backward: _conv_backward_flops}
    if depthwise.load():
        native = getattr(torch.ops, depthwise.NAMESPACE)
        formulas.update({getattr(native, op): f for op, f in NATIVE_FLOPS.items()})
    one_step, _ = training_step(model, x, target=target)
    with FlopCounterMode(display=False, custom_mapping=formulas) as counter:
        one_step()
    return float(counter.get_total_flops())


def peak_probes() -> dict[str, tuple[Callable[[], object], int]]:
    """The two probes of this machine's practical fp32 peak: {name: (call, FLOPs per call)}.

    "matmul": a 2048×2048 matrix product (BLAS); "conv": a dense 3×3 convolution forward with
    256 channels at 16×16, batch 32, channels-last (oneDNN, the library our convs run on).
    """
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(2048, 2048, generator=gen), torch.randn(2048, 2048, generator=gen)
    x = torch.randn(32, 256, 16, 16, generator=gen).contiguous(memory_format=torch.channels_last)
    w = torch.randn(256, 256, 3, 3, generator=gen)
    return {
        "matmul": (lambda: a @ b, 2 * 2048**3),
        "conv": (lambda: F.conv2d(x, w, padding=1), 2 * 32 * 16 * 16 * 256 * 256 * 9),
    }


def peak_gflops(repeats: int = 5) -> dict[str, float]:
    """This machine's practical fp32 peak, GFLOP/s (median of `repeats`) of each peak_probes."""
    out = {}
    for name, (run, flops) in peak_probes().items():
        for _ in range(3):  # warm-up: thread pool, first-touch pages, kernel choice
            run()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        out[name] = flops / statistics.median(times) / 1e9
    return out


def profile_step(model: nn.Module, x: torch.Tensor, steps: int = 2, top: int = 8,
                 compile: bool = False,
                 target: torch.Tensor | None = None) -> list[dict]:  # fmt: skip
    """torch.profiler over `steps` training steps after warm-up: the top operators by self CPU time.

    Returns rows {op, ms_per_step, share}; share is of the summed self time of all operators.
    """
    # kineto prints start/stop and GPU-probe lines to stderr at its default log level
    os.environ.setdefault("KINETO_LOG_LEVEL", "99")
    from torch.profiler import ProfilerActivity, profile

    one_step, _ = training_step(model, x, compile, target)
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
