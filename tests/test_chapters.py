"""Every chapter runs end to end at smoke scale in an empty store; committed chapters are sound."""

import json
import re
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml
from nbval.plugin import comment_markers

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
# the smallest settings that still run every code path of a chapter
SMOKE = {
    # every chapter takes -p scale smoke, so one papermill loop runs the book at one scale
    "01_spectral_coverage": {"scale": "smoke", "size": 64, "seeds": [0, 1], "counts": [1, 4]},
    "02_separable_convolution": {"scale": "smoke", "targets": 20},
    "03_convmixer_and_regimes": {
        "scale": "smoke",
        "mixer_width": 16,
        "mixer_depth": 2,
        "depths": [1],
    },
    "04_resnet": {
        "scale": "smoke",
        "dataset": "mnist",
        "panels": ["mnist", "imagenet"],
        "depths": [1],
        "seeds": [0],
        "banks": ["random", "box"],
        "bank_depth": 1,
        "widths": [1, 8],  # width 1: the narrowest model (strided 1×1 convs of 1-2 channels)
        "width_depth": 1,
    },
    "05_convmixer": {
        "scale": "smoke",
        "dataset": "mnist",
        "depths": [1, 2],
        "seeds": [0],
        "width": 16,
        "kernel_size": 3,
        "patch_size": 2,
    },
    "06_adversarial": {
        "scale": "smoke",
        "dataset": "mnist",
        "depths": [1],
        "seeds": [0],
        "size": 64,
    },
    "07_unshuffling": {
        "scale": "smoke",
        "dataset": "mnist",
        "panels": ["mnist", "fashion_mnist"],
        "seeds": [0],
        "width": 8,
        "depth": 1,
        "kernel_size": 3,
        "depths": [1, 2],  # every model this small is warned about: it cannot see the image
        "widths": [8],
        "kernel_sizes": [3, 5],
    },
    "08_performance": {"scale": "smoke"},
}


def _id(path):
    return path.stem


def test_every_chapter_has_a_smoke_setting():
    assert CHAPTERS and {p.stem for p in CHAPTERS} == set(SMOKE)
    assert all(params.get("scale") == "smoke" for params in SMOKE.values())


@pytest.mark.timeout(900)  # a whole chapter at smoke scale: about a minute on 2 cores, 04 longest
@pytest.mark.parametrize("path", CHAPTERS, ids=_id)
def test_chapter_runs_at_smoke_scale_in_an_empty_store(path, tmp_path, monkeypatch, mnist_dir):
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("SPATIALMIX_READONLY", raising=False)
    out = tmp_path / path.name
    papermill.execute_notebook(
        str(path),
        str(out),
        parameters=SMOKE[path.stem],
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )
    nb = nbformat.read(out, as_version=4)
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


def test_a_misspelt_parameter_is_an_error(tmp_path):
    path = BOOK / "01_spectral_coverage.ipynb"
    with pytest.raises(papermill.PapermillExecutionError, match="did you mean 'size'"):
        papermill.execute_notebook(
            str(path),
            str(tmp_path / "out.ipynb"),
            parameters={"sizes": 64},
            cwd=str(tmp_path),
            progress_bar=False,
            kernel_name="python3",
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=_id)
def test_committed_chapter_anatomy(path):
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    assert "remove-cell" in cells[1].metadata.get("tags", [])
    assert "parameters" in cells[2].metadata.get("tags", [])
    # produced at the committed parameters: papermill injected nothing
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in cells)
    assert nb.metadata.get("papermill", {}).get("parameters", {}) == {}
    # committed with outputs, none of them an error, every code cell executed
    code = [
        c
        for c in cells
        if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])
    ]
    assert all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


@pytest.mark.parametrize("path", CHAPTERS, ids=_id)
def test_parameters_have_help_and_flat_literals(path):
    params = papermill.inspect_notebook(str(path))
    assert params
    for name, p in params.items():
        assert p["help"], f"{path.stem}: parameter {name} has no # help comment"
        assert p["inferred_type_name"] != "None", f"{path.stem}: parameter {name} has no type"


def test_bootstrap_cells_follow_the_repository_url():
    url = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    for path in CHAPTERS:
        bootstrap = nbformat.read(path, as_version=4).cells[1].source
        assert f'"{url}"' in bootstrap, path.name


def test_toc_lists_every_chapter():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = {c["file"] for c in toc["chapters"]}
    pages = {"book/references", "book/scoreboard", "book/runbook"}  # pages, not chapters
    assert files - pages == {f"book/{p.stem}" for p in CHAPTERS}


def test_timing_a_chapter_runs_it_in_an_empty_store(tmp_path, monkeypatch):
    from spatialmix.chapters import time_chapter

    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "kept"))  # must not be used
    result = time_chapter("01", SMOKE["01_spectral_coverage"])
    assert result["chapter"] == "01_spectral_coverage"
    assert result["params"] == SMOKE["01_spectral_coverage"]
    assert result["scale"] == SMOKE["01_spectral_coverage"]["scale"]
    assert result["wall_seconds"] > 0 and result["records_made"] == 0
    assert result["peak_rss_mb"] > 50  # the kernel imported torch: tens of MB at the very least
    assert not (tmp_path / "kept").exists()


