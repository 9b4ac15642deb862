"""ImageNet at paper scale: the image-folder tree listed once, its images decoded a batch at a time.

``load_stream`` lists ``imagenet/{train,val}/<class>/*`` (sorted class, then file name: the same
order as the in-memory reader) and keeps only relative paths and int64 labels; no pixel is read
until a batch needs it. ``ImageFolderStream.loader`` returns a ``StreamLoader``, which has the
interface of ``data.Loader`` (``epoch(epoch, start_step)``, rank/world sharding) and decodes each
batch with Pillow in a thread pool while the model trains on the previous one.

Training images get torchvision's RandomResizedCrop (scale 0.08-1, ratio 3/4-4/3) and a flip,
every random number drawn from generator(seed, epoch, step) for the whole global batch before any
file is opened: order and augmentation are reproducible, resumable mid-epoch, and a rank's slice
of a batch is exactly that slice of the single-process batch. Evaluation images are resized so
the shorter side is image_size / 0.875 (256 for 224) and centre-cropped, in one resampling.

``load_data`` is what the run path calls: ImageNet streamed, every other dataset in memory
(``datasets.load_dataset``, which can still decode a small ImageNet tree whole).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .datasets import (
    DataError,
    DataNotFoundError,
    Dataset,
    _locate,
    _not_found_message,
    load_dataset,
)
from .formats import _is_image
from .streamloader import StreamLoader

# torchvision's ImageNet statistics (the models' Normalize): constants, not measured on the tree
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ILSVRC2012 = (1_281_167, 50_000, 1000)  # train images, val images, classes of ImageNet-1k
SPLITS = ("train", "val")
# bump when the listing or a transform changes what a run sees: it is part of the fingerprint
STREAM_VERSION = "1"
_LISTINGS: dict[tuple[str, tuple], tuple] = {}  # (root, directory mtimes) -> listing


@dataclass(frozen=True, eq=False)
class ImageFolderStream:
    """An image-folder tree as a dataset: file names and labels, pixels decoded on demand.

    Provides what a run reads from a ``Dataset`` (name, source, fingerprint, classes, channels,
    mean, std, y_train, y_test; ``len(x_train)``) without holding any image.

    Attributes:
        fingerprint: sha256 over STREAM_VERSION, image_size and the sha256 of every file's
            relative path and byte size, in order: the files' identity, not their pixels
            (hashing those would cost a pass over the whole tree).
        train_files, test_files: Relative paths (bytes, numpy), in label order.
    """

    name: str
    source: str
    fingerprint: str
    root: Path
    image_size: int
    classes: tuple[str, ...] = field(repr=False)
    train_files: np.ndarray = field(repr=False)
    y_train: Tensor = field(repr=False)
    test_files: np.ndarray = field(repr=False)
    y_test: Tensor = field(repr=False)
    channels: int = 3
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    is_canonical: bool = False

    @property
    def x_train(self) -> np.ndarray:
        """The training files (not pixels): len() and indexing work as on a Dataset's."""
        return self.train_files

    @property
    def x_test(self) -> np.ndarray:
        """The test (val) files, as x_train."""
        return self.test_files

    def loader(
        self, split: str, idx: Tensor | None, batch_size: int, **kwargs: object
    ) -> StreamLoader:
        """A StreamLoader over the images idx (None: all) of split "train" or "test".

        kwargs go to StreamLoader: train, augment, seed, device, channels_last, rank, world,
        workers, decoder.
        """
        files, y = (self.train_files, self.y_train) if split == "train" else (
            self.test_files, self.y_test)  # fmt: skip
        if idx is not None:
            files, y = files[idx.numpy()], y[idx]
        return StreamLoader(self.root, files, y, self.image_size, batch_size, **kwargs)


Data = Dataset | ImageFolderStream  # what a run trains on (load_data)


def load_stream(data_dir: str | Path | None = None, image_size: int = 64) -> ImageFolderStream:
    """List the ImageNet tree found as ``load_dataset("imagenet")`` finds it; read no pixel.

    The listing is kept in memory while no class folder changes (their mtimes are checked on
    every call), so the many runs of a chapter list the tree once.

    Raises:
        DataNotFoundError: If no ``{train,val}`` tree is found (the message says where it looked).
        DataError: If the tree is a tarball, a split has no images, or a val class has no train
            images.
    """
    found, looked = _locate("imagenet", data_dir)
    if found is None:
        raise DataNotFoundError(_not_found_message("imagenet", looked))
    root, _, origin = found
    if not root.is_dir():
        raise DataError(f"{root}  [{origin}] is an archive: streaming needs the image tree "
                        "itself. Fix: extract it and point data_dir at the folder.")  # fmt: skip
    root = root.resolve()
    classes, (train, y_train), (test, y_test), digest = _listing(root)
    fingerprint = hashlib.sha256(f"{STREAM_VERSION}|{image_size}|{digest}".encode()).hexdigest()
    counts = (len(train), len(test), len(classes))
    source = "imagenet (ILSVRC-2012 image folder, streamed)" if counts == ILSVRC2012 else (
        "imagenet (image folder, streamed)")  # fmt: skip
    return ImageFolderStream("imagenet", source, fingerprint, root, image_size, classes,
                             train, torch.from_numpy(y_train), test,
                             torch.from_numpy(y_test))  # fmt: skip


def load_data(name: str, data_dir: str | Path | None = None, image_size: int = 64) -> Data:
    """The data a run trains on: ImageNet streamed from its tree, any other dataset in memory."""
    if name == "imagenet":
        return load_stream(data_dir, image_size)
    return load_dataset(name, data_dir)


def _listing(root: Path) -> tuple:
    """(classes, (files, labels) per split, sha256 of every file's path and size), from memory
    while no folder has changed."""
    dirs = [root / s for s in SPLITS]
    dirs += [e for d in dirs for e in sorted(Path(p.path) for p in os.scandir(d) if p.is_dir())]
    signature = tuple((str(d), d.stat().st_mtime_ns) for d in dirs)
    if (cached := _LISTINGS.get((str(root), signature))) is not None:
        return cached
    per_split = {s: _scan(root, s) for s in SPLITS}
    classes = tuple(sorted({c for c, _, _ in per_split["train"]}))
    index = {c: i for i, c in enumerate(classes)}
    out, h = [], hashlib.sha256()
    for s in SPLITS:
        items = per_split[s]
        if not items:
            raise DataError(f"{root / s}: no .jpg/.jpeg/.png images found in its class folders")
        if unknown := sorted({c for c, _, _ in items} - index.keys()):
            raise DataError(f"{root / s}: classes {unknown[:5]} have no train images")
        files = np.array([f for _, f, _ in items], dtype=bytes)
        labels = np.array([index[c] for c, _, _ in items], np.int64)
        h.update(b"".join(b"%s|%d\n" % (f, n) for _, f, n in items))
        out.append((files, labels))
    _LISTINGS.clear()  # one tree at a time: a listing of ImageNet is tens of MB
    _LISTINGS[str(root), signature] = (classes, *out, h.hexdigest())
    return _LISTINGS[str(root), signature]


def _scan(root: Path, split: str) -> list[tuple[str, bytes, int]]:
    """[(class, relative path, byte size)] in sorted class, then file-name order."""
    items = []
    for cls in sorted(e.name for e in os.scandir(root / split) if e.is_dir()):
        entries = sorted((e for e in os.scandir(root / split / cls) if _is_image(e.name)),
                         key=lambda e: e.name)  # fmt: skip
        items += [(cls, os.fsencode(f"{split}/{cls}/{e.name}"), e.stat().st_size)
                  for e in entries]  # fmt: skip
    return items
