"""Tests for spatialmix.datasets: layouts, provenance labels, caching and error messages."""

from __future__ import annotations

import gzip
import os
import pickle
import re
import tarfile
import time
import urllib.error
import warnings
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
    DataError,
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


def make_cifar_pickles(
    root: Path, name: str = "cifar10", n: int | None = None
) -> dict[str, np.ndarray]:
    """Write a tiny pickle tree in torchvision's layout; return the arrays it should load as.

    ``n`` images go into each member (default: as few as lets the train split hold every class,
    which load_dataset requires).
    """
    rng = np.random.default_rng(0)
    fine = "fine_" if name == "cifar100" else ""
    n_classes = 100 if name == "cifar100" else 10
    train = [f"data_batch_{i}" for i in range(1, 6)] if name == "cifar10" else ["train"]
    test = ["test_batch"] if name == "cifar10" else ["test"]
    n = n or n_classes // len(train)
    train_labels = iter(rng.permutation(np.arange(n * len(train)) % n_classes).tolist())
    root.mkdir(parents=True)
    out: dict[str, list[np.ndarray]] = {"x_train": [], "y_train": [], "x_test": [], "y_test": []}
    for split, members in (("train", train), ("test", test)):
        for member in members:
            x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            y = [next(train_labels) for _ in range(n)] if split == "train" else []
            y = y or rng.integers(0, n_classes, n).tolist()
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


def make_image_tree(
    root: Path,
    classes: list[str],
    per_class: int = 2,
    size: tuple[int, int] = (32, 32),
    splits: tuple[str, str] = ("train", "test"),
) -> dict[tuple[str, str, int], np.ndarray]:
    """Write root/<split>/<class>/NNNN.png of random RGB; return each image as (C, H, W)."""
    rng = np.random.default_rng(1)
    pixels = {}
    for split in splits:
        for cls in classes:
            (root / split / cls).mkdir(parents=True)
            for i in reversed(range(per_class)):  # written out of order too
                img = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
                Image.fromarray(img).save(root / split / cls / f"{i:04d}.png")
                pixels[split, cls, i] = img.transpose(2, 0, 1)
    return pixels


CIFAR10_CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()


def test_cifar10_image_folder_png_is_exact_and_flagged(tmp_path: Path) -> None:
    # Written in reverse class order: classes must come out sorted.
    pixels = make_image_tree(tmp_path / "cifar10", CIFAR10_CLASSES[::-1])
    ds = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert ds.classes == tuple(CIFAR10_CLASSES)
    assert ds.y_train.tolist() == [c for c in range(10) for _ in range(2)]
    assert np.array_equal(ds.x_train[18].numpy(), pixels["train", "truck", 0])
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
    expected = make_cifar_pickles(tmp_path / "a" / "cifar-10-batches-py", n=2)
    make_cifar_pickles(tmp_path / "b" / "cifar-10-batches-py", n=3)
    monkeypatch.setenv("SPATIALMIX_DATA", str(tmp_path / "b"))
    ds = load_dataset("cifar10", data_dir=tmp_path / "a", download=False)
    assert len(ds.x_train) == len(expected["x_train"]) == 10
    assert len(load_dataset("cifar10", download=False).x_train) == 15
    clear_memory_cache()
    for cached in (isolated / "tensors").glob("*.pt"):
        cached.write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="damaged cache file .*unreadable"):
        again = load_dataset("cifar10", data_dir=tmp_path / "a", download=False)
    assert again.fingerprint == ds.fingerprint


def test_canonical_md5s_match_torchvision() -> None:
    import torchvision.datasets as tvd

    for cls in (tvd.CIFAR10, tvd.CIFAR100):
        for member, md5 in cls.train_list + cls.test_list:
            assert formats._CIFAR_MD5[member] == md5


def test_every_dataset_has_its_split_names_and_expectations():
    assert set(formats._SPLITS) == set(datasets.DATASETS) == set(datasets._EXPECTED)


def write_mnist_npz(
    path: Path,
    image: tuple[int, ...] = (28, 28),
    n_classes: int = 10,
    dtype: type = np.uint8,
    class_names: list[str] | None = None,
) -> Path:
    """Write a small npz in mnist.npz's layout: 3 train and 1 test image per class."""
    rng = np.random.default_rng(2)
    arrays = {}
    for split, per_class in (("train", 3), ("test", 1)):
        y = np.repeat(np.arange(n_classes, dtype=np.uint8), per_class)
        arrays[f"x_{split}"] = rng.integers(0, 256, (len(y), *image)).astype(dtype)
        arrays[f"y_{split}"] = rng.permutation(y)
    if class_names is not None:
        arrays["class_names"] = np.array(class_names)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:  # np.savez(path) would append .npz to a name without it
        np.savez(fh, **arrays)
    return path


def cache_files(cache: Path) -> list[Path]:
    """Return every file under the tensor cache, temp files included."""
    return sorted(p for p in (cache / "tensors").glob("*") if p.is_file())


