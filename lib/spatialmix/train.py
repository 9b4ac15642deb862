"""One plain training loop for classification and un-shuffling, with resume; and evaluation.

The optimiser is built only from parameters with requires_grad, so weight decay and momentum can
never move a frozen filter (PAPER.md). Checkpoints hold model, optimiser and step; every random
choice is a function of (seed, epoch, step), so a resumed run ends where an uninterrupted one does.
Under torchrun the same loop trains data-parallel (distributed.py): each rank its slice of every
batch, DDP averaging the gradients; only rank 0 draws the bar, checkpoints and evaluates.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import distributed
from .accel import CompiledStep, flush_denormals, keep_freed_memory
from .attacks import fgsm, pgd
from .data import Loader, permute_pixels

log = logging.getLogger(__name__)  # a line per epoch, for logs (the queue shows them)

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("onecycle", "cosine", "step")
TASKS = ("classify", "unshuffle")


@dataclass(frozen=True)
class TrainConfig:
    """The recipe: identical across regimes within a figure (scales.py holds the presets)."""

    epochs: int = 8
    batch_size: int = 128
    optimizer: str = "sgd"  # "sgd" (nesterov momentum) | "adamw"
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # "onecycle" (locuslab) | "cosine" (with warm-up) | "step"
    warmup: float = 0.05  # fraction of steps spent rising to lr
    label_smoothing: float = 0.0
    adv_eps: float = 0.0  # > 0: train on FGSM(ε) batches (Fig. 6, adversarial training)
    augment: str = "crop_flip"  # "crop_flip" | "crop" | "none" | "crop_flip_randaugment"

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Return the learning rate for optimiser step `step` of `total`."""
    t = step / max(total, 1)
    if cfg.schedule == "onecycle":  # locuslab: 0 -> lr at 2/5, -> lr/20 at 4/5, -> 0 at the end
        points = [(0.0, 0.0), (cfg.warmup, cfg.lr), (0.8, cfg.lr / 20), (1.0, 0.0)]
        for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
            if t <= t1:
                return v0 + (v1 - v0) * (t - t0) / max(t1 - t0, 1e-12)
        return 0.0
    if t < cfg.warmup:
        return cfg.lr * t / cfg.warmup
    if cfg.schedule == "cosine":
        return 0.5 * cfg.lr * (1 + math.cos(math.pi * (t - cfg.warmup) / (1 - cfg.warmup)))
    return cfg.lr * (0.1 ** ((t >= 0.5) + (t >= 0.75)))  # step: ÷10 at 50 % and 75 %


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Build the optimiser over trainable parameters only."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)  # fmt: skip
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def task_batch(x: Tensor, y: Tensor, task: str, perm: Tensor | None) -> tuple[Tensor, Tensor]:
    """Return (input, target): labels to classify, or shuffled pixels to restore (§4.4)."""
    if task == "unshuffle":
        return permute_pixels(x, perm.to(x.device)), x
    return x, y


