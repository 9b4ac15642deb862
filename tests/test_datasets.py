"""Tests for spatialmix.datasets: layouts, provenance labels, caching and error messages."""

from __future__ import annotations

import gzip
import os
import pickle
import tarfile
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spatialmix import datasets, formats
from spatialmix.datasets import (
    DATASETS,
    KNOWN_FINGERPRINTS,
    DataNotFoundError,
    clear_memory_cache,
    load_dataset,
)

SHARED = Path(
    os.environ.get("SPATIALMIX_SHARED_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FP = {label: fp for fp, label in KNOWN_FINGERPRINTS.items()}


@pytest.fixture(autouse=True)
def isolated(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Give every test an empty tensor cache and no $SPATIALMIX_DATA."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SPATIALMIX_CACHE", str(cache))
    monkeypatch.delenv("SPATIALMIX_DATA", raising=False)
    clear_memory_cache()
    yield cache
    clear_memory_cache()


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not present (set SPATIALMIX_SHARED_DATA or install the package)")
    return path


def forbid_raw_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise AssertionError("raw files were read although the tensor cache should be used")

    monkeypatch.setattr(datasets, "_read_raw", fail)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    data = header + np.ascontiguousarray(array, np.uint8).tobytes()
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)


def make_cifar_pickles(root: Path, name: str = "cifar10", n: int = 2) -> dict[str, np.ndarray]:
    """Write a tiny pickle tree in torchvision's layout; return the arrays it should load as."""
    rng = np.random.default_rng(0)
    fine = "fine_" if name == "cifar100" else ""
    n_classes = 100 if name == "cifar100" else 10
    train = [f"data_batch_{i}" for i in range(1, 6)] if name == "cifar10" else ["train"]
    test = ["test_batch"] if name == "cifar10" else ["test"]
    root.mkdir(parents=True)
    out: dict[str, list[np.ndarray]] = {"x_train": [], "y_train": [], "x_test": [], "y_test": []}
    for split, members in (("train", train), ("test", test)):
        for member in members:
            x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            y = rng.integers(0, n_classes, n).tolist()
            with open(root / member, "wb") as fh:
                pickle.dump({"data": x, f"{fine}labels": y}, fh)
            out[f"x_{split}"].append(x.reshape(n, 3, 32, 32))
            out[f"y_{split}"].append(np.array(y))
    meta = {f"{fine}label_names": [f"class{i:03d}" for i in range(n_classes)]}
    with open(root / ("meta" if name == "cifar100" else "batches.meta"), "wb") as fh:
        pickle.dump(meta, fh)
    return {k: np.concatenate(v) for k, v in out.items()}


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError) as err:
        load_dataset("svhn")
    assert all(name in str(err.value) for name in DATASETS)


