"""The store on disk: where records live, how one is read, checked, written and locked, and how
two stores are merged. A record is one JSON file `<store>/<experiment>/<key>.json` (records.py);
writes are atomic, and one lock per record keeps two processes from training the same run."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock, so concurrent runs of one record are not serialised
    fcntl = None

from .records import RECORD_FIELDS, SCHEMA, Record
from .train import replace_atomically


class MissingRecordError(LookupError):
    """The store is read-only and holds no record for this config."""


class RecordError(ValueError):
    """A store file is torn or malformed, or a run's record hand-edited or of another schema."""


class RecordWarning(UserWarning):
    """find_records skipped a record it could not read (the message says why and the fix)."""


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
    """True when SPATIALMIX_READONLY is set to 1/true/yes (CI: a missing record then raises) or
    to "partial" (store_shows_partial)."""
    return os.environ.get("SPATIALMIX_READONLY", "").lower() in ("1", "true", "yes", "partial")


def store_shows_partial() -> bool:
    """True when SPATIALMIX_READONLY=partial: chapters train nothing and show what the store
    holds, each figure's missing runs listed and left out (a grid half trained, a first look)."""
    return os.environ.get("SPATIALMIX_READONLY", "").lower() == "partial"


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
    """Write JSON to path atomically (train.replace_atomically): the previous file stays whole
    if writing fails."""
    replace_atomically(
        path, lambda tmp: tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    )


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


@contextlib.contextmanager
def claim(path: Path) -> Iterator[bool]:
    """Claim the run whose record is at path for this process, without waiting: yields False
    while another process holds the claim (it is training that run), else True and holds it.

    Queue workers sharing a store (queue --workers) claim a run before training it, so each
    takes the next run nobody has. A claim is a separate lock file from record_lock's, which
    the training itself takes. Without fcntl every claim succeeds.
    """
    if fcntl is None:
        yield True
        return
    lock = path.with_name(f".{path.stem}.claim.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def serialised(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `lock`, waiting for it: one process at a time (e.g.
    queue workers committing to one git repository). Without fcntl it does not lock."""
    if fcntl is None:
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
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


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
