"""The paper's three model families: separable pre-activation ResNet, ConvMixer, un-shuffler.

Parameter names read as the paper speaks: `blocks.3.spatial.weight` is a depthwise filter bank,
`blocks.3.channel.weight` a 1×1 channel mixer (chapters 03-07).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .fused import gelu_norm, norm_relu
from .layers import ChannelConv, Normalize, PatchEmbed, SeparableConv2d, SpatialConv, check_kernel
from .regimes import BANKS, REGIMES, apply_regime, set_filter_bank

ARCHS = ("sep_resnet", "convmixer", "unshuffle")


class PreActBlock(nn.Module):
    """BN-ReLU-sep3×3-BN-ReLU-sep3×3 with identity or 1×1 projection shortcut (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, stride: int, multiplier: int, impl: str) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c_in)
        self.conv1 = SeparableConv2d(c_in, c_out, 3, multiplier, stride, impl)
        self.norm2 = nn.BatchNorm2d(c_out)
        self.conv2 = SeparableConv2d(c_out, c_out, 3, multiplier, 1, impl)
        # a projection shortcut is channel mixing: frozen in "space" (our choice, PAPER.md)
        needs_proj = stride != 1 or c_in != c_out
        self.shortcut = ChannelConv(c_in, c_out, stride) if needs_proj else None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:  # relu(norm(.)) fused on the CPU (fused.py)
        out = norm_relu(x, self.norm1, self.act)
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(norm_relu(out, self.norm2, self.act))
        return out + skip


class SeparableResNet(nn.Module):
    """Separable pre-activation ResNet, every conv separable with multiplier d (§4.1.1, Fig. 2-4).

    depth = n blocks per stage. CIFAR: 3 stages (w, 2w, 4w), 6n+2 layers, w = 16 by default.
    ImageNet: separable 7×7 stride-2 stem + 3×3 max-pool (our choice), 4 stages, 8n+2 layers,
    w = 64 by default.
    """

    def __init__(
        self,
        depth: int,
        width: int | None = None,
        num_classes: int = 10,
        in_channels: int = 3,
        multiplier: int = 9,
        impl: str = "folded",
        imagenet: bool = False,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
    ) -> None:
        super().__init__()
        width = width or (64 if imagenet else 16)
        if min(depth, width, num_classes, in_channels) < 1:
            raise ValueError("depth, width, num_classes and in_channels must be >= 1")
        self.normalize = Normalize(mean or (0.5,) * in_channels, std or (0.25,) * in_channels)
        if imagenet:
            self.stem = nn.Sequential(
                SeparableConv2d(in_channels, width, 7, multiplier, 2, impl),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
            widths = [width, 2 * width, 4 * width, 8 * width]
        else:
            self.stem = SeparableConv2d(in_channels, width, 3, multiplier, 1, impl)
            widths = [width, 2 * width, 4 * width]
        blocks, c_in = [], width
        for stage, c_out in enumerate(widths):
            for i in range(depth):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(PreActBlock(c_in, c_out, stride, multiplier, impl))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.final_norm = nn.BatchNorm2d(c_in)
        self.final_act = nn.ReLU(inplace=True)
        self.head = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) in [0, 1] -> (B, num_classes)
        x = self.blocks(self.stem(self.normalize(x)))
        x = norm_relu(x, self.final_norm, self.final_act)
        return self.head(x.mean(dim=(2, 3)))


class MixerBlock(nn.Module):
    """ConvMixer block: residual spatial mixing, then 1×1 channel mixing (§3.3)."""

    def __init__(self, width: int, kernel_size: int) -> None:
        super().__init__()
        self.spatial = SpatialConv(width, kernel_size, bias=True)  # the reference keeps biases
        self.spatial_norm = nn.BatchNorm2d(width)
        self.channel = ChannelConv(width, width, bias=True)
        self.channel_norm = nn.BatchNorm2d(width)
        self.act = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:  # (B, h, H, W) -> (B, h, H, W)
        # x + norm(gelu(conv(x))): gelu_norm fuses the last two on the CPU (fused.py)
        x = gelu_norm(self.spatial(x), self.act, self.spatial_norm, residual=x)
        return gelu_norm(self.channel(x), self.act, self.channel_norm)


