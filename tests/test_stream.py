"""The streamed ImageNet: listing, batches, reproducibility, DDP slices, and a run through it."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spatialmix import datasets
from spatialmix.datasets import DataError
from spatialmix.experiments import resnet
from spatialmix.results import RunConfig, lookup, run
from spatialmix.stream import IMAGENET_MEAN, ImageFolderStream, load_data, load_stream
from spatialmix.streamloader import decode, resized_crop_box

CLASSES = ("n02", "n01", "n03")  # written out of order: classes come out sorted
SIZES = [(40, 30), (30, 52), (64, 48), (36, 36)]  # (width, height)


def make_tree(root: Path, train: int = 8, val: int = 4) -> Path:
    """root/{train,val}/<class>/ of JPEGs and PNGs of varied sizes, one greyscale, one CMYK."""
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("val", val)):
        for c, cls in enumerate(CLASSES):
            (root / split / cls).mkdir(parents=True)
            for i in reversed(range(n)):
                w, h = SIZES[(i + c) % len(SIZES)]
                im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
                if i == 1:
                    im.convert("L").save(root / split / cls / f"{i:03d}.png")
                elif i == 2:
                    im.convert("CMYK").save(root / split / cls / f"{i:03d}.jpg")
                else:
                    im.save(root / split / cls / f"{i:03d}.JPEG", quality=90)
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("imagenet"))


@pytest.fixture
def ds(tree: Path) -> ImageFolderStream:
    return load_stream(tree, image_size=16)


def train_loader(ds: ImageFolderStream, batch: int = 6, **kw: object):
    return ds.loader("train", None, batch, train=True, augment="crop_flip", seed=3,
                     channels_last=True, workers=kw.pop("workers", 1), **kw)  # fmt: skip


def test_listing_is_sorted_labelled_and_fingerprints_the_files(tree: Path, ds) -> None:
    assert ds.classes == ("n01", "n02", "n03") and ds.channels == 3
    assert ds.y_train.tolist() == [c for c in range(3) for _ in range(8)]
    assert ds.y_test.tolist() == [c for c in range(3) for _ in range(4)]
    assert ds.train_files[:3].tolist() == [b"train/n01/000.JPEG", b"train/n01/001.png",
                                           b"train/n01/002.jpg"]  # fmt: skip
    assert len(ds.x_train) == 24 and len(ds.x_test) == 12 and ds.mean == IMAGENET_MEAN
    assert ds.source == "imagenet (image folder, streamed)" and not ds.is_canonical
    assert load_stream(tree, 16).fingerprint == ds.fingerprint
    assert load_stream(tree, 32).fingerprint != ds.fingerprint  # the crop size is in the key
    assert load_data("imagenet", tree, 16).fingerprint == ds.fingerprint


def test_a_changed_tree_is_listed_again(tmp_path: Path) -> None:
    root = make_tree(tmp_path, train=2, val=1)
    before = load_stream(root)
    Image.new("RGB", (20, 20)).save(root / "train" / "n01" / "new.png")
    after = load_stream(root)
    assert len(after.x_train) == len(before.x_train) + 1
    assert after.fingerprint != before.fingerprint
    (root / "val" / "n09").mkdir()
    Image.new("RGB", (20, 20)).save(root / "val" / "n09" / "x.png")
    with pytest.raises(DataError, match=r"classes \['n09'\] have no train images"):
        load_stream(root)


def test_batches_are_float_channels_last_with_their_labels(ds) -> None:
    loader = train_loader(ds)
    batches = list(loader.epoch(0))
    assert len(loader) == len(batches) == 4
    x, y = batches[0]
    assert x.shape == (6, 3, 16, 16) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert 0 <= x.min() and x.max() <= 1 and x.std() > 0.05
    assert sorted(torch.cat([y for _, y in batches]).tolist()) == ds.y_train.tolist()
    test = ds.loader("test", None, 5, workers=1)  # every image, in order, the last batch short
    assert [len(y) for _, y in test] == [5, 5, 2]
    assert torch.cat([y for _, y in test]).tolist() == ds.y_test.tolist()


def test_same_seed_and_epoch_same_batches_resumed_mid_epoch_too(ds) -> None:
    first = list(train_loader(ds).epoch(1))
    again = list(train_loader(ds).epoch(1))
    resumed = list(train_loader(ds).epoch(1, start_step=2))
    for (a, ya), (b, yb) in zip(first, again, strict=True):
        assert torch.equal(a, b) and torch.equal(ya, yb)
    for (a, ya), (b, yb) in zip(first[2:], resumed, strict=True):
        assert torch.equal(a, b) and torch.equal(ya, yb)
    other = list(train_loader(ds).epoch(2))
    assert not torch.equal(torch.cat([y for _, y in other]), torch.cat([y for _, y in first]))


def test_the_training_crop_changes_every_epoch_the_evaluation_crop_never(ds) -> None:
    one = ds.loader("train", torch.tensor([0]), 1, train=True, augment="crop_flip", workers=0)
    crops = [next(one.epoch(e))[0] for e in range(3)]
    assert not torch.equal(crops[0], crops[1]) and not torch.equal(crops[1], crops[2])
    test = ds.loader("test", torch.tensor([0]), 1, workers=0)
    assert torch.equal(next(test.epoch(0))[0], next(test.epoch(5))[0])
    path = ds.root / ds.test_files[0].decode()
    assert torch.equal(
        next(iter(test))[0][0], torch.tensor(decode(path, 16)).permute(2, 0, 1) / 255
    )


def test_ddp_ranks_slices_concatenate_to_the_single_process_batch(ds) -> None:
    whole = list(train_loader(ds).epoch(0))
    ranks = [list(train_loader(ds, rank=r, world=2).epoch(0)) for r in (0, 1)]
    ranks[1] = list(train_loader(ds).shard(1, 2).epoch(0))  # as distributed.shard makes it
    assert all(len(r) == len(whole) for r in ranks)  # global steps, the same on every rank
    for step, (x, y) in enumerate(whole):
        assert torch.equal(torch.cat([r[step][0] for r in ranks]), x)
        assert torch.equal(torch.cat([r[step][1] for r in ranks]), y)
    with pytest.raises(ValueError, match="does not split evenly"):
        train_loader(ds, batch=5, rank=0, world=2)
    with pytest.raises(ValueError, match="only training loaders"):
        ds.loader("test", None, 4, rank=0, world=2)


def test_threads_processes_and_inline_decoding_give_the_same_batches(ds) -> None:
    inline = list(train_loader(ds, workers=0).epoch(0, start_step=1))
    for kw in ({"workers": 2}, {"workers": 2, "decoder": "processes"}):
        for (a, ya), (b, yb) in zip(inline, train_loader(ds, **kw).epoch(0, 1), strict=True):
            assert torch.equal(a, b) and torch.equal(ya, yb)


def test_resized_crop_box_stays_inside_and_falls_back_to_a_centre_crop() -> None:
    u = torch.rand(200, 10, 4, generator=torch.Generator().manual_seed(0))
    for row in u:
        left, top, w, h = resized_crop_box(64, 48, row)
        assert 0 <= left and left + w <= 64 and 0 <= top and top + h <= 48
        assert 0.08 * 64 * 48 * 0.9 <= w * h and 3 / 4 * 0.9 <= w / h <= 4 / 3 * 1.1
    # a 100×10 strip: no crop of ratio 3/4..4/3 and area >= 8 % fits, so the centre crop
    assert resized_crop_box(100, 10, torch.full((10, 4), 0.5)) == (43, 0, 13, 10)


def test_an_unreadable_image_is_named(tmp_path: Path) -> None:
    root = make_tree(tmp_path, train=2, val=1)
    (root / "train" / "n03" / "000.JPEG").write_bytes(b"not a jpeg")
    loader = load_stream(root, 16).loader("train", None, 6, train=True, workers=1)
    with pytest.raises(DataError, match=r"train/n03/000.JPEG cannot be decoded"):
        list(loader.epoch(0))


def test_an_imagenet_run_streams_end_to_end(tree: Path, store, monkeypatch) -> None:
    monkeypatch.setenv("SPATIALMIX_DATA", str(tree))
    monkeypatch.setenv("SPATIALMIX_WORKERS", "1")
    monkeypatch.setattr(datasets, "_read_raw", lambda *a: pytest.fail("decoded the whole tree"))
    cfg = RunConfig("resnet", resnet("full", 1, imagenet=True), "imagenet", "smoke",
                    overrides={"batch_size": 8, "n_attack": 6})  # fmt: skip
    record = run(cfg, device="cpu", progress=False)
    stream = load_stream(tree, 64)  # the smoke scale's image size
    assert record.spec.data.source == stream.source
    assert record.spec.data.fingerprint == stream.fingerprint
    assert record.clean["n"] == 12 and record.attacks["n"] == 6 and len(record.history) == 1
    assert lookup(cfg) == record
