"""The un-shuffling task: what a model sees, what needs no model, and chapter 07's grid."""

import warnings

import numpy as np
import pytest
import torch

from spatialmix import evaluation, unshuffle
from spatialmix import experiments as ex
from spatialmix.chapters import parameters
from spatialmix.data import permute_pixels, pixel_permutation
from spatialmix.datasets import Dataset
from spatialmix.models import ModelConfig, build_model
from spatialmix.queue import chapter_grid
from spatialmix.regimes import count_trainable
from spatialmix.results import RunConfig
from spatialmix.train import psnr

SIDES = {"mnist": 28, "fashion_mnist": 28, "cifar10": 32}


def test_receptive_field_and_what_it_must_cover():
    assert unshuffle.receptive_field(7, 4) == 25  # the first book's model: far too small
    assert unshuffle.needed_field(28) == 55 and unshuffle.needed_field(32) == 63
    assert unshuffle.receptive_field(9, 7) == 57 and unshuffle.sees_whole_image(9, 7, 28)
    assert not unshuffle.sees_whole_image(9, 6, 28)  # 49 px
    assert not unshuffle.sees_whole_image(9, 7, 32)  # 57 < 63
    # even k pads "same" 3 before and 4 after (k = 8): the field is 57 px, but one way it
    # reaches only 3·8 = 24 < 27 pixels, so some pixel never sees the one it needs
    assert unshuffle.receptive_field(8, 8) == 57 and not unshuffle.sees_whole_image(8, 8, 28)
    assert unshuffle.sees_whole_image(8, 9, 28)


