"""What is learned: the paper's regimes, the fixed filter banks of Fig. 3, and parameter counts.

Regimes are named for what is LEARNED (paper §4): "full" learns everything, "chans" freezes the
spatial (depthwise) filters at random init and learns channel mixing, "space" freezes the 1×1
channel filters and learns spatial mixing. BatchNorm and the classifier are learned in every
regime (our choice, PAPER.md). Chapter 03 shows the counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from .layers import ChannelConv, PatchEmbed, SpatialConv, parameter_counts, same_padding
from .spectral import smooth_filters

REGIMES = ("full", "chans", "space")
BANKS = ("random", "same", "box", "identity")
REGIME_MEANING = {
    "full": "every weight learned",
    "chans": "spatial filters frozen at random init, channel mixing learned",
    "space": "1×1 channel filters frozen at random init, spatial mixing learned",
}
# chans also freezes the ConvMixer stem (paper §4.2); space freezes projection shortcuts too,
# since a 1×1 shortcut is channel mixing (our choice, PAPER.md)
FROZEN_KINDS: dict[str, tuple[type[nn.Module], ...]] = {
    "full": (),
    "chans": (SpatialConv, PatchEmbed),
    "space": (ChannelConv,),
}


def check_regime(regime: str) -> None:
    """Raise a ValueError naming the valid regimes unless regime is one of them."""
    if regime not in REGIMES:
        raise ValueError(
            f"unknown regime {regime!r}; valid regimes (what is LEARNED) are "
            + ", ".join(f"{r!r} ({REGIME_MEANING[r]})" for r in REGIMES)
        )


def freeze_modules(model: nn.Module, kinds: tuple[type[nn.Module], ...]) -> int:
    """Freeze weight and bias of every module of the given types; return #params frozen."""
    frozen = 0
    for module in model.modules():
        if kinds and isinstance(module, kinds):
            for p in module.parameters(recurse=False):
                p.requires_grad_(False)
                frozen += p.numel()
    return frozen


def apply_regime(model: nn.Module, regime: str) -> nn.Module:
    """Make exactly what `regime` learns trainable and freeze the rest in place; return model."""
    check_regime(regime)
    for p in model.parameters():
        p.requires_grad_(True)
    freeze_modules(model, FROZEN_KINDS[regime])
    return model


@torch.no_grad()
def set_filter_bank(model: nn.Module, bank: str = "random", sigma: float = 0.0) -> nn.Module:
    """Overwrite every spatial filter bank in place, then smooth it by a Gaussian of width σ.

    "random": PyTorch's default init, left as is. "same": the first channel's d random filters
    reused for every channel (Fig. 3). "box": every filter the k×k mean. "identity": a delta at
    the centre (for even k, the tap "same" padding aligns with the output pixel).
    Deterministic banks also zero the spatial bias so they really are the named filter.
    """
    if bank not in BANKS:
        raise ValueError(f"unknown filter bank {bank!r}; valid banks are {BANKS}")
    for module in model.modules():
        if not isinstance(module, SpatialConv):
            continue
        w = module.weight  # (c·d, 1, k, k)
        k = w.shape[-1]
        if bank == "same":
            per_channel = w.view(module.in_channels, module.multiplier, k, k)
            per_channel.copy_(per_channel[:1].expand_as(per_channel).clone())
        elif bank == "box":
            w.fill_(1.0 / (k * k))
        elif bank == "identity":
            c = same_padding(k)[0]
            w.zero_()
            w[:, :, c, c] = 1.0
        if bank in ("box", "identity") and module.bias is not None:
            module.bias.zero_()
        if sigma > 0:
            w.copy_(smooth_filters(w, sigma))
    return model


def count_parameters(model: nn.Module) -> dict[str, dict[str, int]]:
    """Count parameters by role (spatial, channel, stem, other) as {role: {trainable, frozen}}."""
    counts: dict[str, dict[str, int]] = {}
    for module in model.modules():
        if isinstance(module, SpatialConv):
            role = "spatial"
        elif isinstance(module, ChannelConv):
            role = "channel"
        elif isinstance(module, PatchEmbed):
            role = "stem"
        else:
            role = "other"  # BatchNorm, classifier, un-shuffler head
        row = counts.setdefault(role, {"trainable": 0, "frozen": 0})
        for p in module.parameters(recurse=False):
            row["trainable" if p.requires_grad else "frozen"] += p.numel()
    return counts


