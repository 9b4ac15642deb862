import pytest
import torch

from spatialmix.data import (
    Loader,
    augment_batch,
    generator,
    permute_pixels,
    pixel_permutation,
    stratified_subset,
    unpermute_pixels,
)


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
