"""The results store: run(cfg) loads a run's record, or trains, evaluates and stores it first.

One run = one model, one seed, one regime: trained once, then evaluated for everything the book
needs (clean accuracy, FGSM/PGD, filter spectra, reconstructions). Its record is one JSON file
`<store>/<experiment>/<key>.json` (records.py), keyed by the sha256 of what changes the trained
weights, which includes the dataset's source and fingerprint and the scale. Each evaluation is
keyed apart inside the record, and one the record lacks is measured from the run's kept weights.
Chapters never know whether they trained; they read records as a table (frame).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import distributed
from .accel import flush_denormals, want_compile
from .datasets import DATASETS, Dataset
from .evaluation import (
    N_RECONSTRUCTIONS,
    Attacks,
    Clean,
    Evaluation,
    Reconstructions,
    Spectra,
    Target,
    make_train_loader,
    permutation_for,
)
from .frames import (  # noqa: F401 - chapters read records as results.frame(...)
    COST_METRICS,
    METRIC_COLUMNS,
    RUN_COLUMNS,
    eval_eps,
    frame,
    history_frame,
    metric_rows,
    run_columns,
)
from .layers import spatial_kernel
from .models import ModelConfig, build_model
from .provenance import peak_rss_mb, provenance, resolve_device
from .records import DataSpec, Evaluated, Record, RunSpec
from .scales import SCALES, attack_steps, augment_for, image_size, preset, shape_changes
from .store import (  # noqa: F401 - the store's functions, as results.<name> everywhere before
    NOT_RUNS,
    MissingRecordError,
    RecordError,
    RecordWarning,
    checkpoint_dir,
    file_sha256,
    find_records,
    lock_path,
    merge_store,
    read_json,
    read_record,
    record_lock,
    repo_root,
    store_dir,
    store_is_readonly,
    write_atomically,
)
from .stream import Data, load_data
from .train import TrainConfig, save_atomically, train

_TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


# what an experiment is, not how big it is: changing these keeps the scale (still in the key)
RECIPE_KNOBS = {"adv_eps"}


# what is measured on a trained run: in its evaluations' keys, never in its training key
EVAL_KNOBS = {"n_test", "n_attack", "attack_eps", "pgd_steps", "pgd_step"}


SPECTRA_SIZE = 64  # FFT size coverage is measured at


ENVELOPE_SIZE = 32  # stored envelopes are small: enough to draw Fig. 9, cheap to commit


PAPER_DFT = 512  # the ConvMixers' spectra at these scales are measured on the paper's 512² DFT


FIG9_SCALES = ("converged", "paper")  # (issue 16); earlier records keep their 64² ones


class RunInterrupted(RuntimeError):
    """Training stopped before the end (a step limit); its checkpoint is kept for resuming."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one run. Sizes and recipe come from the scale's preset.

    overrides: preset values changed by hand (e.g. {"epochs": 2}); any change that differs from
    the preset makes the run's recorded scale "custom", so it can never pass for "paper". So does
    a model shape other than the paper's at scale "paper" (scales.PAPER_SHAPES).
    """

    experiment: str  # folder in the store, e.g. "fig2_depth"
    model: ModelConfig
    dataset: str = "cifar10"
    scale: str = "cpu"  # "smoke" | "cpu" | "paper"
    seed: int = 0
    overrides: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.experiment or not self.experiment.replace("_", "").isalnum():
            raise ValueError(
                f"experiment must be a word like 'fig2_depth', got {self.experiment!r}"
            )
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; valid datasets are {DATASETS}")
        if self.scale not in SCALES:
            raise ValueError(f"unknown scale {self.scale!r}; valid scales are {SCALES}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        base = preset(self.model.arch, self.scale, self.dataset)
        unknown = sorted(set(self.overrides) - set(base) - {"augment"})
        if unknown:
            raise ValueError(f"unknown override(s) {unknown}; valid: {sorted(base)}")
        for name in ("n_train", "n_test", "n_attack", "epochs", "batch_size"):
            if name in self.overrides and int(self.overrides[name]) < 0:
                raise ValueError(f"{name} must be >= 0, got {self.overrides[name]}")

    def settings(self) -> tuple[dict, str]:
        """Return (preset merged with overrides, recorded scale)."""
        base = preset(self.model.arch, self.scale, self.dataset)
        base["augment"] = augment_for(self.model.arch, self.scale, self.dataset)
        merged = {**base, **self.overrides}
        knobs = RECIPE_KNOBS | EVAL_KNOBS
        changed = any(merged[k] != base[k] for k in self.overrides if k not in knobs)
        changed |= self.scale == "paper" and bool(self.shape_changes())
        return merged, ("custom" if changed else self.scale)

    def shape_changes(self) -> dict[str, tuple[object, int]]:
        """Model fields that differ from the paper's shape: {field: (given, paper's)}."""
        model = dataclasses.asdict(self.model)
        return shape_changes(self.model.arch, self.dataset, model)

    def spec(self, data: Data) -> RunSpec:
        """Return the typed description of what this run trains: its record's key hashes it."""
        s, scale = self.settings()
        train = TrainConfig(**{k: s[k] for k in _TRAIN_FIELDS})
        perm_seed = s["perm_seed"] if self.model.arch == "unshuffle" else None
        data_spec = DataSpec(data.name, data.source, data.fingerprint, s["n_train"],
                             s["subset_seed"], perm_seed)  # fmt: skip
        return RunSpec(self.experiment, scale, self.scale, self.seed, self.model, data_spec, train)

    def evaluations(self) -> tuple[Evaluation, ...]:
        """What the book measures on this run, from the scale's preset (keyed apart from it)."""
        s, _ = self.settings()
        arch = self.model.arch
        evals: list[Evaluation] = [Clean(s["n_test"], s["subset_seed"])]
        if s["n_attack"] and arch != "unshuffle":
            evals += [Attacks(tuple(s["attack_eps"]), s["n_attack"], s["n_test"], s["pgd_steps"],
                              step, s["subset_seed"]) for step in attack_steps(s)]  # fmt: skip
        if arch == "convmixer" and self.scale in FIG9_SCALES:  # Fig. 9 on the paper's DFT
            evals.append(Spectra(PAPER_DFT, ENVELOPE_SIZE, pooled=True))
        else:
            evals.append(Spectra(SPECTRA_SIZE, ENVELOPE_SIZE if arch != "sep_resnet" else 0))
        if arch == "unshuffle":
            evals.append(Reconstructions(N_RECONSTRUCTIONS, s["n_test"], s["subset_seed"]))
        return tuple(evals)


