"""Find, read and cache image-classification datasets as uint8 tensors, offline first.

``load_dataset(name)`` looks for raw files in, in order: the ``data_dir`` argument, the directory
in ``$SPATIALMIX_DATA``, the user cache (``$SPATIALMIX_CACHE``, else
``$XDG_CACHE_HOME/spatialmix`` or ``~/.cache/spatialmix``) and Debian's ``/usr/share/datasets``.
Only then, if allowed, torchvision downloads into the user cache. Decoded tensors are cached
under ``<cache>/tensors/`` and in memory, so later loads are fast.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from .formats import _SPLITS, _TENSORS, _idx_paths, _read_raw

DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "mnist", "fashion_mnist", "imagenet")

# Computed by this module from real files: mnist.npz (byte-exact MNIST), Debian's
# dataset-fashion-mnist (exact) and cifar10-jpeg.tar.gz (JPEG q75 re-encoding, order lost; another
# JPEG decoder build could round differently, so _label also recognises that file by name).
KNOWN_FINGERPRINTS: dict[str, str] = {
    "1e35582d42a90940c55b956deb61875c020b567ed20e3c5b174f52bf7809ed9b": "mnist (canonical)",
    "ece172613115fb18b120bec8f6c02271af90b8b8f0a5af5c51cbd5ceed68e619": "fashion_mnist (canonical)",
    "eec90e10bd2f5438e70e4e8599dc5b7672ffbabf978fde50cd6de1e7ed6d6bf0": "cifar10 (JPEG q75 copy)",
}

_LAYOUTS = {  # where each dataset may sit inside a searched directory -> how to read it
    "mnist": {"mnist.npz": "npz", "MNIST/raw": "idx", "mnist": "idx"},
    "fashion_mnist": {"fashion-mnist": "idx", "FashionMNIST/raw": "idx"},
    "cifar10": {
        "cifar-10-batches-py": "pickles",
        "cifar-10-python.tar.gz": "pickles",
        "cifar10": "folder",
        "cifar10-jpeg.tar.gz": "folder",
    },
    "cifar100": {"cifar-100-python": "pickles", "cifar-100-python.tar.gz": "pickles"},
    "imagenet": {"imagenet": "folder"},
}
_TV_CLASSES = {
    "cifar10": "CIFAR10",
    "cifar100": "CIFAR100",
    "mnist": "MNIST",
    "fashion_mnist": "FashionMNIST",
}
_DEBIAN = Path("/usr/share/datasets")
_CACHE_VERSION = "1"  # bump when the decoded layout changes so old cache files are ignored
_MEMORY: dict[tuple[str, str], Dataset] = {}


class DataNotFoundError(FileNotFoundError):
    """Signal that a dataset is nowhere on disk and could not be downloaded.

    The message names the dataset, every place looked, and how to provide it.
    """


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensor fields elementwise makes no sense
class Dataset:
    """Hold one dataset: uint8 images (N, C, H, W), int64 labels, class names and provenance.

    Attributes:
        name: One of ``DATASETS``.
        source: Human label of where the pixels came from, e.g. ``"cifar10 (JPEG q75 copy)"``.
        fingerprint: sha256 hex over the bytes of x_train, y_train, x_test, y_test in order.
        x_train, y_train, x_test, y_test: The splits as contiguous tensors.
        classes: Class names, indexed by label.
    """

    name: str
    source: str
    fingerprint: str
    x_train: torch.Tensor = field(repr=False)
    y_train: torch.Tensor = field(repr=False)
    x_test: torch.Tensor = field(repr=False)
    y_test: torch.Tensor = field(repr=False)
    classes: tuple[str, ...] = field(repr=False)

    @cached_property
    def _moments(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        # A 256-bin histogram per channel gives exact moments without a float copy of the data.
        levels = torch.arange(256, dtype=torch.float64) / 255
        means, stds = [], []
        for c in range(self.x_train.shape[1]):
            p = torch.bincount(self.x_train[:, c].reshape(-1), minlength=256).double()
            p /= p.sum()
            means.append(float((p * levels).sum()))
            stds.append(float((p * (levels - means[-1]) ** 2).sum().sqrt()))
        return tuple(means), tuple(stds)

    @property
    def mean(self) -> tuple[float, ...]:
        """Return the per-channel mean of x_train / 255."""
        return self._moments[0]

    @property
    def std(self) -> tuple[float, ...]:
        """Return the per-channel (population) standard deviation of x_train / 255."""
        return self._moments[1]

    @property
    def is_canonical(self) -> bool:
        """Return whether the data is known to be the exact published dataset."""
        return KNOWN_FINGERPRINTS.get(self.fingerprint, self.source).endswith("(canonical)")


def clear_memory_cache() -> None:
    """Forget the datasets held in this process; the on-disk tensor cache stays."""
    _MEMORY.clear()


def load_dataset(
    name: str, data_dir: str | Path | None = None, download: bool = True, image_size: int = 64
) -> Dataset:
    """Load a dataset's train and test splits as uint8 tensors, from disk if at all possible.

    Recognised layouts inside each searched directory D: ``mnist.npz`` (Keras),
    ``MNIST/raw``, ``mnist/``, ``fashion-mnist/``, ``FashionMNIST/raw`` (IDX files, gzipped or
    not; also D itself when its name contains "fashion"), ``cifar-10-batches-py/``,
    ``cifar-10-python.tar.gz``, ``cifar10/{train,test}/<class>/*``, ``cifar10-jpeg.tar.gz``,
    ``cifar-100-python/``, ``cifar-100-python.tar.gz`` and ``imagenet/{train,val}/<class>/*``.
    Image folders are read in sorted class, then file order, so loading is deterministic.

    ImageNet is never downloaded. Its image folder (also accepted as ``data_dir`` or
    ``$SPATIALMIX_DATA`` itself) is decoded whole into memory, each image resized so its shorter
    side is ``image_size`` and centre-cropped: only meant for small subsets.

    Args:
        name: One of ``DATASETS``.
        data_dir: Directory searched first.
        download: Whether torchvision may download into the user cache when nothing is found.
        image_size: Output side length for imagenet; ignored by the other datasets.

    Returns:
        The dataset; repeated calls for the same files return the same object.

    Raises:
        ValueError: If ``name`` is not in ``DATASETS``.
        DataNotFoundError: If no copy is found and none could be downloaded.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    found, looked = _locate(name, data_dir)
    if found is None and download and name != "imagenet":
        _download(name, _not_found_message(name, looked))
        found, _ = _locate(name, data_dir)
    if found is None:
        raise DataNotFoundError(_not_found_message(name, looked))
    path, kind = found
    key = _source_key(name, path, kind, image_size)
    if (ds := _MEMORY.get((name, key))) is not None:
        return ds
    cache_file = _cache_dir() / "tensors" / f"{name}-{key}.pt"
    ds = _read_cache(name, cache_file)
    if ds is None:
        *arrays, classes, canonical = _read_raw(name, path, kind, image_size)
        # Images uint8, labels int64; np.array copies, as arrays over raw bytes are read-only.
        dtypes = (np.uint8, np.int64, np.uint8, np.int64)
        tensors = [torch.from_numpy(np.array(a, t)) for a, t in zip(arrays, dtypes, strict=True)]
        fp = _fingerprint(tensors)
        ds = Dataset(name, _label(name, path, kind, fp, canonical), fp, *tensors, classes)
        _write_cache(cache_file, ds)
    _MEMORY[(name, key)] = ds
    return ds


def _cache_dir() -> Path:
    if env := os.environ.get("SPATIALMIX_CACHE"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spatialmix"


def _locate(name: str, data_dir: str | Path | None) -> tuple[tuple[Path, str] | None, list[str]]:
    dirs = [  # (directory, how it was given, whether a user named it)
        (data_dir, "data_dir argument", True),
        (os.environ.get("SPATIALMIX_DATA"), "$SPATIALMIX_DATA", True),
        (_cache_dir(), "user cache", False),
        (_DEBIAN, "Debian dataset packages", False),
    ]
    looked = []
    for d, origin, user_given in dirs:
        if not d:
            continue
        d = Path(d).expanduser()
        candidates = [(d / rel, kind) for rel, kind in _LAYOUTS[name].items()]
        # The Debian folder (or a copy of it) and a bare image-folder tree may be passed directly.
        if name == "fashion_mnist" and "fashion" in d.name.lower():
            candidates.append((d, "idx"))
        if name == "imagenet" and user_given:
            candidates.append((d, "folder"))
        for path, kind in candidates:
            looked.append(f"{path}  [{origin}]")
            if path.is_file() and kind != "idx":
                return (path, kind), looked
            if (kind == "idx" and _idx_paths(path)) or (kind == "pickles" and path.is_dir()):
                return (path, kind), looked
            if kind == "folder" and all((path / s).is_dir() for s in _SPLITS[name]):
                return (path, kind), looked
    return None, looked


def _not_found_message(name: str, looked: list[str]) -> str:
    how = ["pass data_dir=<dir> or set SPATIALMIX_DATA=<dir> to a directory with a layout above"]
    if name == "fashion_mnist":
        how.append("apt-get install dataset-fashion-mnist (Debian/Ubuntu; an exact copy)")
    if name == "imagenet":
        how.append("imagenet is never downloaded: make <dir>/imagenet/{train,val}/<class>/*.JPEG")
    else:
        how.append(f"when online, download=True fetches it with torchvision into {_cache_dir()}")
    return (
        f"dataset {name!r} not found. Looked in:\n  "
        + "\n  ".join(looked)
        + ("\nProvide it in one of these ways:\n  - " + "\n  - ".join(how))
    )


def _download(name: str, message: str) -> None:
    import torchvision.datasets  # imported late: only this rare online path needs it

    cls = getattr(torchvision.datasets, _TV_CLASSES[name])
    try:
        for train in (True, False):
            cls(root=str(_cache_dir()), train=train, download=True)
    except Exception as exc:  # any network, HTTP or checksum failure means "not available"
        raise DataNotFoundError(f"{message}\ntorchvision download failed: {exc!r}") from exc


def _source_key(name: str, path: Path, kind: str, image_size: int) -> str:
    # Identity of the raw files (path, size, mtime) rather than their hash: hashing would cost
    # about as much as decoding, and any change to the files changes one of these.
    if path.is_file():
        files = [path]
    elif kind == "idx":
        files = _idx_paths(path) or []
    elif kind == "pickles":
        files = sorted(p for p in path.iterdir() if p.is_file())
    else:
        files = sorted(p for s in _SPLITS[name] for p in (path / s).rglob("*") if p.is_file())
    h = hashlib.sha256(f"{_CACHE_VERSION}|{name}|{kind}".encode())
    if name == "imagenet":
        h.update(f"|{image_size}".encode())
    for p in files:
        st = p.stat()
        h.update(f"\n{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _fingerprint(tensors: list[torch.Tensor]) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.contiguous().numpy().data)
    return h.hexdigest()


def _label(name: str, path: Path, kind: str, fp: str, canonical: bool) -> str:
    if kind == "pickles":
        return f"{name} (canonical)" if canonical else f"{name} (pickles {path}, not canonical)"
    if path.resolve().is_relative_to(_DEBIAN):
        return f"{name} (Debian dataset-{name.replace('_', '-')})"
    if fp in KNOWN_FINGERPRINTS:
        return KNOWN_FINGERPRINTS[fp]
    if name == "cifar10":
        lossy = path.name == "cifar10-jpeg.tar.gz"
        return "cifar10 (JPEG q75 copy)" if lossy else "cifar10 (image folder, lossy?)"
    return f"{name} ({'image folder' if kind == 'folder' else kind} {path})"


def _read_cache(name: str, file: Path) -> Dataset | None:
    if not file.is_file():
        return None
    try:
        d = torch.load(file, weights_only=True)
        tensors = [d[k] for k in _TENSORS]
        if _fingerprint(tensors) == d["fingerprint"]:  # guards against a corrupt cache file
            return Dataset(name, d["source"], d["fingerprint"], *tensors, tuple(d["classes"]))
    except Exception as exc:  # an unreadable cache is only a lost shortcut: rebuild it
        warnings.warn(f"ignoring unreadable tensor cache {file}: {exc!r}", stacklevel=3)
    return None


def _write_cache(file: Path, ds: Dataset) -> None:
    payload = {k: getattr(ds, k) for k in (*_TENSORS, "classes", "source", "fingerprint")}
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        # Temp file in the same dir + os.replace: readers never see a half-written cache.
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(payload, fh)
            os.replace(tmp, file)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:  # a read-only cache must not stop the data from loading
        warnings.warn(f"could not write tensor cache {file}: {exc!r}", stacklevel=3)
