"""Records as tables: one long-form row per run × metric (frame), and per run × epoch
(history_frame), every config field a column, for chapters to select from with pandas."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import pandas as pd

try:
    import fcntl
except ImportError:  # Windows: no flock, so concurrent runs of one record are not serialised
    fcntl = None

from .evaluation import (
    Attacks,
    Spectra,
)
from .models import ModelConfig
from .provenance import core_seconds, isa_text
from .records import DataSpec, Record
from .train import TrainConfig

# the run's cost, from its training provenance, as metrics of the frame (core_seconds: see
# provenance.core_seconds)
COST_METRICS = ("train_seconds", "img_per_s", "core_seconds")


_FIELDS = [f.name for c in (DataSpec, ModelConfig, TrainConfig) for f in dataclasses.fields(c)]


RUN_COLUMNS = ("experiment", "key", "scale", "preset", "seed",
               *("dataset" if f == "name" else f for f in _FIELDS),
               "device", "threads", "cpu", "isa", "cores", "load_mean")  # fmt: skip


METRIC_COLUMNS = ("metric", "value", "n", "eps", "eps_label", "pgd_step", "layer")


def run_columns(record: Record) -> dict:
    """Every config field of a run as a flat row: dataset, model, recipe, seed, scale, where."""
    spec = record.spec
    data = {("dataset" if k == "name" else k): v for k, v in dataclasses.asdict(spec.data).items()}
    prov = record.provenance
    return {"experiment": spec.experiment, "key": spec.key, "scale": spec.scale,
            "preset": spec.preset, "seed": spec.seed, **data, **dataclasses.asdict(spec.model),
            **dataclasses.asdict(spec.train), "device": prov.get("device"),
            "threads": prov.get("threads"), "cpu": prov.get("cpu"),
            "isa": isa_text(prov), "cores": prov.get("cores"),
            "load_mean": prov.get("load_mean")}  # fmt: skip


def metric_rows(record: Record) -> Iterator[dict]:
    """One dict per metric of a record: metric, value, n, and eps or layer where they apply."""
    for evaluated in record:
        m, spec = evaluated.metrics, evaluated.spec
        if isinstance(spec, Attacks):
            yield {
                "metric": "attack_clean",
                "value": m["clean"],
                "n": m["n"],
                "pgd_step": spec.pgd_step,
            }
            for name, by_eps in m.items():
                if isinstance(by_eps, dict):
                    for label, value in by_eps.items():
                        eps = float(eval_eps(label))
                        yield {"metric": name, "value": value, "n": m["n"], "eps": eps,
                               "eps_label": label, "pgd_step": spec.pgd_step}  # fmt: skip
        elif isinstance(spec, Spectra):
            for row in evaluated.artefacts.get("layers", []):
                for name in ("coverage", "hf_fraction"):
                    yield {"metric": name, "value": row[name], "layer": row["layer"]}
        else:
            yield from (
                {"metric": k, "value": v, "n": m.get("n")} for k, v in m.items() if k != "n"
            )
    cost = {**record.provenance, "core_seconds": core_seconds(record.provenance)}
    for name in COST_METRICS:
        if cost.get(name) is not None:
            yield {"metric": name, "value": cost[name]}


def eval_eps(label: str) -> float:
    """Inverse of evaluation.eps_label: "1/255" -> 1/255."""
    top, _, bottom = label.partition("/")
    return float(top) / float(bottom or 1)


def frame(records: Iterable[Record | None]) -> pd.DataFrame:
    """The records as one long-form table: a row per run × metric, every config field a column.

    Columns: the run's (run_columns), then metric, value, n (images it was measured on) and,
    where they apply, eps / eps_label / pgd_step (attacks) and layer (spectra). Missing
    records (None) are left out, and a record given twice (one run serving two figures) counts
    once. Select with pandas, e.g. df[df.metric == "test_acc"].
    """
    unique = {r.key: r for r in records if r is not None}.values()
    rows = [{**run_columns(r), **m} for r in unique for m in metric_rows(r)]
    return pd.DataFrame(rows).reindex(columns=[*RUN_COLUMNS, *METRIC_COLUMNS])


def history_frame(records: Iterable[Record | None]) -> pd.DataFrame:
    """Training curves as a long-form table: a row per run × epoch × logged metric."""
    unique = {r.key: r for r in records if r is not None}.values()
    rows = [{**run_columns(r), "epoch": h["epoch"], "metric": k, "value": v}
            for r in unique for h in r.history
            for k, v in h.items() if k != "epoch"]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=[*RUN_COLUMNS, "epoch", "metric", "value"])
