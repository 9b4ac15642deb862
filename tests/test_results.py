import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

from spatialmix import ModelConfig, scoreboard
from spatialmix import results as store_mod
from spatialmix.datasets import load_dataset
from spatialmix.evaluation import Attacks, Clean
from spatialmix.experiments import gather
from spatialmix.migrate import from_schema_1, migrate_file
from spatialmix.records import RECORD_FIELDS, SCHEMA, DataSpec, Record, RunSpec
from spatialmix.results import (
    MissingRecordError,
    RecordError,
    RunConfig,
    RunInterrupted,
    find_records,
    frame,
    history_frame,
    read_record,
    record_path,
    run,
    weights_path,
)
from spatialmix.train import TrainConfig

TINY = {"sep_resnet": ModelConfig(arch="sep_resnet", width=4, depth=1, multiplier=2),
        "convmixer": ModelConfig(arch="convmixer", width=16, depth=1, kernel_size=5),
        "unshuffle": ModelConfig(arch="unshuffle", width=16, depth=1, kernel_size=5)}  # fmt: skip
SCHEMA_1 = Path(__file__).parent / "data" / "record_schema1_resnet.json"


def _cfg(arch="convmixer", **kw):
    return RunConfig("unit", TINY[arch], dataset="mnist", scale="smoke", **kw)


def test_same_config_same_key_changed_field_new_key(mnist_dir, store):
    data = load_dataset("mnist")
    a = _cfg().spec(data).key
    assert a == _cfg().spec(data).key
    assert a != _cfg(seed=1).spec(data).key
    other = dataclasses.replace(
        _cfg(), model=dataclasses.replace(TINY["convmixer"], regime="chans")
    )
    assert a != other.spec(data).key
    forged = dataclasses.replace(data, fingerprint="0" * 64)
    assert a != _cfg().spec(forged).key
    relabelled = dataclasses.replace(data, source="mnist (somewhere else)")
    assert a != _cfg().spec(relabelled).key


def test_evaluation_settings_stay_out_of_the_training_key(mnist_dir):
    data = load_dataset("mnist")
    wide = _cfg(overrides={"attack_eps": (1 / 255, 8 / 255), "n_test": 64, "pgd_step": 1.0})
    assert wide.spec(data) == _cfg().spec(data)  # same weights, so same record
    assert wide.spec(data).scale == "smoke"  # measuring more is not a custom recipe
    narrow, widened = _cfg().evaluations(), wide.evaluations()
    assert {e.kind for e in narrow} == {e.kind for e in widened}
    assert not {e.key for e in narrow if e.kind != "spectra"} & {e.key for e in widened}


def test_overrides_make_the_scale_custom_unless_equal(mnist_dir):
    data = load_dataset("mnist")
    assert _cfg(overrides={"epochs": 2}).spec(data).scale == "custom"
    assert _cfg(overrides={"epochs": 1}).spec(data).scale == "smoke"
    paper = RunConfig("unit", TINY["convmixer"], dataset="mnist", scale="paper",
                      overrides={"n_train": 100})  # fmt: skip
    assert paper.spec(data).scale == "custom"


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


def _no_training(*a, **k):
    raise AssertionError("trained again although the record and its weights exist")


@pytest.mark.parametrize("arch", ["sep_resnet", "convmixer", "unshuffle"])
def test_smoke_run_stores_a_record_and_finds_it_again(arch, mnist_dir, store, monkeypatch):
    record = run(_cfg(arch), progress=False)
    assert isinstance(record, Record) and isinstance(record.spec, RunSpec)
    raw = json.loads(next(store.rglob("*.json")).read_text())
    assert set(raw) == set(RECORD_FIELDS) and raw["schema"] == SCHEMA
    assert record.spec.scale == "smoke" and record.spec.data.source.startswith("mnist")
    prov = record.provenance
    assert prov["threads"] >= 1 and prov["torch"] and prov["img_per_s"] > 0
    metric = "test_psnr" if arch == "unshuffle" else "test_acc"
    assert metric in record.clean and metric in record.history[-1]  # the per-epoch curve
    if arch != "unshuffle":
        assert set(record.attacks) == {"fgsm", "pgd2", "clean", "n"}
    assert weights_path(record.spec).exists()
    assert not list(store.rglob("*.json.*.tmp"))
    monkeypatch.setattr(store_mod, "train_and_evaluate", _no_training)
    assert run(_cfg(arch), progress=False) == record
    assert find_records("unit") == [record]


def test_widened_eps_list_is_measured_from_the_kept_weights(mnist_dir, store, monkeypatch):
    first = run(_cfg("sep_resnet"), progress=False)
    path, _ = record_path(_cfg("sep_resnet"))
    monkeypatch.setattr(store_mod, "train_and_evaluate", _no_training)
    wide = _cfg("sep_resnet", overrides={"attack_eps": (1 / 255, 2 / 255, 4 / 255, 8 / 255)})
    second = run(wide, progress=False)
    assert record_path(wide)[0] == path and second.key == first.key  # training key unchanged
    assert second.history == first.history and second.provenance == first.provenance
    assert set(first.evals) < set(second.evals)  # the old evaluations are kept beside the new
    assert "8/255" in second.attacks["fgsm"]
    assert read_record(path) == second
    assert run(_cfg("sep_resnet"), progress=False) == second  # the narrow list: nothing to do


