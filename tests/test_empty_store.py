"""A fresh store: every chapter that trains completes with any `freeze`, plotting what exists.

`papermill book/04_resnet.ipynb out.ipynb -p freeze chans -p scale smoke` in an empty store
trains chans alone; the figures must draw what is there, and the text must say which runs are
missing and the command that fills them. Each (chapter, freeze) starts from an empty store.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import papermill
import pytest
from test_chapters import SMOKE

from spatialmix import plots
from spatialmix.experiments import fig2_runs, fig3_runs, fig4_runs
from spatialmix.regimes import REGIMES
from spatialmix.report import NOT_EVALUATED, fill_command, missing_runs, queue_progress, verdict

BOOK = Path(__file__).resolve().parents[1] / "book"
FREEZES = (*REGIMES, "all")
# the smallest settings (tests/test_chapters.py SMOKE), cut further: one dataset, depth, seed,
# bank and width, so that the 16 runs of the matrix stay affordable
CUT = {  # what differs from SMOKE; every chapter also runs one depth and one seed
    "04_resnet": {"panels": ["mnist"], "banks": ["random"], "widths": [8]},
    "05_convmixer": {"width": 8},
    "06_adversarial": {},
    "07_unshuffling": {"panels": ["mnist"], "kernel_sizes": [3]},
}
TINY = {name: {**SMOKE[name], "depths": [1], "seeds": [0], **cut} for name, cut in CUT.items()}


def _text(nb) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.parametrize("freeze", FREEZES)
@pytest.mark.parametrize("chapter", sorted(TINY))
def test_chapter_completes_in_an_empty_store(chapter, freeze, tmp_path, monkeypatch, mnist_dir):
    store, cwd = tmp_path / "results", tmp_path / "elsewhere"
    store.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(store))
    monkeypatch.delenv("SPATIALMIX_READONLY", raising=False)
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(BOOK / f"{chapter}.ipynb"),
        str(out),
        parameters={**TINY[chapter], "freeze": freeze},
        cwd=str(cwd),
        progress_bar=False,
        kernel_name="python3",
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not [t for t in stderr if "Traceback" in t or "Error" in t], stderr
    text = _text(nb)
    if freeze == "all":
        # every run of this chapter is in the store; runs of other chapters it reads may not be
        assert "runs are in the store" in text and f"book/{chapter}.ipynb out.ipynb" not in text
        assert NOT_EVALUATED not in text
        return
    assert "runs are not in the store" in text and NOT_EVALUATED in text
    for regime in set(REGIMES) - {freeze}:
        cmd = f"papermill book/{chapter}.ipynb out.ipynb -p freeze {regime} -p scale smoke"
        assert cmd in text
    # what this run trained is in the store (other chapters' runs it reads may be missing)
    assert f"book/{chapter}.ipynb out.ipynb -p freeze {freeze} " not in text


# --- the library pieces, without a kernel ------------------------------------------------------


def _draw(fig) -> list[str]:
    """Render the figure (where log scales fail) and return the texts it shows."""
    fig.canvas.draw()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    for ax in fig.axes:
        assert "log" not in (ax.get_xscale(), ax.get_yscale()) or ax.has_data()
    plt.close(fig)
    return texts


def test_every_figure_draws_partial_and_empty_data():
    acc = {("mnist", "chans", 1): [0.5], ("mnist", "chans", 2): [0.6, 0.62]}
    assert plots.NO_RUNS in _draw(plots.plot_depth(acc, {"mnist": "MNIST", "cifar10": "CIFAR"}))
    assert plots.NO_RUNS in _draw(plots.plot_depth({}, {"mnist": "MNIST"}, resnet=False))
    labels = {"random": "Different", "box": "Box", "full": "Full"}
    assert plots.NO_RUNS not in _draw(plots.plot_banks({"full": [0.5]}, "t", labels))
    assert plots.NO_RUNS in _draw(plots.plot_banks({}, "t", labels))
    for widths in ({("chans", 8): [0.5], ("chans", 16): [0.6]}, {}):
        assert any(plots.NO_RUNS in t for t in _draw(plots.plot_widths(widths, "t")))
    assert plots.NO_RUNS not in _draw(
        plots.plot_widths({("full", 8): [0.5], ("chans", 8): [0.4]}, "t")
    )
    panels = ["FGSM", "PGD-2"]
    assert plots.NO_RUNS in _draw(plots.plot_robustness({}, panels, "t"))
    assert plots.NO_RUNS in _draw(plots.plot_robustness({("FGSM", "full", 1): []}, panels, "t"))
    one = {("FGSM", "space", 1): [0.3], ("PGD-2", "space", 1): [0.2], ("clean", "space", 1): [0.6]}
    drawn = _draw(plots.plot_robustness(one, panels, "t", clean=dict.fromkeys(panels, "clean")))
    assert plots.NO_RUNS not in drawn
    assert plots.NO_RUNS in _draw(plots.plot_layer_envelopes({}, "t"))
    assert plots.NO_RUNS in _draw(plots.plot_reconstructions({}))
    img = np.zeros((3, 1, 4, 4), dtype=np.uint8)
    assert plots.NO_RUNS not in _draw(plots.plot_reconstructions({"input": img, "full": img}))
    assert plots.NO_RUNS in _draw(plots.plot_envelopes({}))
    assert plots.NO_RUNS in _draw(plots.plot_coverage({}, 0.5))
    assert plots.NO_RUNS in _draw(plots.plot_span({}, {}))
    assert plots.NO_RUNS in _draw(plots.plot_trainable({}))
    assert plots.NO_RUNS in _draw(plots.plot_throughput([]))
    zero = {"model": "m", "regime": "full", "reference": 0.0, "ours": 0.0, "ratio": 1.0}
    fig = plots.plot_throughput([zero])
    assert fig.axes[0].get_xscale() == "linear"
    _draw(fig)


def test_missing_runs_says_which_and_how_to_fill():
    cfgs = fig2_runs(REGIMES, [1, 2, 3], ["cifar10"], [0, 1], "cpu")
    some = [{} if c.model.regime == "chans" else None for c in cfgs]
    text = missing_runs(cfgs, some, "04_resnet", "cpu", "Fig. 2", params={})
    assert text.splitlines() == [
        "Fig. 2: 12 of 18 runs are not in the store (left out of what follows):",
        "  full: 6 runs (cifar10; depths 1–3; seeds 0, 1)",
        "  space: 6 runs (cifar10; depths 1–3; seeds 0, 1)",
        "to train them, run from the repository root (stored runs are not trained again):",
        "  papermill book/04_resnet.ipynb out.ipynb -p freeze full -p scale cpu",
        "  papermill book/04_resnet.ipynb out.ipynb -p freeze space -p scale cpu",
    ]
    text = missing_runs(cfgs, [None] * len(cfgs), "04_resnet", "cpu", params={})
    fill = "  papermill book/04_resnet.ipynb out.ipynb -p freeze all -p scale cpu"
    assert text.splitlines()[-1] == fill
    assert missing_runs(cfgs, [{}] * len(cfgs), "04_resnet", "cpu", "Fig. 2") == (
        "Fig. 2: all 18 runs are in the store"
    )
    banks = fig3_runs(["random", "box"], 2, "cifar10", [0], "cpu")
    text = missing_runs(banks, [{}, {}, None], "04_resnet", "cpu", params={})
    assert "  chans: 1 run (cifar10; bank box)" in text
    # the chapter's other parameters travel with the command, as YAML
    cmd = fill_command("05_convmixer", "full", "smoke", {"freeze": "chans", "depths": [1]})
    assert cmd == (
        "papermill book/05_convmixer.ipynb out.ipynb -p freeze full -p scale smoke "
        "-y '{\"depths\": [1]}'"
    )


def test_queue_progress_says_what_is_stored_and_which_queue_trains_the_rest():
    cfgs = fig2_runs(REGIMES, [1, 2], ["cifar10"], [0, 1, 2], "converged")
    some = [{} if c.seed == 0 or c.model.regime == "full" else None for c in cfgs]
    assert queue_progress(cfgs, some, "converged", "Fig. 2").splitlines() == [
        "Fig. 2: 10 of 18 runs of the `converged` grid stored so far (the rest left out of what "
        "follows); still to come:",
        "  chans: 4 runs (cifar10; depths 1, 2; seeds 1, 2)",
        "  space: 4 runs (cifar10; depths 1, 2; seeds 1, 2)",
        "the background queue trains them: python -m spatialmix.queue run converged --commit "
        "(`python -m spatialmix.queue plan converged` lists every run)",
    ]
    assert queue_progress(cfgs, [{}] * len(cfgs), "converged", "Fig. 2") == (
        "Fig. 2: all 18 runs of the `converged` grid are stored"
    )


def test_a_verdict_waits_for_its_runs():
    cfgs = fig4_runs(("full", "chans"), [8, 16], 1, "cifar10", [0], "cpu")
    acc = {("chans", 8): [0.5], ("chans", 16): [0.6]}
    records = [None if c.model.regime == "full" else {} for c in cfgs]
    v = verdict("fig4_gap_closes", acc, cfgs, records)
    assert (v.claim, v.status, v.measured) == ("fig4_gap_closes", NOT_EVALUATED, {})
    # only the regimes a claim rests on count
    assert verdict("fig4_gap_closes", acc, cfgs, records, regimes=("chans",)).status == (
        "inconclusive"
    )
