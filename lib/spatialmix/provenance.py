"""Where and how a number was made: device, threads, versions, commit (airbench's "Evidence").

It reads facts (and pins the thread count it then reports); what makes a step fast, the
allocator setting, subnormal floats and torch.compile, is accel.py's, and recorded here as found.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import torch

from .accel import allocator, denormals


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return a torch.device; "auto" picks CUDA when present, else the CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available; use 'auto'")
    return torch.device(device)


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads: the argument, env SPATIALMIX_THREADS, else every core
    (under torchrun: this machine's cores shared by its LOCAL_WORLD_SIZE processes).

    On a 2-core machine oversubscription makes torch several times slower, so set it once,
    explicitly, and record it. Returns the number set.
    """
    cores = (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    threads = threads or int(os.environ.get("SPATIALMIX_THREADS", 0)) or max(cores, 1)
    torch.set_num_threads(threads)
    return threads


def peak_rss_mb(children: bool = False) -> float | None:
    """Return this process's peak resident memory in MB (or its largest child's); None off Unix."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    kilobytes = resource.getrusage(who).ru_maxrss
    return kilobytes / (1024 * 1024) if platform.system() == "Darwin" else kilobytes / 1024


def cpu_name() -> str:
    """Return the CPU's model name (from /proc/cpuinfo where it exists)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """Return the CPU's feature flags (from /proc/cpuinfo; empty where it does not exist)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def instruction_set() -> dict[str, str]:
    """Return the widest vector ISA the CPU has and the one torch's kernels use.

    cpu: "amx" (AMX tiles, with AVX-512), "avx512", "avx2" or "other" (e.g. ARM), from the CPU's
    flags. kernels: torch's own dispatch level ("AVX512", "AVX2", "DEFAULT", ...). onednn_cap:
    ONEDNN_MAX_CPU_ISA when set (it caps oneDNN's convolutions below what the CPU has).
    Machines of one kind differ here, and speed and native-kernel bugs with them.
    """
    flags = cpu_flags()
    cpu = ("amx" if "amx_tile" in flags else "avx512" if "avx512f" in flags
           else "avx2" if "avx2" in flags else "other")  # fmt: skip
    found = {"cpu": cpu, "kernels": torch.backends.cpu.get_cpu_capability()}
    if os.environ.get("ONEDNN_MAX_CPU_ISA"):
        found["onednn_cap"] = os.environ["ONEDNN_MAX_CPU_ISA"]
    return found


ISA_NAMES = {"amx": "AMX", "avx512": "AVX-512", "avx2": "AVX2", "other": "no AVX2"}


def isa_text(prov: dict) -> str:
    """Name a record's instruction set for a sentence: "AVX-512", "AVX2 (oneDNN capped at AVX2)"."""
    isa = prov.get("isa")
    if not isa:
        return "instruction set not recorded"
    text = ISA_NAMES.get(isa["cpu"], isa["cpu"])
    return text + (f" (oneDNN capped at {isa['onednn_cap']})" if isa.get("onednn_cap") else "")


def core_seconds(prov: dict) -> float | None:
    """A run's training in core-seconds: train_seconds × the threads it ran with (1 where the
    record does not say), or None where it records no training time. Two 1-thread runs side by
    side on 2 cores each take the wall time of one, so core-seconds add up where wall time does
    not."""
    if "train_seconds" not in prov:
        return None
    return prov["train_seconds"] * (prov.get("threads") or 1)


def git_commit() -> str:
    """Return the repository's HEAD commit (with '+dirty' if the tree has changes), or 'unknown'."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True)  # fmt: skip
        return done.stdout.strip()

    try:
        head, dirty = git("rev-parse", "HEAD"), git("status", "--porcelain", "--", "lib")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def provenance(device: torch.device) -> dict:
    """Return versions, hardware, threads, commit and date for a record."""
    import torchvision

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "cpu": cpu_name(),
        "isa": instruction_set(),
        "gpu": gpu,
        "threads": torch.get_num_threads(),
        "cores": os.cpu_count(),
        "allocator": allocator(),
        "denormals": denormals(),
        "git_commit": git_commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
