"""spatialmix: the library behind the executable book on "Rethinking the Role of Spatial Mixing"."""

from .attacks import fgsm, pgd
from .layers import ChannelConv, Normalize, SeparableConv2d, SpatialConv, fold_weight
from .models import (
    ConvMixer,
    ModelConfig,
    PatchEmbed,
    SeparableResNet,
    UnshuffleMixer,
    build_model,
)
from .regimes import (
    BANKS,
    REGIMES,
    apply_regime,
    count_parameters,
    count_trainable,
    regime_table,
    set_filter_bank,
)
from .spectral import (
    coverage,
    high_frequency_fraction,
    random_bank,
    smooth_filters,
    spectral_envelope,
)

__all__ = [
    "BANKS", "REGIMES", "ChannelConv", "ConvMixer", "ModelConfig", "Normalize", "PatchEmbed",
    "SeparableConv2d", "SeparableResNet", "SpatialConv", "UnshuffleMixer", "apply_regime",
    "build_model", "count_parameters", "count_trainable", "coverage", "fgsm", "fold_weight",
    "high_frequency_fraction", "pgd", "random_bank", "regime_table", "set_filter_bank",
    "smooth_filters", "spectral_envelope",
]  # fmt: skip
