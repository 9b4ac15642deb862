"""Chapter plumbing: validate a notebook's parameters, and run every chapter with papermill.

`python -m spatialmix.chapters run [NN_topic ...]` executes chapters in place at their committed
parameters (training only what the store lacks), which is how their outputs are regenerated.
`python -m spatialmix.chapters time NN [--scale SCALE] [--out FILE]` runs one chapter from an
EMPTY results store (a temporary directory), at its committed parameters or at SCALE, and records
its wall time and the peak RSS of the kernel as JSON; the book reads it back from
results/bench/chapter_NN.json (chapter_timing), naming the scale where the timing states one.
"""

from __future__ import annotations

import argparse
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
from .provenance import isa_text, peak_rss_mb, provenance, resolve_device, set_threads
from .regimes import BANKS, REGIME_MEANING, REGIMES
from .scales import SCALES
from .store import read_json, repo_root, store_dir, write_atomically

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


def parameters(name: str) -> dict[str, object]:
    """A chapter's committed parameters: the literal values of its "parameters" cell."""
    notebook = json.loads(chapter_path(name).read_text())
    cell = next(c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", []))
    found = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            found[target.id] = ast.literal_eval(node.value)
    return found


def chapter_parameters(name: str, scale: str) -> dict[str, object]:
    """A chapter's parameters at a scale: its committed cell with experiments.scale_parameters
    over it (how chapter 06 reads the shapes and seeds of chapters 04 and 05)."""
    from .experiments import scale_parameters

    return {**parameters(name), **scale_parameters(name, scale)}


def scale_note(chapter: str, params: dict[str, object]) -> str:
    """Where a scale has its own parameter values for a chapter (experiments.scale_parameters:
    the runs its queue grid trains) and `params` ask for others, say so and give the command
    that asks for the grid's runs; else "". Printed before any compute: the runs asked for are
    trained, hours of them at the converged and paper scales."""
    from .experiments import scale_parameters

    scale = str(params.get("scale", ""))
    wanted = scale_parameters(chapter, scale)
    differ = {k: v for k, v in wanted.items() if k in params and params[k] != v}
    if not differ:
        return ""
    given = ", ".join(f"{k}={params[k]!r}" for k in differ)
    grid = ", ".join(f"{k}={v!r}" for k, v in differ.items())
    flags = json.dumps(wanted)
    return (
        f"note: at scale {scale!r} the queue's grid for this chapter (`python -m "
        f"spatialmix.queue plan {chapter[:2]}:{scale}`) has {grid}; this execution asks for "
        f"{given}, so it trains and shows other runs. For the grid's runs: papermill "
        f"book/{chapter_path(chapter).name} out.ipynb -p scale {scale} -y '{flags}'"
    )


def _has_own_parameters(params: dict[str, object]) -> bool:
    """Whether params' scale has parameter values of its own (converged, paper): only then can
    scale_note say anything, so only then does setup read the chapters' parameter cells."""
    from .experiments import SCALE_PARAMETERS

    return str(params.get("scale", "")) in SCALE_PARAMETERS


def this_chapter(declared: set[str]) -> str | None:
    """The chapter ("NN_topic") whose parameters cell defines exactly these names, if one does."""
    found = [p.stem for p in chapter_paths() if set(parameters(p.stem)) == declared]
    return found[0] if len(found) == 1 else None


def _papermill_chapter() -> str | None:
    """The chapter papermill is executing, told by its parameters cell (None outside papermill)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    declared, _ = injected_names(list(shell.user_ns.get("In", []))) if shell else (set(), set())
    return this_chapter(declared) if declared else None


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


class ParameterError(ValueError):
    """A chapter parameter is refused: the message names it, the value given, what is accepted."""


# every chapter parameter, by name: what it accepts (a test checks each chapter's names are here)
POSITIVE_INTS = {"size", "targets", "width", "depth", "kernel_size", "patch_size", "bank_depth",
                 "width_depth", "mixer_width", "mixer_depth"}  # fmt: skip
POSITIVE_INT_LISTS = {"depths", "widths", "counts", "kernel_sizes", "channels", "multipliers",
                      "span_kernels", "adv_depths"}  # fmt: skip
CHOICES = {"freeze": FREEZE_CHOICES, "scale": SCALES, "dataset": DATASETS}
CHOICE_LISTS = {"datasets": DATASETS, "panels": DATASETS, "banks": BANKS, "adv_regimes": REGIMES}
OTHERS = {"seed", "seeds", "threshold", "eps_255", "device", "data_dir", "timed", "sigmas"}
KNOWN = POSITIVE_INTS | POSITIVE_INT_LISTS | set(CHOICES) | set(CHOICE_LISTS) | OTHERS


def _refuse(name: str, value: object, accepted: str, hint: str = "") -> ParameterError:
    return ParameterError(f"parameter {name}: got {value!r}; accepted: {accepted}"
                          + (f". {hint}" if hint else ""))  # fmt: skip


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _choice(name: str, value: object, valid: tuple) -> None:
    if value in valid:
        return
    hint = ""
    if isinstance(value, str) and value.strip().lower() in valid:
        hint = f"names are lower case: {value.strip().lower()!r}"
    raise _refuse(name, value, f"one of {list(valid)}", hint)


def _as_list(name: str, value: object, what: str) -> list:
    if isinstance(value, list):
        return value
    hint = ""
    if isinstance(value, str):  # papermill's -p passes lists as text
        hint = f"papermill's -p passes text; give a list as YAML: -y '{name}: {value}'"
    raise _refuse(name, value, f"a list of {what}", hint)


def check_parameter(name: str, value: object) -> None:
    """Raise ParameterError unless `value` is acceptable for the chapter parameter `name`."""
    if name not in KNOWN:
        raise _refuse(name, value, "nothing: spatialmix.chapters knows no such parameter")
    if name in CHOICES:
        _choice(name, value, CHOICES[name])
    elif name in CHOICE_LISTS:
        for v in _as_list(name, value, f"names from {list(CHOICE_LISTS[name])}"):
            _choice(name, v, CHOICE_LISTS[name])
    elif name in POSITIVE_INTS and not (_is_int(value) and value >= 1):
        raise _refuse(name, value, "a positive integer (1 or more)")
    elif name in POSITIVE_INT_LISTS:
        values = _as_list(name, value, "positive integers")
        if not values or not all(_is_int(v) and v >= 1 for v in values):
            raise _refuse(name, value, "a non-empty list of positive integers, e.g. [1, 2]")
    elif name == "seed" and not (_is_int(value) and value >= 0):
        raise _refuse(name, value, "an integer 0 or more")
    elif name == "seeds":
        values = _as_list(name, value, "integers 0 or more")
        if not values or not all(_is_int(v) and v >= 0 for v in values):
            raise _refuse(name, value, "a non-empty list of integers 0 or more, e.g. [0, 1]")
    elif name == "threshold" and not (_is_number(value) and 0 < value <= 1):
        raise _refuse(name, value, "a number in (0, 1]")
    elif name == "sigmas":
        values = _as_list(name, value, "numbers 0 or more (σ of the Gaussian smoothing, Fig. 7)")
        if not values or not all(_is_number(v) and v >= 0 for v in values):
            raise _refuse(name, value, "a non-empty list of numbers 0 or more, e.g. [0, 0.5, 1]")
    elif name == "eps_255" and not (_is_number(value) and value > 0):
        raise _refuse(name, value, "a positive number (ε in units of 1/255)")
    elif name == "timed":
        if not all(isinstance(v, str) for v in _as_list(name, value, 'chapter numbers ("04")')):
            raise _refuse(name, value, 'a list of chapter numbers as text, e.g. ["04", "05"]')
    elif name == "device":
        _check_device(value)
    elif name == "data_dir" and not isinstance(value, str):
        raise _refuse(name, value, "a folder path as text (empty: the default lookup)")


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_device(value: object) -> None:
    accepted = "auto, cpu, or cuda / cuda:N on a machine with a CUDA GPU"
    if not isinstance(value, str):
        raise _refuse("device", value, accepted)
    if value.startswith("cuda") and not torch.cuda.is_available():
        raise _refuse("device", value, accepted, "CUDA is not available on this machine")
    try:
        resolve_device(value)
    except (RuntimeError, ValueError) as exc:
        raise _refuse("device", value, accepted) from exc


def check_among(name: str, value: float, accepted: list[float], why: str) -> None:
    """Raise ParameterError unless value is (within 1e-9) one of the accepted numbers."""
    if not any(abs(value - a) < 1e-9 for a in accepted):
        raise _refuse(name, value, f"one of {accepted} ({why})")


def setup(trains: bool = True, **params: object) -> Setup:
    """Validate every chapter parameter before any compute, echo what they mean, pin threads.

    Pass the chapter's parameters by name (every name a chapter declares must be in KNOWN);
    a refused value raises ParameterError naming the parameter, the value and what is accepted.
    trains=False: the chapter trains nothing, so it accepts `scale` (one papermill loop runs the
    whole book at one scale) and says the scale changes nothing there.
    """
    check_unknown_parameters()
    for name, value in params.items():
        check_parameter(name, value)
    if _has_own_parameters(params) and (chapter := _papermill_chapter()):
        if note := scale_note(chapter, params):
            print(note)
    freeze, scale = str(params.get("freeze", "all")), str(params.get("scale", "cpu"))
    device = resolve_device(str(params.get("device", "auto")))
    threads = set_threads()
    regimes = REGIMES if freeze == "all" else (freeze,)
    if "freeze" in params:
        for r in regimes:
            print(f"regime {r!r}: {REGIME_MEANING[r]}")
    if "scale" in params and not trains:
        print(f"scale {scale!r}: this chapter trains nothing, so every scale computes the same")
    elif "scale" in params:
        print(f"scale {scale!r} on {device} with {threads} thread{'' if threads == 1 else 's'}")
    return Setup(regimes, scale, device, threads)


def book_dir() -> Path:
    """Return the repository's book/ folder."""
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
        # run records only: results/verdicts/ holds the chapter's verdicts (spatialmix.scoreboard)
        made = [read_json(p, "record") for p in Path(tmp, "results").rglob("*.json")
                if p.parent.name != "verdicts"]  # fmt: skip
    peak = peak_rss_mb(children=True)
    # how the kernel's training runs allocated memory (accel.keep_freed_memory)
    allocators = sorted({r.get("provenance", {}).get("allocator", "?") for r in made})
    scale = (params or {}).get("scale") or parameters(name).get("scale")
    return {"chapter": path.stem, "params": params or {}, "scale": scale, "wall_seconds": wall,
            "peak_rss_mb": peak, "records_made": len(made), "allocator": allocators,
            "provenance": provenance(torch.device("cpu"))}  # fmt: skip


def timing_file(chapter: str, scale: str | None = None) -> Path:
    """Where the store keeps chapter "NN"'s timed run from an empty store (results/bench/):
    chapter_NN.json, the timing the chapter quotes; chapter_NN_SCALE.json, one at a named
    scale kept beside it (e.g. the quick scale of a chapter whose committed runs are too long
    to time from an empty store)."""
    return store_dir() / "bench" / f"chapter_{chapter}{f'_{scale}' if scale else ''}.json"


def chapter_timing(chapter: str, scale: str | None = None) -> dict | None:
    """Return the stored timed run of chapter "NN" (time_chapter's result), or None if untimed."""
    path = timing_file(chapter, scale)
    return read_json(path, "chapter timing") if path.exists() else None


def timing_text(chapter: str, scale: str | None = None) -> str:
    """One sentence on the stored timed run of a chapter from an empty store (or that none is)."""
    fresh = chapter_timing(chapter, scale)
    if not fresh:
        return "a run of the whole chapter from an empty results store has not been timed"
    return _timing_sentence(fresh)


def scale_timing_text(chapter: str, scale: str) -> str:
    """The timed run of a chapter at `scale` (the committed timing where it is of that scale),
    or that none is stored; then, unless `scale` is quick, the quick scale's, for a first look."""
    committed = chapter_timing(chapter)
    fresh = committed if committed and _timed_scale(committed) == scale else None
    fresh = fresh or chapter_timing(chapter, scale)
    text = (_timing_sentence(fresh) if fresh else f"a run of the whole chapter at the {scale} "
            f"scale from an empty results store has not been timed")  # fmt: skip
    quick = chapter_timing(chapter, "quick") if scale != "quick" else None
    return f"{text}; for a first look, {_timing_sentence(quick)}" if quick else text


def _timed_scale(fresh: dict) -> str | None:
    return fresh.get("scale") or fresh["params"].get("scale")


def _timing_sentence(fresh: dict) -> str:
    p, timed = fresh["provenance"], _timed_scale(fresh)
    return (
        f"the whole chapter{f' at the {timed} scale' if timed else ''}, run from an empty "
        f"results store ({fresh['records_made']} "
        f"runs, {p['threads']} threads, {p['cpu']} ({isa_text(p)}), {p['date'][:10]}), took "
        f"{fresh['wall_seconds'] / 60:.0f} minutes wall time with a peak memory of "
        f"{fresh['peak_rss_mb'] / 1024:.1f} GB"
    )


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "time"):
        print(__doc__)
        return 2
    os.environ.setdefault("SPATIALMIX_THREADS", "2")
    if argv[0] == "run":
        run_chapters(argv[1:] or None)
        return 0
    parser = argparse.ArgumentParser(prog="python -m spatialmix.chapters time")
    parser.add_argument("chapter", help="NN or NN_topic")
    parser.add_argument("--scale", choices=SCALES, help="default: the chapter's committed scale")
    parser.add_argument("--out", type=Path, help="where to write the timing (JSON); "
                        "results/bench/chapter_NN_SCALE.json is where timing_text(NN, SCALE) "
                        "reads one")  # fmt: skip
    args = parser.parse_args(argv[1:])
    set_threads()
    result = time_chapter(args.chapter, {"scale": args.scale} if args.scale else None)
    out = args.out
    print(f"{result['chapter']}: {result['wall_seconds'] / 60:.1f} min from an empty store, "
          f"{result['records_made']} records, peak RSS {result['peak_rss_mb']:.0f} MB")  # fmt: skip
    if out is not None:
        write_atomically(out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
