"""The runbook page and README table are what the code builds; its estimates are sound."""

from pathlib import Path

import pytest

from spatialmix import runbook
from spatialmix.experiments import resnet
from spatialmix.results import RunConfig

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
    forward = runbook.forward_flops(resnet("full", 1), "cifar10")
    assert runbook.training_flops(plain) == pytest.approx(3 * forward * 50_000 * 160)
    assert runbook.training_flops(fgsm) == pytest.approx(5 / 3 * runbook.training_flops(plain))
    deeper = runbook.forward_flops(resnet("full", 3), "cifar10")
    assert deeper > 2 * forward  # depth n = 3 has three times the blocks of n = 1
