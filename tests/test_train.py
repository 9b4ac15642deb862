import pytest
import torch

from spatialmix import ModelConfig, build_model
from spatialmix.data import Loader
from spatialmix.train import TrainConfig, lr_at, make_optimizer, train


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "step"])
def test_schedules_start_low_peak_at_lr_and_end_low(schedule):
    cfg = TrainConfig(lr=0.1, schedule=schedule, warmup=0.2)
    lrs = [lr_at(s, 100, cfg) for s in range(101)]
    assert max(lrs) == pytest.approx(0.1)
    assert lrs[-1] < 0.01
    if schedule != "step":
        assert lrs[0] == 0.0


def test_optimizer_sees_only_trainable_parameters():
    model = build_model(ModelConfig(width=8, depth=1, regime="chans"))
    opt = make_optimizer(model, TrainConfig(optimizer="adamw", weight_decay=0.5))
    seen = {id(p) for g in opt.param_groups for p in g["params"]}
    assert seen == {id(p) for p in model.parameters() if p.requires_grad}
    assert len(seen) < len(list(model.parameters()))


def test_bad_train_config_is_rejected():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="exp")


def _toy(seed=0):
    torch.manual_seed(seed)
    model = build_model(ModelConfig(width=8, depth=1, kernel_size=3), num_classes=2,
                        in_channels=1)  # fmt: skip
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (64, 1, 8, 8), generator=g, dtype=torch.uint8)
    y = (x.float().mean((1, 2, 3)) > 127).long()
    return model, Loader(x, y, 16, train=True, augment="crop", seed=seed)


def test_training_lowers_the_loss_and_reports_throughput(caplog):
    model, loader = _toy()
    cfg = TrainConfig(epochs=6, optimizer="adamw", lr=0.01, schedule="onecycle", warmup=0.3)
    with caplog.at_level("INFO", logger="spatialmix.train"):
        out = train(model, loader, cfg, progress=False)
    lines = [r.getMessage() for r in caplog.records]  # a line per epoch, for the queue's log
    assert len(lines) == 6 and lines[-1].startswith("epoch 6/6: train_loss ")
    assert out["load_mean"] is None or out["load_mean"] >= 0  # None where the OS does not say
    assert out["completed"] and out["step"] == 24
    assert out["history"][-1]["train_loss"] < out["history"][0]["train_loss"]
    assert out["img_per_s"] > 0


def test_kill_and_resume_equals_uninterrupted(tmp_path):
    cfg = TrainConfig(epochs=3, optimizer="sgd", lr=0.05)
    model_a, loader = _toy()
    ref = train(model_a, loader, cfg, progress=False)
    model_b, loader = _toy()
    ckpt = tmp_path / "run.pt"
    part = train(model_b, loader, cfg, checkpoint=ckpt, checkpoint_every=2, max_steps=6,
                 progress=False)  # fmt: skip
    assert not part["completed"] and ckpt.exists()
    model_c, loader = _toy(seed=0)
    torch.manual_seed(123)  # the resumed run must not depend on the global RNG
    done = train(model_c, loader, cfg, checkpoint=ckpt, progress=False)
    assert done["completed"] and done["history"] == ref["history"]
    for (name, a), b in zip(model_a.state_dict().items(), model_c.state_dict().values(),
                            strict=True):  # fmt: skip
        assert torch.equal(a, b), name


def test_adversarial_training_runs():
    model, loader = _toy()
    cfg = TrainConfig(epochs=1, optimizer="adamw", lr=0.01, adv_eps=1 / 255)
    assert train(model, loader, cfg, progress=False)["completed"]