def test_missing_weights_mean_training_again(mnist_dir, store, monkeypatch):
    first = run(_cfg("sep_resnet"), progress=False)
    weights_path(first.spec).unlink()
    trained = []
    real = store_mod.train_and_evaluate
    monkeypatch.setattr(store_mod, "train_and_evaluate",
                        lambda *a, **k: trained.append(1) or real(*a, **k))  # fmt: skip
    run(_cfg("sep_resnet", overrides={"attack_eps": (8 / 255,)}), progress=False)
    assert trained == [1]


def test_read_only_store_never_computes(mnist_dir, store, monkeypatch):
    run(_cfg("sep_resnet"), progress=False)
    monkeypatch.setenv("SPATIALMIX_READONLY", "1")
    with pytest.raises(MissingRecordError, match="read-only"):
        run(_cfg(), progress=False)
    wide = _cfg("sep_resnet", overrides={"attack_eps": (8 / 255,)})
    with pytest.raises(MissingRecordError, match=r"lacks evaluation\(s\) \['attacks-"):
        run(wide, progress=False)
    assert run(_cfg("sep_resnet"), progress=False)  # what is stored is still read


def test_a_partial_store_shows_what_it_holds_and_trains_nothing(mnist_dir, store, monkeypatch):
    stored = run(_cfg("sep_resnet"), progress=False)
    wide = _cfg("sep_resnet", overrides={"attack_eps": (8 / 255,)})  # lacks an evaluation
    monkeypatch.setenv("SPATIALMIX_READONLY", "partial")
    got = gather([_cfg("sep_resnet"), _cfg(), wide], ("full", "chans", "space"))
    assert got[0].key == stored.key and got[1:] == [None, None]
    with pytest.raises(MissingRecordError, match="read-only"):  # run() itself still refuses
        run(_cfg(), progress=False)
    assert scoreboard.store_verdicts("04_resnet", {}, {}) is None  # no verdicts written


def test_same_seed_gives_identical_metrics(mnist_dir, store, tmp_path, monkeypatch):
    first = run(_cfg(), progress=False)
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "second"))
    assert run(_cfg(), progress=False).clean == first.clean


def test_kill_and_resume_through_the_store(mnist_dir, store, tmp_path, monkeypatch):
    cfg = _cfg(overrides={"epochs": 2})
    with pytest.raises(RunInterrupted):
        run(cfg, progress=False, max_steps=3)
    assert not find_records("unit")
    resumed = run(cfg, progress=False)
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "fresh"))
    fresh = run(cfg, progress=False)
    assert resumed.clean == fresh.clean and resumed.history == fresh.history


def test_frame_is_long_form_with_every_config_field(mnist_dir, store):
    records = [run(_cfg("sep_resnet", seed=s), progress=False) for s in (0, 1)]
    df = frame([records[0], None, *records])  # missing runs are skipped, repeats count once
    acc = df[df["metric"] == "test_acc"]
    assert sorted(acc["seed"]) == [0, 1] and set(acc["regime"]) == {"full"}
    for column in ("dataset", "depth", "width", "bank", "epochs", "lr", "scale", "n_train"):
        assert column in df.columns
    fgsm = df[(df["metric"] == "fgsm") & (df["eps_label"] == "1/255")]
    assert len(fgsm) == 2 and (fgsm["eps"] == 1 / 255).all() and (fgsm["n"] > 0).all()
    assert set(df[df["metric"] == "coverage"]["layer"].dropna())
    assert frame([]).empty and "regime" in frame([]).columns
    curve = history_frame(records)
    assert set(curve["metric"]) == {"train_loss", "train_acc", "test_acc"}


def test_torn_and_old_records_raise(mnist_dir, store):
    path, _ = record_path(_cfg())
    path.parent.mkdir(parents=True)
    path.write_text('{"schema": 1, "key": ')
    fix = r"delete it to re-train, or restore it with `git checkout -- .*json`"
    torn = rf"cannot read record {re.escape(str(path))}: .*not valid JSON.*{fix}"
    with pytest.raises(RecordError, match=torn):
        run(_cfg(), progress=False)
    shutil.copy(SCHEMA_1, path)
    with pytest.raises(RecordError, match=r"schema 1, this code reads 2: migrate the store with"):
        read_record(path)
    path.write_text(json.dumps({f: {} for f in RECORD_FIELDS} | {"schema": 0}))
    with pytest.raises(RecordError, match="schema 0, this code reads 2"):
        read_record(path)


def _spec(seed=0, scale="cpu"):
    data = DataSpec("mnist", "mnist (test)", "f" * 64, 100)
    return RunSpec("unit", scale, "cpu", seed, TINY["sep_resnet"], data, TrainConfig())


