"""The paper's vocabulary as module types: spatial mixing, channel mixing, the separable pair.

Spatial mixing is a depthwise k×k convolution (each channel filtered on its own); channel mixing
is a 1×1 convolution; ConvMixer's stem is a patch embedding. Every other module finds them by
type, so freezing, filter banks and spectra never rely on parameter-name arithmetic (paper §3.2;
chapter 02).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import depthwise

IMPLS = ("folded", "explicit")
# strided 1×1 convs with fewer input channels crash oneDNN on AVX2 CPUs (ChannelConv)
ONEDNN_SAFE_CHANNELS = 8


def same_padding(kernel_size: int) -> tuple[int, int]:
    """Return (before, after) padding that keeps H×W for a stride-1 conv, as padding="same" does.

    PyTorch puts the smaller half first: k = 8 pads 3 before and 4 after (ConvMixer, §3.3).
    """
    total = kernel_size - 1
    return total // 2, total - total // 2


class SpatialConv(nn.Conv2d):
    """Depthwise k×k convolution with depth multiplier d: the only place spatial mixing happens.

    Odd k pads k//2 on each side (any stride). Even k is only valid at stride 1 and pads like
    padding="same" (3 before, 4 after for k = 8), matching the reference ConvMixer.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int,
        multiplier: int = 1,
        stride: int = 1,
        bias: bool = False,
    ) -> None:
        check_kernel(kernel_size, stride)
        super().__init__(
            channels,
            channels * multiplier,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=channels,
            bias=bias,
        )
        self.multiplier = multiplier
        # even k: pad k/2 on both sides and drop the first output row and column. That equals
        # "same" padding (k/2 - 1 before, k/2 after) without copying the input into a padded
        # buffer, which PyTorch's padding="same" does for even kernels.
        self.crop = 1 - kernel_size % 2

    def forward(self, x: Tensor) -> Tensor:
        if depthwise.applies(x, self.weight, self.stride[0], self.multiplier):
            return depthwise.spatial_mix(x, self.weight, self.bias)  # same function, faster on CPU
        return crop_same(super().forward(x), self.crop)


def spatial_kernel(model: nn.Module, device: torch.device) -> str | None:
    """Which depthwise kernel runs `model`'s spatial mixing on `device`: "native" (depthwise.py)
    or "torch"; None where no SpatialConv runs as its own op (the folded sep-ResNet)."""
    folded = {id(m.spatial) for m in model.modules()
              if isinstance(m, SeparableConv2d) and m.impl == "folded"}  # fmt: skip
    if not any(isinstance(m, SpatialConv) and id(m) not in folded and m.stride[0] == 1
               and m.multiplier == 1 for m in model.modules()):  # fmt: skip
        return None
    return "native" if device.type == "cpu" and depthwise.active() else "torch"