def test_a_model_that_cannot_see_the_image_is_warned_about_or_refused():
    with pytest.warns(unshuffle.ReceptiveFieldWarning, match="needs 55 px"):
        assert unshuffle.check_receptive_field(7, 4, 28) is False
    with pytest.raises(ValueError, match="receptive field of 25 px"):
        unshuffle.check_receptive_field(7, 4, 28, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert unshuffle.check_receptive_field(9, 8, 32, strict=True) is True
    with pytest.warns(unshuffle.ReceptiveFieldWarning):
        rows = unshuffle.receptive_field_rows([(8, 32, 9), (4, 32, 7)], SIDES)
    assert rows == [(8, 32, 9, 65, "yes", "yes", "yes"), (4, 32, 7, 25, "no", "no", "no")]


def test_committed_grid_sees_the_whole_image_with_two_values_per_axis_and_two_seeds():
    p = parameters("07")
    shapes = ex.unshuffle_shapes(p["depth"], p["width"], p["kernel_size"], p["depths"],
                                 p["widths"], p["kernel_sizes"])  # fmt: skip
    for axis in range(3):
        assert len({s[axis] for s in shapes}) >= 2
    assert len(p["seeds"]) >= 2 and p["dataset"] == "mnist"
    assert {"fashion_mnist", "cifar10"} <= set(p["panels"])
    grid = chapter_grid("07", "converged", available_only=False)
    assert {c.model.regime for c in grid} == {"full", "chans", "space"}
    for cfg in grid:
        m = cfg.model
        assert unshuffle.sees_whole_image(m.kernel_size, m.depth, SIDES[cfg.dataset]), cfg
        assert m.kernel_size % 2 == 1


def test_shapes_sweep_one_axis_at_a_time_and_the_runs_put_the_central_model_first():
    shapes = ex.unshuffle_shapes(8, 32, 9, [8, 12], [32, 64], [9, 11])
    assert shapes == [(8, 32, 9), (12, 32, 9), (8, 64, 9), (8, 32, 11)]
    assert ex.largest_shape(shapes) == (8, 64, 9)  # most multiply-adds per pixel
    runs = ex.fig10_runs("mnist", ["mnist", "cifar10"], [0, 1], "smoke", shapes)
    assert len(runs) == 2 * (4 + 1) * 3
    first = runs[0]
    assert (first.dataset, first.seed, first.model.regime) == ("mnist", 0, "full")
    assert ex.unshuffle_shape(first.model) == (8, 32, 9)
    assert {ex.unshuffle_shape(c.model) for c in runs if c.dataset == "cifar10"} == {(8, 32, 9)}
    assert [c.seed for c in runs] == sorted(c.seed for c in runs)  # seed by seed


def test_budget_check_doubles_the_central_models_epochs_only_where_convergence_is_claimed():
    shape = (8, 32, 9)
    assert ex.unshuffle_budget_runs("quick", "mnist", [0], shape) == []
    longer = ex.unshuffle_budget_runs("converged", "mnist", [0], shape)
    assert [c.model.regime for c in longer] == ["full", "chans", "space"]
    base = ex.unshuffle_runs(["full"], ["mnist"], [0], "converged", [shape])[0]
    assert longer[0].settings()[0]["epochs"] == 2 * base.settings()[0]["epochs"]
    assert longer[0].settings()[1] == "custom"
    # the queue trains it right after the first seed's central model, before the other shapes
    grid = chapter_grid("07", "converged", available_only=False)
    assert grid[3:6] == longer and grid[:3] == ex.fig10_runs(
        "mnist", [], [0], "converged", [shape])[:3]  # fmt: skip


def test_chans_learns_as_many_parameters_at_every_k_full_more():
    counts = unshuffle.trainable_counts(16, 3, [3, 5, 7], channels=1)
    assert len(set(counts["chans"].values())) == 1
    assert counts["full"][3] < counts["full"][5] < counts["full"][7]
    # full learns each block's k×k filters, width·k² weights (their biases do not depend on k)
    assert counts["full"][5] - counts["full"][3] == 3 * 16 * (25 - 9)
    model = build_model(ModelConfig(arch="unshuffle", regime="space", width=16, depth=3,
                                    kernel_size=7), in_channels=1)  # fmt: skip
    assert counts["space"][7] == count_trainable(model)


@pytest.mark.parametrize(("channels", "side"), [(1, 6), (3, 4)])
def test_least_squares_recovers_a_permutation_exactly_on_noiseless_data(channels, side):
    gen = torch.Generator().manual_seed(0)
    d = channels * side * side
    x_train = torch.rand(4 * d, channels, side, side, generator=gen)
    x_test = torch.rand(50, channels, side, side, generator=gen)
    perm = pixel_permutation(side, side, seed=3)
    weight, bias = unshuffle.fit_least_squares(x_train, perm)
    index = (torch.arange(channels)[:, None] * side * side + perm[None, :]).flatten()
    exact = torch.zeros(d, d, dtype=torch.float64)
    exact[torch.arange(d), index] = 1.0  # shuffled pixel i is original pixel index[i]
    assert torch.allclose(weight, exact, atol=1e-4) and bias.abs().max() < 1e-4
    base = unshuffle.baseline_psnr(x_train, x_test, perm)
    assert list(base) == list(unshuffle.BASELINES)
    assert base["least squares"] > 60 > 20 > base["shuffled input"]


def test_baselines_on_images_with_a_dead_border_and_as_uint8():
    gen = torch.Generator().manual_seed(1)
    x = torch.zeros(300, 1, 8, 8)
    x[:, :, 2:6, 2:6] = torch.rand(300, 1, 4, 4, generator=gen)  # MNIST-like: border never lit
    x = (x * 255).round() / 255
    x_train, x_test = x[:250], x[250:]
    perm = pixel_permutation(8, 8, seed=0)
    base = unshuffle.baseline_psnr(x_train, x_test, perm)
    assert all(np.isfinite(v) for v in base.values()) and base["least squares"] > 50
    shuffled = permute_pixels(x_test, perm)
    assert base["shuffled input"] == pytest.approx(psnr(float((shuffled - x_test).square().mean())))
    mean_image = x_train.mean(0, keepdim=True)
    expected = psnr(float((mean_image - x_test).square().mean()))
    assert base["mean image"] == pytest.approx(expected, rel=1e-6)
    as_uint8 = unshuffle.baseline_psnr((x_train * 255).round().to(torch.uint8),
                                       (x_test * 255).round().to(torch.uint8), perm)  # fmt: skip
    assert as_uint8 == pytest.approx(base, rel=1e-6)


def test_chapter_baselines_score_the_runs_test_subset_with_their_permutation():
    gen = torch.Generator().manual_seed(2)
    data = Dataset("mnist", "synthetic", "0" * 64,
                   torch.randint(0, 256, (300, 1, 8, 8), dtype=torch.uint8, generator=gen),
                   torch.arange(300) % 10,
                   torch.randint(0, 256, (100, 1, 8, 8), dtype=torch.uint8, generator=gen),
                   torch.arange(100) % 10, tuple("0123456789"))  # fmt: skip
    base = ex.unshuffle_baselines(data, "smoke")
    s = RunConfig(ex.UNSHUFFLE_EXPERIMENT, ModelConfig(arch="unshuffle"), "mnist",
                  "smoke").settings()[0]  # fmt: skip
    perm = pixel_permutation(8, 8, s["perm_seed"])
    target = evaluation.Target(None, "unshuffle", data, torch.device("cpu"), perm)
    loader = evaluation.test_loader(target, s["n_test"], s["subset_seed"])
    clean = evaluation.record_baselines(loader, perm)  # what every run's Clean evaluation stores
    assert base["shuffled input"] == pytest.approx(clean["input_psnr"], rel=1e-6)


def test_image_psnr_per_image_and_per_row():
    target = np.zeros((2, 1, 4, 4), dtype=np.uint8)
    output = target.copy()
    output[1] = 255  # every pixel off by 1: MSE 1, PSNR 0 dB
    assert unshuffle.image_psnr(output, target) == pytest.approx([120.0, 0.0])
    rows = {"original": target, "full": output, "chans": target}
    per_row = unshuffle.row_psnr(rows)
    assert set(per_row) == {"full", "chans"} and per_row["full"][1] == pytest.approx(0.0)
    assert unshuffle.row_psnr({"full": output}) == {}


def test_chapter_tables_put_regimes_side_by_side():
    from spatialmix import report

    psnr = {"mnist": {("full", 8, 32, 9): [20.0, 20.2], ("chans", 8, 32, 9): [19.5, 19.7],
                      ("full", 12, 32, 9): [21.0, 21.4]}}  # fmt: skip
    lines = report.shape_table(psnr).splitlines()
    assert lines[0].split()[:4] == ["dataset", "depth", "width", "k"]
    assert "full PSNR (dB)" in lines[0] and lines[0].index("full") < lines[0].index("chans")
    assert lines[2].split()[:4] == ["mnist", "8", "32", "9"] and "19.60 ± 0.14 (n=2)" in lines[2]
    assert lines[3].rstrip().endswith("–")  # chans and space not run at depth 12
    curves = {"chans": {1: [10.0, 10.2], 2: [12.0, 12.2]}, "full": {1: [11.0, 11.0]}}
    rows = report.curve_table(curves).splitlines()
    assert rows[0].split() == ["epoch", "full", "chans"]
    assert rows[3].split()[:2] == ["2", "–"] and "12.10 ± 0.14 (n=2)" in rows[3]
