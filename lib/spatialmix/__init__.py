"""spatialmix: the library behind the executable book on "Rethinking the Role of Spatial Mixing".

Layers, lowest first. A module imports only from its own layer or a lower one, and no imports
go round in a circle (tests/test_layout.py walks every import, function-level ones included):

1. layers, depthwise, fused, spectral, attacks, text: the paper's operations on tensors (every
   module finds them by type; depthwise and fused: native CPU kernels for spatial mixing and
   for GELU + BatchNorm); plain-text tables
2. regimes: what is learned (full | chans | space), filter banks, parameter counts
3. models: the three model families, ModelConfig, build_model (which applies the regime)
4. formats, datasets, data, streamloader, stream: bytes on disk to fingerprinted datasets to
   batches; ImageNet streamed from its image tree a batch at a time
5. accel, provenance, distributed: how a step runs (torch.compile, the allocator); where a
   number was made; data-parallel training under torchrun (DDP)
6. train, evaluation, unshuffle: the training loop; everything measured on a trained model;
   the un-shuffling task's receptive field and baselines
7. scales, records, store, frames, results, run_flops: the presets; typed records; the store
   on disk (reads, atomic writes, locks); records as tables (frames.frame, also results.frame);
   the one results store, which every record goes through (results.run); a run's FLOPs
8. experiments, perf, migrate: the runs behind each figure; training speed, reference vs ours;
   store migrations
9. chapters, claims, report, plots, selfcheck, queue, gpucheck, __init__: what the book and its
   tools call
10. scoreboard, runbook, smoothing, frozen_banks: every chapter's stored verdicts, as the book's
    scoreboard page and README table; how to run each chapter at paper scale, and its cost;
    Fig. 7 and §3.1's coverage test, from records to figures and verdicts

This file re-exports the public API, nothing else.
"""

from .attacks import fgsm, pgd
from .layers import (
    ChannelConv,
    Normalize,
    PatchEmbed,
    SeparableConv2d,
    SpatialConv,
    fold_weight,
)
from .models import (
    ConvMixer,
    ModelConfig,
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
