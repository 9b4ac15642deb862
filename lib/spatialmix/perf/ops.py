"""The depthwise convolution by itself: forward, input and weight gradient, ours vs PyTorch's.

Ours are the native ops (depthwise.py); PyTorch's are F.conv2d(..., groups=C) on channels-last
input padded "same" beforehand (the pad is not timed) and aten.convolution_backward asked for one
gradient at a time, which is what autograd calls in a training step. The six calls of a layer
shape take turns in one process (timing.interleaved_throughput with a batch of one: calls per
second); GFLOP/s counts 2·N·C·H·W·k² per call, the same for every op and both kernels.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import depthwise
from ..accel import allocator
from ..layers import same_padding
from .timing import interleaved_throughput

OPS = ("forward", "input grad", "weight grad")
KERNELS = ("ours", "pytorch")


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
