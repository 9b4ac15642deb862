"""Find, read and cache image-classification datasets as uint8 tensors, offline first.

``load_dataset(name)`` looks for raw files in, in order: the ``data_dir`` argument, the directory
in ``$SPATIALMIX_DATA``, the user cache (``$SPATIALMIX_CACHE``, else
``$XDG_CACHE_HOME/spatialmix`` or ``~/.cache/spatialmix``) and Debian's ``/usr/share/datasets``.
Only then, if allowed, torchvision downloads into the user cache. Decoded tensors are cached
under ``<cache>/tensors/`` and in memory, so later loads are fast.

Nothing is trusted blindly: raw files must match the dataset's expected image shape and class count
(``_EXPECTED``), else ``DataError`` names the path and the fix before anything is cached or
returned; a damaged tensor cache file is reported, deleted and rebuilt from the raw files.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import pickle
import tarfile
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from PIL import UnidentifiedImageError

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


@dataclass(frozen=True)
class _Expected:
    channels: int
    size: tuple[int, int] | None  # (height, width); None: imagenet, resized to image_size
    classes: int | None  # None: any count (imagenet subsets are meant to be loaded)


# What each dataset must look like, checked on raw files and on cache files alike.
_EXPECTED: dict[str, _Expected] = {
    "mnist": _Expected(1, (28, 28), 10),
    "fashion_mnist": _Expected(1, (28, 28), 10),
    "cifar10": _Expected(3, (32, 32), 10),
    "cifar100": _Expected(3, (32, 32), 100),
    "imagenet": _Expected(3, None, None),
}
# What the readers in formats raise on a damaged or foreign raw file (not on a missing one).
_UNREADABLE = (
    ValueError,
    KeyError,
    EOFError,
    zipfile.BadZipFile,
    gzip.BadGzipFile,
    tarfile.TarError,
    pickle.UnpicklingError,
    UnidentifiedImageError,
)
_DEBIAN = Path("/usr/share/datasets")
_CACHE_VERSION = "1"  # bump when the decoded layout changes so old cache files are ignored
_MEMORY: dict[tuple[str, str], Dataset] = {}


class DataNotFoundError(FileNotFoundError):
    """Signal that a dataset is nowhere on disk and could not be downloaded.

    The message names the dataset, every place looked, and how to provide it.
    """


class DataError(ValueError):
    """Signal that the files found for a dataset hold other data or cannot be read.

    Raised before anything is cached or returned. The message names the dataset, the path and
    where it was found, what was found against what was expected, and the fix.
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
    def channels(self) -> int:
        """Return the number of image channels (1 or 3)."""
        return self.x_train.shape[1]

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
    side is ``image_size`` and centre-cropped: only meant for small subsets. Runs stream it
    instead (stream.load_stream), a batch at a time.

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
        DataError: If the files found cannot be read, or their images or classes are not those
            of ``name`` (see ``_EXPECTED``), e.g. a 32x32 RGB ``mnist.npz``.

    Warns:
        UserWarning: If the tensor cache file is damaged (it is deleted and rebuilt), or cannot
            be written.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    found, looked = _locate(name, data_dir)
    if found is None and download and name != "imagenet":
        _download(name, _not_found_message(name, looked))
        found, _ = _locate(name, data_dir)
    if found is None:
        raise DataNotFoundError(_not_found_message(name, looked))
    path, kind, origin = found
    key = _source_key(name, path, kind, image_size)
    if (ds := _MEMORY.get((name, key))) is not None:
        return ds
    cache_file = _cache_dir() / "tensors" / f"{name}-{key}.pt"
    ds = _read_cache(name, cache_file, path, image_size)
    if ds is None:
        fix = f"Fix: point data_dir / SPATIALMIX_DATA at the real {name} files, or remove {path}."
        where = f"{path}  [{origin}]"
        try:
            *arrays, classes, canonical = _read_raw(name, path, kind, image_size)
        except _UNREADABLE as exc:
            raise DataError(f"{where} cannot be read as {name}: {exc!r}\n{fix}") from exc
        if problems := _problems(name, arrays, tuple(classes), image_size):
            raise DataError(
                f"{where} does not hold {name}:\n  - " + "\n  - ".join(problems) + f"\n{fix}"
            )
        # Images uint8, labels int64; np.array copies, as arrays over raw bytes are read-only.
        dtypes = (np.uint8, np.int64, np.uint8, np.int64)
        tensors = [torch.from_numpy(np.array(a, t)) for a, t in zip(arrays, dtypes, strict=True)]
        fp = _fingerprint(tensors)
        ds = Dataset(name, _label(name, path, kind, fp, canonical), fp, *tensors, tuple(classes))
        _write_cache(cache_file, ds)
    _MEMORY[(name, key)] = ds  # only ever a checked dataset: every failure above raised first
    return ds


