"""The convolutions of a mixer layer by themselves: forward, input and weight gradient.

The depthwise convolution, ours vs PyTorch's (time_depthwise_ops), and the 1×1 convolution
after it as the models run it vs as a plain matrix product on MKL (time_pointwise_ops).

Ours are the native ops (depthwise.py); PyTorch's are F.conv2d(..., groups=C) on channels-last
input padded "same" beforehand (the pad is not timed) and aten.convolution_backward asked for one
gradient at a time, which is what autograd calls in a training step. The six calls of a layer
shape take turns in one process (timing.interleaved_throughput with a batch of one: calls per
second); GFLOP/s counts 2·N·C·H·W·k² per call, the same for every op and both kernels.
The 1×1 convolution's ops count 2·N·H·W·C² each: "conv" is F.conv2d on channels-last input and
aten.convolution_backward (oneDNN, what a training step calls), "matmul" the same products on
the (N·H·W, C) view (MKL's GEMM: x Wᵀ, g W, gᵀ x).
The element-wise work between them (time_elementwise_ops): a mixer layer's two GELU + BatchNorm
(training mode), the first with the residual added, forward and backward, as our fused op
(fused.gelu_norm) and as PyTorch's separate ops, beside a copy of the same tensor, which gives
the memory bandwidth they are bound by.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import depthwise
from ..accel import allocator
from ..fused import gelu_norm
from ..layers import same_padding
from .timing import interleaved_throughput

OPS = ("forward", "input grad", "weight grad")
KERNELS = ("ours", "pytorch")
POINTWISE = ("conv", "matmul")
# the fewest passes over the tensor a GELU + BatchNorm needs while BatchNorm's statistics are
# taken in a pass of their own (not in the conv that makes the tensor): forward, read y for the
# statistics, then read y and write the output (+1 read: the residual); backward, read the
# output's gradient and y for the sums of dγ, dβ, then read both again and write y's gradient
ELEMENTWISE = {"GELU+BN+residual": (True, 9), "GELU+BN": (False, 8)}  # residual, fewest passes


def op_calls(x: Tensor, w: Tensor, g: Tensor) -> dict[tuple[str, str], Callable[[], object]]:
    """The six calls of one layer shape: {(op, kernel): call} for OPS × KERNELS.

    x and g: (N, C, H, W) channels-last, the input and the output's gradient; w: (C, 1, k, k).
    """
    k, c = w.shape[-1], w.shape[0]
    before, after = same_padding(k)
    padded = F.pad(x, (before, after) * 2).contiguous(memory_format=torch.channels_last)
    native = getattr(torch.ops, depthwise.NAMESPACE)

    def backward(mask: list[bool]) -> Callable[[], object]:
        return lambda: torch.ops.aten.convolution_backward(
            g, padded, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], c, mask
        )

    return {
        ("forward", "ours"): lambda: native.dw_forward(x, w, None, before),
        ("forward", "pytorch"): lambda: F.conv2d(padded, w, groups=c),
        ("input grad", "ours"): lambda: native.dw_input_grad(g, w, before),
        ("input grad", "pytorch"): backward([True, False, False]),
        ("weight grad", "ours"): lambda: native.dw_weight_grad(x, g, k, before),
        ("weight grad", "pytorch"): backward([False, True, False]),
    }


def time_depthwise_ops(shapes: dict[str, tuple[int, int, int, int, int]], steps: int,
                       rounds: int) -> list[dict]:  # fmt: skip
    """Time every op of every layer shape {name: (N, C, H, W, k)}, ours and PyTorch's in turns.

    Returns one row per shape and op: {"layer", "shape", "op", "gflop", "ours", "ours_iqr",
    "pytorch", "pytorch_iqr", "ratio", "allocator"}, GFLOP/s at the median call and its
    interquartile range ([slow, fast]); ratio = ours / pytorch. [] where the native kernel is
    not available (depthwise.load).
    """
    if not depthwise.load():
        return []
    rows = []
    for name, (n, c, h, w_, k) in shapes.items():
        gen = torch.Generator().manual_seed(0)
        x, g = (torch.randn(n, c, h, w_, generator=gen) for _ in range(2))
        x, g = (t.contiguous(memory_format=torch.channels_last) for t in (x, g))
        w = torch.randn(c, 1, k, k, generator=gen)
        calls = op_calls(x, w, g)
        timed = interleaved_throughput({f"{op}|{kernel}": call for (op, kernel), call
                                        in calls.items()}, 1, steps, rounds)  # fmt: skip
        gflop = 2 * n * c * h * w_ * k * k / 1e9
        for op in OPS:
            row = {"layer": name, "shape": [n, c, h, w_, k], "op": op, "gflop": gflop,
                   "allocator": allocator()}  # fmt: skip
            for kernel in KERNELS:
                t = timed[f"{op}|{kernel}"]
                row[kernel] = gflop * t["img_per_s"]
                row[f"{kernel}_iqr"] = [gflop * v for v in t["iqr"]]
            row["ratio"] = row["ours"] / row["pytorch"]
            rows.append(row)
    return rows


def pointwise_calls(x: Tensor, w: Tensor, g: Tensor) -> dict[tuple[str, str], Callable[[], object]]:
    """The six calls of one 1×1 layer: {(op, path): call} for OPS × POINTWISE.

    x and g: (N, C, H, W) channels-last, the input and the output's gradient; w: (C, C, 1, 1).
    """
    c = w.shape[0]
    xm, gm, wm = (
        x.permute(0, 2, 3, 1).reshape(-1, c),
        g.permute(0, 2, 3, 1).reshape(-1, c),
        w.view(c, c),
    )

    def backward(mask: list[bool]) -> Callable[[], object]:
        return lambda: torch.ops.aten.convolution_backward(
            g, x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, mask
        )

    return {
        ("forward", "conv"): lambda: F.conv2d(x, w),
        ("forward", "matmul"): lambda: xm @ wm.t(),
        ("input grad", "conv"): backward([True, False, False]),
        ("input grad", "matmul"): lambda: gm @ wm,
        ("weight grad", "conv"): backward([False, True, False]),
        ("weight grad", "matmul"): lambda: gm.t() @ xm,
    }


def time_pointwise_ops(shapes: dict[str, tuple[int, int, int, int]], steps: int,
                       rounds: int) -> list[dict]:  # fmt: skip
    """Time every op of every 1×1 layer shape {name: (N, C, H, W)}, conv and matmul in turns.

    Returns one row per shape and op: {"layer", "shape", "op", "gflop", "conv", "conv_iqr",
    "matmul", "matmul_iqr", "best", "allocator"}, GFLOP/s at the median call and its
    interquartile range ([slow, fast]); best = the faster of the two.
    """
    rows = []
    for name, (n, c, h, w_) in shapes.items():
        gen = torch.Generator().manual_seed(0)
        x, g = (torch.randn(n, c, h, w_, generator=gen) for _ in range(2))
        x, g = (t.contiguous(memory_format=torch.channels_last) for t in (x, g))
        w = torch.randn(c, c, 1, 1, generator=gen) / c**0.5
        calls = pointwise_calls(x, w, g)
        timed = interleaved_throughput({f"{op}|{path}": call for (op, path), call
                                        in calls.items()}, 1, steps, rounds)  # fmt: skip
        gflop = 2 * n * h * w_ * c * c / 1e9
        for op in OPS:
            row = {"layer": name, "shape": [n, c, h, w_], "op": op, "gflop": gflop,
                   "allocator": allocator()}  # fmt: skip
            for path in POINTWISE:
                t = timed[f"{op}|{path}"]
                row[path] = gflop * t["img_per_s"]
                row[f"{path}_iqr"] = [gflop * v for v in t["iqr"]]
            row["best"] = max(row[path] for path in POINTWISE)
            rows.append(row)
    return rows


def elementwise_calls(y: Tensor, res: Tensor, g: Tensor) -> dict[str, Callable[[], object]]:
    """A mixer layer's element-wise calls at one shape: {"OP|ours", "OP|pytorch"} for OP in
    ELEMENTWISE, forward and backward of gelu_norm(y, GELU, BatchNorm, res or None), and "copy",
    a copy of one such tensor. y, res, g: (N, C, H, W) channels-last; y and res need grad."""
    act, norm, dst = nn.GELU(), nn.BatchNorm2d(y.shape[1]).train(), torch.empty_like(g)

    def call(residual: bool, native: bool) -> Callable[[], None]:
        def run() -> None:
            with contextlib.nullcontext() if native else depthwise.native_disabled():
                gelu_norm(y, act, norm, res if residual else None).backward(g)
            y.grad = res.grad = None

        return run

    calls: dict[str, Callable[[], object]] = {"copy": lambda: dst.copy_(g)}
    for op, (residual, _) in ELEMENTWISE.items():
        calls |= {f"{op}|ours": call(residual, True), f"{op}|pytorch": call(residual, False)}
    return calls


def time_elementwise_ops(shapes: dict[str, tuple[int, int, int, int]], steps: int,
                         rounds: int) -> list[dict]:  # fmt: skip
    """Time a mixer layer's element-wise work at every activation shape {name: (N, C, H, W)}:
    GELU + BatchNorm forward and backward (ELEMENTWISE: with the residual, and without), ours
    (fused.gelu_norm) and PyTorch's ops (inside depthwise.native_disabled), and a copy of one
    such tensor, all in turns (elementwise_calls).

    Returns one row per shape and op: {"layer", "shape", "op", "ours_ms", "ours_iqr",
    "pytorch_ms", "pytorch_iqr", "ratio" (pytorch / ours time), "copy_ms", "copy_gbps" (bytes
    read and written per second by the copy), "floor_ms" (the op's fewest passes, ELEMENTWISE,
    at the copy's bandwidth), "allocator"}; times in ms at the median call, IQR [slow, fast].
    """
    rows = []
    for name, (n, c, h, w_) in shapes.items():
        gen = torch.Generator().manual_seed(0)
        y, res, g = (torch.randn(n, c, h, w_, generator=gen) for _ in range(3))
        y, res, g = (t.contiguous(memory_format=torch.channels_last) for t in (y, res, g))
        timed = interleaved_throughput(elementwise_calls(y.requires_grad_(),
                                                         res.requires_grad_(), g),
                                       1, steps, rounds)  # fmt: skip
        ms = {key: 1000 / t["img_per_s"] for key, t in timed.items()}
        iqr = {key: [1000 / v for v in t["iqr"]] for key, t in timed.items()}
        nbytes = g.numel() * g.element_size()
        gbps = 2 * nbytes / ms["copy"] / 1e6
        for op, (_, passes) in ELEMENTWISE.items():
            rows.append({"layer": name, "shape": [n, c, h, w_], "op": op,
                         "ours_ms": ms[f"{op}|ours"], "ours_iqr": iqr[f"{op}|ours"],
                         "pytorch_ms": ms[f"{op}|pytorch"], "pytorch_iqr": iqr[f"{op}|pytorch"],
                         "ratio": ms[f"{op}|pytorch"] / ms[f"{op}|ours"],
                         "copy_ms": ms["copy"], "copy_gbps": gbps,
                         "floor_ms": passes * nbytes / gbps / 1e6,
                         "allocator": allocator()})  # fmt: skip
    return rows
