"""Data-parallel training under torchrun: one process per GPU (NCCL) or per CPU share (gloo).

    torchrun --standalone --nproc_per_node 8 -m spatialmix.queue run 04:paper

Each rank holds the whole model and trains on its slice of every global batch: the batch size
stays the recipe's (the global batch), each rank takes batch_size / world of its images, drawn
and augmented exactly as the single-process batch (data.Loader.shard), and
DistributedDataParallel averages the gradients, which for equal slices is the gradient of the
global batch's mean loss. So a run's config, and its record's key, do not depend on the world
size; only the record's provenance says {"world_size", "backend"}.

BatchNorm: on CUDA the model's BatchNorm layers become SyncBatchNorm, so batch statistics are
the global batch's, as in one process. torch has no SyncBatchNorm on the CPU, so with gloo each
rank normalises by its own slice, and the running statistics are rank 0's (DDP broadcasts its
buffers every step): a CPU run under DDP matches a single-process one only to a tolerance
(tests/test_distributed.py measures it). torch.compile compiles the DDP-wrapped model (DDP's
graph breaks at its gradient buckets).

Only rank 0 takes the record's lock, logs, draws the progress bar, writes checkpoints, weights
and the record, and runs the evaluations; every rank resumes from the same checkpoint. The
others wait for it inside a collective, hence the long timeout. One process (no torchrun, or
WORLD_SIZE=1) is the default: no process group, and every function here is a no-op.
"""

from __future__ import annotations

import atexit
import os
import warnings
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .provenance import resolve_device

# ranks other than 0 wait in a collective while rank 0 evaluates a run or waits for another
# process's lock on a record; torchrun stops every rank when one fails, so no hang outlives it
TIMEOUT = timedelta(hours=24)


def world_size() -> int:
    """Number of processes training together (1 without an initialised process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if world_size() > 1 else 0


def is_main() -> bool:
    """True on rank 0, the one process that logs and writes."""
    return rank() == 0


def init(device: str | torch.device = "auto") -> str | torch.device:
    """Join torchrun's process group when WORLD_SIZE > 1 (once); return this rank's device.

    NCCL on CUDA (this rank's GPU: cuda:LOCAL_RANK), gloo on the CPU. Without torchrun (or with
    WORLD_SIZE=1) nothing happens and `device` comes back as given.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    if dist.is_initialized():
        return _comm_device()
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dev = _this_gpu()
    dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", timeout=TIMEOUT,
                            device_id=dev if dev.type == "cuda" else None)  # fmt: skip
    atexit.register(close)
    return dev


def _this_gpu() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device())


def close() -> None:
    """Leave the process group (registered at exit by init)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def info() -> dict | None:
    """{"world_size", "backend"} for a record's provenance; None in a single process."""
    if world_size() == 1:
        return None
    return {"world_size": world_size(), "backend": str(dist.get_backend())}


def wrap(model: nn.Module) -> nn.Module:
    """The model as DDP trains it (BatchNorm synchronised on CUDA); the model itself alone."""
    if world_size() == 1:
        return model
    # a depthwise weight (C, 1, k, k) in channels_last has two valid stride patterns, and DDP
    # copies its gradient into the bucket instead of viewing it: a small copy, the same values
    warnings.filterwarnings("ignore", "Grad strides do not match bucket view strides")
    device = next(model.parameters()).device
    if device.type != "cuda":
        return nn.parallel.DistributedDataParallel(model)
    # the converted layers share the parameters and buffers, so optimisers built before still hold
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index])


def shard(loader: Any) -> Any:  # noqa: ANN401 - a data.Loader, or any loader with .shard
    """This rank's share of a training loader (the loader itself in a single process)."""
    if world_size() == 1 or getattr(loader, "world", 1) > 1:
        return loader
    if not hasattr(loader, "shard"):
        raise TypeError(f"{type(loader).__name__} cannot be split over ranks (no .shard)")
    return loader.shard(rank(), world_size())


def broadcast(obj: Any) -> Any:  # noqa: ANN401 - any picklable object
    """Rank 0's obj on every rank (obj itself in a single process)."""
    if world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=_comm_device())
    return box[0]


def all_sum(values: list[float]) -> list[float]:
    """Each value summed over the ranks, ints kept ints (the values themselves in one process)."""
    if world_size() == 1:
        return values
    total = torch.tensor(values, dtype=torch.float64, device=_comm_device())
    dist.all_reduce(total)
    return [type(v)(t) for v, t in zip(values, total.tolist(), strict=True)]


def barrier() -> None:
    """Wait for every rank (nothing in a single process)."""
    if world_size() > 1:
        dist.barrier()


def _comm_device() -> torch.device:
    return _this_gpu() if dist.get_backend() == "nccl" else torch.device("cpu")
