"""Spatial mixing at the CPU's speed: a native depthwise convolution for training.

PyTorch's CPU depthwise k×k convolution runs ConvMixer's k = 8 layers at about 20 GFLOP/s
(forward plus backward), a tenth of what the same cores reach on dense convolutions, which makes
it the bottleneck of every ConvMixer and un-shuffler run (issue: results/bench/bench.json).
`native/depthwise.cpp` computes the same function with vectorised multiply-adds over channels
held in registers (forward, input gradient, weight gradient; any k, "same" padding, stride 1,
fp32, channels-last). It is built on first use with torch's cpp_extension (g++ and ninja) for
this machine's instruction set, and cached under the user cache.

SPATIALMIX_DEPTHWISE = "auto" (default: native where it builds, else PyTorch's kernel with one
warning) | "native" (an error if it does not build) | "torch" (always PyTorch's kernel).
CUDA tensors and anything but fp32 always take PyTorch's kernel (cuDNN on the GPU). The function
equals F.conv2d(..., groups=C) to float rounding (tests/test_depthwise.py) and training with it
matches eager PyTorch training (same test), so it is not part of a run's key; a record's
provenance says which kernel ran.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

ENV = "SPATIALMIX_DEPTHWISE"
CHOICES = ("auto", "native", "torch")
SOURCE = Path(__file__).parent / "native" / "depthwise.cpp"
NAMESPACE = "spatialmix_native"
_LOADED = [False]  # set by load(); read while torch.compile traces, which must not build
_DISABLED = [False]  # set inside native_disabled(): PyTorch's kernel for every layer


def choice() -> str:
    """The SPATIALMIX_DEPTHWISE setting, checked."""
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise ValueError(f"{ENV}={value!r}; valid values are {CHOICES}")
    return value


def _machine_tag() -> str:
    """A build per instruction set: the cache may be shared by machines of different CPUs."""
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = line
                break
    except OSError:
        pass
    text = "|".join([flags, torch.__version__, SOURCE.read_text()])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _build_dir() -> Path:
    root = os.environ.get("SPATIALMIX_CACHE")
    base = (
        Path(root).expanduser()
        if root
        else (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spatialmix")
    )
    return base / "native" / _machine_tag()


def _find_ninja() -> None:
    """torch's builder runs `ninja` from PATH; the pip package keeps it beside the interpreter."""
    if shutil.which("ninja"):
        return
    try:
        import ninja  # type: ignore[import-not-found]

        os.environ["PATH"] = f"{ninja.BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"
    except ImportError:
        pass


@functools.cache
def load() -> bool:
    """Build (first time on this machine) and load the kernel; False, with one warning, if not."""
    if choice() == "torch":
        return False
    if _LOADED[0]:  # loaded earlier in this process (the cache was cleared, e.g. by a test)
        return True
    try:
        # a CUDA build of torch on a machine without CUDA logs, on import, that it found no
        # CUDA runtime: on stderr, where a chapter's output would show it
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        from torch.utils import cpp_extension

        _find_ninja()
        build = _build_dir()
        build.mkdir(parents=True, exist_ok=True)
        cpp_extension.load(
            name=NAMESPACE,
            sources=[str(SOURCE)],
            extra_cflags=["-O3", "-march=native", "-fopenmp"],
            extra_ldflags=["-fopenmp"],
            build_directory=str(build),
            is_python_module=False,
            verbose=False,
        )
    except Exception as err:  # no compiler, no ninja, a failed build: PyTorch's kernel instead
        if choice() == "native":
            raise RuntimeError(
                f"{ENV}=native but the native depthwise kernel failed: {err}"
            ) from err
        warnings.warn(
            f"native depthwise convolution unavailable ({type(err).__name__}: "
            f"{str(err).strip().splitlines()[-1] if str(err).strip() else err}); using "
            f"PyTorch's kernel. Set {ENV}=torch to silence this.",
            stacklevel=2,
        )
        return False
    _register()
    _LOADED[0] = True
    return True


def _register() -> None:
    """Shapes for torch.compile and the backward pass, for the ops the C++ file defines."""
    ops = getattr(torch.ops, NAMESPACE)
    lib = f"{NAMESPACE}::"

    @torch.library.register_fake(lib + "dw_forward")
    def _(x: Tensor, w: Tensor, bias: Tensor | None, pad_before: int) -> Tensor:
        return torch.empty_like(x, memory_format=torch.channels_last)

    @torch.library.register_fake(lib + "dw_input_grad")
    def _(g: Tensor, w: Tensor, pad_before: int) -> Tensor:
        return torch.empty_like(g, memory_format=torch.channels_last)

    @torch.library.register_fake(lib + "dw_weight_grad")
    def _(x: Tensor, g: Tensor, k: int, pad_before: int) -> Tensor:
        return x.new_empty((x.shape[1], 1, k, k))

    def setup(ctx, inputs: tuple, output: Tensor) -> None:
        x, w, bias, pad_before = inputs
        ctx.save_for_backward(x, w)
        ctx.pad_before, ctx.has_bias = pad_before, bias is not None

    def backward(ctx, g: Tensor) -> tuple:
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx = ops.dw_input_grad(g, w, ctx.pad_before) if need_x else None
        gw = ops.dw_weight_grad(x, g, w.shape[-1], ctx.pad_before) if need_w else None
        gb = g.sum((0, 2, 3)) if need_b and ctx.has_bias else None
        return gx, gw, gb, None

    torch.library.register_autograd(lib + "dw_forward", backward, setup_context=setup)


def applies(x: Tensor, weight: Tensor, stride: int, multiplier: int) -> bool:
    """Whether the native kernel computes this layer: CPU, fp32, stride 1, multiplier 1.

    While torch.compile traces, the kernel is used if it is already loaded (accel.CompiledStep
    loads it before compiling): building it inside a trace would break the graph.
    """
    if not (x.device.type == "cpu" and x.dtype == torch.float32 and weight.dtype == torch.float32
            and stride == 1 and multiplier == 1):  # fmt: skip
        return False
    if _DISABLED[0]:
        return False
    if torch.compiler.is_compiling():
        return _LOADED[0]
    return load()


def active() -> bool:
    """True where the native ops run now: loaded, and not inside native_disabled()."""
    return not _DISABLED[0] and load()


@contextlib.contextmanager
def native_disabled() -> Iterator[None]:
    """Run every depthwise layer, and the fused norms (fused.py), on PyTorch's kernels inside
    the block, in this process.

    For timing the two kernels side by side (perf.suite: the un-shuffler's reference path) and
    counting FLOPs; the setting (SPATIALMIX_DEPTHWISE) stays as it is. Eager mode: a graph that
    torch.compile traced before keeps the kernel it traced with. Nests; not thread-local.
    """
    before = _DISABLED[0]
    _DISABLED[0] = True
    try:
        yield
    finally:
        _DISABLED[0] = before


def spatial_mix(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """Depthwise k×k convolution with "same" padding ((k-1)//2 before): (N, C, H, W) -> same."""
    pad_before = (weight.shape[-1] - 1) // 2
    return getattr(torch.ops, NAMESPACE).dw_forward(x, weight, bias, pad_before)


def ops() -> object:
    """The native ops (torch.ops.spatialmix_native), after load() has returned True."""
    return getattr(torch.ops, NAMESPACE)


def kernel_name() -> str:
    """Which depthwise kernel a CPU run uses now, for provenance (torch inside native_disabled)."""
    return "native" if active() else "torch"
