"""Every chapter parameter is checked before any compute, with a message a user can act on."""

import ast
from pathlib import Path

import nbformat
import papermill
import pytest
import torch

from spatialmix.chapters import KNOWN, ParameterError, check_parameter
from spatialmix.models import ModelConfig
from spatialmix.results import RunConfig

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def _declared(nb) -> set[str]:
    tree = ast.parse(nb.cells[2].source)
    return {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}


def _setup_keywords(nb) -> set[str]:
    for cell in nb.cells[3:]:
        if cell.cell_type != "code" or "setup(" not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setup":
                return {k.arg for k in node.keywords}
    return set()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_parameter_is_known_and_checked_by_setup(path):
    nb = nbformat.read(path, as_version=4)
    declared = _declared(nb)
    assert "scale" in declared, "every chapter accepts -p scale (one loop over the book)"
    assert declared <= KNOWN, f"no rule for {declared - KNOWN}"
    assert declared <= _setup_keywords(nb), f"not passed to setup: {declared - _setup_keywords(nb)}"


REFUSED = [
    (
        "freeze",
        "CHANS",
        r"parameter freeze: got 'CHANS'; accepted: one of \['full', 'chans', "
        r"'space', 'all'\]\. names are lower case: 'chans'",
    ),
    (
        "scale",
        "gpu",
        r"parameter scale: got 'gpu'; accepted: one of \['smoke', 'quick', 'cpu', 'converged', "
        r"'paper'\]",
    ),
    (
        "depths",
        "[1, 2]",
        r"parameter depths: got '\[1, 2\]'; accepted: a list of positive "
        r"integers\. papermill's -p passes text; give a list as YAML: -y 'depths: \[1, 2\]'",
    ),
    ("panels", "cifar10", r"parameter panels: got 'cifar10'; accepted: a list of names from"),
    ("banks", ["random", "Box"], r"parameter banks: got 'Box'.*lower case: 'box'"),
    ("widths", [8, 0], r"parameter widths: got \[8, 0\]; accepted: a non-empty list of positive"),
    ("seeds", [-1], r"parameter seeds: got \[-1\]; accepted: a non-empty list of integers 0"),
    ("width", 0, r"parameter width: got 0; accepted: a positive integer"),
    ("depth", -3, r"parameter depth: got -3; accepted: a positive integer"),
    ("kernel_size", 2.5, r"parameter kernel_size: got 2.5; accepted: a positive integer"),
    ("size", True, r"parameter size: got True; accepted: a positive integer"),
    ("eps_255", 0.0, r"parameter eps_255: got 0.0; accepted: a positive number"),
    ("sigmas", [0, -1], r"parameter sigmas: got \[0, -1\]; accepted: a non-empty list of numbers"),
    ("threshold", 1.5, r"parameter threshold: got 1.5; accepted: a number in \(0, 1\]"),
    ("device", "gpu0", r"parameter device: got 'gpu0'; accepted: auto, cpu, or cuda"),
    ("timed", "04", r"parameter timed: got '04'; accepted: a list of chapter numbers"),
]


@pytest.mark.parametrize(("name", "value", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_bad_value_is_refused_naming_parameter_value_and_what_is_accepted(name, value, message):
    with pytest.raises(ParameterError, match=message):
        check_parameter(name, value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused():
    with pytest.raises(ParameterError, match="device: got 'cuda'.*CUDA is not available"):
        check_parameter("device", "cuda")


def test_good_values_pass():
    for name, value in [
        ("freeze", "chans"),
        ("scale", "paper"),
        ("depths", [1, 2]),
        ("seeds", [0]),
        ("eps_255", 1),
        ("sigmas", [0, 0.5, 1, 2]),
        ("device", "cpu"),
        ("data_dir", ""),
    ]:
        check_parameter(name, value)  # fmt: skip


PAPERMILL = [
    ("04_resnet", {"freeze": "CHANS"}, "parameter freeze: got 'CHANS'"),
    ("04_resnet", {"depths": "[1, 2]"}, "-y 'depths: \\[1, 2\\]'"),
    ("07_unshuffling", {"width": 0}, "parameter width: got 0"),
    ("03_convmixer_and_regimes", {"scale": "huge"}, "parameter scale: got 'huge'"),
]


@pytest.mark.parametrize(("chapter", "params", "message"), PAPERMILL, ids=lambda v: str(v))
def test_papermill_refuses_at_the_setup_cell_before_any_compute(
    chapter, params, message, tmp_path, monkeypatch
):
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "results"))
    out = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError, match=message):
        papermill.execute_notebook(str(BOOK / f"{chapter}.ipynb"), str(out), parameters=params,
                                   cwd=str(tmp_path), progress_bar=False,
                                   kernel_name="python3")  # fmt: skip
    assert not (tmp_path / "results").exists(), "nothing may be trained or stored"
    ran = [c for c in nbformat.read(out, as_version=4).cells if c.get("execution_count")]
    last = max(ran, key=lambda c: c.execution_count)
    assert "setup(" in last.source, "stopped at the setup cell"


def _mixer(**shape) -> RunConfig:
    model = ModelConfig(arch="convmixer", regime="chans", depth=4, **shape)
    return RunConfig("unit", model, "cifar10", "paper")


def test_a_model_shape_changed_by_hand_at_paper_scale_is_custom():
    assert _mixer(width=128, kernel_size=8, patch_size=1).settings()[1] == "paper"
    changed = _mixer(width=64, kernel_size=8, patch_size=1)
    assert changed.settings()[1] == "custom"
    assert changed.shape_changes() == {"width": (64, 128)}
    # a sep-ResNet's width is what Fig. 4 sweeps: still the paper's experiment
    resnet = ModelConfig(arch="sep_resnet", regime="full", depth=1, width=64, kernel_size=3)
    assert RunConfig("unit", resnet, "cifar10", "paper").settings()[1] == "paper"
    assert RunConfig("unit", ModelConfig(arch="sep_resnet", depth=1, width=16, multiplier=4),
                     "cifar10", "paper").settings()[1] == "custom"  # fmt: skip
    # at the CPU scales the shape is the chapter's choice, and the key is unchanged
    assert RunConfig("unit", changed.model, "cifar10", "cpu").settings()[1] == "cpu"


def test_the_chapter_says_when_a_paper_run_is_custom():
    from spatialmix.report import custom_shape_note

    note = custom_shape_note([_mixer(width=64, kernel_size=5, patch_size=1)])
    assert note.startswith("scale 'paper' with kernel_size=5 (the paper's: 8), width=64")
    assert "stored as scale 'custom'" in note
    assert custom_shape_note([_mixer(width=128, kernel_size=8, patch_size=1)]) == ""
