"""The results store: run(cfg) loads a run's record, or trains, evaluates and stores it first.

One run = one model, one seed, one regime: trained once, then evaluated for everything the book
needs (clean accuracy, FGSM/PGD, filter spectra, reconstructions). Its record is one JSON file
`<store>/<experiment>/<key>.json` (records.py), keyed by the sha256 of what changes the trained
weights, which includes the dataset's source and fingerprint and the scale. Each evaluation is
keyed apart inside the record, and one the record lacks is measured from the run's kept weights.
Chapters never know whether they trained; they read records as a table (frame).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

try:
    import fcntl
except ImportError:  # Windows: no flock, so concurrent runs of one record are not serialised
    fcntl = None

from . import distributed
from .accel import want_compile
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
from .layers import spatial_kernel
from .models import ModelConfig, build_model
from .provenance import peak_rss_mb, provenance, resolve_device
from .records import RECORD_FIELDS, SCHEMA, DataSpec, Evaluated, Record, RunSpec
from .scales import SCALES, attack_steps, augment_for, image_size, preset, shape_changes
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


class MissingRecordError(LookupError):
    """The store is read-only and holds no record for this config."""


class RecordError(ValueError):
    """A store file is torn or malformed, or a run's record hand-edited or of another schema."""


class RecordWarning(UserWarning):
    """find_records skipped a record it could not read (the message says why and the fix)."""


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


def repo_root() -> Path:
    """Return the repository holding this package (found from its location, never the cwd)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").exists():
        raise RuntimeError(
            "spatialmix is not installed from a repository checkout (pip install -e .), so the "
            "store has no default place: set SPATIALMIX_RESULTS to a folder."
        )
    return root


def store_dir() -> Path:
    """Return the results store: env SPATIALMIX_RESULTS, else the repository's results/."""
    env = os.environ.get("SPATIALMIX_RESULTS")
    return Path(env).expanduser().resolve() if env else repo_root() / "results"


def checkpoint_dir() -> Path:
    """Return where weights and checkpoints go: a git-ignored folder inside the store."""
    return store_dir() / ".checkpoints"


def store_is_readonly() -> bool:
    """True when SPATIALMIX_READONLY is set to 1/true/yes (CI): missing records then raise."""
    return os.environ.get("SPATIALMIX_READONLY", "").lower() in ("1", "true", "yes")


def read_json(path: Path, what: str = "file", fix: str = "") -> Any:
    """Read one JSON file of the store; an unreadable or torn one raises RecordError.

    The message names `what` it is, its path, and `fix` (by default: restore it from git).
    Every read of the store goes through here: run records, benchmark and chapter timings.
    """
    path = Path(path)
    fix = fix or f"restore it with `git checkout -- {path}`, or delete it and measure it again"
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise RecordError(f"cannot read {what} {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise RecordError(
            f"cannot read {what} {path}: it is truncated or not valid JSON ({exc}); {fix}."
        ) from exc


def write_atomically(path: Path, record: dict) -> None:
    """Write JSON to a temporary file beside path, then rename it into place.

    If writing fails (a full disk: OSError ENOSPC), the temporary file is removed, the error
    re-raised, and the previous file at path is left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def lock_path(path: Path) -> Path:
    """Return the lock file that serialises training the record at path."""
    return path.with_name(f".{path.stem}.lock")


@contextlib.contextmanager
def record_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the record at path, waiting (and saying so) if another has it.

    flock is released by the kernel when its holder exits, even on SIGKILL, so a killed run
    never blocks the next one. The lock file itself stays (deleting it would race). Without
    fcntl (Windows) this warns once and does not lock.
    """
    if fcntl is None:
        _warn_no_lock()
        yield
        return
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process training this record (lock {lock})", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@functools.cache
def _warn_no_lock() -> None:
    warnings.warn(
        "this platform has no fcntl file locking: two processes asked for the same missing "
        "record at once will both train it (the record stays whole; the second write wins)",
        RuntimeWarning,
        stacklevel=4,
    )


def read_record(path: Path) -> Record:
    """Read and check one record; a torn, hand-edited or other-schema file raises RecordError."""
    path = Path(path)
    fix = f"delete it to re-train, or restore it with `git checkout -- {path}`"
    raw = read_json(path, "record", fix)
    if not isinstance(raw, dict) or set(RECORD_FIELDS) - set(raw):
        missing = set(RECORD_FIELDS) - set(raw if isinstance(raw, dict) else {})
        if isinstance(raw, dict) and raw.get("schema") == 1:
            missing = set()  # the schema check below says what to do
        else:
            raise RecordError(f"record {path} lacks fields {sorted(missing)}; {fix}.")
    _check_schema(path, raw["schema"])
    try:
        record = Record.from_json(raw)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise RecordError(f"record {path} does not parse ({exc!r}); {fix}.") from exc
    _check_keys(path, raw, record)
    return record