class ChannelConv(nn.Conv2d):
    """Pointwise 1×1 convolution: channel mixing only.

    On the CPU, a strided 1×1 conv with fewer than 8 input channels runs as the subsample it
    reads (every s-th pixel) followed by a stride-1 1×1 conv: the same function
    (tests/test_layers.py). It routes around a oneDNN bug in torch 2.14.1: on AVX2-only CPUs the
    channels-last backward-weights kernel of a strided 1×1 conv with 2-7 input channels corrupts
    the heap (one thread) or spins forever (two); 1 and 8 or more never failed in our sweep
    (tests/test_native.py keeps the upstream reproduction). Wider layers keep the strided kernel,
    which is 1.2-1.3× faster than the detour (measured on the sep-ResNet's shortcut shapes).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, bias: bool = False):
        super().__init__(in_channels, out_channels, 1, stride=stride, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        s = self.stride[0]
        if s == 1 or self.in_channels >= ONEDNN_SAFE_CHANNELS or x.device.type != "cpu":
            return super().forward(x)
        return F.conv2d(x[..., ::s, ::s], self.weight, self.bias)


class PatchEmbed(nn.Conv2d):
    """ConvMixer stem: a p×p conv with stride p. Frozen with the spatial filters in chans (§4.2)."""

    def __init__(self, in_channels: int, width: int, patch_size: int) -> None:
        super().__init__(in_channels, width, patch_size, stride=patch_size)


def crop_same(y: Tensor, crop: int) -> Tensor:
    """Drop `crop` leading rows and columns: turns symmetric k/2 padding into "same" for even k."""
    return y[..., crop:, crop:] if crop else y


def check_kernel(kernel_size: int, stride: int) -> None:
    """Raise a ValueError for kernel/stride combinations that cannot keep a sensible shape."""
    if kernel_size < 1 or stride < 1:
        raise ValueError(f"kernel_size and stride must be >= 1, got k={kernel_size}, s={stride}")
    if kernel_size % 2 == 0 and stride != 1:
        raise ValueError(
            f"an even kernel (k={kernel_size}) needs asymmetric 'same' padding, which PyTorch "
            f"only defines at stride 1; got stride={stride}. Use an odd kernel to downsample."
        )


def fold_weight(spatial: Tensor, channel: Tensor, in_channels: int) -> Tensor:
    """Contract depthwise and pointwise weights into one dense k×k weight.

    W[o, c] = Σ_j P[o, c·d + j] · D[c·d + j]  (chapter 02).
    spatial: (c_in·d, 1, k, k), channel: (c_out, c_in·d, 1, 1) -> (c_out, c_in, k, k).
    """
    c_out = channel.shape[0]
    d = spatial.shape[0] // in_channels
    k = spatial.shape[-1]
    pointwise = channel.reshape(c_out, in_channels, d)
    depthwise = spatial.reshape(in_channels, d, k * k)
    return torch.einsum("ocj,cjs->ocs", pointwise, depthwise).reshape(c_out, in_channels, k, k)


class SeparableConv2d(nn.Module):
    """Depthwise k×k (multiplier d) then pointwise 1×1, nothing between, no bias (§3.2, Eq. 2).

    Both implementations hold the same two parameters (`spatial.weight`, `channel.weight`):
    - "explicit": run the two convolutions, as the paper did;
    - "folded": contract the pair into one dense k×k weight every call and run one dense conv.
      Same function and gradients (tests/test_layers.py), far faster on CPU (chapter 02).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        multiplier: int = 9,
        stride: int = 1,
        impl: str = "folded",
    ) -> None:
        super().__init__()
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        if min(in_channels, out_channels, multiplier) < 1:
            raise ValueError("in_channels, out_channels and multiplier must be >= 1")
        self.spatial = SpatialConv(in_channels, kernel_size, multiplier, stride)
        self.channel = ChannelConv(in_channels * multiplier, out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.impl = impl

    def forward(self, x: Tensor) -> Tensor:  # (B, c_in, H, W) -> (B, c_out, H/s, W/s)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {x.shape[1]}")
        if self.impl == "explicit":
            return self.channel(self.spatial(x))
        weight = fold_weight(self.spatial.weight, self.channel.weight, self.in_channels)
        s = self.spatial
        return crop_same(F.conv2d(x, weight, stride=s.stride, padding=s.padding), s.crop)

    def extra_repr(self) -> str:
        return f"impl={self.impl!r}"


class Normalize(nn.Module):
    """Standardise [0, 1] images per channel inside the model, so attacks work in pixel units."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        # not persistent: they come from the config, and state_dict keeps the reference's layout
        as_buffer = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.register_buffer("mean", as_buffer, persistent=False)
        as_buffer = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        self.register_buffer("std", as_buffer, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.mean.shape[1]:
            raise ValueError(
                f"model expects {self.mean.shape[1]} input channels, got input of shape "
                f"{tuple(x.shape)}"
            )
        return (x - self.mean) / self.std


def parameter_counts(c_in: int, c_out: int, k: int, d: int) -> dict[str, int]:
    """Count weights of real modules next to Eqs. 1-3: dense, separable, pointwise (chapter 02)."""
    dense = nn.Conv2d(c_in, c_out, k, bias=False)
    sep = SeparableConv2d(c_in, c_out, k, multiplier=d)
    return {
        "dense": sum(p.numel() for p in dense.parameters()),
        "eq1": c_in * c_out * k * k,
        "separable": sum(p.numel() for p in sep.parameters()),
        "eq2": c_in * k * k * d + c_in * d * c_out,
        "pointwise": sep.channel.weight.numel(),
    }


def equivalence_error(
    c_in: int, c_out: int, k: int, d: int, stride: int = 1, dtype: torch.dtype = torch.float64
) -> dict[str, float]:
    """Max |explicit - folded| over outputs and every gradient, for one random layer and batch."""
    gen = torch.Generator().manual_seed(0)
    explicit = SeparableConv2d(c_in, c_out, k, d, stride, impl="explicit").to(dtype)
    folded = SeparableConv2d(c_in, c_out, k, d, stride, impl="folded").to(dtype)
    folded.load_state_dict(explicit.state_dict())
    x = torch.randn(4, c_in, 16, 16, generator=gen, dtype=dtype)
    results = []
    for layer in (explicit, folded):
        xi = x.clone().requires_grad_(True)
        y = layer(xi)
        y.square().sum().backward()
        results.append((y, [xi.grad] + [p.grad for p in layer.parameters()]))
    (ya, ga), (yb, gb) = results
    grad_err = max((a - b).abs().max().item() for a, b in zip(ga, gb, strict=True))
    return {"output": (ya - yb).abs().max().item(), "gradients": grad_err,
            "scale": ya.abs().max().item()}  # fmt: skip


def equivalence_rows(
    errors: Mapping[tuple[torch.dtype, int, int], Mapping[str, float]],
) -> list[tuple]:
    """Explicit vs folded per (dtype, k, stride): max |Δ| of output and gradients, max |output|."""
    return [
        (str(dtype).removeprefix("torch."), k, stride, f"{e['output']:.1e}",
         f"{e['gradients']:.1e}", f"{e['scale']:.2f}")
        for (dtype, k, stride), e in errors.items()
    ]  # fmt: skip
