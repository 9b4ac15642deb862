import dataclasses
import json

import pytest

from spatialmix import ModelConfig
from spatialmix import results as store_mod
from spatialmix.datasets import load_dataset
from spatialmix.results import (
    MissingRecordError,
    RecordError,
    RunConfig,
    RunInterrupted,
    config_key,
    find_records,
    read_record,
    record_path,
    run,
)

TINY = {"sep_resnet": ModelConfig(arch="sep_resnet", width=4, depth=1, multiplier=2),
        "convmixer": ModelConfig(arch="convmixer", width=16, depth=1, kernel_size=5),
        "unshuffle": ModelConfig(arch="unshuffle", width=16, depth=1, kernel_size=5)}  # fmt: skip


def _cfg(arch="convmixer", **kw):
    return RunConfig("unit", TINY[arch], dataset="mnist", scale="smoke", **kw)


def test_same_config_same_key_changed_field_new_key(mnist_dir, store):
    data = load_dataset("mnist")
    a = config_key(_cfg().resolve(data))
    assert a == config_key(_cfg().resolve(data))
    assert a != config_key(_cfg(seed=1).resolve(data))
    other = dataclasses.replace(
        _cfg(), model=dataclasses.replace(TINY["convmixer"], regime="chans")
    )
    assert a != config_key(other.resolve(data))
    forged = dataclasses.replace(data, fingerprint="0" * 64)
    assert a != config_key(_cfg().resolve(forged))
    relabelled = dataclasses.replace(data, source="mnist (somewhere else)")
    assert a != config_key(_cfg().resolve(relabelled))


def test_overrides_make_the_scale_custom_unless_equal(mnist_dir):
    data = load_dataset("mnist")
    assert _cfg(overrides={"epochs": 2}).resolve(data)["scale"] == "custom"
    assert _cfg(overrides={"epochs": 1}).resolve(data)["scale"] == "smoke"
    paper = RunConfig("unit", TINY["convmixer"], dataset="mnist", scale="paper",
                      overrides={"n_train": 100})  # fmt: skip
    assert paper.resolve(data)["scale"] == "custom"


def test_validation_errors_name_the_valid_values():
    with pytest.raises(ValueError, match="cifar10"):
        RunConfig("unit", TINY["convmixer"], dataset="svhn")
    with pytest.raises(ValueError, match="smoke"):
        RunConfig("unit", TINY["convmixer"], scale="tiny")
    with pytest.raises(ValueError, match="epochs"):
        RunConfig("unit", TINY["convmixer"], overrides={"epochz": 3})
    with pytest.raises(ValueError, match=">= 0"):
        RunConfig("unit", TINY["convmixer"], overrides={"n_train": -1})
    with pytest.raises(ValueError, match="experiment"):
        RunConfig("fig 2/..", TINY["convmixer"])


@pytest.mark.parametrize("arch", ["sep_resnet", "convmixer", "unshuffle"])
def test_smoke_run_stores_a_record_and_finds_it_again(arch, mnist_dir, store, monkeypatch):
    record = run(_cfg(arch), progress=False)
    assert set(record) == set(store_mod.RECORD_FIELDS)
    assert record["config"]["scale"] == "smoke"
    assert record["config"]["data"]["source"].startswith("mnist")
    prov = record["provenance"]
    assert prov["threads"] >= 1 and prov["torch"] and prov["img_per_s"] > 0
    metric = "test_psnr" if arch == "unshuffle" else "test_acc"
    assert metric in record["metrics"]
    if arch != "unshuffle":
        assert set(record["metrics"]["attacks"]) == {"fgsm", "pgd2", "clean"}
    assert not list(store.rglob("*.json.*.tmp"))

    def no_training(*a, **k):
        raise AssertionError("trained again although the record exists")

    monkeypatch.setattr(store_mod, "train_and_evaluate", no_training)
    assert run(_cfg(arch), progress=False) == record
    assert find_records("unit") == [record]


def test_same_seed_gives_identical_metrics(mnist_dir, store, tmp_path, monkeypatch):
    first = run(_cfg(), progress=False)
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "second"))
    assert run(_cfg(), progress=False)["metrics"] == first["metrics"]


def test_kill_and_resume_through_the_store(mnist_dir, store, tmp_path, monkeypatch):
    cfg = _cfg(overrides={"epochs": 2})
    with pytest.raises(RunInterrupted):
        run(cfg, progress=False, max_steps=3)
    assert not find_records("unit")
    resumed = run(cfg, progress=False)
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "fresh"))
    fresh = run(cfg, progress=False)
    assert resumed["metrics"] == fresh["metrics"] and resumed["history"] == fresh["history"]


def test_read_only_store_never_trains(mnist_dir, store, monkeypatch):
    monkeypatch.setenv("SPATIALMIX_READONLY", "1")
    with pytest.raises(MissingRecordError, match="read-only"):
        run(_cfg(), progress=False)
    assert not store.exists() or not list(store.rglob("*.json"))


def test_torn_and_old_records_raise(mnist_dir, store):
    path, _ = record_path(_cfg())
    path.parent.mkdir(parents=True)
    path.write_text('{"schema": 1, "key": ')
    with pytest.raises(RecordError, match="cannot read"):
        run(_cfg(), progress=False)
    fields = {f: {} for f in store_mod.RECORD_FIELDS}
    path.write_text(json.dumps({**fields, "schema": 0}))
    with pytest.raises(RecordError, match="schema 0"):
        read_record(path)
