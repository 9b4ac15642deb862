"""Migrate a results store to the current record schema, with no retraining.

    python -m spatialmix.migrate            # the repository's results/ (or SPATIALMIX_RESULTS)
    python -m spatialmix.migrate --check    # exit 1 if any record still needs migrating

Schema 1 -> 2: the evaluation settings (n_test, the attacks' ε list and steps, envelopes) leave
the training key. Each record is rewritten under its new key with its numbers moved, unchanged,
into one entry per evaluation; the old file is removed, and kept weights are renamed with it.
Each migrated evaluation's provenance says it was measured by the training run (schema 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .evaluation import N_RECONSTRUCTIONS, Attacks, Clean, Reconstructions, Spectra
from .records import SCHEMA, DataSpec, Evaluated, Record, RunSpec
from .results import ENVELOPE_SIZE, SPECTRA_SIZE
from .store import (
    NOT_RUNS,
    checkpoint_dir,
    read_json,
    read_record,
    store_dir,
    write_atomically,
)


def from_schema_1(raw: dict) -> Record:
    """Rebuild a schema-1 record as a Record: same runs, same numbers, evaluations keyed apart."""
    c, metrics, artefacts = raw["config"], raw["metrics"], raw["artefacts"]
    d = c["data"]
    data = DataSpec(d["name"], d["source"], d["fingerprint"], d["n_train"], d["subset_seed"],
                    d["perm_seed"])  # fmt: skip
    spec = RunSpec.from_json({"experiment": c["experiment"], "scale": c["scale"],
                              "preset": c["preset"], "seed": c["seed"], "model": c["model"],
                              "data": data.__dict__, "train": c["train"]})  # fmt: skip
    was = {"measured_by": "the training run (record schema 1, migrated)",
           "date": raw["provenance"].get("date"),
           "git_commit": raw["provenance"].get("git_commit")}  # fmt: skip
    clean = {k: v for k, v in metrics.items() if k not in ("attacks", "n_attack", "n_test")}
    found = [Evaluated(Clean(d["n_test"], d["subset_seed"]), {**clean, "n": metrics["n_test"]},
                       {}, was)]  # fmt: skip
    ev = c["eval"]
    if "attacks" in metrics:
        attacks = Attacks(tuple(ev["attack_eps"]), ev["n_attack"], d["n_test"], ev["pgd_steps"],
                          0.5, d["subset_seed"])  # schema 1 always stepped α = ε/2  # fmt: skip
        found.append(Evaluated(attacks, {**metrics["attacks"], "n": metrics["n_attack"]}, {}, was))
    spectra = Spectra(SPECTRA_SIZE, ENVELOPE_SIZE if ev["envelopes"] else 0)
    found.append(Evaluated(spectra, {}, artefacts["spectra"], was))
    if "reconstructions" in artefacts:
        recon = Reconstructions(N_RECONSTRUCTIONS, d["n_test"], d["subset_seed"])
        found.append(Evaluated(recon, {}, artefacts["reconstructions"], was))
    return Record(spec, raw["history"], raw["provenance"], {e.spec.key: e for e in found})


def pending(store: Path) -> list[Path]:
    """The record files of a store that are not at the current schema."""
    folders = [p for p in sorted(store.iterdir()) if p.is_dir() and p.name not in NOT_RUNS]
    files = [f for folder in folders for f in sorted(folder.glob("*.json"))]
    return [f for f in files if read_json(f, "record").get("schema") != SCHEMA]


def migrate_file(path: Path) -> Path:
    """Migrate one schema-1 record; return its new path. The result is read back and checked."""
    raw = read_json(path, "record")
    if raw.get("schema") != 1:
        raise ValueError(f"{path}: schema {raw.get('schema')}, this script migrates schema 1")
    record = from_schema_1(raw)
    new = path.with_name(f"{record.key}.json")
    write_atomically(new, record.to_json())
    assert read_record(new).to_json() == record.to_json()
    if new != path:
        path.unlink()
    weights = checkpoint_dir() / record.spec.experiment
    old_weights, new_weights = weights / f"{path.stem}.final.pt", weights / f"{new.stem}.final.pt"
    if old_weights.exists() and not new_weights.exists():
        old_weights.rename(new_weights)
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say what needs migrating")
    args = parser.parse_args(argv)
    store = store_dir()
    todo = pending(store) if store.exists() else []
    if args.check or not todo:
        print(f"{len(todo)} record(s) in {store} need migrating to schema {SCHEMA}")
        return 1 if todo else 0
    for path in todo:
        new = migrate_file(path)
        print(f"{path.relative_to(store)} -> {new.relative_to(store)}")
    print(f"migrated {len(todo)} record(s) to schema {SCHEMA}; nothing was retrained")
    return 0


if __name__ == "__main__":
    sys.exit(main())