def run_data(cfg: RunConfig, data_dir: str | Path | None = None) -> Data:
    """The data cfg trains on: ImageNet streamed at its scale's image size, others in memory."""
    return load_data(cfg.dataset, data_dir, image_size(cfg.scale))


def record_path(cfg: RunConfig, data: Data | None = None) -> tuple[Path, RunSpec]:
    """Return (where cfg's record lives, its RunSpec)."""
    data = data if data is not None else run_data(cfg)
    spec = cfg.spec(data)
    return store_dir() / cfg.experiment / f"{spec.key}.json", spec


def weights_path(spec: RunSpec) -> Path:
    """Where a finished run's weights are kept (git-ignored): later evaluations load them."""
    return checkpoint_dir() / spec.experiment / f"{spec.key}.final.pt"


def missing_evaluations(record: Record | None, cfg: RunConfig) -> list[Evaluation]:
    """The evaluations cfg asks for that the record lacks (all of them without a record)."""
    wanted = cfg.evaluations()
    return list(wanted) if record is None else [e for e in wanted if e.key not in record.evals]


def run(
    cfg: RunConfig,
    device: str | torch.device = "auto",
    progress: bool = True,
    max_steps: int | None = None,
    data_dir: str | Path | None = None,
) -> Record:
    """Return the record for cfg, training and evaluating it first if the store lacks it.

    A stored run that lacks one of cfg's evaluations (a wider ε list, say) is evaluated from its
    kept weights and nothing is retrained; only if the weights are gone is it trained again.
    Training holds a per-record lock, so the same missing record asked for by two processes at
    once (two terminals, two GPUs on one store) is trained once; the second waits, then reads it.
    Under torchrun every rank calls run, which joins the process group (distributed.init):
    rank 0 decides (holding the lock), the others train alongside it if it trains, and every
    rank returns rank 0's record.
    """
    device = distributed.init(device)  # this rank's device under torchrun, else as given
    data = run_data(cfg, data_dir)
    if not distributed.is_main():  # rank 0 sends its record, or "train" first and it after
        if not isinstance(said := distributed.broadcast(None), str):
            return said
        train_and_evaluate(record_path(cfg, data)[1], (), data, device, False, max_steps)
        return distributed.broadcast(None)
    return distributed.broadcast(_run(cfg, data, device, progress, max_steps))


def _run(cfg: RunConfig, data: Data, device: str | torch.device, progress: bool,
         max_steps: int | None) -> Record:  # fmt: skip
    """run() in one process, or as rank 0: it says "train" to the other ranks before training."""
    path, spec = record_path(cfg, data)
    record = read_record(path) if path.exists() else None
    missing = missing_evaluations(record, cfg)
    if not missing:
        return record
    if store_is_readonly():
        what = "no record for this run" if record is None else (
            f"the run's record lacks evaluation(s) {[e.key for e in missing]}")  # fmt: skip
        config = json.dumps(spec.to_json(), sort_keys=True)
        raise MissingRecordError(
            f"{what} in the read-only store ({path}); run the chapter without "
            f"SPATIALMIX_READONLY to compute it. Config: {config}"
        )
    with record_lock(path):  # another process may be training or evaluating this very record
        record = read_record(path) if path.exists() else None
        missing = missing_evaluations(record, cfg)
        if not missing:
            return record
        if record is not None and _weights_match(record):
            record = evaluate_stored(record, missing, data, device)
        else:  # no record, or its weights are gone: train (again), then measure everything
            distributed.broadcast("train")
            record = train_and_evaluate(spec, cfg.evaluations(), data, device, progress, max_steps)
        write_atomically(path, record.to_json())
    return record


