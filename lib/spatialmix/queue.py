"""A background queue: train a grid's missing runs one by one, committing each record as it lands.

    python -m spatialmix.queue plan converged            # every run of the grid, stored or not
    python -m spatialmix.queue run converged --commit    # train what is missing, in grid order

Run it from a `git worktree` pinned at a commit, so edits elsewhere never make its records
"+dirty": it refuses a tree whose lib/ has changes. With --commit, each finished record is
committed at once in the git repository that holds the store (nothing else is staged), so a
stopped queue loses at most the run in progress, and started again it skips what is stored.
--hours stops it from starting a new run after that long. The grids are experiments.GRIDS,
in priority order. Set the threads as for any run (SPATIALMIX_THREADS; default: all cores).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable

from .experiments import GRIDS
from .provenance import git_commit, set_threads
from .results import RunConfig, lookup, record_path, run, store_dir


def describe(cfg: RunConfig) -> str:
    """One line naming a run: experiment, dataset, model, regime, seed, scale, changes."""
    m = cfg.model
    shape = f"n={m.depth} w={m.width}" if m.arch == "sep_resnet" else (
        f"{m.width}/{m.depth} k={m.kernel_size}")  # fmt: skip
    bank = f" bank={m.bank}" if m.bank != "random" else ""
    extra = f" {dict(cfg.overrides)}" if cfg.overrides else ""
    return (f"{cfg.experiment}: {cfg.dataset} {m.arch} {shape}{bank} {m.regime} seed {cfg.seed} "
            f"at {cfg.scale}{extra}")  # fmt: skip


def plan(grid: list[RunConfig]) -> list[tuple[RunConfig, bool]]:
    """The grid's runs in order, each with whether the store already holds it."""
    return [(cfg, lookup(cfg) is not None) for cfg in grid]


def commit_record(cfg: RunConfig, message: str) -> None:
    """Commit one run's record in the git repository holding the store, and nothing else."""
    path, _ = record_path(cfg)
    root = store_dir()
    subprocess.run(["git", "add", "--", str(path)], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message, "--", str(path)], cwd=root, check=True)


def run_queue(
    grid: list[RunConfig],
    hours: float = float("inf"),
    commit: bool = False,
    device: str = "auto",
    require_clean: bool = True,
    say: Callable[[str], None] = print,
) -> int:
    """Train the grid's missing runs in order, committing each if asked; return how many landed."""
    if require_clean and git_commit().endswith("+dirty"):
        raise SystemExit("lib/ has uncommitted changes: records must come from a clean commit "
                         "(run the queue from a git worktree pinned at a commit)")  # fmt: skip
    started, landed = time.monotonic(), 0
    for cfg, stored in plan(grid):
        if stored:
            continue
        if time.monotonic() - started > hours * 3600:
            say(f"stopping after {hours:g} h; run again to go on")
            break
        t0 = time.monotonic()
        say(f"training {describe(cfg)}")
        record = run(cfg, device=device, progress=False)
        minutes = (time.monotonic() - t0) / 60
        cpu, threads = record.provenance.get("cpu"), record.provenance.get("threads")
        say(f"  landed {record.key} in {minutes:.0f} min ({cpu}, {threads} threads): "
            f"{ {k: round(v, 4) for k, v in record.clean.items()} }")  # fmt: skip
        if commit:
            commit_record(cfg, f"Record: {describe(cfg)} ({minutes:.0f} min, {cpu}, "
                               f"{threads} threads)")  # fmt: skip
        landed += 1
    return landed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("plan", "run"))
    parser.add_argument("grid", choices=sorted(GRIDS))
    parser.add_argument("--hours", type=float, default=float("inf"))
    parser.add_argument("--commit", action="store_true")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    grid = GRIDS[args.grid]()
    if args.command == "plan":
        rows = plan(grid)
        for cfg, stored in rows:
            print(f"{'stored ' if stored else 'missing'}  {describe(cfg)}")
        print(f"{sum(s for _, s in rows)} of {len(rows)} runs stored")
        return 0
    set_threads()
    say = lambda text: print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)  # noqa: E731
    run_queue(grid, args.hours, args.commit, args.device, say=say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
