"""Chapter plumbing: validate a notebook's parameters, and run every chapter with papermill.

`python -m spatialmix.chapters run [NN_topic ...]` executes chapters in place at their committed
parameters (training only what the store lacks), which is how their outputs are regenerated.
`python -m spatialmix.chapters time NN [--out FILE]` runs one chapter from an EMPTY results store
(a temporary directory) and records its wall time and the peak RSS of the kernel as JSON.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .datasets import DATASETS
from .provenance import peak_rss_mb, provenance, resolve_device, set_threads
from .regimes import REGIME_MEANING, REGIMES
from .scales import SCALES

FREEZE_CHOICES = (*REGIMES, "all")
PAPERMILL_MARKER = "# Parameters"  # the first line of the cell papermill injects


def injected_names(history: list[str]) -> tuple[set[str], set[str]]:
    """Return (names the parameters cell defines, names papermill injected) from IPython's In.

    Papermill runs the tagged cell, then its own cell that starts with "# Parameters".
    """
    for i in range(len(history) - 1, 0, -1):
        if history[i].lstrip().startswith(PAPERMILL_MARKER):
            return _assigned(history[i - 1]), _assigned(history[i])
    return set(), set()


def _assigned(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def check_unknown_parameters() -> None:
    """Raise if papermill passed a parameter the chapter does not define (papermill only warns)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    declared, injected = injected_names(list(shell.user_ns.get("In", [])))
    unknown = sorted(injected - declared)
    if declared and unknown:
        hints = {u: difflib.get_close_matches(u, declared, 1) for u in unknown}
        detail = ", ".join(f"{u!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
                           for u, h in hints.items())  # fmt: skip
        raise ValueError(f"unknown parameter(s) {detail}; this chapter takes {sorted(declared)}")


@dataclass(frozen=True)
class Setup:
    """A chapter's validated parameters, in the library's terms."""

    regimes: tuple[str, ...]
    scale: str
    device: torch.device
    threads: int


def _check(name: str, value: object, valid: tuple) -> None:
    if value not in valid:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {list(valid)}")


def setup(**params: object) -> Setup:
    """Validate chapter parameters, echo what they mean, pin threads; return the Setup.

    Known names are checked by value (freeze, scale, dataset, datasets, seeds, device); any
    positive-int list (depths, widths, counts, kernel_sizes) must hold positive ints.
    """
    check_unknown_parameters()
    freeze = str(params.get("freeze", "all"))
    _check("freeze", freeze, FREEZE_CHOICES)
    scale = str(params.get("scale", "cpu"))
    _check("scale", scale, SCALES)
    datasets = params.get("datasets", [])
    if not isinstance(datasets, list):
        raise ValueError(f"datasets must be a list of names, got {datasets!r}")
    for ds in [params["dataset"]] if "dataset" in params else []:
        _check("dataset", ds, DATASETS)
    for ds in datasets:
        _check("dataset", ds, DATASETS)
    for name in ("seeds", "depths", "widths", "counts", "kernel_sizes"):
        values = params.get(name, [])
        if isinstance(values, str):
            hint = f"papermill's -p passes text; give lists as YAML: -y '{name}: {values}'"
            raise ValueError(f"{name} must be a list, got the string {values!r}: {hint}")
        if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
            raise ValueError(f"{name} must be a list of integers, got {values!r}")
        if any(v < (0 if name == "seeds" else 1) for v in values):
            raise ValueError(f"{name} must hold {'non-negative' if name == 'seeds' else 'positive'}"
                             f" integers, got {values}")  # fmt: skip
    device = resolve_device(str(params.get("device", "auto")))
    threads = set_threads()
    regimes = REGIMES if freeze == "all" else (freeze,)
    if "freeze" in params:
        for r in regimes:
            print(f"regime {r!r}: {REGIME_MEANING[r]}")
    if "scale" in params:
        print(f"scale {scale!r} on {device} with {threads} threads")
    return Setup(regimes, scale, device, threads)


def book_dir() -> Path:
    """Return the repository's book/ folder."""
    from .results import repo_root

    return repo_root() / "book"


def run_chapters(names: list[str] | None = None) -> None:
    """Execute chapters in place with papermill at their committed parameters."""
    import papermill

    for path in chapter_paths(names):
        print(f"running {path.name}", flush=True)
        papermill.execute_notebook(str(path), str(path), cwd=str(path.parent),
                                   progress_bar=False, kernel_name="python3")  # fmt: skip


def chapter_paths(names: list[str] | None = None) -> list[Path]:
    """Return the chapters book/NN_topic.ipynb named by "NN" or "NN_topic" (all if no names)."""
    paths = sorted(book_dir().glob("[0-9][0-9]_*.ipynb"))
    return [p for p in paths if not names or p.stem in names or p.stem[:2] in names]


def chapter_path(name: str) -> Path:
    """Return the one chapter named by "NN" or "NN_topic"; a clear error if there is none."""
    paths = chapter_paths([name])
    if not paths:
        raise FileNotFoundError(f"no chapter {name!r} in {book_dir()}")
    return paths[0]


def time_chapter(name: str, params: dict | None = None) -> dict:
    """Run a chapter in a subprocess from an empty temporary store; return wall time and peak RSS.

    Peak RSS is that of the largest descendant of this process so far (from the command line:
    the kernel's). Linux hands a reaped child's maximum up to its parent, so RUSAGE_CHILDREN
    sees the kernel through papermill.
    """
    path = chapter_path(name)
    with tempfile.TemporaryDirectory(prefix="spatialmix-time-") as tmp:
        env = {**os.environ, "SPATIALMIX_RESULTS": str(Path(tmp) / "results")}
        env.pop("SPATIALMIX_READONLY", None)
        cmd = [sys.executable, "-m", "papermill", str(path), str(Path(tmp) / path.name),
               "-k", "python3", "--cwd", str(path.parent)]  # fmt: skip
        if params:
            cmd += ["-y", json.dumps(params)]  # JSON is YAML: lists and numbers keep their types
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True)
        wall = time.perf_counter() - t0
        made = [json.loads(p.read_text()) for p in Path(tmp, "results").rglob("*.json")]
    peak = peak_rss_mb(children=True)
    # how the kernel's training runs allocated memory (provenance.keep_freed_memory)
    allocators = sorted({r.get("provenance", {}).get("allocator", "?") for r in made})
    return {"chapter": path.stem, "params": params or {}, "wall_seconds": wall,
            "peak_rss_mb": peak, "records_made": len(made), "allocator": allocators,
            "provenance": provenance(torch.device("cpu"))}  # fmt: skip


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "time"):
        print(__doc__)
        return 2
    os.environ.setdefault("SPATIALMIX_THREADS", "2")
    if argv[0] == "run":
        run_chapters(argv[1:] or None)
        return 0
    args = argv[1:]
    out = None
    if "--out" in args:
        i = args.index("--out")
        out, args = Path(args[i + 1]), args[:i] + args[i + 2 :]
    if len(args) != 1:
        print(__doc__)
        return 2
    from .results import write_atomically

    set_threads()
    result = time_chapter(args[0])
    print(f"{result['chapter']}: {result['wall_seconds'] / 60:.1f} min from an empty store, "
          f"{result['records_made']} records, peak RSS {result['peak_rss_mb']:.0f} MB")  # fmt: skip
    if out is not None:
        write_atomically(out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