def _fake_record(folder, spec, schema=SCHEMA):
    """Write a record for `spec` under its own key, as run() would; return its path."""
    record = Record(spec, [], {}, {Clean(10).key: store_mod.Evaluated(Clean(10), {"n": 10})})
    raw = {**record.to_json(), "schema": schema}
    path = folder / f"{record.key}.json"
    store_mod.write_atomically(path, raw)
    return path


def test_newer_schema_asks_to_update_the_code(tmp_path):
    path = _fake_record(tmp_path, _spec(), schema=SCHEMA + 1)
    newer = f"was written by a newer version of spatialmix (schema {SCHEMA + 1}, this code reads "
    with pytest.raises(RecordError, match=re.escape(f"{path} {newer}{SCHEMA}): update the code")):
        read_record(path)


def test_hand_edited_record_is_refused(tmp_path):
    path = _fake_record(tmp_path, _spec())
    assert read_record(path).spec.scale == "cpu"
    edited = json.loads(path.read_text())
    edited["config"]["scale"] = "paper"
    path.write_text(json.dumps(edited))
    at = re.escape(str(path))
    hand = rf"{at} was edited by hand: its config no longer matches its key"
    with pytest.raises(RecordError, match=rf"{hand}.*`git checkout -- {at}`.*delete it"):
        read_record(path)
    renamed = _fake_record(tmp_path, _spec(1)).rename(tmp_path / f"{'0' * 20}.json")
    with pytest.raises(RecordError, match=f"{re.escape(str(renamed))} was edited by hand"):
        read_record(renamed)
    evaluation = _fake_record(tmp_path, _spec(2))
    edited = json.loads(evaluation.read_text())
    next(iter(edited["evals"].values()))["settings"]["n_test"] = 99
    evaluation.write_text(json.dumps(edited))
    with pytest.raises(RecordError, match="evaluation clean-.* was edited by hand"):
        read_record(evaluation)


def test_run_refuses_its_own_hand_edited_record(mnist_dir, store):
    path, spec = record_path(_cfg())
    good = _fake_record(path.parent, spec)
    assert good == path
    edited = json.loads(path.read_text())
    edited["config"]["seed"] = 7
    path.write_text(json.dumps(edited))
    with pytest.raises(RecordError, match="edited by hand"):
        run(_cfg(), progress=False)


def test_find_records_skips_bad_files_and_names_them(store):
    folder = store / "unit"
    good = [_fake_record(folder, _spec(s)) for s in range(2)]
    torn = folder / "torn.json"
    torn.write_text('{"schema": 2, "key": ')
    edited = _fake_record(folder, _spec(9))
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


def test_schema_1_migrates_with_the_same_numbers(store):
    raw = json.loads(SCHEMA_1.read_text())
    path = store / "adversarial" / f"{raw['key']}.json"
    path.parent.mkdir(parents=True)
    shutil.copy(SCHEMA_1, path)
    new = migrate_file(path)
    assert not path.exists() and new.stem != raw["key"]
    record = read_record(new)
    assert record.clean["test_acc"] == raw["metrics"]["test_acc"]
    assert record.clean["n"] == raw["metrics"]["n_test"] == raw["config"]["data"]["n_test"]
    attacks = record.get(Attacks)
    assert attacks.spec.eps == tuple(raw["config"]["eval"]["attack_eps"])
    assert (
        attacks.spec.pgd_step == 0.5
        and attacks.metrics["fgsm"] == raw["metrics"]["attacks"]["fgsm"]
    )
    assert record.spec.train.adv_eps == raw["config"]["train"]["adv_eps"]
    assert record.history == raw["history"] and record.provenance == raw["provenance"]
    assert record.to_json() == from_schema_1(raw).to_json()


RUN_EXPERIMENTS = ("adversarial", "convmixer", "resnet", "unshuffle")


@pytest.mark.parametrize("experiment", RUN_EXPERIMENTS)
def test_every_committed_record_passes_the_checks(experiment):
    folder = Path(__file__).resolve().parents[1] / "results" / experiment
    paths = sorted(folder.glob("*.json"))
    assert paths, f"no committed records in {folder}"
    for path in paths:
        assert read_record(path).key == path.stem


def test_converged_scale_resolves_per_dataset_values_and_attacks_both_steps():
    from spatialmix import scales

    assert scales.preset("sep_resnet", "converged", "fashion_mnist")["epochs"] == (
        scales.EPOCHS_FASHION
    )
    assert scales.preset("sep_resnet", "converged", "cifar10")["epochs"] == scales.EPOCHS_CIFAR
    cfg = RunConfig("unit", TINY["sep_resnet"], dataset="cifar10", scale="converged")
    attacks = [e for e in cfg.evaluations() if isinstance(e, Attacks)]
    assert [a.pgd_step for a in attacks] == [1.0, 0.5] and attacks[0].n_attack == 2000
    assert next(e for e in cfg.evaluations() if isinstance(e, Clean)).n_test == 0  # all 10,000