def task_loss(out: Tensor, target: Tensor, task: str, label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy (classify) or mean squared error against the unshuffled image (unshuffle)."""
    if task == "classify":
        return F.cross_entropy(out, target, label_smoothing=label_smoothing)
    return F.mse_loss(out, target)


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]."""
    return 10 * math.log10(1 / max(mse, 1e-12))


def replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """write(tmp) to a temporary file beside path, then rename it into place: a crash never
    leaves half a file. If writing fails (a full disk: OSError ENOSPC), the temporary file is
    removed, the error re-raised, and the previous file at path is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_atomically(obj: object, path: Path) -> None:
    """torch.save obj to path atomically (replace_atomically): checkpoints and weights."""
    replace_atomically(path, lambda tmp: torch.save(obj, tmp))


def train(
    model: nn.Module,
    loader: Loader,
    cfg: TrainConfig,
    task: str = "classify",
    perm: Tensor | None = None,
    checkpoint: Path | None = None,
    checkpoint_every: int = 100,
    max_steps: int | None = None,
    progress: bool = True,
    compile: bool = False,
    epoch_eval: Callable[[], dict] | None = None,
) -> dict:
    """Train in place, resuming from `checkpoint` if it exists; return {completed, history, ...}.

    max_steps stops (after checkpointing) once that many optimiser steps are done in total:
    how tests simulate a killed run. Throughput counts training steps only (and, with
    compile=True, the one-off compile inside the first step). "compiled" in the result says
    whether the steps ran through torch.compile (it falls back to eager if compiling fails).
    Training keeps freed memory in the heap (accel.keep_freed_memory, SPATIALMIX_MALLOC) and
    flushes subnormal floats to zero (accel.flush_denormals, SPATIALMIX_DENORMALS).
    epoch_eval, if given, is called after every epoch and its dict joins that epoch's history
    row (how the test accuracy curve is logged); its time is not counted as training time.
    Under DDP (distributed.init) every rank calls train with the whole loader and resumes from
    the same checkpoint; the history sums losses over ranks, and only rank 0 runs epoch_eval
    and writes the checkpoint.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    keep_freed_memory()
    flush_denormals()
    loader = distributed.shard(loader)  # this rank's slice of each global batch
    opt = make_optimizer(model, cfg)
    steps_per_epoch = len(loader)
    total = cfg.epochs * steps_per_epoch
    step, history, seconds, partial, loads = 0, [], 0.0, (0.0, 0, 0), []
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=loader.device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, history, seconds = state["step"], state["history"], state["seconds"]
        partial = state["partial"]  # the interrupted epoch's running sums
        loads = state.get("loads", [])

    def save() -> None:
        if checkpoint is not None and distributed.is_main():
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                     "history": history, "seconds": seconds, "loads": loads}  # fmt: skip
            state["partial"] = (loss_sum, correct, seen)
            save_atomically(state, checkpoint)

    bar = _progress_bar(total, step, progress and distributed.is_main())
    stepper = CompiledStep(distributed.wrap(model), enabled=compile)  # shares model's weights
    model.train()
    while step < total:
        epoch, start = divmod(step, steps_per_epoch)
        loss_sum, correct, seen = partial if start else (0.0, 0, 0)
        t0 = t_epoch = time.perf_counter()
        fresh = 0
        for x, y in loader.epoch(epoch, start):
            inputs, target = task_batch(x, y, task, perm)
            if cfg.adv_eps > 0:
                inputs = fgsm(model, inputs, target, cfg.adv_eps)
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, cfg)
            loss_fn = functools.partial(task_loss, target=target, task=task,
                                        label_smoothing=cfg.label_smoothing)  # fmt: skip
            out, loss = stepper.step(inputs, loss_fn)
            hits = (out.argmax(1) == target).sum().item() if task == "classify" else 0
            opt.step()
            step += 1
            # the global batch's sums (this rank's alone in a single process)
            batch_loss, hits, n = distributed.all_sum([loss.item() * len(x), hits, len(x)])
            loss_sum, correct, seen = loss_sum + batch_loss, correct + hits, seen + n
            bar.update(1)
            shown = {"epoch": epoch + 1, "loss": f"{loss_sum / seen:.3f}"}
            if task == "classify":
                shown["acc"] = f"{correct / seen:.1%}"
            fresh += n  # images trained in this sitting of the epoch
            shown["img/s"] = f"{fresh / (time.perf_counter() - t_epoch):.0f}"
            bar.set_postfix(shown)
            stop = max_steps is not None and step >= max_steps
            if stop or step % checkpoint_every == 0 or step % steps_per_epoch == 0:
                seconds += time.perf_counter() - t0
                t0 = time.perf_counter()
                if step % steps_per_epoch == 0:
                    row = {"epoch": epoch + 1, "train_loss": loss_sum / seen}
                    if task == "classify":
                        row["train_acc"] = correct / seen
                    if epoch_eval is not None and distributed.is_main():
                        row.update(epoch_eval())
                        model.train()
                        t0 = time.perf_counter()
                    history.append(row)
                    loads.append(load_average())
                    if distributed.is_main():
                        shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                          for k, v in row.items() if k != "epoch")  # fmt: skip
                        log.info("epoch %d/%d: %s (%.1f min training)", epoch + 1, cfg.epochs,
                                 shown, seconds / 60)  # fmt: skip
                save()
            if stop:
                bar.close()
                return {"completed": False, "step": step, "history": history,
                        "compiled": stepper.active}  # fmt: skip
    bar.close()
    loads = [x for x in loads if x is not None]
    return {"completed": True, "step": step, "history": history, "train_seconds": seconds,
            "img_per_s": step * loader.batch_size / max(seconds, 1e-9),
            "load_mean": sum(loads) / len(loads) if loads else None,
            "compiled": stepper.active}  # fmt: skip


def load_average() -> float | None:
    """The machine's 1-minute load average (runnable processes, every process on it counted),
    or None where the OS does not say (Windows). Sampled after each epoch, its mean over a run
    says whether the run had its cores to itself: a 2-core machine running two 1-thread queue
    workers sits near 2, and anything above the cores shared them."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _progress_bar(total: int, initial: int, enabled: bool):  # noqa: ANN202 - tqdm or a stub
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency, but a bar is never worth a crash
        enabled = False
    if not enabled:

        class Silent:
            def update(self, n: int) -> None: ...
            def set_postfix(self, *args: object, **kw: object) -> None: ...
            def close(self) -> None: ...

        return Silent()
    return tqdm(total=total, initial=initial, unit="step", leave=False, mininterval=1.0)


@torch.no_grad()
def evaluate(model: nn.Module, loader: Loader, task: str = "classify",
             perm: Tensor | None = None) -> dict:  # fmt: skip
    """Return {"acc", "loss"} (classify) or {"mse", "psnr"} (unshuffle) over the loader, n too."""
    was_training = model.training
    model.eval()
    total, n, correct = 0.0, 0, 0
    for x, y in loader:
        inputs, target = task_batch(x, y, task, perm)
        out = model(inputs)
        if task == "classify":
            total += F.cross_entropy(out, target, reduction="sum").item()
            correct += (out.argmax(1) == target).sum().item()
        else:
            total += F.mse_loss(out, target, reduction="sum").item() / target[0].numel()
        n += len(x)
    model.train(was_training)
    if task == "classify":
        return {"acc": correct / n, "loss": total / n, "n": n}
    return {"mse": total / n, "psnr": psnr(total / n), "n": n}


def robust_accuracy(
    model: nn.Module, loader: Loader, eps: float, steps: int, step: float = 0.5
) -> dict:
    """Accuracy under FGSM (steps = 1) or PGD-steps at radius ε: steps of α = step·ε, each
    projected back onto the ε-ball, no random start (step = 1 iterates the paper's Eq. 4)."""
    correct, n = 0, 0
    for x, y in loader:
        if steps == 1:
            x_adv = fgsm(model, x, y, eps)
        else:  # α = step·ε, no random start (PAPER.md, Fig. 6)
            x_adv = pgd(model, x, y, eps, alpha=max(eps * step, 1e-12), steps=steps)
        with torch.no_grad():
            was_training = model.training
            model.eval()
            correct += (model(x_adv).argmax(1) == y).sum().item()
            model.train(was_training)
        n += len(x)
    return {"acc": correct / n, "n": n}