def _check_schema(path: Path, schema: object) -> None:
    """Raise RecordError unless a record's schema is the one this code reads."""
    if isinstance(schema, int) and schema > SCHEMA:
        raise RecordError(
            f"record {path} was written by a newer version of spatialmix (schema {schema}, "
            f"this code reads {SCHEMA}): update the code (git pull) to read it."
        )
    if schema != SCHEMA:
        raise RecordError(
            f"record {path} has schema {schema}, this code reads {SCHEMA}: migrate the store "
            "with `python -m spatialmix.migrate` (nothing is retrained), or delete the "
            "file to re-train it."
        )


def _check_keys(path: Path, raw: dict, record: Record) -> None:
    """Raise RecordError if the run's key or an evaluation's key does not match its content."""
    if not raw["key"] == path.stem == record.key:
        raise RecordError(
            f"record {path} was edited by hand: its config no longer matches its key (file name "
            f"{path.stem}, stored key {raw['key']}, key of its config {record.key}). Restore it "
            f"with `git checkout -- {path}`, or delete it to re-train."
        )
    for name, evaluated in record.evals.items():
        if name != evaluated.spec.key:
            raise RecordError(
                f"record {path}: evaluation {name} was edited by hand (its settings give key "
                f"{evaluated.spec.key}). Restore it with `git checkout -- {path}`, or delete "
                "that entry to measure it again."
            )


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


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
    """Run each evaluation on a trained target, with its own provenance and time."""
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
                img_per_s=out["img_per_s"], compiled=out["compiled"],
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


def find_records(experiment: str) -> list[Record]:
    """Return every readable record the store holds for an experiment, in file-name order.

    A record that cannot be read is skipped with a RecordWarning naming the file and the fix,
    so one bad file does not take the others down with it.
    """
    folder = store_dir() / experiment
    records = []
    for p in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            records.append(read_record(p))
        except RecordError as exc:
            warnings.warn(f"skipped a record: {exc}", RecordWarning, stacklevel=2)
    return records


def lookup(cfg: RunConfig, data_dir: str | Path | None = None) -> Record | None:
    """Return cfg's record if the store holds one with every evaluation cfg asks for, else None.

    Never trains or evaluates.
    """
    path, _ = record_path(cfg, run_data(cfg, data_dir))
    record = read_record(path) if path.exists() else None
    return None if missing_evaluations(record, cfg) else record


NOT_RUNS = ("bench", "verdicts")  # folders of a store that hold no run records


def merge_store(source: str | Path, dest: str | Path) -> list[Path]:
    """Join the run records of another store into dest; return the files written.

    A run only in source is copied. A run in both must be the same training (spec, history and
    provenance equal) with every evaluation both hold equal; its evaluations are then united.
    Anything else is a conflict (same key, different content): RecordError, naming both files,
    before anything is written. Weights are not moved (they stay out of git).
    """
    source, dest = Path(source), Path(dest)
    planned: list[tuple[Path, Record]] = []
    for path in sorted(source.glob("*/*.json")):
        if path.parent.name in NOT_RUNS:
            continue
        theirs, target = read_record(path), dest / path.parent.name / path.name
        if not target.exists():
            planned.append((target, theirs))
            continue
        mine = read_record(target)
        same = (mine.spec, mine.history, mine.provenance) == (theirs.spec, theirs.history,
                                                                theirs.provenance)  # fmt: skip
        clash = [k for k in set(mine.evals) & set(theirs.evals)
                 if mine.evals[k].to_json() != theirs.evals[k].to_json()]  # fmt: skip
        if not same or clash:
            what = f"evaluations {sorted(clash)} differ" if same else "they were trained apart"
            raise RecordError(f"cannot merge {path} into {target}: same key, different content "
                              f"({what}); keep one of them and merge again")  # fmt: skip
        extra = {k: e for k, e in theirs.evals.items() if k not in mine.evals}
        if extra:
            planned.append((target, dataclasses.replace(mine, evals={**mine.evals, **extra})))
    for target, record in planned:
        write_atomically(target, record.to_json())
    return [target for target, _ in planned]


# the run's cost, from its training provenance, as metrics of the frame
COST_METRICS = ("train_seconds", "img_per_s")


_FIELDS = [f.name for c in (DataSpec, ModelConfig, TrainConfig) for f in dataclasses.fields(c)]
RUN_COLUMNS = ("experiment", "key", "scale", "preset", "seed",
               *("dataset" if f == "name" else f for f in _FIELDS),
               "device", "threads", "cpu")  # fmt: skip
METRIC_COLUMNS = ("metric", "value", "n", "eps", "eps_label", "pgd_step", "layer")


def run_columns(record: Record) -> dict:
    """Every config field of a run as a flat row: dataset, model, recipe, seed, scale, where."""
    spec = record.spec
    data = {("dataset" if k == "name" else k): v for k, v in dataclasses.asdict(spec.data).items()}
    prov = record.provenance
    return {"experiment": spec.experiment, "key": spec.key, "scale": spec.scale,
            "preset": spec.preset, "seed": spec.seed, **data, **dataclasses.asdict(spec.model),
            **dataclasses.asdict(spec.train), "device": prov.get("device"),
            "threads": prov.get("threads"), "cpu": prov.get("cpu")}  # fmt: skip


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
    for name in COST_METRICS:
        if name in record.provenance:
            yield {"metric": name, "value": record.provenance[name]}


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
