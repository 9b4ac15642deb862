"""The runbook page and README table are what the code builds; its estimates are sound."""

from pathlib import Path

import pytest

from spatialmix import ModelConfig, runbook
from spatialmix.experiments import resnet
from spatialmix.results import RunConfig
from spatialmix.run_flops import forward_flops, training_flops

ROOT = Path(__file__).resolve().parents[1]


def test_committed_runbook_is_what_the_code_builds():
    assert (ROOT / "book" / "runbook.md").read_text() == runbook.page(), (
        "regenerate it: python -m spatialmix.runbook"
    )
    readme = (ROOT / "README.md").read_text()
    assert runbook._markdown(runbook.rows()) in readme


def test_training_flops_count_images_epochs_and_fgsm():
    plain = RunConfig("unit", resnet("full", 1), "cifar10", "paper")
    fgsm = RunConfig("unit", resnet("full", 1), "cifar10", "paper", overrides={"adv_eps": 0.01})
    forward = forward_flops(resnet("full", 1), "cifar10")
    assert training_flops(plain) == pytest.approx(3 * forward * 50_000 * 160)
    assert training_flops(fgsm) == pytest.approx(5 / 3 * training_flops(plain))
    deeper = forward_flops(resnet("full", 3), "cifar10")
    assert deeper > 2 * forward  # depth n = 3 has three times the blocks of n = 1


def test_forward_flops_count_the_depthwise_convs_whichever_kernel_runs_them():
    from spatialmix import depthwise

    if not depthwise.load():
        pytest.skip("the native depthwise kernel did not build here")
    mixer = ModelConfig(arch="convmixer", width=16, depth=2, kernel_size=5, patch_size=1)
    forward_flops.cache_clear()
    total = forward_flops(mixer, "cifar10")
    per_layer = {"depthwise": 2 * 16 * 32 * 32 * 5 * 5, "1×1": 2 * 16 * 16 * 32 * 32}
    stem, head = 2 * 3 * 16 * 32 * 32, 2 * 16 * 10
    assert total == 2 * sum(per_layer.values()) + stem + head


def test_chapter_07_at_paper_scale_is_the_papers_large_unshuffler_seeing_the_whole_image():
    import shlex

    import yaml

    from spatialmix import unshuffle
    from spatialmix.experiments import PAPER_PARAMETERS
    from spatialmix.queue import grid_named

    row = next(r for r in runbook.rows() if r[0] == "Figs. 10, 11")
    words, given = shlex.split(row[1].strip("`"))[3:], {}
    while words:  # -p NAME VALUE | -y 'NAME: VALUE', as papermill's CLI reads them
        flag = words.pop(0)
        given |= ({words.pop(0): yaml.safe_load(words.pop(0))} if flag == "-p"
                  else yaml.safe_load(words.pop(0)))  # fmt: skip
    assert given == {"scale": "paper", **PAPER_PARAMETERS["07"]}
    grid = grid_named("07:paper")  # the queue trains what the runbook's command trains
    assert {(c.model.depth, c.model.width, c.model.kernel_size) for c in grid} >= {(16, 512, 7)}
    sides = {"mnist": 28, "fashion_mnist": 28, "cifar10": 32}
    for c in grid:
        assert unshuffle.sees_whole_image(c.model.kernel_size, c.model.depth, sides[c.dataset])
