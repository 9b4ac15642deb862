"""The results store: run(cfg) loads a run's record, or trains, evaluates and stores it first.

One run = one model, one seed, one regime: trained once, then evaluated for everything the book
needs (clean accuracy, FGSM/PGD, filter spectra, reconstructions). Its record is one JSON file
`<store>/<experiment>/<key>.json`, keyed by the sha256 of the resolved config, which includes the
dataset's source and fingerprint and the scale. Chapters never know whether they trained.
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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

try:
    import fcntl
except ImportError:  # Windows: no flock, so concurrent runs of one record are not serialised
    fcntl = None

from .accel import want_compile
from .datasets import DATASETS, Dataset, load_dataset
from .evaluation import evaluate_run, make_loaders
from .models import ModelConfig, build_model
from .provenance import peak_rss_mb, provenance, resolve_device
from .scales import AUGMENT, SCALES, preset, shape_changes
from .train import TrainConfig, train

SCHEMA = 1
RECORD_FIELDS = ("schema", "key", "config", "metrics", "history", "artefacts", "provenance")
_TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
# what an experiment is, not how big it is: changing these keeps the scale (still in the key)
RECIPE_KNOBS = {"adv_eps"}


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
        base = preset(self.model.arch, self.scale)
        unknown = sorted(set(self.overrides) - set(base) - {"augment"})
        if unknown:
            raise ValueError(f"unknown override(s) {unknown}; valid: {sorted(base)}")
        for name in ("n_train", "n_test", "n_attack", "epochs", "batch_size"):
            if name in self.overrides and int(self.overrides[name]) < 0:
                raise ValueError(f"{name} must be >= 0, got {self.overrides[name]}")

    def settings(self) -> tuple[dict, str]:
        """Return (preset merged with overrides, recorded scale)."""
        base = preset(self.model.arch, self.scale)
        base["augment"] = "none" if self.model.arch == "unshuffle" else AUGMENT[self.dataset]
        merged = {**base, **self.overrides}
        changed = any(merged[k] != base[k] for k in self.overrides if k not in RECIPE_KNOBS)
        changed |= self.scale == "paper" and bool(self.shape_changes())
        return merged, ("custom" if changed else self.scale)

    def shape_changes(self) -> dict[str, tuple[object, int]]:
        """Model fields that differ from the paper's shape: {field: (given, paper's)}."""
        model = dataclasses.asdict(self.model)
        return shape_changes(self.model.arch, self.dataset, model)

    def resolve(self, data: Dataset) -> dict:
        """Return the canonical description of this run: every field that changes its result."""
        s, scale = self.settings()
        is_mixer = self.model.arch != "sep_resnet"
        return {
            "schema": SCHEMA,
            "experiment": self.experiment,
            "scale": scale,
            "preset": self.scale,
            "seed": self.seed,
            "model": dataclasses.asdict(self.model),
            "data": {
                "name": data.name,
                "source": data.source,
                "fingerprint": data.fingerprint,
                "n_train": s["n_train"],
                "n_test": s["n_test"],
                "subset_seed": s["subset_seed"],
                "perm_seed": s["perm_seed"] if self.model.arch == "unshuffle" else None,
            },  # fmt: skip
            "train": {k: s[k] for k in sorted(_TRAIN_FIELDS)},
            "eval": {
                "n_attack": s["n_attack"],
                "attack_eps": list(s["attack_eps"]),
                "pgd_steps": s["pgd_steps"],
                "envelopes": is_mixer,
            },  # fmt: skip
        }


def config_key(resolved: dict) -> str:
    """Return the first 20 hex digits of sha256 over the canonical JSON of a resolved config.

    The experiment (the store's folder) is left out: one trained model serves every figure of
    its chapter, e.g. the full n = 2 run is a point of Fig. 2 and the reference of Fig. 3.
    """
    keyed = {k: v for k, v in resolved.items() if k != "experiment"}
    text = json.dumps(keyed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


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


def read_record(path: Path) -> dict:
    """Read and check one record; a torn, hand-edited or other-schema file raises RecordError."""
    path = Path(path)
    fix = f"delete it to re-train, or restore it with `git checkout -- {path}`"
    record = read_json(path, "record", fix)
    if not isinstance(record, dict) or set(RECORD_FIELDS) - set(record):
        missing = set(RECORD_FIELDS) - set(record if isinstance(record, dict) else {})
        raise RecordError(f"record {path} lacks fields {missing}; {fix}.")
    _check_schema(path, record["schema"])
    _check_key(path, record)
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
            f"record {path} has schema {schema}, this code writes {SCHEMA}: "
            "re-run it (delete the file) or check out the code that wrote it."
        )


def _check_key(path: Path, record: dict) -> None:
    """Raise RecordError if a record's key matches neither its file name nor its config."""
    config = record["config"]
    derived = config_key(config) if isinstance(config, dict) else None
    if record["key"] == path.stem == derived:
        return
    raise RecordError(
        f"record {path} was edited by hand: its config no longer matches its key (file name "
        f"{path.stem}, stored key {record['key']}, key of its config {derived}). Restore it "
        f"with `git checkout -- {path}`, or delete it to re-train."
    )


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


def record_path(cfg: RunConfig, data: Dataset | None = None) -> tuple[Path, dict]:
    """Return (where cfg's record lives, its resolved config)."""
    data = data if data is not None else load_dataset(cfg.dataset)
    resolved = cfg.resolve(data)
    return store_dir() / cfg.experiment / f"{config_key(resolved)}.json", resolved


def run(
    cfg: RunConfig,
    device: str = "auto",
    progress: bool = True,
    max_steps: int | None = None,
    data_dir: str | Path | None = None,
) -> dict:
    """Return the record for cfg from the store, training, evaluating and storing it if absent.

    Training holds a per-record lock, so the same missing record asked for by two processes at
    once (two terminals, two GPUs on one store) is trained once; the second waits, then reads it.
    """
    data = load_dataset(cfg.dataset, data_dir)
    path, resolved = record_path(cfg, data)
    if path.exists():
        return read_record(path)
    if store_is_readonly():
        raise MissingRecordError(
            f"no record for this run in the read-only store ({path}); run the chapter without "
            f"SPATIALMIX_READONLY to train it. Config: {json.dumps(resolved, sort_keys=True)}"
        )
    with record_lock(path):  # another process may be training this very record
        if path.exists():
            return read_record(path)
        record = train_and_evaluate(resolved, data, device, progress, max_steps)
        write_atomically(path, record)
    return record


def train_and_evaluate(
    resolved: dict, data: Dataset, device: str, progress: bool, max_steps: int | None
) -> dict:
    """Train the run `resolved` describes (resuming its checkpoint), then evaluate everything."""
    key = config_key(resolved)
    dev = resolve_device(device)
    started = time.perf_counter()
    torch.manual_seed(resolved["seed"])  # the random filters are drawn here (PAPER.md)
    model = build_model(ModelConfig(**resolved["model"]), len(data.classes),
                        data.x_train.shape[1], data.mean, data.std)  # fmt: skip
    model = model.to(dev, memory_format=torch.channels_last)
    cfg = TrainConfig(**resolved["train"])
    train_loader, test_loader, perm = make_loaders(resolved, data, dev)
    ckpt = checkpoint_dir() / resolved["experiment"] / f"{key}.pt"
    task = "unshuffle" if resolved["model"]["arch"] == "unshuffle" else "classify"
    compiled = want_compile(resolved["model"]["arch"], cfg.epochs * len(train_loader))
    out = train(model, train_loader, cfg, task, perm, ckpt, max_steps=max_steps, progress=progress,
                compile=compiled)  # fmt: skip
    if not out["completed"]:
        raise RunInterrupted(f"stopped at step {out['step']}; run again to resume from {ckpt}")
    metrics, artefacts = evaluate_run(model, test_loader, resolved, task, perm)
    torch.save(model.state_dict(), ckpt.with_suffix(".final.pt"))  # weights stay out of git
    ckpt.unlink(missing_ok=True)
    prov = provenance(dev)
    prov.update(wall_seconds=time.perf_counter() - started, train_seconds=out["train_seconds"],
                img_per_s=out["img_per_s"], compiled=out["compiled"],
                peak_rss_mb=peak_rss_mb())  # fmt: skip
    return {"schema": SCHEMA, "key": key, "config": resolved, "metrics": metrics,
            "history": out["history"], "artefacts": artefacts, "provenance": prov}  # fmt: skip


def find_records(experiment: str) -> list[dict]:
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


def lookup(cfg: RunConfig, data_dir: str | Path | None = None) -> dict | None:
    """Return cfg's record if the store holds one, else None; never trains."""
    path, _ = record_path(cfg, load_dataset(cfg.dataset, data_dir))
    return read_record(path) if path.exists() else None
