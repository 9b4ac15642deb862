"""A run's record as typed objects: RunSpec (what was trained), Evaluated (what was measured).

A record file is `<store>/<experiment>/<key>.json`, where key hashes the RunSpec: only what changes
the trained weights (model, data subset, recipe, seed, scale). Each evaluation lives inside the
record under its own key (evaluation.py), so a wider ε list adds an entry and retrains nothing.

    {"schema": 2, "key": ..., "config": RunSpec, "history": [per epoch], "provenance": {...},
     "evals": {"clean-1a2b3c4d": {"kind", "settings", "metrics", "artefacts", "provenance"}}}

Schema 1 (evaluation settings inside the training key) is migrated by
`python -m spatialmix.migrate` (migrate.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from .evaluation import Attacks, Clean, Evaluation, Reconstructions, Spectra, from_settings
from .models import ModelConfig
from .train import TrainConfig

SCHEMA = 2
RECORD_FIELDS = ("schema", "key", "config", "history", "provenance", "evals")


@dataclass(frozen=True)
class DataSpec:
    """The training data of a run: which dataset (by content), which subset, which shuffle."""

    name: str
    source: str  # e.g. "cifar10 (JPEG q75 copy)"
    fingerprint: str  # sha256 over the dataset's tensors
    n_train: int  # 0: the whole training split
    subset_seed: int = 0
    perm_seed: int | None = None  # the un-shuffler's fixed permutation; None for classifiers


@dataclass(frozen=True)
class RunSpec:
    """Everything that changes a run's trained weights; its hash is the record's key.

    scale is the recorded one ("custom" if the preset was changed); preset is the one asked for.
    The experiment (the store's folder) is left out of the key: one trained model serves every
    figure of its chapter, e.g. the full n = 2 run is a point of Fig. 2 and the reference of
    Fig. 3.
    """

    experiment: str
    scale: str
    preset: str
    seed: int
    model: ModelConfig
    data: DataSpec
    train: TrainConfig

    @property
    def task(self) -> str:
        return "unshuffle" if self.model.arch == "unshuffle" else "classify"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> RunSpec:
        return cls(**{**d, "model": ModelConfig(**d["model"]), "data": DataSpec(**d["data"]),
                      "train": TrainConfig(**d["train"])})  # fmt: skip

    @property
    def key(self) -> str:
        return spec_key(self.to_json())


def spec_key(config: dict) -> str:
    """First 20 hex digits of sha256 over the canonical JSON of a RunSpec, experiment left out."""
    keyed = {k: v for k, v in config.items() if k != "experiment"}
    text = json.dumps(keyed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Evaluated:
    """One evaluation of a trained run: its spec, numbers, artefacts and where they were made."""

    spec: Evaluation
    metrics: dict
    artefacts: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"kind": self.spec.kind, "settings": self.spec.settings(), "metrics": self.metrics,
                "artefacts": self.artefacts, "provenance": self.provenance}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict) -> Evaluated:
        return cls(from_settings(d["kind"], d["settings"]), d["metrics"], d["artefacts"],
                   d["provenance"])  # fmt: skip


@dataclass
class Record:
    """A trained run and everything measured on it."""

    spec: RunSpec
    history: list[dict]
    provenance: dict
    evals: dict[str, Evaluated] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.spec.key

    def get(self, kind: type[Evaluation]) -> Evaluated | None:
        """The stored evaluation of a kind (Clean, Attacks, ...): the newest if several."""
        found = [e for e in self.evals.values() if isinstance(e.spec, kind)]
        return found[-1] if found else None

    def __iter__(self) -> Iterator[Evaluated]:
        return iter(self.evals.values())

    @property
    def clean(self) -> dict:
        """The clean test metrics (test_acc, or test_psnr for the un-shuffler)."""
        found = self.get(Clean)
        return found.metrics if found else {}

    @property
    def attacks(self) -> dict:
        found = self.get(Attacks)
        return found.metrics if found else {}

    @property
    def spectra(self) -> list[dict]:
        """Per spatial layer: layer, coverage, hf_fraction and, where stored, envelope."""
        found = self.get(Spectra)
        return found.artefacts.get("layers", []) if found else []

    @property
    def envelopes(self) -> list[list[list[float]]]:
        """The stored spectral envelope of each spatial layer, in order (Fig. 9)."""
        return [layer["envelope"] for layer in self.spectra if "envelope" in layer]

    @property
    def reconstructions(self) -> dict:
        found = self.get(Reconstructions)
        return found.artefacts if found else {}

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "key": self.key, "config": self.spec.to_json(),
                "history": self.history, "provenance": self.provenance,
                "evals": {k: e.to_json() for k, e in self.evals.items()}}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict) -> Record:
        evals = {k: Evaluated.from_json(e) for k, e in d["evals"].items()}
        return cls(RunSpec.from_json(d["config"]), d["history"], d["provenance"], evals)