def _weights_match(record: Record) -> bool:
    """True if the run's kept weights exist and are the ones its record was trained to."""
    path = weights_path(record.spec)
    if not path.exists():
        return False
    stored = record.provenance.get("weights_sha256")
    return stored is None or stored == file_sha256(path)


def _target(spec: RunSpec, data: Data, dev: torch.device) -> Target:
    """The untrained model of a run (its random filters drawn from its seed), on dev."""
    torch.manual_seed(spec.seed)  # the random filters are drawn here (PAPER.md)
    model = build_model(spec.model, len(data.classes), data.channels, data.mean,
                        data.std)  # fmt: skip
    model = model.to(dev, memory_format=torch.channels_last)
    return Target(model, spec.task, data, dev, permutation_for(data, spec.data.perm_seed))


def measure(
    target: Target, evaluations: Iterable[Evaluation], dev: torch.device
) -> dict[str, Evaluated]:
    """Run each evaluation on a trained target, with its own provenance and time (subnormal
    floats flushed to zero, as in training: accel.flush_denormals)."""
    flush_denormals()
    out = {}
    for spec in evaluations:
        started = time.perf_counter()
        metrics, artefacts = spec.measure(target)
        prov = {**provenance(dev), "seconds": time.perf_counter() - started}
        out[spec.key] = Evaluated(spec, metrics, artefacts, prov)
    return out


def evaluate_stored(
    record: Record, evaluations: Iterable[Evaluation], data: Dataset, device: str
) -> Record:
    """Add evaluations to a stored run from its kept weights: nothing is trained."""
    dev = resolve_device(device)
    target = _target(record.spec, data, dev)
    state = torch.load(weights_path(record.spec), map_location=dev, weights_only=True)
    target.model.load_state_dict(state)
    return dataclasses.replace(record, evals={**record.evals, **measure(target, evaluations, dev)})


def train_and_evaluate(
    spec: RunSpec,
    evaluations: Iterable[Evaluation],
    data: Dataset,
    device: str,
    progress: bool,
    max_steps: int | None,
) -> Record | None:
    """Train the run `spec` describes (resuming its checkpoint), then run every evaluation.

    Every epoch logs the clean test metric of the first Clean evaluation (the accuracy curve).
    Under DDP every rank trains; only rank 0 keeps the weights, measures and returns a record.
    """
    evaluations = list(evaluations)
    dev = resolve_device(device)
    started = time.perf_counter()
    target = _target(spec, data, dev)
    cfg, d = spec.train, spec.data
    loader = make_train_loader(data, d.n_train, d.subset_seed, cfg.batch_size, cfg.augment,
                               spec.seed, dev)  # fmt: skip
    curve = next((e for e in evaluations if isinstance(e, Clean)), None)
    ckpt = checkpoint_dir() / spec.experiment / f"{spec.key}.pt"
    compiled = want_compile(spec.model.arch, cfg.epochs * len(loader), dev)
    out = train(target.model, loader, cfg, spec.task, target.perm, ckpt, max_steps=max_steps,
                progress=progress, compile=compiled,
                epoch_eval=curve and functools.partial(epoch_metrics, target, curve))  # fmt: skip
    if not out["completed"]:
        raise RunInterrupted(f"stopped at step {out['step']}; run again to resume from {ckpt}")
    if not distributed.is_main():
        return None
    weights = weights_path(spec)
    save_atomically(target.model.state_dict(), weights)  # weights stay out of git
    ckpt.unlink(missing_ok=True)
    prov = provenance(dev)
    prov.update(wall_seconds=time.perf_counter() - started, train_seconds=out["train_seconds"],
                img_per_s=out["img_per_s"], compiled=out["compiled"], load_mean=out["load_mean"],
                peak_rss_mb=peak_rss_mb(), weights_sha256=file_sha256(weights))  # fmt: skip
    if kernel := spatial_kernel(target.model, dev):
        prov["depthwise"] = kernel
    if dist := distributed.info():  # the world size changes the key of nothing, only this
        prov["distributed"] = dist
    return Record(spec, out["history"], prov, measure(target, evaluations, dev))


def epoch_metrics(target: Target, clean: Clean) -> dict:
    """The test metric logged after each epoch: test_acc (or test_psnr) on the Clean subset."""
    metrics, _ = clean.measure(target)
    name = "test_psnr" if target.task == "unshuffle" else "test_acc"
    return {name: metrics[name]}


def lookup(cfg: RunConfig, data_dir: str | Path | None = None) -> Record | None:
    """Return cfg's record if the store holds one with every evaluation cfg asks for, else None.

    Never trains or evaluates.
    """
    path, _ = record_path(cfg, run_data(cfg, data_dir))
    record = read_record(path) if path.exists() else None
    return None if missing_evaluations(record, cfg) else record
