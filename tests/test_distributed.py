"""Data-parallel training (distributed.py): two gloo processes under torchrun against one process.

Tolerances, measured on 8 seeds of the smoke run below (4 steps of a global batch of 64): the
records' train loss differed by at most 1.4e-3, the test loss by 1.2e-4 and the test accuracy
not at all. The difference is BatchNorm's: on the CPU each rank normalises by its own 32 images
(torch's SyncBatchNorm is CUDA-only). Without BatchNorm, DDP reproduces the single-process
weights to float rounding (the toy model, below 1e-6).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from spatialmix import ModelConfig, distributed
from spatialmix.data import Loader
from spatialmix.results import RunConfig, find_records, record_path, run, weights_path
from spatialmix.train import TrainConfig, train

TINY = ModelConfig(arch="sep_resnet", width=4, depth=1, multiplier=2)
CFG = RunConfig("unit", TINY, "mnist", "smoke", seed=1)
TRAIN_LOSS_TOL, TEST_LOSS_TOL, TEST_ACC_TOL = 5e-3, 1e-3, 2 / 128  # ≈ 4×, 8× the measured; 2 images

CHILD = """
import sys
sys.path.insert(0, sys.argv[2])
import torch
from spatialmix import distributed, queue
from spatialmix.results import RunInterrupted, run
from test_distributed import CFG, toy_run

distributed.init("cpu")
try:  # stopped after 2 of its 4 steps: the queue below resumes it on both ranks
    run(CFG, progress=False, max_steps=2)
except RunInterrupted:
    pass
else:
    sys.exit("max_steps did not stop the run")
queue.run_queue([CFG], require_clean=False)
weights = toy_run()
if distributed.is_main():
    torch.save(weights, sys.argv[1])
"""


def toy_run() -> dict:
    """Train a model without BatchNorm on random images for 2 epochs of 8 steps: its weights,
    and the size of every batch its forward saw (this rank's share under DDP)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (128, 1, 8, 8), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, 10, (128,), generator=gen)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 8 * 8, 10))  # fmt: skip
    sizes = []
    model.register_forward_pre_hook(lambda _, args: sizes.append(len(args[0])))
    loader = Loader(x, y, 16, train=True, augment="crop_flip", seed=3)
    train(model, loader, TrainConfig(epochs=2, batch_size=16, lr=0.05), progress=False)
    return {"sizes": sizes, **{k: v.detach().clone() for k, v in model.state_dict().items()}}


def test_rank_slices_make_up_the_single_process_batch():
    x = torch.randint(0, 256, (48, 3, 16, 16), dtype=torch.uint8)
    whole = Loader(x, torch.arange(48), 8, train=True, augment="crop_flip_randaugment", seed=2)
    for world in (2, 4):
        ranks = [whole.shard(r, world) for r in range(world)]
        assert all(len(r) == len(whole) for r in ranks)  # every rank counts global steps
        for epoch, start in ((0, 0), (1, 2)):
            parts = zip(*(r.epoch(epoch, start) for r in ranks), strict=True)
            for (xb, yb), part in zip(whole.epoch(epoch, start), parts, strict=True):
                assert all(len(p[0]) == 8 // world for p in part)
                assert torch.equal(torch.cat([p[0] for p in part]), xb)
                assert torch.equal(torch.cat([p[1] for p in part]), yb)


def test_a_batch_that_does_not_split_over_the_ranks_is_refused():
    x, y = torch.zeros(16, 1, 4, 4, dtype=torch.uint8), torch.zeros(16)
    with pytest.raises(ValueError, match="multiple of 4"):
        Loader(x, y, 6, train=True).shard(1, 4)
    with pytest.raises(ValueError, match="only training loaders"):
        Loader(x, y, 8).shard(0, 2)


def test_a_single_process_has_no_process_group():
    model = nn.Linear(2, 2)
    assert distributed.init("cpu") == "cpu" and distributed.world_size() == 1
    assert distributed.is_main() and distributed.info() is None
    assert distributed.wrap(model) is model and distributed.broadcast("x") == "x"
    assert distributed.all_sum([1.5, 2]) == [1.5, 2]


def test_two_gloo_processes_match_one(mnist_dir, store, tmp_path, monkeypatch):
    """torchrun, 2 CPU processes (gloo), global batch 64: the record of a resumed DDP run is
    the single-process record to the tolerances above; rank 1 writes nothing."""
    ddp_store, child = tmp_path / "ddp", tmp_path / "child.py"
    child.write_text(CHILD)
    env = {**os.environ, "SPATIALMIX_RESULTS": str(ddp_store), "SPATIALMIX_DATA": str(mnist_dir),
           "SPATIALMIX_THREADS": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(child), str(tmp_path / "toy.pt"), str(Path(__file__).parent)]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    one = run(CFG, device="cpu", progress=False)  # the same run in this one process
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(ddp_store))
    (two,) = find_records("unit")
    assert two.key == one.key and record_path(CFG)[0].exists()  # the world size is no key
    assert two.provenance["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert "distributed" not in one.provenance
    assert weights_path(two.spec).exists() and not list(ddp_store.rglob("*.tmp"))
    assert len(two.history) == len(one.history) == 1
    for a, b in zip(one.history, two.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=TRAIN_LOSS_TOL)
        assert a["test_acc"] == pytest.approx(b["test_acc"], abs=TEST_ACC_TOL)
    assert one.clean["test_loss"] == pytest.approx(two.clean["test_loss"], abs=TEST_LOSS_TOL)
    assert one.clean["test_acc"] == pytest.approx(two.clean["test_acc"], abs=TEST_ACC_TOL)

    ddp, single = torch.load(tmp_path / "toy.pt"), toy_run()
    assert ddp.pop("sizes") == [8] * 16 and single.pop("sizes") == [16] * 16
    for name, value in single.items():
        torch.testing.assert_close(ddp[name], value, rtol=1e-6, atol=1e-6, msg=name)
