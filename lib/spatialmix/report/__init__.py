"""What the chapters print: tables of runs from results.frame, and every verdict as text.

Every figure prints the numbers it plots, since nbval compares text (text.table). Also what a
partial store means for a chapter: which runs are missing, the command that fills them, and
verdicts that wait for those runs instead of being computed from half the data. One module per
concept; chapters call them all as `report.<name>`.
"""

from ..text import table
from .measured import FORMATS, measured_text
from .missing import (
    FILL_EXCLUDED,
    custom_shape_note,
    fill_command,
    injected_parameters,
    missing_runs,
    queue_progress,
)
from .robustness import (
    robust_gap_table,
    robust_gap_text,
    robust_gaps,
    robustness_verdicts,
    smoothing_text,
)
from .tables import (
    METRIC_LABELS,
    attack_groups,
    attack_text,
    bank_groups,
    bank_table,
    budget_table,
    budget_text,
    compute_text,
    curve_table,
    curves,
    depth_table,
    distance_text,
    groups,
    mean_sd_text,
    mean_table,
    num,
    paired_gap_text,
    recipe_text,
    run_costs,
    sample_size,
    scale_table,
    shape_table,
    spectra_table,
)
from .verdicts import (
    NOT_EVALUATED,
    findings_text,
    patch_check,
    verdict,
    verdict_summary,
    verdict_table,
)

__all__ = [
    "FILL_EXCLUDED", "FORMATS", "METRIC_LABELS", "NOT_EVALUATED", "attack_groups", "attack_text",
    "bank_groups", "bank_table",
    "budget_table", "budget_text", "compute_text", "curve_table", "curves", "custom_shape_note",
    "depth_table", "distance_text",
    "fill_command", "groups", "injected_parameters", "mean_sd_text", "mean_table",
    "measured_text", "missing_runs", "num", "paired_gap_text", "patch_check", "queue_progress",
    "recipe_text",
    "robust_gap_table",
    "robust_gap_text", "robust_gaps", "robustness_verdicts", "run_costs", "sample_size",
    "scale_table", "shape_table", "smoothing_text", "spectra_table", "table", "verdict",
    "verdict_summary", "verdict_table", "findings_text",
]  # fmt: skip
