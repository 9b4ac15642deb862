"""torch.compile for training steps: same training as eager, and a graceful eager fallback."""

import shutil

import pytest
import torch

from spatialmix import ModelConfig, accel, build_model, depthwise
from spatialmix.data import Loader
from spatialmix.train import TrainConfig, train

CFG = TrainConfig(epochs=2, optimizer="adamw", lr=0.01, schedule="onecycle", warmup=0.3)


def _mixer():
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="convmixer", width=8, depth=1, kernel_size=4,
                                    patch_size=2, regime="chans"))  # fmt: skip
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (32, 3, 8, 8), generator=g, dtype=torch.uint8)
    y = torch.arange(32) % 10
    return model, Loader(x, y, 16, train=True, augment="crop_flip", seed=0)


def _trained(compile: bool) -> tuple[dict, dict]:
    model, loader = _mixer()
    out = train(model, loader, CFG, progress=False, compile=compile)
    return out, model.state_dict()


@pytest.mark.parametrize(
    ("env", "arch", "steps", "expected"),
    [("auto", "convmixer", 10_000, None), ("auto", "convmixer", 10, False),
     ("auto", "sep_resnet", 10_000, False), ("1", "sep_resnet", 1, True),
     ("0", "unshuffle", 10_000, False)],
)  # fmt: skip
def test_want_compile_follows_the_environment(monkeypatch, env, arch, steps, expected):
    """None: compiled only where the native kernel is missing (loaded here, not at collection)."""
    monkeypatch.setenv(accel.COMPILE_ENV, env)
    expected = not depthwise.load() if expected is None else expected
    assert accel.want_compile(arch, steps) is expected


def test_want_compile_rejects_a_typo(monkeypatch):
    monkeypatch.setenv(accel.COMPILE_ENV, "yes please")
    with pytest.raises(ValueError, match="SPATIALMIX_COMPILE"):
        accel.want_compile("convmixer", 1)


def test_a_compile_failure_falls_back_to_exactly_the_eager_run(monkeypatch):
    eager, eager_state = _trained(compile=False)

    def broken_compile(model):  # runs the model (moving BatchNorm statistics), then fails
        def call(x):
            model(x)
            raise RuntimeError("no C++ compiler")

        return call

    monkeypatch.setattr(accel.torch, "compile", broken_compile)
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler"):
        out, state = _trained(compile=True)
    assert out["compiled"] is False and eager["compiled"] is False
    assert out["history"] == eager["history"]
    for name, value in eager_state.items():
        assert torch.equal(state[name], value), name


def test_compile_raising_at_construction_also_falls_back(monkeypatch):
    def refuses(model):
        raise RuntimeError("unsupported platform")

    monkeypatch.setattr(accel.torch, "compile", refuses)
    with pytest.warns(RuntimeWarning, match="unsupported platform"):
        out, _ = _trained(compile=True)
    assert out["completed"] and out["compiled"] is False


@pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                    reason="torch.compile on CPU needs a C++ compiler")  # fmt: skip
def test_compiled_training_matches_eager_within_rounding():
    eager, eager_state = _trained(compile=False)
    out, state = _trained(compile=True)
    assert out["compiled"] is True, "compiling fell back to eager on a machine with a compiler"
    for a, b in zip(out["history"], eager["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
    for name, value in eager_state.items():
        torch.testing.assert_close(state[name].float(), value.float(), rtol=1e-4, atol=1e-5,
                                   msg=name)  # fmt: skip
