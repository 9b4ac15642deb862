"""How a training step runs fast: torch.compile where it pays, freed memory kept in the heap,
and subnormal floats flushed to zero.

They leave the math alone (beyond float rounding), and every record's provenance says whether
each was in effect. The allocator setting (keep_freed_memory, SPATIALMIX_MALLOC) and the
subnormal one (flush_denormals, SPATIALMIX_DENORMALS) are process-wide and one-way.

Compiling changes no math a test can see beyond float rounding (tests/test_accel.py trains the
same model compiled and eager and compares), so it is not part of a run's key; each record says
in its provenance whether its training steps ran compiled.

SPATIALMIX_COMPILE = "auto" (default) | "1" | "0". "auto" compiles the mixers (ConvMixer and the
un-shuffler), whose steps it made faster in the benchmark (results/bench/bench.json,
"ours_eager" vs "ours"; less so with freed memory kept), and only runs long enough to pay back
the one-off compile time (10-40 s on 2 cores, less with torch's on-disk cache): a CPU-scale run
(a few hundred steps) trains eagerly, a paper-scale one (tens of thousands of steps) compiles.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn

from . import depthwise

COMPILE_ENV = "SPATIALMIX_COMPILE"
# sep-ResNet: compiled and eager steps differed by less than run-to-run noise (+-10 %)
COMPILED_FAMILIES = ("convmixer", "unshuffle")
MIN_STEPS = 2000  # shorter runs may not repay the compile time


def want_compile(arch: str, steps: int, device: torch.device | str = "cpu") -> bool:
    """Decide whether a run of `arch` with `steps` optimiser steps on `device` trains compiled.

    On the CPU with the native depthwise kernel (depthwise.py) the mixers train faster eagerly
    (benchmark: "ours_eager" vs "ours_compiled"), so "auto" compiles them only without it.
    """
    choice = os.environ.get(COMPILE_ENV, "auto").strip().lower()
    if choice in ("1", "true", "yes", "on"):
        return True
    if choice in ("0", "false", "no", "off"):
        return False
    if choice != "auto":
        raise ValueError(f"{COMPILE_ENV}={choice!r}: use auto, 1 or 0")
    if arch not in COMPILED_FAMILIES or steps < MIN_STEPS:
        return False
    return torch.device(device).type != "cpu" or not depthwise.load()


class CompiledStep:
    """Run forward + backward through torch.compile(model); on a compile failure, eagerly.

    Compilation happens lazily: the forward graph at the first call, the backward graph at the
    first backward. Both happen inside the first step, so `step` tries that one step compiled;
    if anything raises, it restores the buffers (BatchNorm statistics) the failed attempt may
    have moved, warns once and runs the step, and every later one, on the eager model.
    """

    def __init__(self, model: nn.Module, enabled: bool = True) -> None:
        self.model = model
        self.compiled: Callable[[Tensor], Tensor] | None = None
        self.verified = False
        if enabled:
            # compiling on a CPU-only machine logs a warning that no CUDA runtime was found
            logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
            if all(p.device.type == "cpu" for p in model.parameters()):
                depthwise.load()  # built before tracing: the trace then calls it as one op
            try:
                self.compiled = torch.compile(model)
            except Exception as err:  # noqa: BLE001 - e.g. a platform torch cannot compile on
                self._give_up(err)

    @property
    def active(self) -> bool:
        """True while training steps run compiled."""
        return self.compiled is not None

    def _give_up(self, err: Exception) -> None:
        warnings.warn(f"torch.compile failed ({type(err).__name__}: {str(err)[:200]}); "
                      "training eagerly instead", RuntimeWarning, stacklevel=3)  # fmt: skip
        self.compiled = None

    def step(self, inputs: Tensor, loss_fn: Callable[[Tensor], Tensor]) -> tuple[Tensor, Tensor]:
        """Forward, loss, zero grads, backward; return (output, loss). The caller steps."""
        if self.compiled is None:
            return self._forward_backward(self.model, inputs, loss_fn)
        if self.verified:
            return self._forward_backward(self.compiled, inputs, loss_fn)
        saved = [b.detach().clone() for b in self.model.buffers()]
        try:
            result = self._forward_backward(self.compiled, inputs, loss_fn)
            self.verified = True
            return result
        except Exception as err:  # noqa: BLE001 - any compile failure falls back to eager
            with torch.no_grad():
                for buffer, value in zip(self.model.buffers(), saved, strict=True):
                    buffer.copy_(value)
            self._give_up(err)
            return self._forward_backward(self.model, inputs, loss_fn)

    def _forward_backward(
        self, forward: Callable[[Tensor], Tensor], inputs: Tensor, loss_fn: Callable
    ) -> tuple[Tensor, Tensor]:
        out = forward(inputs)
        loss = loss_fn(out)
        for p in self.model.parameters():
            p.grad = None
        loss.backward()
        return out, loss


MALLOC_ENV = "SPATIALMIX_MALLOC"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
_KEEP_BELOW = 1 << 30  # serve blocks under 1 GiB from the heap; trim only a free top above it
_allocator = "default"


def keep_freed_memory() -> str:
    """Keep large freed blocks in the heap instead of returning them to the OS; return the state.

    glibc serves a block above its mmap threshold (at most 32 MB, raised as blocks are freed)
    with a fresh mapping and unmaps it on free, so every training step whose activations are that
    large page-faults them back in, zero-filled: a 32×32 ConvMixer-128 at batch 128 (64 MB per
    activation) or the explicit separable conv's d·c channels. Raising the threshold keeps them
    in the heap, and raising the trim threshold keeps the heap's free top too, so the next step
    reuses them: the same math, fewer page faults, and a resident set that stays at its peak
    (freed memory stays with the process). Process-wide and one-way; train() calls it.

    SPATIALMIX_MALLOC = "keep" (default) | "default" (leave the allocator alone). Returns "keep"
    once set, "default" otherwise (opted out, or not glibc: macOS, Windows, musl).
    """
    global _allocator
    choice = os.environ.get(MALLOC_ENV, "keep").strip().lower()
    if choice not in ("keep", "default"):
        raise ValueError(f"{MALLOC_ENV}={choice!r}: use keep or default")
    if choice == "keep" and _allocator == "default":
        try:
            mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
        except (OSError, AttributeError):
            return _allocator
        if mallopt(_M_MMAP_THRESHOLD, _KEEP_BELOW) == 1 == mallopt(_M_TRIM_THRESHOLD, _KEEP_BELOW):
            _allocator = "keep"
    return _allocator


def allocator() -> str:
    """Whether this process keeps freed memory ("keep", keep_freed_memory) or not ("default")."""
    return _allocator


DENORMALS_ENV = "SPATIALMIX_DENORMALS"
_denormals = "keep"


def flush_denormals() -> str:
    """Flush subnormal floats to zero on the CPU (FTZ and DAZ); return the state.

    As a mixer trains, some of its GELU outputs and gradients fall below float32's smallest
    normal number (1.2e-38). x86 cores compute on such subnormal numbers through a microcode
    assist, some 100× slower per operation, so a ConvMixer's steps slow down epoch by epoch:
    measured 2026-12-02 on an Intel Xeon (AVX-512, AMX), a 1×1 conv's backward at 1 thread took
    4.3 s with subnormal gradients and 37 ms with normal ones, and a ConvMixer-128/8 chans
    training step from its epoch-6 checkpoint 2.9 s, against 1.1 s flushed (beside two busy
    processes). Flushing turns values under 1.2e-38 into zero, in the inputs and the results of
    every float operation: nothing a step computes changes beyond float rounding. Process-wide
    (every thread of torch's pool) and one-way, like keep_freed_memory; train() and every
    evaluation call it, and each record's provenance says which was in effect.

    SPATIALMIX_DENORMALS = "flush" (default) | "keep" (leave the CPU as it is). Returns
    "flush" once set, "keep" otherwise (opted out, or a CPU where torch cannot set it).
    """
    global _denormals
    choice = os.environ.get(DENORMALS_ENV, "flush").strip().lower()
    if choice not in ("flush", "keep"):
        raise ValueError(f"{DENORMALS_ENV}={choice!r}: use flush or keep")
    if choice == "flush" and _denormals == "keep" and torch.set_flush_denormal(True):
        _denormals = "flush"
    return _denormals


def denormals() -> str:
    """Whether this process flushes subnormal floats to zero ("flush", flush_denormals)."""
    return _denormals