def _cache_dir() -> Path:
    if env := os.environ.get("SPATIALMIX_CACHE"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spatialmix"


def _locate(
    name: str, data_dir: str | Path | None
) -> tuple[tuple[Path, str, str] | None, list[str]]:
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
                return (path, kind, origin), looked
            if (kind == "idx" and _idx_paths(path)) or (kind == "pickles" and path.is_dir()):
                return (path, kind, origin), looked
            if kind == "folder" and all((path / s).is_dir() for s in _SPLITS[name]):
                return (path, kind, origin), looked
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


def _problems(
    name: str, arrays: list[np.ndarray], classes: tuple[str, ...], image_size: int
) -> list[str]:
    """Return how x_train, y_train, x_test, y_test and classes differ from ``_EXPECTED[name]``.

    Cheap: images are only checked for dtype and shape, labels for range and coverage.
    """
    exp = _EXPECTED[name]
    size = exp.size or (image_size, image_size)
    want = f"{exp.channels}x{size[0]}x{size[1]}"
    out = []
    x_tr, y_tr, x_te, y_te = (np.asarray(a) for a in arrays)
    shapes = {"x".join(map(str, x.shape[1:])) or "scalars" for x in (x_tr, x_te)}
    if shapes != {want}:
        found = (
            " (train) and ".join(sorted(shapes)) + " (test)" if len(shapes) > 1 else shapes.pop()
        )
        out.append(f"images are {found}, expected {want} (channels x height x width)")
    if dtypes := sorted({str(x.dtype) for x in (x_tr, x_te)} - {"uint8"}):
        out.append(f"images are {'/'.join(dtypes)}, expected uint8")
    for split, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            out.append(f"{split} labels are {y.dtype} of shape {y.shape}, expected integers (N,)")
        elif len(x) != len(y) or not len(y):
            out.append(f"{split} split has {len(x)} images and {len(y)} labels")
    if out:  # labels of the wrong kind or count: their values say nothing more
        return out
    if exp.classes is not None and len(classes) != exp.classes:
        shown = ", ".join(classes[:12]) + (", ..." if len(classes) > 12 else "")
        out.append(f"{len(classes)} classes ({shown}), expected {exp.classes}")
    for split, y in (("train", y_tr), ("test", y_te)):
        if y.min() < 0 or y.max() >= len(classes):
            out.append(
                f"{split} labels run {y.min()}..{y.max()}, "
                f"outside 0..{len(classes) - 1} for {len(classes)} classes"
            )
    if not out and exp.classes is not None:
        # Every class of the real datasets has hundreds of training images at least.
        if (n := len(np.unique(y_tr))) < exp.classes:
            out.append(f"train labels span {n} classes, expected all {exp.classes}")
    return out


def _read_cache(name: str, file: Path, source: Path, image_size: int) -> Dataset | None:
    """Return the dataset cached in ``file``, or None when there is none or it is damaged.

    A damaged file (unreadable, truncated, tensors of the wrong kind or shape, content that
    does not match its fingerprint or the dataset) is reported once, deleted and so rebuilt
    from ``source`` by the caller.
    """
    if not file.is_file():
        return None
    try:
        d = torch.load(file, map_location="cpu", weights_only=True)
        reason = _cache_damage(name, d, image_size)
    except Exception as exc:  # whatever the unpickler or zip reader raises, the file is damaged
        reason = f"unreadable: {exc!r}"
    if reason is None:
        tensors = [d[k] for k in _TENSORS]
        return Dataset(name, d["source"], d["fingerprint"], *tensors, tuple(d["classes"]))
    warnings.warn(f"damaged cache file {file} ({reason}): rebuilding from {source}", stacklevel=3)
    with contextlib.suppress(OSError):  # a read-only cache: _write_cache will warn as well
        file.unlink(missing_ok=True)
    return None


def _cache_damage(name: str, d: object, image_size: int) -> str | None:
    """Return what is wrong with a loaded cache payload, or None if it is sound."""
    if not isinstance(d, dict) or not {*_TENSORS, "classes", "source", "fingerprint"} <= d.keys():
        return "not a tensor cache payload"
    tensors = [d[k] for k in _TENSORS]
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        return "not a tensor cache payload"
    kinds = [(t.dtype, t.ndim, t.is_contiguous()) for t in tensors]
    if kinds != [(torch.uint8, 4, True), (torch.int64, 1, True)] * 2:
        return "wrong tensors: " + ", ".join(
            f"{k} {str(t.dtype).removeprefix('torch.')} {tuple(t.shape)}"
            for k, t in zip(_TENSORS, tensors, strict=True)
        )
    classes = d["classes"]
    if not isinstance(classes, list | tuple) or not all(isinstance(c, str) for c in classes):
        return "class names are not strings"
    if not isinstance(d["fingerprint"], str) or not isinstance(d["source"], str):
        return "not a tensor cache payload"
    if _fingerprint(tensors) != d["fingerprint"]:
        return "content does not match its fingerprint"
    if problems := _problems(name, [t.numpy() for t in tensors], tuple(classes), image_size):
        return "; ".join(problems)
    return None


def _write_cache(file: Path, ds: Dataset) -> None:
    """Write ``ds`` to ``file`` atomically; warn, leaving no file behind, if that fails."""
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
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    # torch.save reports a full disk as RuntimeError. A cache that cannot be written must not
    # stop the data from loading.
    except (OSError, RuntimeError) as exc:
        warnings.warn(f"could not write tensor cache {file}: {exc!r}", stacklevel=3)