def test_missing_data_names_dataset_and_places(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("cifar100", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    for expected in (
        "cifar100",
        str(tmp_path / "cifar-100-python"),
        "data_dir argument",
        "user cache",
        "/usr/share/datasets",
        "SPATIALMIX_DATA",
        "download=True",
    ):
        assert expected in msg


def test_imagenet_is_never_downloaded(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="never downloaded"):
        load_dataset("imagenet", data_dir=tmp_path, download=True)


def test_download_failure_becomes_data_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torchvision.datasets, "CIFAR100", offline)
    with pytest.raises(DataNotFoundError, match="no route to host") as err:
        load_dataset("cifar100", download=True)
    assert isinstance(err.value.__cause__, urllib.error.URLError)


def test_mnist_loads_and_caches(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    data = need(SHARED / "mnist.npz").parent
    ds = load_dataset("mnist", data_dir=data, download=False)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64
    assert ds.x_train.is_contiguous() and len(ds.y_train) == 60000 and len(ds.y_test) == 10000
    assert set(ds.y_train.tolist()) == set(range(10)) == set(ds.y_test.tolist())
    assert ds.y_train[:3].tolist() == [5, 0, 4] and ds.y_test[:3].tolist() == [7, 2, 1]
    assert ds.source == "mnist (canonical)" and ds.is_canonical
    assert ds.fingerprint == FP["mnist (canonical)"]
    assert ds.mean[0] == pytest.approx(0.1307, abs=1e-4)
    assert ds.std[0] == pytest.approx(0.3081, abs=1e-4)
    assert load_dataset("mnist", data_dir=data, download=False) is ds  # in-process cache
    assert len(list((isolated / "tensors").glob("mnist-*.pt"))) == 1
    clear_memory_cache()
    forbid_raw_reads(monkeypatch)
    again = load_dataset("mnist", data_dir=data, download=False)
    assert again is not ds and again.fingerprint == ds.fingerprint
    assert again.source == ds.source and again.classes == ds.classes


@pytest.mark.parametrize("layout", ["mnist", "MNIST/raw"])
def test_mnist_idx_layouts_match_npz(tmp_path: Path, layout: str) -> None:
    z = np.load(need(SHARED / "mnist.npz"))
    folder = tmp_path / layout
    folder.mkdir(parents=True)
    suffix = ".gz" if layout == "mnist" else ""  # one compressed, one plain copy
    for stem, key in (
        ("train-images-idx3-ubyte", "x_train"),
        ("train-labels-idx1-ubyte", "y_train"),
        ("t10k-images-idx3-ubyte", "x_test"),
        ("t10k-labels-idx1-ubyte", "y_test"),
    ):
        write_idx(folder / f"{stem}{suffix}", z[key])
    ds = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert ds.fingerprint == FP["mnist (canonical)"] and ds.is_canonical


def test_fashion_mnist_from_debian() -> None:
    need(DEBIAN_FASHION)
    ds = load_dataset("fashion_mnist", download=False)
    assert ds.source == "fashion_mnist (Debian dataset-fashion-mnist)"
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.y_train.bincount().tolist() == [6000] * 10
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    assert ds.fingerprint == FP["fashion_mnist (canonical)"] and ds.is_canonical
    # data_dir pointing straight at the Debian folder works too.
    assert load_dataset("fashion_mnist", data_dir=DEBIAN_FASHION).fingerprint == ds.fingerprint


def test_fashion_mnist_agrees_with_torchvision(tmp_path: Path) -> None:
    import torchvision.datasets

    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in need(DEBIAN_FASHION).glob("*.gz"):  # torchvision reads the decompressed files
        (raw / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
    ref = torchvision.datasets.FashionMNIST(str(tmp_path), train=True, download=False)
    ds = load_dataset("fashion_mnist", data_dir=tmp_path, download=False)
    assert torch.equal(ds.x_train[:, 0], ref.data) and torch.equal(ds.y_train, ref.targets)
    assert ds.classes == tuple(ref.classes)
    assert ds.source == "fashion_mnist (canonical)" and ds.is_canonical


def test_cifar10_jpeg_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    data = need(SHARED / "cifar10-jpeg.tar.gz").parent
    start = time.perf_counter()
    ds = load_dataset("cifar10", data_dir=data, download=False)
    first = time.perf_counter() - start
    assert ds.x_train.shape == (50000, 3, 32, 32) and ds.x_test.shape == (10000, 3, 32, 32)
    assert ds.y_train.bincount().tolist() == [5000] * 10
    assert ds.y_test.bincount().tolist() == [1000] * 10
    assert ds.classes[:3] == ("airplane", "automobile", "bird") and ds.classes[-1] == "truck"
    assert ds.source == "cifar10 (JPEG q75 copy)" and not ds.is_canonical
    assert ds.fingerprint == FP["cifar10 (JPEG q75 copy)"]
    assert ds.mean == pytest.approx((0.4913, 0.4821, 0.4465), abs=1e-3)
    assert ds.std == pytest.approx((0.2452, 0.2428, 0.2606), abs=1e-3)
    clear_memory_cache()
    forbid_raw_reads(monkeypatch)
    start = time.perf_counter()
    again = load_dataset("cifar10", data_dir=data, download=False)
    cached = time.perf_counter() - start
    assert again.fingerprint == ds.fingerprint and again.source == ds.source
    print(f"cifar10 JPEG copy: first load {first:.1f}s, from tensor cache {cached:.2f}s")


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("as_tarball", [False, True])
def test_fake_cifar_pickles_load_as_non_canonical(tmp_path: Path, name: str, as_tarball: bool):
    folder = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    expected = make_cifar_pickles(tmp_path / "src" / folder, name)
    data = tmp_path / "data"
    if as_tarball:  # read straight from the archive, as torchvision's download leaves it
        data.mkdir()
        with tarfile.open(
            data / f"{folder.replace('-batches-py', '-python')}.tar.gz", "w:gz"
        ) as tf:
            tf.add(tmp_path / "src" / folder, arcname=folder)
    else:
        (tmp_path / "src").rename(data)
    ds = load_dataset(name, data_dir=data, download=False)
    for key, value in expected.items():
        assert np.array_equal(getattr(ds, key).numpy(), value), key
    assert len(ds.classes) == (100 if name == "cifar100" else 10)
    assert not ds.is_canonical and "not canonical" in ds.source


def test_cifar10_image_folder_png_is_exact_and_flagged(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pixels = {}
    for split in ("train", "test"):
        for cls in ("truck", "airplane"):  # written out of order: classes must come out sorted
            (tmp_path / "cifar10" / split / cls).mkdir(parents=True)
            for i in (1, 0):
                img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(img).save(tmp_path / "cifar10" / split / cls / f"{i:04d}.png")
                pixels[split, cls, i] = img.transpose(2, 0, 1)
    ds = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert ds.classes == ("airplane", "truck") and ds.y_train.tolist() == [0, 0, 1, 1]
    assert np.array_equal(ds.x_train[2].numpy(), pixels["train", "truck", 0])
    assert np.array_equal(ds.x_test[1].numpy(), pixels["test", "airplane", 1])
    assert ds.source == "cifar10 (image folder, lossy?)" and not ds.is_canonical


def test_imagenet_folder_resized_and_found_via_env(tmp_path: Path, monkeypatch) -> None:
    for split, sizes in (("train", [(40, 30), (30, 50)]), ("val", [(64, 64)])):
        for cls in ("n01", "n02"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i, size in enumerate(sizes):
                Image.new("RGB", size, (i * 50, 100, 200)).save(
                    tmp_path / split / cls / f"{i}.JPEG"
                )
    monkeypatch.setenv("SPATIALMIX_DATA", str(tmp_path))  # the tree itself, not <dir>/imagenet
    ds = load_dataset("imagenet", download=False, image_size=16)
    assert ds.x_train.shape == (4, 3, 16, 16) and ds.x_test.shape == (2, 3, 16, 16)
    assert ds.classes == ("n01", "n02") and ds.y_test.tolist() == [0, 1]
    assert ds.source.startswith("imagenet (image folder") and not ds.is_canonical
    assert load_dataset("imagenet", download=False, image_size=8).x_train.shape[-1] == 8


def test_data_dir_beats_env_and_corrupt_cache_is_rebuilt(tmp_path: Path, monkeypatch, isolated):
    expected = make_cifar_pickles(tmp_path / "a" / "cifar-10-batches-py", n=1)
    make_cifar_pickles(tmp_path / "b" / "cifar-10-batches-py", n=3)
    monkeypatch.setenv("SPATIALMIX_DATA", str(tmp_path / "b"))
    ds = load_dataset("cifar10", data_dir=tmp_path / "a", download=False)
    assert len(ds.x_train) == len(expected["x_train"]) == 5
    assert len(load_dataset("cifar10", download=False).x_train) == 15
    clear_memory_cache()
    for cached in (isolated / "tensors").glob("*.pt"):
        cached.write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="unreadable tensor cache"):
        again = load_dataset("cifar10", data_dir=tmp_path / "a", download=False)
    assert again.fingerprint == ds.fingerprint


def test_canonical_md5s_match_torchvision() -> None:
    import torchvision.datasets as tvd

    for cls in (tvd.CIFAR10, tvd.CIFAR100):
        for member, md5 in cls.train_list + cls.test_list:
            assert formats._CIFAR_MD5[member] == md5


def test_every_dataset_has_its_split_names():
    assert set(formats._SPLITS) == set(datasets.DATASETS)
