"""The native depthwise convolution computes PyTorch's function, and training with it matches.

Compared with F.conv2d(..., groups=C) on "same"-padded input: outputs and both gradients within
1e-5 relative in fp32, over a sweep of shapes (odd widths, even and odd k, images narrower than
one tile) with 1 and 2 threads. A failed build falls back to PyTorch's kernel with one warning.
"""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spatialmix import accel, depthwise
from spatialmix.layers import SpatialConv, crop_same, spatial_kernel
from spatialmix.models import ModelConfig, build_model

pytestmark = pytest.mark.skipif(not depthwise.load(), reason="the native kernel did not build")

# (N, C, H, W, k): ConvMixer's and the un-shuffler's shapes scaled down, and odd ones
SHAPES = [
    (2, 32, 8, 8, 8),
    (3, 5, 7, 9, 8),
    (2, 17, 5, 6, 4),
    (1, 32, 1, 1, 5),
    (2, 48, 9, 9, 7),
    (2, 3, 3, 3, 9),
    (2, 16, 6, 6, 1),
    (4, 16, 12, 11, 2),
    (2, 64, 10, 10, 3),
]


def reference(x, w, b):
    k = w.shape[-1]
    before = (k - 1) // 2
    return F.conv2d(F.pad(x, (before, k - 1 - before) * 2), w, b, groups=x.shape[1])


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_function_and_both_gradients_match_pytorch(shape, threads):
    n, c, h, w_, k = shape
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(sum(shape))
        for layout in (torch.channels_last, torch.contiguous_format):
            x = torch.randn(n, c, h, w_).contiguous(memory_format=layout)
            w, b, g = torch.randn(c, 1, k, k), torch.randn(c), torch.randn(n, c, h, w_)
            ours = [t.clone().requires_grad_() for t in (x, w, b)]
            ref = [t.clone().requires_grad_() for t in (x, w, b)]
            y = depthwise.spatial_mix(*ours)
            y_ref = reference(*ref)
            assert y.shape == y_ref.shape and rel(y, y_ref) < 1e-5
            for a, r in zip(
                torch.autograd.grad(y, ours, g), torch.autograd.grad(y_ref, ref, g), strict=True
            ):
                assert rel(a, r) < 1e-5
    finally:
        torch.set_num_threads(before)


def test_spatial_conv_runs_native_and_computes_the_same_function():
    conv = SpatialConv(16, 8, bias=True)
    x = torch.randn(2, 16, 10, 10).contiguous(memory_format=torch.channels_last)
    torch_path = crop_same(nn.Conv2d.forward(conv, x), conv.crop)
    assert rel(conv(x), torch_path) < 1e-5
    assert spatial_kernel(conv, torch.device("cpu")) == "native"
    folded = build_model(ModelConfig(arch="sep_resnet", regime="full", depth=1, width=8), 10, 3)
    assert spatial_kernel(folded, torch.device("cpu")) is None  # one dense conv, no depthwise op


def _train(cfg, native, monkeypatch, steps=3):
    with monkeypatch.context() as m:
        if not native:
            m.setattr(depthwise, "applies", lambda *a: False)
        torch.manual_seed(0)
        model = build_model(cfg, 10 if cfg.arch != "unshuffle" else 1, 1)
        model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
        gen = torch.Generator().manual_seed(1)
        for _ in range(steps):
            x = torch.rand(8, 1, 12, 12, generator=gen).contiguous(
                memory_format=torch.channels_last
            )
            out = model(x)
            loss = F.mse_loss(out, x) if cfg.arch == "unshuffle" else out.logsumexp(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("regime", ["full", "chans", "space"])
@pytest.mark.parametrize("arch", ["convmixer", "unshuffle"])
def test_training_with_the_native_kernel_matches_eager_pytorch(arch, regime, monkeypatch):
    extra = {"patch_size": 1} if arch == "convmixer" else {}
    cfg = ModelConfig(arch=arch, regime=regime, depth=2, width=16, kernel_size=5, **extra)
    native, plain = _train(cfg, True, monkeypatch), _train(cfg, False, monkeypatch)
    assert max(rel(a, b) for a, b in zip(native, plain, strict=True)) < 1e-4


def test_a_failed_build_falls_back_to_pytorch_with_one_warning(monkeypatch):
    from torch.utils import cpp_extension

    def broken(**kwargs):
        raise RuntimeError("no compiler")

    monkeypatch.setattr(cpp_extension, "load", broken)
    monkeypatch.setattr(depthwise, "_LOADED", [False])
    depthwise.load.cache_clear()
    try:
        with pytest.warns(UserWarning, match="PyTorch's kernel"):
            assert depthwise.load() is False
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert depthwise.load() is False  # cached: warned once
        x = torch.randn(1, 4, 5, 5)
        assert not depthwise.applies(x, torch.randn(4, 1, 3, 3), 1, 1)
        monkeypatch.setenv(depthwise.ENV, "native")
        depthwise.load.cache_clear()
        with pytest.raises(RuntimeError, match="no compiler"):
            depthwise.load()
    finally:
        depthwise.load.cache_clear()


def test_the_setting_turns_it_off_and_rejects_typos(monkeypatch):
    monkeypatch.setenv(depthwise.ENV, "torch")
    depthwise.load.cache_clear()
    try:
        assert depthwise.load() is False
        monkeypatch.setenv(depthwise.ENV, "fast")
        with pytest.raises(ValueError, match="valid values"):
            depthwise.choice()
    finally:
        monkeypatch.delenv(depthwise.ENV)
        depthwise.load.cache_clear()
    assert depthwise.load() is True


def test_mixers_train_eagerly_on_the_cpu_with_the_native_kernel(monkeypatch):
    monkeypatch.delenv(accel.COMPILE_ENV, raising=False)
    assert not accel.want_compile("convmixer", 10**6, "cpu")
    assert accel.want_compile("convmixer", 10**6, "cuda")
    assert not accel.want_compile("sep_resnet", 10**6, "cuda")


def test_torch_compile_traces_the_native_op_without_a_graph_break():
    conv = SpatialConv(16, 8, bias=True)
    x = torch.randn(2, 16, 6, 6, requires_grad=True)
    depthwise.load()
    assert torch._dynamo.explain(conv)(x.detach()).graph_break_count == 0
    step = accel.CompiledStep(conv)  # loads the kernel before tracing
    out, _ = step.step(x, lambda y: y.square().mean())
    assert step.active, "compiling the native op failed"
    grad = x.grad.clone()
    x.grad = None
    ref = crop_same(nn.Conv2d.forward(conv, x), conv.crop)
    ref.square().mean().backward()
    assert rel(out, ref) < 1e-5 and rel(grad, x.grad) < 1e-5