class MixerTrunk(nn.Module):
    """Normalise, patch-embed (p×p, stride p), then `depth` mixer blocks; shared by both mixers."""

    def __init__(
        self,
        width: int,
        depth: int,
        kernel_size: int,
        patch_size: int,
        in_channels: int,
        mean: tuple[float, ...] | None,
        std: tuple[float, ...] | None,
    ) -> None:
        super().__init__()
        if min(width, depth, patch_size, in_channels) < 1:
            raise ValueError("width, depth, patch_size and in_channels must be >= 1")
        check_kernel(kernel_size, 1)
        self.normalize = Normalize(mean or (0.5,) * in_channels, std or (0.25,) * in_channels)
        self.stem = PatchEmbed(in_channels, width, patch_size)
        self.stem_norm = nn.BatchNorm2d(width)
        self.act = nn.GELU()
        self.blocks = nn.Sequential(*[MixerBlock(width, kernel_size) for _ in range(depth)])

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) -> (B, h, H/p, W/p)
        x = gelu_norm(self.stem(self.normalize(x)), self.act, self.stem_norm)
        return self.blocks(x)


class ConvMixer(nn.Module):
    """ConvMixer-h/depth with kernel k and patch p (Trockman & Kolter; paper §3.3, Fig. 5, 7, 9)."""

    def __init__(
        self,
        width: int,
        depth: int,
        kernel_size: int,
        patch_size: int,
        num_classes: int,
        in_channels: int = 3,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
    ) -> None:
        super().__init__()
        self.trunk = MixerTrunk(width, depth, kernel_size, patch_size, in_channels, mean, std)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) in [0, 1] -> (B, num_classes)
        return self.head(self.trunk(x).mean(dim=(2, 3)))


class UnshuffleMixer(nn.Module):
    """ConvMixer with p = 1 whose head is a 1×1 projection back to the image channels (§4.4)."""

    def __init__(
        self,
        width: int,
        depth: int,
        kernel_size: int,
        channels: int,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
    ) -> None:
        super().__init__()
        self.trunk = MixerTrunk(width, depth, kernel_size, 1, channels, mean, std)
        self.head = nn.Conv2d(width, channels, 1)  # learned in every regime, like a classifier

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) shuffled -> (B, C, H, W) restored
        return self.head(self.trunk(x))


@dataclass(frozen=True)
class ModelConfig:
    """The shape of one model; with a regime and a filter bank it fixes what gets trained."""

    arch: str = "convmixer"  # "convmixer" | "sep_resnet" | "unshuffle"
    regime: str = "full"  # what is LEARNED: "full" | "chans" | "space" (paper's names)
    width: int = 128  # h (ConvMixer) or w (sep-ResNet first stage)
    depth: int = 8  # ConvMixer depth, or n blocks per stage for the sep-ResNet
    kernel_size: int = 8  # k (ConvMixer, un-shuffler); the sep-ResNet is always 3×3
    patch_size: int = 1  # p
    multiplier: int = 9  # d, sep-ResNet only (paper: all separable ResNets use d = 9)
    bank: str = "random"  # frozen spatial filters: "random" | "same" | "box" | "identity"
    sigma: float = 0.0  # Gaussian smoothing of the spatial filters at init (Fig. 7)
    impl: str = "folded"  # separable conv path: "folded" (fast) | "explicit" (as the paper ran)
    imagenet: bool = False  # sep-ResNet ImageNet layout (4 stages, 7×7 stem)

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.regime not in REGIMES:
            raise ValueError(f"regime must be one of {REGIMES}, got {self.regime!r}")
        if self.bank not in BANKS:
            raise ValueError(f"bank must be one of {BANKS}, got {self.bank!r}")
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")


def build_model(
    cfg: ModelConfig,
    num_classes: int = 10,
    in_channels: int = 3,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
) -> nn.Module:
    """Build cfg's model, set its spatial filter bank, then freeze what its regime does not learn.

    Call torch.manual_seed first: "random" filters are PyTorch's default init (PAPER.md).
    """
    if cfg.arch == "sep_resnet":
        model: nn.Module = SeparableResNet(
            cfg.depth, cfg.width, num_classes, in_channels, cfg.multiplier, cfg.impl,
            cfg.imagenet, mean, std,
        )  # fmt: skip
    elif cfg.arch == "convmixer":
        model = ConvMixer(
            cfg.width, cfg.depth, cfg.kernel_size, cfg.patch_size, num_classes, in_channels,
            mean, std,
        )  # fmt: skip
    else:
        model = UnshuffleMixer(cfg.width, cfg.depth, cfg.kernel_size, in_channels, mean, std)
    set_filter_bank(model, cfg.bank, cfg.sigma)
    apply_regime(model, cfg.regime)  # freezing happens right after init, in one place
    return model