def count_trainable(model: nn.Module) -> int:
    """Return the number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def regime_table(models: dict[str, nn.Module]) -> str:
    """Format trainable/total parameters per role for each named model, one row per model."""
    roles = ("spatial", "channel", "stem", "other")
    head = f"{'model':<28}" + "".join(f"{r:>20}" for r in roles) + f"{'trainable':>12}"
    lines = [head, "-" * len(head)]
    for name, model in models.items():
        counts = count_parameters(model)
        cells = []
        for r in roles:
            c = counts.get(r, {"trainable": 0, "frozen": 0})
            total = c["trainable"] + c["frozen"]
            cells.append(f"{c['trainable']:>9,}/{total:<10,}" if total else f"{'-':>20}")
        lines.append(f"{name:<28}" + "".join(cells) + f"{count_trainable(model):>12,}")
    return "\n".join(lines)


def parameter_count_rows(
    channels: Sequence[int], kernel_sizes: Sequence[int], multipliers: Sequence[int]
) -> list[tuple]:
    """Eqs. 1-3 per (c, k, d), d = k² added: dense, separable and pointwise weights, sep/dense.

    Counts the weights of real modules and raises if they disagree with Eq. 1 or Eq. 2.
    """
    rows = []
    for c in channels:
        for k in kernel_sizes:
            for d in sorted(set(multipliers) | {k * k}):
                n = parameter_counts(c, c, k, d)
                if n["dense"] != n["eq1"] or n["separable"] != n["eq2"]:
                    raise RuntimeError(f"module weights disagree with Eqs. 1-2 at {c=}, {k=}, {d=}")
                counts = (n["dense"], n["separable"], n["pointwise"])
                rows.append((c, k, d, *(f"{x:,}" for x in counts), f"{counts[1] / counts[0]:.2f}"))
    return rows


def span_rank(bank: torch.Tensor) -> int:
    """Rank of a channel's d frozen k×k filters as vectors in R^(k²): k² means they span all."""
    return int(torch.linalg.matrix_rank(bank.reshape(bank.shape[0], -1).double()).item())


def fit_channel_mixing(bank: torch.Tensor, target: torch.Tensor) -> float:
    """Best relative error of Σ_j P_j·D_j ≈ target over pointwise weights P (least squares).

    bank: (d, k, k) frozen filters of one input channel; target: (m, k, k) dense filters.
    0 means chans can express every target exactly: the span argument of chapter 02.
    """
    basis = bank.reshape(bank.shape[0], -1).double().T  # (k², d)
    goal = target.reshape(target.shape[0], -1).double().T  # (k², m)
    coef = torch.linalg.lstsq(basis, goal).solution
    return ((basis @ coef - goal).norm() / goal.norm()).item()


def verify_freezing(model: nn.Module, in_channels: int = 3, size: int = 16) -> dict[str, int]:
    """Take one SGD step (momentum, weight decay) and count which tensors moved (chapter 03).

    A correct regime leaves every frozen tensor bit-identical and moves every learned one.
    The model is modified: use a throw-away copy.
    """
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(4, in_channels, size, size, generator=torch.Generator().manual_seed(0))
    out = model(x)
    (out.square().mean()).backward()
    opt.step()
    counts = {"frozen": 0, "frozen_unchanged": 0, "learned": 0, "learned_moved": 0}
    for name, p in model.named_parameters():
        same = torch.equal(p, before[name])
        kind = "learned" if p.requires_grad else "frozen"
        counts[kind] += 1
        if kind == "learned":
            counts["learned_moved"] += not same
        else:
            counts["frozen_unchanged"] += same
    return counts


def freezing_rows(models: Mapping[str, nn.Module], in_channels: int = 3) -> list[tuple[str, ...]]:
    """One SGD step per named model: frozen tensors unchanged, learned tensors moved, ok or FAIL.

    The models are modified (verify_freezing): pass throw-away ones.
    """
    rows = []
    for name, model in models.items():
        c = verify_freezing(model, in_channels=in_channels)
        ok = c["frozen_unchanged"] == c["frozen"] and c["learned_moved"] == c["learned"]
        rows.append((name, f"{c['frozen_unchanged']}/{c['frozen']}",
                     f"{c['learned_moved']}/{c['learned']}", "ok" if ok else "FAIL"))  # fmt: skip
    return rows
