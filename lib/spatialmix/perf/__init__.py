"""Training speed: the reference path (as the paper and locuslab write it) against ours.

reference.py  the models a row times: locuslab's ConvMixer, the explicit sep-ResNet, ours, the
              un-shuffler (reference: PyTorch's kernels only), and the convs-only bound
timing.py     the harness: training steps timed in turns, FLOPs, the machine's peak, profiles
ops.py        a mixer layer's convs by themselves: the depthwise one's three ops, native vs
              PyTorch's, and the 1×1 one's, oneDNN conv vs MKL matmul, in turns
flops.py      a record against the machine: the per-op tables, every step's GFLOP/s as a share
              of the practical peak (the roofline), the targets stated as shares, and the
              bound the 1×1 convs set on a mixer's step
report.py     a stored record as the README's table, the book's tables, sentences, the targets
suite.py      run_benchmark(), its sizes, its record in the results store, the command line

Each module imports only those listed before it. `python -m spatialmix.perf` runs the suite;
chapter 08 reads the record through the names below.
"""

from .flops import (
    REFRESH,
    SHARE_TARGETS,
    bound_rows,
    depthwise_ops_text,
    elementwise_ops_text,
    pointwise_ops_text,
    practical_peak,
    roofline_points,
    steps_text,
)
from .report import (
    MEMORY,
    TARGETS,
    allocator_rows,
    allocator_table,
    format_rows,
    history_rows,
    history_text,
    markdown_table,
    measured_text,
    profile_text,
    roofline_rows,
    roofline_text,
    summary,
    target_rows,
    targets_text,
    throughput_table,
    with_iqr,
)
from .suite import SIZES, record_file, run_benchmark, run_history, stored_or_run

__all__ = [
    "MEMORY", "REFRESH", "SHARE_TARGETS", "SIZES", "TARGETS", "allocator_rows", "allocator_table",
    "bound_rows", "depthwise_ops_text", "elementwise_ops_text", "format_rows", "history_rows",
    "history_text", "markdown_table", "measured_text", "pointwise_ops_text", "practical_peak",
    "profile_text",
    "record_file", "roofline_points", "roofline_rows", "roofline_text", "run_benchmark",
    "run_history", "steps_text", "stored_or_run", "summary", "target_rows", "targets_text",
    "throughput_table", "with_iqr",
]  # fmt: skip
