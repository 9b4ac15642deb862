"""The store under trouble: a full disk, two processes asking for one record, a killed run."""

import dataclasses
import errno
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

from spatialmix import ModelConfig
from spatialmix import results as store_mod
from spatialmix import store as disk
from spatialmix.results import (
    MissingRecordError,
    RunConfig,
    lock_path,
    read_record,
    record_lock,
    record_path,
    run,
    write_atomically,
)
from spatialmix.train import save_atomically

SMALL = {"sep_resnet": ModelConfig(arch="sep_resnet", width=8, depth=1, multiplier=2),
         "convmixer": ModelConfig(arch="convmixer", width=8, depth=1, kernel_size=3),
         "unshuffle": ModelConfig(arch="unshuffle", width=8, depth=1, kernel_size=3)}  # fmt: skip
STEPS_PER_EPOCH = 4  # smoke scale: 256 training images in batches of 64


def _cfg(arch: str = "convmixer", epochs: int = 1) -> RunConfig:
    return RunConfig("unit", SMALL[arch], dataset="mnist", scale="smoke",
                     overrides={"epochs": epochs, "n_test": 64, "n_attack": 0})  # fmt: skip


def _disk_full(*args: object) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), *args)


def _tmp_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# --- a full disk -------------------------------------------------------------------------------


