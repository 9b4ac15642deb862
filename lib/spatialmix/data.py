"""Batches from tensors: seeded subsets, batched crop/flip, and the fixed pixel permutation (§4.4).

The whole split lives in one uint8 tensor; a batch is drawn by index and augmented as a batch
(airbench style), so no Python code runs per image. Every random choice comes from a generator
seeded by (seed, epoch, step): a resumed run sees exactly the batches an uninterrupted one sees.
Under DDP (distributed.py) each rank takes its slice of every global batch, drawing the whole
batch's random numbers, so the ranks' slices together are the single-process batch, pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

AUGMENTS = ("crop_flip", "crop", "none", "crop_flip_randaugment")
# RandAugment as locuslab's convmixer-cifar10 train.py runs it by default (--ra-n 1, --ra-m 8; its
# README's 92.5 % command raises them to 2 and 12), on torchvision's 31 magnitude bins
RANDAUGMENT_OPS = 1
RANDAUGMENT_MAGNITUDE = 8


def generator(*parts: int) -> torch.Generator:
    """Return a CPU generator seeded from a tuple of integers (seed, epoch, step, ...)."""
    seed = 0
    for p in parts:
        seed = (seed * 1_000_003 + int(p) + 1) % (2**63 - 1)
    return torch.Generator().manual_seed(seed)


def stratified_subset(y: Tensor, n: int, seed: int) -> Tensor:
    """Pick n indices with every class as equally represented as n allows; sorted, seeded.

    n = 0 or n >= len(y) returns every index. Classes are visited in a seeded order, so the
    remainder n mod #classes falls on different classes for different seeds.
    """
    if n < 0:
        raise ValueError(f"subset size must be >= 0, got {n}")
    if n == 0 or n >= len(y):
        return torch.arange(len(y))
    gen = generator(seed, 7919)
    classes = y.unique()
    per_class = [torch.nonzero(y == c).flatten() for c in classes]
    per_class = [idx[torch.randperm(len(idx), generator=gen)] for idx in per_class]
    rank = torch.argsort(torch.randperm(len(classes), generator=gen))  # seeded class order
    quota = [n // len(classes) + int(r < n % len(classes)) for r in rank.tolist()]
    chosen = torch.cat([idx[:q] for idx, q in zip(per_class, quota, strict=True)])
    if len(chosen) < n:  # a small class ran out: top up from the rest, still seeded
        rest = torch.cat([idx[q:] for idx, q in zip(per_class, quota, strict=True)])
        chosen = torch.cat(
            [chosen, rest[torch.randperm(len(rest), generator=gen)][: n - len(chosen)]]
        )
    return chosen.sort().values


def pixel_permutation(height: int, width: int, seed: int = 0) -> Tensor:
    """Return one fixed permutation of the H·W pixel positions (the un-shuffling task, §4.4)."""
    return torch.randperm(height * width, generator=generator(seed, 104729))


def permute_pixels(x: Tensor, perm: Tensor) -> Tensor:
    """Move pixel perm[i] to position i in every image and channel. x: (..., H, W)."""
    flat = x.flatten(-2)
    return flat[..., perm].view_as(x)


def unpermute_pixels(x: Tensor, perm: Tensor) -> Tensor:
    """Undo permute_pixels(x, perm)."""
    return permute_pixels(x, torch.argsort(perm))


def rand_augment(
    x: Tensor,
    gen: torch.Generator,
    num_ops: int = RANDAUGMENT_OPS,
    magnitude: int = RANDAUGMENT_MAGNITUDE,
    num_bins: int = 31,
    part: slice = slice(None),
    batch: int | None = None,
) -> Tensor:
    """torchvision's RandAugment on a uint8 batch, every image drawing its own ops and signs.

    torchvision's transform draws one op for the whole tensor it is given; locuslab applies it
    per image. Here each image draws from `gen` (a resumed run sees the same batches), and the
    images that drew the same op and sign go through torchvision's op together.
    x: (B, C, H, W) uint8 -> same shape and dtype. x may be rows `part` of a batch of `batch`
    images: the draws are the whole batch's, so each image comes out as it would in the batch.
    """
    # torchvision's own op table and ops (private names: the test pins them to RandAugment's)
    from torchvision.transforms import InterpolationMode, RandAugment
    from torchvision.transforms.autoaugment import _apply_op

    space = RandAugment(num_ops, magnitude, num_bins)._augmentation_space(num_bins, x.shape[-2:])
    x = x.clone()
    for _ in range(num_ops):
        op = torch.randint(len(space), (batch or len(x),), generator=gen)[part]
        negative = torch.randint(2, (batch or len(x),), generator=gen).bool()[part]
        for i, (name, (levels, signed)) in enumerate(space.items()):
            level = float(levels[magnitude]) if levels.ndim > 0 else 0.0
            for neg in (False, True) if signed else (False,):
                idx = torch.nonzero((op == i) & (negative == neg if signed else True)).flatten()
                if len(idx):
                    x[idx] = _apply_op(x[idx], name, -level if neg else level,
                                       InterpolationMode.NEAREST, None)  # fmt: skip
    return x


def augment_batch(
    x: Tensor,
    augment: str,
    gen: torch.Generator,
    pad: int = 4,
    part: slice = slice(None),
    batch: int | None = None,
) -> Tensor:
    """Random crop (zero pad `pad`) and horizontal flip of a uint8 batch, done on the batch;
    then, for "crop_flip_randaugment", RandAugment (rand_augment).

    x: (B, C, H, W) uint8 -> same shape and dtype. x may be rows `part` of a batch of `batch`
    images (one rank's share): every draw is the whole batch's, and x gets its rows of them.
    """
    if augment not in AUGMENTS:
        raise ValueError(f"augment must be one of {AUGMENTS}, got {augment!r}")
    if augment == "none":
        return x
    b, _, h, w = x.shape
    n = batch or b
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)[part]
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)[part]
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]  # (B, 1, H, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]  # (B, 1, 1, W)
    x = padded[torch.arange(b)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None],
               rows, cols]  # fmt: skip
    if augment in ("crop_flip", "crop_flip_randaugment"):
        flip = (torch.rand(n, generator=gen) < 0.5)[part]
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if augment == "crop_flip_randaugment":  # after crop and flip, as locuslab's transform list
        x = rand_augment(x, gen, part=part, batch=n)
    return x


def check_batching(n: int, batch_size: int, train: bool, rank: int, world: int) -> None:
    """Refuse a loader's batching (data.Loader, streamloader.StreamLoader) with what to change:
    a batch below 1, a training split smaller than one batch, an evaluation loader split over
    ranks, or a global batch that does not divide by the number of ranks."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if train and n < batch_size:
        raise ValueError(f"{n} training images cannot fill one batch of {batch_size}")
    if world > 1 and not train:
        raise ValueError("only training loaders are split over ranks; evaluate on one")
    if batch_size % world or not 0 <= rank < world:
        raise ValueError(f"a global batch of {batch_size} does not split evenly over {world} "
                         f"ranks (rank {rank}): make it a multiple of {world}")  # fmt: skip


def steps_per_epoch(n: int, batch_size: int, train: bool) -> int:
    """Batches in an epoch of n images: training drops the last partial batch, evaluation
    keeps it."""
    return n // batch_size if train else -(-n // batch_size)


def epoch_order(n: int, train: bool, seed: int, epoch: int) -> Tensor:
    """The order an epoch visits n images in: shuffled by (seed, epoch) for training, as stored
    for evaluation."""
    return torch.randperm(n, generator=generator(seed, epoch)) if train else torch.arange(n)


class Loader:
    """Iterate (x, y) batches over uint8 images: x float in [0, 1] on `device`, y as given.

    Training loaders shuffle by (seed, epoch) and drop the last partial batch; evaluation
    loaders keep order and every image. `start_step` skips the first batches of the epoch
    without drawing them, which is how a resumed run continues mid-epoch.

    rank and world (DDP, training loaders only): batch_size stays the global batch, and this
    rank yields rows [rank·b, (rank+1)·b) of each, b = batch_size / world, augmented exactly as
    in the single-process batch. len() counts global steps, the same on every rank.
    """

    def __init__(
        self,
        x: Tensor,
        y: Tensor,
        batch_size: int,
        train: bool = False,
        augment: str = "none",
        seed: int = 0,
        device: str | torch.device = "cpu",
        channels_last: bool = False,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        check_batching(len(x), batch_size, train, rank, world)
        self.x, self.y = x, y
        self.batch_size, self.train, self.augment, self.seed = batch_size, train, augment, seed
        self.rank, self.world = rank, world
        self.device = torch.device(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def shard(self, rank: int, world: int) -> Loader:
        """The same loader, yielding rank's share of every global batch (DDP)."""
        channels_last = self.memory_format == torch.channels_last
        return Loader(self.x, self.y, self.batch_size, self.train, self.augment, self.seed,
                      self.device, channels_last, rank, world)  # fmt: skip

    def __len__(self) -> int:
        return steps_per_epoch(len(self.x), self.batch_size, self.train)

    def epoch(self, epoch: int = 0, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield the batches of one epoch, from batch `start_step` on."""
        order = epoch_order(len(self.x), self.train, self.seed, epoch)
        local = self.batch_size // self.world
        part = slice(self.rank * local, (self.rank + 1) * local) if self.world > 1 else slice(None)
        for step in range(start_step, len(self)):
            idx = order[step * self.batch_size : (step + 1) * self.batch_size][part]
            x = self.x[idx]
            if self.train:
                x = augment_batch(x, self.augment, generator(self.seed, epoch, step), part=part,
                                  batch=self.batch_size)  # fmt: skip
            x = x.to(self.device, non_blocking=True).float().div_(255)
            yield x.contiguous(memory_format=self.memory_format), self.y[idx].to(self.device)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        return self.epoch(0)