def retensor(file: Path, change: str) -> None:
    """Rewrite a tensor cache file with one kind of damage (see test_damaged_cache...)."""
    d = torch.load(file, weights_only=True)
    if change == "wrong dtype":
        d["x_train"] = d["x_train"].float()
    elif change == "wrong shape":  # same bytes, so the stored fingerprint still matches
        d["x_train"] = d["x_train"].reshape(len(d["x_train"]), 1, 14, 56)
    elif change == "tampered":
        d["x_train"][0, 0, 0, 0] ^= 1
    elif change == "foreign labels":  # a consistent file, but not mnist: 3 classes
        d["y_train"] = d["y_train"] % 3
        d["y_test"] = d["y_test"] % 3
    elif change == "not a dict":
        d = [d["x_train"]]
    if change in ("wrong dtype", "foreign labels"):
        d["fingerprint"] = datasets._fingerprint([d[k] for k in formats._TENSORS])
    torch.save(d, file)


DAMAGE = {  # kind of damage -> what the warning says about it
    "truncated": "unreadable",
    "random bytes": "unreadable",
    "empty": "unreadable",
    "wrong dtype": r"wrong tensors: x_train float32 \(30, 1, 28, 28\)",
    "wrong shape": "images are 1x14x56",
    "tampered": "does not match its fingerprint",
    "foreign labels": "train labels span 3 classes",
    "not a dict": "not a tensor cache payload",
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_cache_is_reported_deleted_and_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path, damage: str
) -> None:
    npz = write_mnist_npz(tmp_path / "mnist.npz")
    clean = load_dataset("mnist", data_dir=tmp_path, download=False)
    (file,) = cache_files(isolated)
    raw = file.read_bytes()
    if damage == "truncated":
        file.write_bytes(raw[: len(raw) // 2])
    elif damage == "random bytes":
        file.write_bytes(np.random.default_rng(3).bytes(len(raw)))
    elif damage == "empty":  # what a crash before the data reached the disk can leave
        file.write_bytes(b"")
    else:
        retensor(file, damage)
    clear_memory_cache()
    message = (
        rf"damaged cache file {re.escape(str(file))} \(.*{DAMAGE[damage]}.*\): "
        rf"rebuilding from {re.escape(str(npz))}$"
    )
    with pytest.warns(UserWarning, match=message) as record:
        rebuilt = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert sum("damaged cache file" in str(w.message) for w in record) == 1
    assert rebuilt.fingerprint == clean.fingerprint
    assert torch.equal(rebuilt.x_train, clean.x_train) and rebuilt.x_train.shape[1:] == (1, 28, 28)
    assert torch.equal(rebuilt.y_test, clean.y_test) and rebuilt.classes == clean.classes
    assert (
        load_dataset("mnist", data_dir=tmp_path, download=False) is rebuilt
    )  # memory: the rebuilt
    # The damaged file was replaced by a sound one: read without warnings or raw reads.
    assert cache_files(isolated) == [file] and file.read_bytes() != b""
    clear_memory_cache()
    forbid_raw_reads(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert again.fingerprint == clean.fingerprint and again.source == clean.source


def test_damaged_cache_is_deleted_even_when_no_new_one_can_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    write_mnist_npz(tmp_path / "mnist.npz")
    clean = load_dataset("mnist", data_dir=tmp_path, download=False)
    (file,) = cache_files(isolated)
    file.write_bytes(b"truncated")
    clear_memory_cache()

    def disk_full(obj: object, fh: object) -> None:
        raise RuntimeError("PytorchStreamWriter failed writing file: No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.warns(UserWarning) as record:
        ds = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert [str(w.message).split(" ")[0] for w in record] == ["damaged", "could"]
    assert ds.fingerprint == clean.fingerprint and cache_files(isolated) == []
    clear_memory_cache()  # the damaged file is gone, so it is not reported again
    with pytest.warns(UserWarning, match="could not write") as record:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    assert not any("damaged" in str(w.message) for w in record)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failed_cache_write_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path, error: type
) -> None:
    write_mnist_npz(tmp_path / "mnist.npz")

    def half_written(obj: object, fh: object) -> None:
        fh.write(b"PK\x03\x04 half a file")  # type: ignore[attr-defined]
        raise error("PytorchStreamWriter failed writing file: No space left on device")

    monkeypatch.setattr(torch, "save", half_written)
    if error is RuntimeError:  # a full disk: the data still loads, the cache is skipped
        with pytest.warns(UserWarning, match=r"could not write tensor cache .*No space left"):
            ds = load_dataset("mnist", data_dir=tmp_path, download=False)
        assert len(ds.x_train) == 30 and ds.x_train.shape[1:] == (1, 28, 28)
    else:  # an interrupt propagates, and leaves neither a temp file nor a dataset in memory
        with pytest.raises(KeyboardInterrupt):
            load_dataset("mnist", data_dir=tmp_path, download=False)
        assert not datasets._MEMORY
    assert cache_files(isolated) == []


def wrong_mnist_npz(root: Path, what: str) -> Path:
    path = root / "mnist.npz"
    if what == "rgb 32x32":
        return write_mnist_npz(path, image=(32, 32, 3))
    if what == "3 classes":
        return write_mnist_npz(path, n_classes=3)
    if what == "float images":
        return write_mnist_npz(path, dtype=np.float32)
    if what == "3 class names":
        return write_mnist_npz(path, class_names=["a", "b", "c"])
    write_mnist_npz(path)  # "truncated": an interrupted copy
    path.write_bytes(path.read_bytes()[:1000])
    return path


WRONG_MNIST = {  # what is wrong -> what the message must say was found against what expected
    "rgb 32x32": r"images are 32x32x3, expected 1x28x28 \(channels x height x width\)",
    "3 classes": "train labels span 3 classes, expected all 10",
    "float images": "images are float32, expected uint8",
    "3 class names": r"3 classes \(a, b, c\), expected 10",
    "truncated": "cannot be read as mnist: BadZipFile",
}


def assert_refused(err: pytest.ExceptionInfo[DataError], name: str, path: Path, cache: Path):
    """Check the message's path and fix, and that nothing was cached or kept in memory."""
    assert isinstance(err.value, ValueError)
    assert str(path) in str(err.value)
    fix = f"Fix: point data_dir / SPATIALMIX_DATA at the real {name} files, or remove {path}."
    assert str(err.value).endswith(fix)
    assert cache_files(cache) == [] and not datasets._MEMORY


@pytest.mark.parametrize("what", list(WRONG_MNIST))
@pytest.mark.parametrize("via", ["data_dir argument", "$SPATIALMIX_DATA"])
def test_wrong_mnist_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path, what: str, via: str
) -> None:
    path = wrong_mnist_npz(tmp_path, what)
    if via == "$SPATIALMIX_DATA":
        monkeypatch.setenv("SPATIALMIX_DATA", str(tmp_path))
    where = re.escape(f"{path}  [{via}]")
    with pytest.raises(DataError, match=rf"(?s){where}.*{WRONG_MNIST[what]}") as err:
        load_dataset("mnist", data_dir=tmp_path if via == "data_dir argument" else None)
    assert_refused(err, "mnist", path, isolated)


@pytest.mark.parametrize(
    ("classes", "size", "found"),
    [
        (CIFAR10_CLASSES[:7], (32, 32), r"7 classes \(airplane, .*, frog\), expected 10"),
        (CIFAR10_CLASSES, (64, 64), r"images are 3x64x64, expected 3x32x32"),
    ],
    ids=["7 classes", "64x64 images"],
)
def test_wrong_cifar_folder_is_refused(
    tmp_path: Path, isolated: Path, classes: list[str], size: tuple[int, int], found: str
) -> None:
    make_image_tree(tmp_path / "cifar10", classes, per_class=1, size=size)
    where = re.escape(f"{tmp_path / 'cifar10'}  [data_dir argument] does not hold cifar10")
    with pytest.raises(DataError, match=rf"(?s){where}.*{found}") as err:
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert_refused(err, "cifar10", tmp_path / "cifar10", isolated)


def test_ten_classes_given_as_cifar100_are_refused(tmp_path: Path, isolated: Path) -> None:
    folder = tmp_path / "cifar-100-python"  # cifar100's layout, holding a 10-class dataset
    folder.mkdir()
    rng = np.random.default_rng(4)
    for member in ("train", "test"):
        data = {
            "data": rng.integers(0, 256, (10, 3072), dtype=np.uint8),
            "fine_labels": [*range(10)],
        }
        (folder / member).write_bytes(pickle.dumps(data))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": CIFAR10_CLASSES}))
    with pytest.raises(DataError, match=r"10 classes \(airplane, .*, truck\), expected 100") as err:
        load_dataset("cifar100", data_dir=tmp_path, download=False)
    assert_refused(err, "cifar100", folder, isolated)


def test_memory_cache_never_serves_refused_data(tmp_path: Path, isolated: Path) -> None:
    good = tmp_path / "good"
    ds = load_dataset("mnist", data_dir=write_mnist_npz(good / "mnist.npz").parent)
    wrong_mnist_npz(tmp_path / "bad", "rgb 32x32")
    for _ in range(2):  # refused every time, not only before the first success
        with pytest.raises(DataError, match="32x32x3"):
            load_dataset("mnist", data_dir=tmp_path / "bad")
    assert list(datasets._MEMORY.values()) == [ds] and len(cache_files(isolated)) == 1
    # The same path, now overwritten with wrong data, is refused although it once loaded.
    wrong_mnist_npz(good, "rgb 32x32")
    with pytest.raises(DataError, match="32x32x3"):
        load_dataset("mnist", data_dir=good)
    # Fixed again, it loads the same data as before.
    write_mnist_npz(good / "mnist.npz")
    assert load_dataset("mnist", data_dir=good).fingerprint == ds.fingerprint


def test_imagenet_tree_of_any_class_count_and_size_is_accepted(tmp_path: Path) -> None:
    tree = tmp_path / "imagenet"
    make_image_tree(
        tree, ["n01", "n02", "n03"], per_class=1, size=(20, 30), splits=("train", "val")
    )
    ds = load_dataset("imagenet", data_dir=tmp_path, download=False, image_size=12)
    assert ds.x_train.shape == (3, 3, 12, 12) and len(ds.classes) == 3
