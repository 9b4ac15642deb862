import dataclasses
import json
import re
from pathlib import Path

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
    fix = r"delete it to re-train, or restore it with `git checkout -- .*json`"
    torn = rf"cannot read record {re.escape(str(path))}: .*not valid JSON.*{fix}"
    with pytest.raises(RecordError, match=torn):
        run(_cfg(), progress=False)
    fields = {f: {} for f in store_mod.RECORD_FIELDS}
    path.write_text(json.dumps({**fields, "schema": 0}))
    with pytest.raises(RecordError, match="schema 0, this code writes 1: re-run it"):
        read_record(path)


def _fake_record(folder, config, schema=store_mod.SCHEMA):
    """Write a record for `config` under its own key, as run() would; return its path."""
    key = config_key(config)
    record = {f: {} for f in store_mod.RECORD_FIELDS}
    record.update(schema=schema, key=key, config=config)
    path = folder / f"{key}.json"
    store_mod.write_atomically(path, record)
    return path


def test_newer_schema_asks_to_update_the_code(tmp_path):
    path = _fake_record(tmp_path, {"seed": 0}, schema=store_mod.SCHEMA + 1)
    newer = "was written by a newer version of spatialmix (schema 2, this code reads 1): "
    with pytest.raises(RecordError, match=re.escape(f"{path} {newer}update the code (git pull)")):
        read_record(path)


def test_hand_edited_record_is_refused(tmp_path):
    path = _fake_record(tmp_path, {"seed": 0, "scale": "cpu"})
    assert read_record(path)["config"]["scale"] == "cpu"
    edited = json.loads(path.read_text())
    edited["config"]["scale"] = "paper"
    path.write_text(json.dumps(edited))
    at = re.escape(str(path))
    hand = rf"{at} was edited by hand: its config no longer matches its key"
    with pytest.raises(RecordError, match=rf"{hand}.*`git checkout -- {at}`.*delete it"):
        read_record(path)
    renamed = _fake_record(tmp_path, {"seed": 1}).rename(tmp_path / f"{'0' * 20}.json")
    with pytest.raises(RecordError, match=f"{re.escape(str(renamed))} was edited by hand"):
        read_record(renamed)


def test_run_refuses_its_own_hand_edited_record(mnist_dir, store):
    path, resolved = record_path(_cfg())
    good = _fake_record(path.parent, resolved)
    assert good == path
    edited = json.loads(path.read_text())
    edited["config"]["seed"] = 7
    path.write_text(json.dumps(edited))
    with pytest.raises(RecordError, match="edited by hand"):
        run(_cfg(), progress=False)


def test_find_records_skips_bad_files_and_names_them(store):
    folder = store / "unit"
    good = [_fake_record(folder, {"seed": s}) for s in range(2)]
    torn = folder / "torn.json"
    torn.write_text('{"schema": 1, "key": ')
    edited = _fake_record(folder, {"seed": 9})
    edited.write_text(edited.read_text().replace('"seed": 9', '"seed": 8'))
    with pytest.warns(store_mod.RecordWarning) as caught:
        found = find_records("unit")
    assert found == [read_record(p) for p in sorted(good)]
    edited_at, torn_at = re.escape(str(edited)), re.escape(str(torn))
    expected = [
        rf"skipped a record: .*{edited_at} was edited by hand.*`git checkout",
        rf"skipped a record: cannot read record {torn_at}: .*not valid JSON.*delete it",
    ]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    for pattern in expected:
        assert any(re.search(pattern, m) for m in messages), (pattern, messages)


RUN_EXPERIMENTS = ("adversarial", "convmixer", "resnet", "unshuffle")


@pytest.mark.parametrize("experiment", RUN_EXPERIMENTS)
def test_every_committed_record_passes_the_checks(experiment):
    folder = Path(__file__).resolve().parents[1] / "results" / experiment
    paths = sorted(folder.glob("*.json"))
    assert paths, f"no committed records in {folder}"
    for path in paths:
        assert read_record(path)["key"] == path.stem
