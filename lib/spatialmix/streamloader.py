"""Batches decoded from image files while the model trains: the streamed ImageNet's loader.

A ``StreamLoader`` has ``data.Loader``'s interface and semantics (order by generator(seed,
epoch), augmentation by generator(seed, epoch, step), ``start_step`` to resume mid-epoch,
``batch_size`` the global batch and each rank its slice of it, ``shard`` for DDP); only the pixels
come from files, decoded by Pillow ``PREFETCH`` batches ahead of the one being trained on, by
``workers`` threads of this process (default) or DataLoader worker processes (``decoder``).
Which and how many: the arguments, else $SPATIALMIX_DECODE ("threads" | "processes") and
$SPATIALMIX_WORKERS, else threads, this process's share of the usable cores.

Threads are the default: Pillow releases the GIL while it decodes and resamples (85 % of an
image's time, measured on 500×375 JPEGs), they start at once and need no shared memory (on a
small tree, worker processes lost more to starting than they gained). Past about 6 threads the
GIL-held 15 % bounds them (Amdahl: at most ~5× on 16 cores), so one process feeding a fast GPU
from many cores decodes faster in processes (/dev/shm must hold PREFETCH batches per worker).

A JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, Pillow's ``draft``) when its
crop keeps at least image_size pixels a side: 1.6× faster at 64 px, no change at 224.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from .data import check_batching, epoch_order, generator, steps_per_epoch
from .datasets import DataError

STREAM_AUGMENTS = ("crop_flip", "crop", "none")  # crop: RandomResizedCrop; none: eval transform
DECODERS = ("threads", "processes")
EVAL_CROP = 0.875  # centre crop / shorter side: 224 of 256, the usual ImageNet evaluation
CROP_SCALE, CROP_RATIO = (0.08, 1.0), (3 / 4, 4 / 3)  # torchvision's RandomResizedCrop
PREFETCH = 2  # batches decoded ahead of the one yielded
# one rank's part of a batch, before decoding: paths, crop uniforms (None: eval crop), flips, y
Plan = tuple[list[str], Tensor | None, Tensor, Tensor]


def default_workers(world: int = 1) -> int:
    """Decoding workers: $SPATIALMIX_WORKERS, else this process's share of the usable cores."""
    if env := os.environ.get("SPATIALMIX_WORKERS"):
        return max(0, int(env))
    return max(1, len(os.sched_getaffinity(0)) // world)


def default_decoder() -> str:
    """$SPATIALMIX_DECODE if set ("threads" | "processes"), else "threads"."""
    return os.environ.get("SPATIALMIX_DECODE") or "threads"


def resized_crop_box(width: int, height: int, u: Tensor) -> tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop.get_params on given uniforms: (left, top, w, h).

    u: (10, 4) uniforms in [0, 1), per try: area, log-ratio, top, left. They do not depend on
    the image, so a whole batch's are drawn before any file is opened.
    """
    (s0, s1), (r0, r1) = CROP_SCALE, (math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1]))
    for a, r, ui, uj in u.tolist():
        area = width * height * (s0 + a * (s1 - s0))
        aspect = math.exp(r0 + r * (r1 - r0))
        w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < w <= width and 0 < h <= height:
            return int(uj * (width - w + 1)), int(ui * (height - h + 1)), w, h
    if width / height < CROP_RATIO[0]:  # torchvision's fallback: the centre crop, ratio bounded
        w, h = width, round(width / CROP_RATIO[0])
    elif width / height > CROP_RATIO[1]:
        w, h = round(height * CROP_RATIO[1]), height
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


def centre_crop_box(width: int, height: int, size: int) -> tuple[float, float, float, float]:
    """(left, top, w, h) of the evaluation crop: shorter side to round(size / EVAL_CROP), then
    the centred size × size square, in the image's own pixels."""
    side = size * min(width, height) / round(size / EVAL_CROP)
    return (width - side) / 2, (height - side) / 2, side, side


def decode(path: str | Path, size: int, u: Tensor | None = None, flip: bool = False) -> np.ndarray:
    """One image as (size, size, 3) uint8: the training crop for uniforms u, else the eval crop."""
    try:
        with Image.open(path) as im:
            width, height = im.size
            left, top, w, h = centre_crop_box(width, height, size) if u is None else (
                resized_crop_box(width, height, u))  # fmt: skip
            scale = size / min(w, h)  # JPEG only: decode smaller while the crop keeps >= size
            im.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            fx, fy = im.size[0] / width, im.size[1] / height
            if im.mode not in ("RGB", "L"):
                im = im.convert("RGB")
            right, bottom = min((left + w) * fx, im.size[0]), min((top + h) * fy, im.size[1])
            box = (left * fx, top * fy, right, bottom)
            out = im.resize((size, size), Image.Resampling.BILINEAR, box=box)
    except (OSError, ValueError) as exc:  # UnidentifiedImageError is an OSError
        raise DataError(f"{path} cannot be decoded: {exc!r}\nFix: replace or remove it.") from exc
    out = out.convert("RGB") if out.mode != "RGB" else out
    return np.asarray(out.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else out)


class StreamLoader:
    """Iterate (x, y) batches decoded from image files: x float in [0, 1] on `device`, as Loader.

    Training loaders shuffle by (seed, epoch), drop the last partial batch and crop (and flip)
    by (seed, epoch, step); evaluation loaders keep order and every image. `batch_size` is the
    global batch: rank r of `world` yields rows [r·b, (r+1)·b) of every batch, b = batch_size /
    world, decoded and augmented exactly as in the single-process batch (as data.Loader).
    workers = 0 decodes in the training thread, nothing ahead.
    """

    def __init__(
        self,
        root: str | Path,
        files: np.ndarray,
        y: Tensor,
        image_size: int,
        batch_size: int,
        train: bool = False,
        augment: str = "none",
        seed: int = 0,
        device: str | torch.device = "cpu",
        channels_last: bool = False,
        rank: int = 0,
        world: int = 1,
        workers: int | None = None,
        decoder: str | None = None,
    ) -> None:
        if augment not in STREAM_AUGMENTS:
            raise ValueError(f"streamed augment must be one of {STREAM_AUGMENTS}, got {augment!r}")
        if (decoder or default_decoder()) not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        check_batching(len(files), batch_size, train, rank, world)
        self.root, self.files, self.y, self.image_size = Path(root), files, y, image_size
        self.batch_size, self.train, self.augment, self.seed = batch_size, train, augment, seed
        self.rank, self.world = rank, world
        self.workers, self.decoder = workers, decoder  # None: the defaults, when an epoch starts
        self.device = torch.device(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __len__(self) -> int:
        return steps_per_epoch(len(self.files), self.batch_size, self.train)

    def subset(self, idx: Tensor) -> StreamLoader:
        """The same loader over the images idx of this one."""
        return self._replace(files=self.files[idx.numpy()], y=self.y[idx])

    def shard(self, rank: int, world: int) -> StreamLoader:
        """The same loader, yielding rank's share of every global batch (DDP)."""
        return self._replace(rank=rank, world=world)

    def _replace(self, **changes: object) -> StreamLoader:
        names = ("root", "files", "y", "image_size", "batch_size", "train", "augment", "seed",
                 "device", "rank", "world", "workers", "decoder")  # fmt: skip
        kept = {k: getattr(self, k) for k in names}
        kept["channels_last"] = self.memory_format == torch.channels_last
        return StreamLoader(**{**kept, **changes})

    def epoch(self, epoch: int = 0, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield the batches of one epoch, from batch `start_step` on."""
        order = epoch_order(len(self.files), self.train, self.seed, epoch)
        steps = range(start_step, len(self))
        workers = default_workers(self.world) if self.workers is None else self.workers
        cuda = self.device.type == "cuda"
        if workers and (self.decoder or default_decoder()) == "processes":
            batches: Iterable = DataLoader(
                _EpochBatches(self, order, epoch), batch_size=None, sampler=steps,
                num_workers=workers, prefetch_factor=PREFETCH, pin_memory=cuda)  # fmt: skip
        elif workers:
            plans = (self.plan(order, epoch, step) for step in steps)
            batches = _threaded(plans, self.image_size, workers, cuda)
        else:
            batches = (decode_batch(self.plan(order, epoch, s), self.image_size) for s in steps)
        for x, y in batches:  # x: (B, H, W, C) uint8, so x.permute is channels-last already
            x = x.permute(0, 3, 1, 2).to(self.device, non_blocking=True).float().div_(255)
            yield x.contiguous(memory_format=self.memory_format), y.to(self.device)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        return self.epoch(0)

    def plan(self, order: Tensor, epoch: int, step: int) -> Plan:
        """This rank's part of batch `step` of the epoch in `order`, with its random draws."""
        idx = order[step * self.batch_size : (step + 1) * self.batch_size]
        n = len(idx)
        u, flip = None, torch.zeros(n, dtype=torch.bool)
        if self.train and self.augment != "none":  # drawn for the global batch, then sliced
            gen = generator(self.seed, epoch, step)
            u, flip = torch.rand(n, 10, 4, generator=gen), torch.rand(n, generator=gen) < 0.5
            flip &= self.augment == "crop_flip"
        part = slice(self.rank * n // self.world, (self.rank + 1) * n // self.world)
        idx = idx[part]
        paths = [os.path.join(self.root, os.fsdecode(f)) for f in self.files[idx.numpy()]]
        return paths, None if u is None else u[part], flip[part], self.y[idx]


def decode_batch(plan: Plan, size: int) -> tuple[Tensor, Tensor]:
    """Decode a planned batch in this thread: (B, size, size, 3) uint8 images, labels."""
    out = torch.empty((len(plan[0]), size, size, 3), dtype=torch.uint8)
    view = out.numpy()  # shares out's memory: one view for every image
    for k in range(len(out)):
        _fill(view, k, plan, size)
    return out, plan[3]


def _fill(out: np.ndarray, k: int, plan: Plan, size: int) -> None:
    paths, u, flip, _ = plan
    out[k] = decode(paths[k], size, None if u is None else u[k], bool(flip[k]))


def _threaded(
    plans: Iterable[Plan], size: int, workers: int, pin: bool
) -> Iterator[tuple[Tensor, Tensor]]:
    """Decode the planned batches image by image in a thread pool, PREFETCH batches ahead."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="spatialmix-decode")
    pending: deque[tuple[Tensor, list[Future], Tensor]] = deque()

    def ready() -> tuple[Tensor, Tensor]:
        out, futures, y = pending.popleft()
        for f in futures:
            f.result()  # a decoding error is raised here, in the training thread
        return out, y

    try:
        for plan in plans:
            out = torch.empty((len(plan[0]), size, size, 3), dtype=torch.uint8, pin_memory=pin)
            view = out.numpy()
            futures = [pool.submit(_fill, view, k, plan, size) for k in range(len(out))]
            pending.append((out, futures, plan[3]))
            if len(pending) > PREFETCH:
                yield ready()
        while pending:
            yield ready()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _EpochBatches(Dataset):
    """The batches of one epoch by step, for DataLoader worker processes to decode."""

    def __init__(self, loader: StreamLoader, order: Tensor, epoch: int) -> None:
        self.loader, self.order, self.epoch = loader, order, epoch

    def __len__(self) -> int:
        return len(self.loader)

    def __getitem__(self, step: int) -> tuple[Tensor, Tensor]:
        return decode_batch(self.loader.plan(self.order, self.epoch, step), self.loader.image_size)
