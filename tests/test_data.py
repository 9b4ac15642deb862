import pytest
import torch

from spatialmix.data import (
    RANDAUGMENT_MAGNITUDE,
    RANDAUGMENT_OPS,
    Loader,
    augment_batch,
    generator,
    permute_pixels,
    pixel_permutation,
    rand_augment,
    stratified_subset,
    unpermute_pixels,
)
from spatialmix.models import ModelConfig
from spatialmix.results import RunConfig
from spatialmix.scales import AUGMENT, SCALES, augment_for


def test_permuting_then_inverting_is_the_identity():
    x = torch.rand(2, 3, 8, 8)
    perm = pixel_permutation(8, 8, seed=3)
    shuffled = permute_pixels(x, perm)
    assert not torch.equal(shuffled, x)
    assert torch.equal(unpermute_pixels(shuffled, perm), x)
    # the same permutation for every image and channel
    assert torch.equal(permute_pixels(x[1:, :1], perm), shuffled[1:, :1])


def test_same_seed_same_permutation_other_seed_other():
    assert torch.equal(pixel_permutation(28, 28, 0), pixel_permutation(28, 28, 0))
    assert not torch.equal(pixel_permutation(28, 28, 0), pixel_permutation(28, 28, 1))


def test_stratified_subset_is_balanced_seeded_and_sorted():
    y = torch.arange(1000) % 10
    idx = stratified_subset(y, 105, seed=0)
    counts = torch.bincount(y[idx], minlength=10)
    assert len(idx) == 105 and len(idx.unique()) == 105
    assert counts.min() == 10 and counts.max() == 11
    assert torch.equal(idx, idx.sort().values)
    assert torch.equal(idx, stratified_subset(y, 105, seed=0))
    assert not torch.equal(idx, stratified_subset(y, 105, seed=1))
    assert torch.equal(stratified_subset(y, 0, seed=0), torch.arange(1000))


def test_stratified_subset_tops_up_when_a_class_is_small():
    y = torch.tensor([0] * 2 + [1] * 50)
    idx = stratified_subset(y, 20, seed=0)
    assert len(idx) == 20 and (y[idx] == 0).sum() == 2


def test_augment_keeps_shape_and_content_and_is_seeded():
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    a = augment_batch(x, "crop_flip", generator(0, 0, 0))
    b = augment_batch(x, "crop_flip", generator(0, 0, 0))
    assert a.shape == x.shape and a.dtype == torch.uint8 and torch.equal(a, b)
    assert not torch.equal(a, x)
    assert torch.equal(augment_batch(x, "none", generator(0)), x)
    # a crop is a shift: every output pixel is an input pixel or zero padding
    one = augment_batch(x[:1], "crop", generator(5))
    assert set(one.unique().tolist()) <= set(x[0].unique().tolist()) | {0}


def test_unknown_augment_fails():
    with pytest.raises(ValueError, match="crop_flip"):
        augment_batch(torch.zeros(1, 1, 4, 4, dtype=torch.uint8), "mixup", generator(0))


def test_loader_epochs_are_seeded_and_resumable():
    x = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8)
    y = torch.arange(40)
    loader = Loader(x, y, 8, train=True, augment="crop", seed=1)
    full = list(loader.epoch(2))
    tail = list(loader.epoch(2, start_step=3))
    assert len(full) == 5 and len(tail) == 2
    for (xa, ya), (xb, yb) in zip(full[3:], tail, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert not torch.equal(full[0][1], next(loader.epoch(3))[1])
    assert full[0][0].dtype == torch.float32 and full[0][0].max() <= 1


def test_eval_loader_keeps_every_image_in_order():
    x = torch.zeros(10, 1, 4, 4, dtype=torch.uint8)
    loader = Loader(x, torch.arange(10), 4)
    assert torch.cat([b for _, b in loader]).tolist() == list(range(10))


def test_loader_rejects_too_few_images():
    with pytest.raises(ValueError, match="cannot fill"):
        Loader(torch.zeros(3, 1, 4, 4, dtype=torch.uint8), torch.arange(3), 8, train=True)


def test_randaugment_changes_a_uint8_batch_and_keeps_dtype_shape_and_seed():
    x = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8, generator=generator(5))
    out = rand_augment(x, generator(0))
    assert out.dtype == torch.uint8 and out.shape == x.shape
    assert not torch.equal(out, x)
    assert torch.equal(out, rand_augment(x, generator(0)))  # seeded: a resumed run sees it again
    assert not torch.equal(out, rand_augment(x, generator(1)))
    both = augment_batch(x, "crop_flip_randaugment", generator(2))
    assert both.dtype == torch.uint8 and both.shape == x.shape
    assert not torch.equal(both, augment_batch(x, "crop_flip", generator(2)))


def test_randaugment_gives_each_image_one_of_torchvisions_outputs():
    """Every image draws its own op from torchvision's RandAugment: the batch of one image holds
    only outputs the public transform can give that image, and more than one of them."""
    from torchvision.transforms import RandAugment

    image = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8, generator=generator(3))
    reference = RandAugment(RANDAUGMENT_OPS, RANDAUGMENT_MAGNITUDE)
    possible = set()
    for seed in range(300):  # 14 ops, signed ones both ways: 300 draws see them all
        torch.manual_seed(seed)
        possible.add(reference(image).numpy().tobytes())
    out = rand_augment(image.expand(64, -1, -1, -1), generator(0))
    seen = {img.numpy().tobytes() for img in out}
    assert seen <= possible and len(seen) > 5


def test_randaugment_only_at_the_convmixer_paper_scale_on_cifar():
    for scale in SCALES:
        for family in ("sep_resnet", "convmixer", "unshuffle"):
            for dataset in AUGMENT:
                aug = augment_for(family, scale, dataset)
                wanted = (family, scale) == ("convmixer", "paper") and dataset.startswith("cifar")
                assert (aug == "crop_flip_randaugment") == wanted, (family, scale, dataset)
    mixer = ModelConfig(arch="convmixer", regime="chans", width=128, depth=8, kernel_size=8)
    assert RunConfig("unit", mixer, "cifar10", "paper").settings()[0]["augment"] == (
        "crop_flip_randaugment")  # fmt: skip
    for scale in ("smoke", "quick", "cpu", "converged"):  # CPU scales: off, so keys unchanged
        assert RunConfig("unit", mixer, "cifar10", scale).settings()[0]["augment"] == "crop_flip"
