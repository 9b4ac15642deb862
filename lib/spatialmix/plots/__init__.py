"""Figures only: data in, matplotlib Figure out. Nothing here computes a result.

Every figure copes with partial data (a store that holds only some regimes): what is missing is
left out, the legend names only what is drawn, and an empty panel says so instead of failing.
One module per concept; chapters call them all as `plots.<name>`.
"""

from .accuracy import (
    BANK_LABELS,
    plot_banks,
    plot_convergence,
    plot_depth,
    plot_robustness,
    plot_widths,
)
from .base import NO_RUNS, REGIME_STYLE, THEME, n_text, use_theme
from .perf import plot_roofline, plot_throughput
from .separable import plot_span, plot_trainable
from .spectra import plot_coverage, plot_envelopes, plot_layer_envelopes, plot_smoothed_envelopes
from .unshuffle import (
    BASELINE_STYLE,
    UNSHUFFLE_AXES,
    plot_reconstructions,
    plot_unshuffle_sweeps,
    reconstruction_rows,
)

__all__ = [
    "BANK_LABELS", "BASELINE_STYLE", "NO_RUNS", "REGIME_STYLE", "THEME", "UNSHUFFLE_AXES",
    "n_text", "plot_banks", "plot_convergence", "plot_coverage", "plot_depth", "plot_envelopes",
    "plot_layer_envelopes", "plot_reconstructions", "plot_robustness", "plot_roofline",
    "plot_smoothed_envelopes", "plot_span", "plot_throughput", "plot_trainable",
    "plot_unshuffle_sweeps", "plot_widths", "reconstruction_rows", "use_theme",
]  # fmt: skip
