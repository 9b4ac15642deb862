"""The runbook: how to run each chapter at paper scale on a GPU, and what it will cost.

`python -m spatialmix.runbook` writes book/runbook.md and the README's paper-scale table from
the code (the chapters' committed parameters, the paper-scale presets, the models' FLOPs);
tests/test_runbook.py checks the committed ones are what it builds. No GPU has run these
chapters yet, so every GPU time is an estimate from FLOPs at an assumed throughput, said so.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from .experiments import scale_parameters
from .queue import chapter_grid
from .results import RunConfig
from .run_flops import training_flops
from .scoreboard import replace_readme_table
from .store import read_json, repo_root

# an assumption, not a measurement: sustained training throughput on one data-centre GPU for
# these small convolutional nets, about 1 % of an H100's dense bf16 peak (32×32 images and narrow
# layers keep a GPU far below its peak); a measured GPU check replaces it
ASSUMED_TFLOPS = 10.0
README_START, README_END = "<!-- runbook:start -->", "<!-- runbook:end -->"
DATA = {
    "cifar10": "CIFAR-10: downloaded by torchvision on first use (or a copy in SPATIALMIX_DATA)",
    "cifar100": "CIFAR-100: downloaded by torchvision, or `-p data_dir` pointing at a copy",
    "mnist": "MNIST: downloaded by torchvision on first use",
    "fashion_mnist": "Fashion-MNIST: Debian's `dataset-fashion-mnist`, or torchvision",
    "imagenet": "ImageNet: `-p data_dir` at an ImageFolder tree, streamed from disk a batch at "
    "a time at 224 px (decoding threads: SPATIALMIX_WORKERS; SPATIALMIX_DECODE=processes for "
    "worker processes), so plan for decoding CPU, not RAM",
}


def papermill_flags(changes: dict[str, object]) -> str:
    """The papermill flags that set these parameters: -p for a scalar, -y for a list (papermill's
    -p passes a list as text)."""
    return "".join(f" -y '{k}: {v}'" if isinstance(v, list) else f" -p {k} {v}"
                   for k, v in changes.items())  # fmt: skip


CHAPTERS = {"04": ("04_resnet", "Figs. 2, 3, 4"), "05": ("05_convmixer", "Figs. 5, 9"),
            "06": ("06_adversarial", "Figs. 6, 7, 8"),
            "07": ("07_unshuffling", "Figs. 10, 11")}  # fmt: skip


def gpu_hours(cfgs: Iterable[RunConfig]) -> float:
    """Training hours of runs at ASSUMED_TFLOPS (evaluation and data loading not counted)."""
    return sum(training_flops(c) for c in cfgs) / (ASSUMED_TFLOPS * 1e12) / 3600


FAMILIES = {"sep_resnet": "sep-ResNets", "convmixer": "ConvMixers", "unshuffle": "un-shufflers"}


def _recipe(cfg: RunConfig) -> str:
    s, _ = cfg.settings()
    return (
        f"{s['optimizer']}, lr {s['lr']}, batch {s['batch_size']}, {s['schedule']}, "
        f"{s['epochs']} epochs, {'all' if not s['n_train'] else s['n_train']} images"
    )


def rows() -> list[tuple[str, ...]]:
    """Per chapter: figures, command, data, recipe, runs, estimated GPU hours."""
    out = []
    for number, (name, figures) in CHAPTERS.items():
        changes = scale_parameters(number, "paper")
        grid = chapter_grid(number, "paper", False, **changes)
        grid = list({repr(c): c for c in grid}.values())
        recipes: dict[str, str] = {}
        for c in grid:  # each model family's recipe, from its first run
            recipes.setdefault(c.model.arch, _recipe(c))
        recipe = "; ".join(f"{FAMILIES[a]}: {r}" for a, r in recipes.items())
        if len(set(recipes.values())) == 1:
            recipe = next(iter(recipes.values()))
        data = "; ".join(DATA[d] for d in dict.fromkeys(c.dataset for c in grid))
        extra = papermill_flags(changes)
        command = f"`papermill book/{name}.ipynb out.ipynb -p scale paper{extra}`"
        hours = f"≈ {gpu_hours(grid):,.1f} (from FLOPs)"
        out.append((figures, command, data, recipe, str(len(grid)), hours))  # fmt: skip
    return out


def _markdown(table_rows: list[tuple[str, ...]]) -> str:
    head = ["Figures", "Command", "Data", "Recipe (paper scale)", "Runs", "GPU hours"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in table_rows])


def measured_section() -> str:
    """What `make gpu-check` measured (results/bench/gpu_check.json), or that it has not run."""
    path = repo_root() / "results" / "bench" / "gpu_check.json"
    if not path.exists():
        return ("**Measured.** No GPU has run `make gpu-check` yet (every chapter at smoke scale "
                "on the GPU, then timed paper-scale epochs of each model family, with "
                "channels-last, torch.compile and bf16 autocast).")  # fmt: skip
    result = read_json(path, "GPU check")
    gpu = result["provenance"].get("gpu") or result["provenance"].get("device")
    lines = [
        f"**Measured** by `make gpu-check` on {gpu}, torch {result['provenance']['torch']} "
        f"({result['provenance']['date'][:10]}), seconds per epoch of the full training "
        "split:",
        "",
        "| model | regime | batch | s/epoch | img/s |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r['model']} | {r['regime']} | {r['batch']} | {r['seconds_per_epoch']:.1f} | "
              f"{r['img_per_s']:,.0f} |" for r in result["epochs"]]  # fmt: skip
    return "\n".join(lines)


def page(table_rows: list[tuple[str, ...]] | None = None) -> str:
    """Markdown of book/runbook.md (from rows() unless given)."""
    return f"""# Running at paper scale

Every chapter that trains runs at the paper's data and recipe sizes with `-p scale paper`, on a
GPU (`-p device cuda`, the default `auto` picks it). Runs land in `results/` as they finish;
a stopped chapter resumes from the runs it stored, and `python -m spatialmix.queue run NN:paper
--shard i/n` spreads a chapter's runs over several GPUs or machines (README, "Claims and the
converged runs"), and `torchrun --standalone --nproc_per_node 8 -m spatialmix.queue run
NN:paper` trains each run data-parallel over the GPUs of one machine (DDP; the recipe's batch
is the global batch, so records keep their keys). The chapters' other parameters stay at their
committed values (seeds, depths, widths), except where the command sets the paper's model
shape; pass `-p` to change them. The recipes are ours: the paper never states them (PAPER.md).

**Cost.** No GPU has run these chapters yet. The GPU hours below are *estimates from FLOPs*:
each run's training FLOPs (3× the forward pass per image, 5× with FGSM training; counted by
`torch.utils.flop_counter` on the chapter's models), at an assumed {ASSUMED_TFLOPS:.0f} TFLOP/s
sustained: about 1 % of an H100's dense bf16 peak, since 32×32 images and narrow layers keep a
GPU far below its peak. That rate is our assumption, not a measurement; evaluation and data
loading are not counted.

{measured_section()}

{_markdown(rows() if table_rows is None else table_rows)}

This page is generated by `python -m spatialmix.runbook`.
"""


def main() -> int:
    """Write book/runbook.md and the README's paper-scale table."""
    root = repo_root()
    table_rows = rows()
    (root / "book" / "runbook.md").write_text(page(table_rows))
    readme = root / "README.md"
    readme.write_text(replace_readme_table(readme.read_text(), _markdown(table_rows),
                                           README_START, README_END))  # fmt: skip
    print(f"runbook: {len(table_rows)} chapters written to book/runbook.md and README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