def test_disk_full_while_writing_a_record_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "rec.json"
    write_atomically(path, {"old": 1})
    before = path.read_text()

    def half_then_full(self: Path, text: str, *args: object, **kwargs: object) -> int:
        with open(self, "w") as f:
            f.write(text[: len(text) // 2])
        raise _disk_full(str(self))

    monkeypatch.setattr(Path, "write_text", half_then_full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        write_atomically(path, {"new": list(range(1000))})
    monkeypatch.undo()
    assert caught.value.errno == errno.ENOSPC
    assert path.read_text() == before
    assert _tmp_files(tmp_path) == []


def test_disk_full_while_checkpointing_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    save_atomically({"step": 4, "w": torch.ones(3)}, path)
    real_save = torch.save

    def half_then_full(obj: object, f: Path) -> None:
        buffer = io.BytesIO()
        real_save(obj, buffer)
        Path(f).write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise _disk_full(str(f))

    monkeypatch.setattr(torch, "save", half_then_full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        save_atomically({"step": 8, "w": torch.zeros(1000)}, path)
    monkeypatch.undo()
    assert caught.value.errno == errno.ENOSPC
    kept = torch.load(path)
    assert kept["step"] == 4 and torch.equal(kept["w"], torch.ones(3))
    assert _tmp_files(tmp_path) == []


# --- other processes: a child runs run(cfg) with a traced train_and_evaluate ---------------------

CHILD = """
import json, os, sys, time
from pathlib import Path
import torch

spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["threads"])
from spatialmix import ModelConfig
from spatialmix import results as store
train_module = sys.modules["spatialmix.train"]

real_train, real_lr = store.train_and_evaluate, train_module.lr_at

def traced(*args, **kwargs):
    with open(spec["marker"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    deadline = time.monotonic() + 60
    while spec["go"] and not os.path.exists(spec["go"]):
        if time.monotonic() > deadline:
            sys.exit("never told to go on")
        time.sleep(0.02)
    return real_train(*args, **kwargs)

def slow_lr(*args):
    time.sleep(spec["step_sleep"])
    return real_lr(*args)

store.train_and_evaluate = traced
train_module.lr_at = slow_lr
cfg = store.RunConfig("unit", ModelConfig(**spec["model"]), "mnist", "smoke",
                      overrides=spec["overrides"])
record = store.run(cfg, progress=False)
Path(spec["out"]).write_text(json.dumps(record.to_json()))
"""


def _spawn(tmp_path: Path, name: str, cfg: RunConfig, go: Path | None = None,
           step_sleep: float = 0.0) -> subprocess.Popen:  # fmt: skip
    """Start a process that runs cfg through the store (env: the test's store and data)."""
    spec = {"model": dataclasses.asdict(cfg.model), "overrides": dict(cfg.overrides),
            "threads": torch.get_num_threads(), "marker": str(tmp_path / "trained"),
            "go": str(go) if go else None, "step_sleep": step_sleep,
            "out": str(tmp_path / f"{name}.json")}  # fmt: skip
    with open(tmp_path / f"{name}.log", "w") as log:
        return subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(spec)],
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def _wait_for(condition, what: str, children: list, timeout: float = 60) -> None:
    """Poll condition() until true; fail early, with the children's logs, if one of them died."""
    deadline = time.monotonic() + timeout
    while not condition():
        dead = [c for c in children if c.poll() is not None]
        assert not dead and time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def _trainers(tmp_path: Path) -> list[str]:
    marker = tmp_path / "trained"
    return marker.read_text().split() if marker.exists() else []


def _log(tmp_path: Path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text()


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        child.kill()
        child.wait()


def test_two_processes_asking_for_one_record_train_it_once(mnist_dir, store, tmp_path):
    cfg = _cfg("sep_resnet")
    path, _ = record_path(cfg)
    go = tmp_path / "go"
    children = [_spawn(tmp_path, name, cfg, go) for name in ("a", "b")]
    try:  # the first to train waits for `go` until the other is either waiting or training too
        _wait_for(lambda: _trainers(tmp_path), "a process to start training", children)

        def second_waits_or_trains() -> bool:
            waiting = any("waiting for another" in _log(tmp_path, n) for n in "ab")
            return waiting or len(_trainers(tmp_path)) > 1

        _wait_for(second_waits_or_trains, "the second process", children)
        go.touch()
        assert [c.wait(timeout=120) for c in children] == [0, 0], _log(tmp_path, "a")
    finally:
        _stop(children)
    assert len(_trainers(tmp_path)) == 1, "both processes trained the record"
    logs = _log(tmp_path, "a") + _log(tmp_path, "b")
    lock = re.escape(str(lock_path(path)))
    assert re.search(rf"waiting for another process training this record \(lock {lock}\)", logs)
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert a == b == read_record(path).to_json()
    assert not _tmp_files(path.parent)


def test_a_killed_lock_holder_does_not_block_the_next_run(mnist_dir, store, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    cfg = _cfg("convmixer")
    path, _ = record_path(cfg)
    holder = _spawn(tmp_path, "holder", cfg, go=tmp_path / "never")
    try:
        _wait_for(lambda: _trainers(tmp_path), "the holder to take the lock", [holder])
        with open(lock_path(path)) as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the holder really holds it
        os.kill(holder.pid, signal.SIGKILL)
        assert holder.wait(timeout=30) == -signal.SIGKILL
    finally:
        _stop([holder])
    with open(lock_path(path)) as handle:  # free again (checked without blocking, never hangs)
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle, fcntl.LOCK_UN)
    record = run(cfg, progress=False)
    assert read_record(path) == record
    assert _trainers(tmp_path) == [str(holder.pid)]  # the holder never got to train


def test_read_only_and_stored_runs_take_no_lock(mnist_dir, store, monkeypatch):
    def no_lock(path: Path) -> None:
        raise AssertionError(f"took the lock for {path}")

    stored = run(_cfg("sep_resnet"), progress=False)
    monkeypatch.setattr(store_mod, "record_lock", no_lock)
    assert run(_cfg("sep_resnet"), progress=False) == stored
    monkeypatch.setenv("SPATIALMIX_READONLY", "1")
    with pytest.raises(MissingRecordError, match="read-only"):
        run(_cfg("convmixer"), progress=False)


def test_without_fcntl_runs_warn_once_and_go_on_unlocked(tmp_path, monkeypatch):
    monkeypatch.setattr(disk, "fcntl", None)
    disk._warn_no_lock.cache_clear()
    path = tmp_path / "unit" / "key.json"
    with pytest.warns(RuntimeWarning, match="no fcntl file locking: .* will both train it"):
        with record_lock(path):
            pass
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        with record_lock(path):
            pass
    assert again == []
    assert not lock_path(path).exists()
    disk._warn_no_lock.cache_clear()


# --- SIGKILL at a random step, then resume -------------------------------------------------------


@pytest.mark.parametrize("arch", ["sep_resnet", "convmixer", "unshuffle"])
def test_sigkill_at_a_random_step_resumes_to_the_uninterrupted_record(
    arch, mnist_dir, store, tmp_path, monkeypatch
):
    cfg = _cfg(arch, epochs=3)
    path, _ = record_path(cfg)
    ckpt = store / ".checkpoints" / "unit" / f"{path.stem}.pt"
    child = _spawn(tmp_path, "killed", cfg, step_sleep=0.05)
    delay = random.uniform(0.0, 0.3)  # after the first checkpoint (step 4 of 12)
    try:
        _wait_for(ckpt.exists, "the first checkpoint", [child])
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        _stop([child])
    assert not path.exists(), f"the run finished before the kill ({delay=:.2f} s)"
    step = torch.load(ckpt, weights_only=False)["step"]
    assert step % STEPS_PER_EPOCH == 0 and 0 < step <= 3 * STEPS_PER_EPOCH
    loaded, real_load = [], torch.load
    monkeypatch.setattr(torch, "load", lambda f, **kw: loaded.append(f) or real_load(f, **kw))
    resumed = run(cfg, progress=False)
    monkeypatch.setattr(torch, "load", real_load)
    assert loaded == [ckpt] and not ckpt.exists()  # resumed from it, and done with it
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "fresh"))
    fresh = run(cfg, progress=False)
    measured = [{k: e.metrics for k, e in r.evals.items()} for r in (resumed, fresh)]
    assert resumed.history == fresh.history, f"{delay=:.2f} s, checkpoint at step {step}"
    assert measured[0] == measured[1], f"{delay=:.2f} s, checkpoint at step {step}"
