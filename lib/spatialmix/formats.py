"""Read datasets' on-disk formats into numpy arrays: IDX, Keras npz, CIFAR pickles, image trees.

``_read_raw`` returns x_train, y_train, x_test, y_test (images as (N, C, H, W)), the class names
and whether the files are the canonical ones (md5-checked CIFAR pickles). IDX files may be
gzipped; CIFAR pickles and image trees may sit in a folder or a tarball, whose members are read in
memory. Finding the files and caching the result are left to ``datasets``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

try:
    from tqdm import tqdm
except ImportError:  # optional here: decoding works without a progress bar
    tqdm = None

# torchvision's md5s of the canonical pickle members (datasets.CIFAR10/100 train_list, test_list).
_CIFAR_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "train": "16019d7e3df5f24257cddd939b257f8d",  # cifar100
    "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",  # cifar100
}
_CIFAR = {  # name -> (train members, test members, meta member, label-key prefix)
    "cifar10": ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "batches.meta", ""),
    "cifar100": (["train"], ["test"], "meta", "fine_"),
}
_FASHION_CLASSES = tuple(
    "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot".split(",")
)
_IDX_STEMS = [f"{s}-{k}-ubyte" for s in ("train", "t10k") for k in ("images-idx3", "labels-idx1")]
_TENSORS = ("x_train", "y_train", "x_test", "y_test")
_SPLITS = {  # dataset -> names of its (train, test) image-folder splits
    **dict.fromkeys(("cifar10", "cifar100", "mnist", "fashion_mnist"), ("train", "test")),
    "imagenet": ("train", "val"),
}


def _idx_paths(d: Path) -> list[Path] | None:
    out = [next((p for p in (d / s, d / f"{s}.gz") if p.is_file()), None) for s in _IDX_STEMS]
    return None if None in out else out


def _read_raw(name: str, path: Path, kind: str, image_size: int) -> tuple[Any, ...]:
    """Read x_train, y_train, x_test, y_test, classes, and whether the md5s are canonical."""
    if kind == "pickles":
        return _read_pickles(name, path)
    if kind == "folder":
        train, test = _SPLITS[name]
        items = _image_items(path, (train, test))
        classes = tuple(sorted({c for c, _, _ in items[train]}))
        size = image_size if name == "imagenet" else None
        return (
            *_decode(items[train], classes, size, f"{name} {train}"),
            *_decode(items[test], classes, size, f"{name} {test}"),
            classes,
            False,
        )
    if kind == "npz":
        # Opened here: np.load leaves its own handle open when the zip is damaged.
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            arrays = [z[k] for k in _TENSORS]
            names = z["class_names"] if "class_names" in z.files else range(10)
    else:
        arrays = [_read_idx(p) for p in _idx_paths(path) or []]
        names = _FASHION_CLASSES if name == "fashion_mnist" else range(10)
    # Add the channel axis to (N, H, W) images; others are left for datasets to refuse.
    arrays[0], arrays[2] = (a[:, None] if a.ndim == 3 else a for a in (arrays[0], arrays[2]))
    return (*arrays, tuple(str(n) for n in names), False)


def _read_idx(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    if raw[:3] != b"\0\0\x08":
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    dims = np.frombuffer(raw, ">u4", raw[3], 4).astype(np.int64)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)


def _read_pickles(name: str, path: Path) -> tuple[Any, ...]:
    train, test, meta, prefix = _CIFAR[name]
    wanted = {*train, *test, meta}
    if path.is_dir():
        blobs = {w: (path / w).read_bytes() for w in wanted if (path / w).is_file()}
    else:  # read members from the tarball directly: no extracted copy left behind
        with tarfile.open(path) as tf:
            blobs = {
                Path(m.name).name: tf.extractfile(m).read()
                for m in tf
                if m.isfile() and Path(m.name).name in wanted
            }
    if missing := wanted - blobs.keys():
        raise ValueError(f"{path} lacks CIFAR members {sorted(missing)}")
    md5s = {k: hashlib.md5(blobs[k], usedforsecurity=False).hexdigest() for k in [*train, *test]}
    # Pickles can run code when loaded; these are the same files torchvision itself unpickles.
    batches = {k: pickle.loads(blobs[k], encoding="latin1") for k in wanted}
    x_tr, x_te = (
        np.concatenate([batches[k]["data"] for k in ks]).reshape(-1, 3, 32, 32)
        for ks in (train, test)
    )
    y_tr, y_te = (
        np.concatenate([batches[k][f"{prefix}labels"] for k in ks]) for ks in (train, test)
    )
    classes = tuple(batches[meta][f"{prefix}label_names"])
    return x_tr, y_tr, x_te, y_te, classes, all(_CIFAR_MD5[k] == v for k, v in md5s.items())


def _is_image(fname: str) -> bool:
    return fname.lower().endswith((".jpg", ".jpeg", ".png")) and not fname.startswith(".")


def _image_items(path: Path, splits: tuple[str, str]) -> dict[str, list[tuple[str, str, Any]]]:
    """Map split -> [(class, file name, Path or bytes)] for an image-folder dir or tarball."""
    items: dict[str, list[tuple[str, str, Any]]] = {s: [] for s in splits}
    if path.is_dir():
        for s in splits:
            items[s] = [
                (f.parent.name, f.name, f) for f in (path / s).glob("*/*") if _is_image(f.name)
            ]
        return items
    roots = set()
    with tarfile.open(path) as tf:  # members are read in place: nothing is extracted to disk
        for m in tf:
            parts = m.name.split("/")
            if m.isfile() and len(parts) >= 3 and parts[-3] in splits and _is_image(parts[-1]):
                roots.add("/".join(parts[:-3]))
                data = tf.extractfile(m).read()
                items[parts[-3]].append((parts[-2], parts[-1], data))
    if len(roots) > 1:  # two trees in one archive would silently mix; refuse instead
        raise ValueError(f"{path} holds several {'/'.join(splits)} trees: {sorted(roots)}")
    return items


def _decode(
    items: list[tuple[str, str, Any]], classes: tuple[str, ...], resize: int | None, desc: str
) -> tuple[np.ndarray, np.ndarray]:
    if unknown := {c for c, _, _ in items} - set(classes):
        raise ValueError(f"{desc}: classes {sorted(unknown)} have no train images")
    if not items:
        raise ValueError(f"{desc}: no .jpg/.jpeg/.png images found")
    items = sorted(items, key=lambda t: (t[0], t[1]))  # deterministic: class, then file name
    index = {c: i for i, c in enumerate(classes)}
    x: Any = None
    bar = tqdm(items, desc, unit="img", leave=False) if tqdm else items
    for i, (cls, fname, src) in enumerate(bar):
        with Image.open(io.BytesIO(src) if isinstance(src, bytes) else src) as im:
            rgb = im.convert("RGB")
        if resize:
            rgb = _resize_crop(rgb, resize)
        a = np.asarray(rgb)
        if x is None:
            x = np.empty((len(items), 3, *a.shape[:2]), np.uint8)
        if a.shape[:2] != x.shape[2:]:
            raise ValueError(
                f"{desc}: {cls}/{fname} is {a.shape[:2]}, not {x.shape[2:]} like the others"
            )
        x[i] = a.transpose(2, 0, 1)
    return x, np.array([index[c] for c, _, _ in items], np.int64)


def _resize_crop(im: Image.Image, size: int) -> Image.Image:
    # Shorter side to `size`, then a centre crop: the usual ImageNet evaluation transform.
    scale = size / min(im.size)
    w, h = (max(size, round(s * scale)) for s in im.size)
    im = im.resize((w, h), Image.Resampling.BILINEAR)
    left, top = (w - size) // 2, (h - size) // 2
    return im.crop((left, top, left + size, top + size))