RECORD_KEYS = re.compile(r"""\[["'](metrics|config|history|artefacts|provenance|evals)["']\]""")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_cells_are_short_and_read_records_through_the_library(path):
    """Every code cell is at most 12 lines; no cell reads a record's stored fields by string key
    (chapters select from results.frame and call the library)."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        assert len(source.splitlines()) <= 12, f"code cell {i} has {len(source.splitlines())} lines"
        assert not RECORD_KEYS.search(source), f"code cell {i} reads a record key: {source}"


def test_timing_text_names_the_scale_and_instruction_set(tmp_path, monkeypatch):
    from spatialmix.chapters import timing_file, timing_text

    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "results"))
    assert timing_text("07").endswith("has not been timed")
    prov = {"threads": 2, "cpu": "Xeon", "isa": {"cpu": "avx2"}, "date": "2026-11-30T18:00"}
    timed = {"params": {"scale": "quick"}, "provenance": prov, "records_made": 36,
             "wall_seconds": 1500.0, "peak_rss_mb": 2048.0}  # fmt: skip
    timing_file("07").parent.mkdir(parents=True)
    timing_file("07").write_text(json.dumps(timed))
    assert timing_text("07") == (
        "the whole chapter at the quick scale, run from an empty results store (36 runs, "
        "2 threads, Xeon (AVX2), 2026-11-30), took 25 minutes wall time with a peak memory of "
        "2.0 GB")  # fmt: skip

    # a timing states the scale it ran at, also where papermill was given none
    timing_file("07").write_text(json.dumps({**timed, "params": {}, "scale": "cpu"}))
    assert timing_text("07").startswith("the whole chapter at the cpu scale, run from")
    timing_file("07").write_text(json.dumps({**timed, "params": {}}))
    assert timing_text("07").startswith("the whole chapter, run from an empty results store")

    # a timing at a named scale sits beside the one the chapter quotes, and is read by name
    assert timing_text("07", "quick").endswith("has not been timed")
    timing_file("07", "quick").write_text(json.dumps(timed))
    assert timing_file("07", "quick").name == "chapter_07_quick.json"
    assert timing_text("07", "quick").startswith("the whole chapter at the quick scale, run from")


def test_a_chapter_quotes_the_timing_of_its_scale_and_the_quick_one_beside_it(
    tmp_path, monkeypatch
):
    from spatialmix.chapters import scale_timing_text, timing_file

    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "results"))
    assert scale_timing_text("04", "converged") == (
        "a run of the whole chapter at the converged scale from an empty results store has not "
        "been timed")  # fmt: skip
    prov = {"threads": 2, "cpu": "EPYC", "isa": {"cpu": "avx2"}, "date": "2026-12-01T12:00"}
    timed = {"params": {}, "scale": "cpu", "provenance": prov, "records_made": 30,
             "wall_seconds": 600.0, "peak_rss_mb": 1024.0}  # fmt: skip
    timing_file("04").parent.mkdir(parents=True)
    timing_file("04").write_text(json.dumps(timed))
    assert scale_timing_text("04", "cpu").startswith("the whole chapter at the cpu scale, run")
    assert "has not been timed" in scale_timing_text("04", "converged")  # cpu's is not quoted
    timing_file("04", "quick").write_text(json.dumps({**timed, "scale": "quick"}))
    text = scale_timing_text("04", "converged")
    assert "has not been timed; for a first look, the whole chapter at the quick scale" in text
    assert scale_timing_text("04", "quick").count("the whole chapter") == 1


def test_a_scale_with_its_own_parameters_says_when_a_run_asks_for_others():
    from spatialmix.chapters import parameters, scale_note, this_chapter
    from spatialmix.experiments import scale_parameters

    committed = parameters("05")
    assert this_chapter(set(committed)) == "05_convmixer" and this_chapter({"freeze"}) is None
    note = scale_note("05_convmixer", {**committed, "scale": "converged"})
    assert note.startswith("note: at scale 'converged' the queue's grid for this chapter")
    assert "width=128" in note and "-p scale converged -y '{" in note
    grid = {**committed, "scale": "converged", **scale_parameters("05", "converged")}
    assert scale_note("05_convmixer", grid) == ""  # asking for the grid's runs: nothing to say
    assert scale_note("05_convmixer", {**committed, "scale": "cpu"}) == ""


def test_setup_reads_the_chapters_only_at_a_scale_with_its_own_parameters(monkeypatch):
    from spatialmix import chapters

    def told(*_: object) -> None:
        raise AssertionError("setup parsed the chapters at a scale with no parameters of its own")

    monkeypatch.setattr(chapters, "_papermill_chapter", told)
    chapters.setup(scale="cpu", freeze="full")  # every papermill run at cpu/quick/smoke
    with pytest.raises(AssertionError, match="parsed the chapters"):
        chapters.setup(scale="converged", freeze="full")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_nbval_markers_are_spelt_as_nbval_reads_them(path):
    """nbval honours a marker only when the whole comment is the marker: `# NBVAL_SKIP  (why)` is
    silently an ordinary comment, and the cell's output is then compared."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(cells):
        for line in "".join(cell["source"]).splitlines():
            if line.lstrip("# ").startswith("NBVAL"):
                marker = line.strip().lstrip("#").strip()
                assert marker in comment_markers, f"code cell {i}: nbval ignores {line!r}"
