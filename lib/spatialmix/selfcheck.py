"""Self-check: one training step of every model family × regime × width, each in its own process.

Native kernels can crash or hang on some CPUs (oneDNN's AVX2 strided 1×1 backward, see
layers.ChannelConv), and a crash in the test process would take every other test down with it.
Here each step runs in a forked child, so a crash is reported as that case's signal and a hang
as a timeout; the parent imports torch but never runs an op, so forking it is safe.

    python -m spatialmix.selfcheck [--threads 1] [--widths 1,2,4,8,16] [--timeout 60]

Set ONEDNN_MAX_CPU_ISA=AVX2 to check the AVX2 kernels on an AVX-512 machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sys
import time
from dataclasses import dataclass

import torch

from .models import ARCHS, ModelConfig, build_model
from .regimes import REGIMES

WIDTHS = (1, 2, 3, 4, 5, 6, 7, 8, 16)
LAYOUTS = ("channels_last", "nchw")


@dataclass(frozen=True)
class Case:
    """One training step to try: a model family, regime, width and memory layout."""

    arch: str
    regime: str
    width: int
    layout: str

    @property
    def name(self) -> str:
        return f"{self.arch}-{self.regime}-w{self.width}-{self.layout}"


def all_cases(widths: tuple[int, ...] = WIDTHS) -> list[Case]:
    """Every family × regime × width × layout."""
    return [Case(*c) for c in itertools.product(ARCHS, REGIMES, widths, LAYOUTS)]


def training_step(case: Case, threads: int = 1) -> None:
    """Build the case's model at its CIFAR shape (32×32 RGB) and take one SGD step."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    shape = {"sep_resnet": {"depth": 1}, "convmixer": {"depth": 1, "kernel_size": 8},
             "unshuffle": {"depth": 1, "kernel_size": 8}}[case.arch]  # fmt: skip
    model = build_model(ModelConfig(arch=case.arch, regime=case.regime, width=case.width, **shape))
    x = torch.rand(8, 3, 32, 32)
    if case.layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    out = model(x)
    loss = out.square().mean() if case.arch == "unshuffle" else out.logsumexp(1).mean()
    loss.backward()
    opt.step()


def run_forked(case: Case, threads: int = 1, timeout: float = 60.0) -> dict:
    """Run training_step(case) in a forked child; return {case, status, seconds}.

    status: "ok", "error" (a Python exception), "signal SIGSEGV" (or another), or "timeout".
    """
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: never return into the caller's code
        code = 0
        try:
            signal.alarm(int(timeout) + 1)  # SIGALRM ends a hang inside native code
            training_step(case, threads)
        except BaseException:  # noqa: BLE001 - any exception is this case's failure
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        result = "ok"
    elif code == -signal.SIGALRM:
        result = "timeout"
    elif code < 0:
        result = f"signal {signal.Signals(-code).name}"
    else:
        result = "error"
    return {"case": case.name, "status": result, "seconds": time.perf_counter() - t0}


def run_all(cases: list[Case], threads: int = 1, timeout: float = 60.0) -> list[dict]:
    """Run every case in its own child, one after another."""
    import torch._dynamo  # noqa: F401 - optimisers import it lazily (~1 s); import once, here

    return [run_forked(c, threads, timeout) for c in cases]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spatialmix.selfcheck",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--json", action="store_true", help="one JSON object per case")
    args = parser.parse_args(argv)
    if not hasattr(os, "fork"):
        print("the self-check forks one process per case; this platform cannot fork")
        return 2
    widths = tuple(int(w) for w in args.widths.split(","))
    print(f"torch {torch.__version__}, kernels {torch.backends.cpu.get_cpu_capability()}, "
          f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '(unset)')}, "
          f"{args.threads} threads", flush=True)  # fmt: skip
    failed = 0
    for result in run_all(all_cases(widths), args.threads, args.timeout):
        failed += result["status"] != "ok"
        line = (
            json.dumps(result)
            if args.json
            else (f"{result['case']:<36} {result['status']:<16} {result['seconds']:.2f} s")
        )
        print(line, flush=True)
    print(f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
