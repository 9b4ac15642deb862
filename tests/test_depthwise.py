"""The native depthwise convolution computes PyTorch's function, and training with it matches.

Compared with F.conv2d(..., groups=C) on "same"-padded input: outputs and both gradients within
1e-5 relative in fp32, over a sweep of shapes (odd widths, even and odd k, images narrower than
one tile) with 1 and 2 threads. A failed build falls back to PyTorch's kernel with one warning.
"""

import contextlib
import subprocess
import sys
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


def _train(cfg, native, steps=3):
    with depthwise.native_disabled() if not native else contextlib.nullcontext():
        torch.manual_seed(0)
        model = build_model(cfg, 10, 3)  # 3 channels: a 1-channel stem is scale-free under BN
        model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
        gen = torch.Generator().manual_seed(1)
        for _ in range(steps):
            x = torch.rand(8, 3, 12, 12, generator=gen).contiguous(
                memory_format=torch.channels_last
            )
            out = model(x)
            loss = F.mse_loss(out, x) if cfg.arch == "unshuffle" else out.logsumexp(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [t.detach().clone().float() for t in [*model.parameters(), *model.buffers()]]


@pytest.mark.parametrize("regime", ["full", "chans", "space"])
@pytest.mark.parametrize("arch", ["convmixer", "unshuffle", "sep_resnet"])
def test_training_with_the_native_kernels_matches_eager_pytorch(arch, regime):
    extra = {"patch_size": 1} if arch == "convmixer" else {}
    extra = {"multiplier": 2} if arch == "sep_resnet" else extra  # its BN + ReLU fused
    cfg = ModelConfig(arch=arch, regime=regime, depth=2, width=16, kernel_size=5, **extra)
    native, plain = _train(cfg, True), _train(cfg, False)
    # biases ahead of a BatchNorm get ~0 gradient and stay near 1e-5: compared in absolute terms
    assert all(
        torch.allclose(a, b, rtol=1e-4, atol=1e-7) for a, b in zip(native, plain, strict=True)
    )


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


def test_native_disabled_runs_pytorchs_kernel_inside_the_block_only(monkeypatch):
    def native_called(*args):
        raise AssertionError("the native kernel ran")

    monkeypatch.setattr(depthwise, "spatial_mix", native_called)
    conv = SpatialConv(8, 5)
    x = torch.randn(2, 8, 6, 6).contiguous(memory_format=torch.channels_last)
    assert depthwise.applies(x, conv.weight, 1, 1)
    with depthwise.native_disabled():
        assert not depthwise.applies(x, conv.weight, 1, 1)
        with depthwise.native_disabled():  # nested: the outer block still holds after it
            pass
        y = conv(x)  # PyTorch's kernel: the patched native path would raise
        assert rel(y, crop_same(nn.Conv2d.forward(conv, x), conv.crop)) < 1e-6
    with pytest.raises(AssertionError, match="native kernel ran"):
        conv(x)
    with pytest.raises(KeyError), depthwise.native_disabled():  # an error inside still restores
        raise KeyError
    assert depthwise.applies(x, conv.weight, 1, 1)


def test_loading_the_kernel_writes_nothing_to_stderr():
    """A chapter cell that trains a mixer shows stderr; nbval fails on it (torch's cpp_extension
    logs 'No CUDA runtime is found' on import on machines without CUDA)."""
    code = "from spatialmix import depthwise; assert depthwise.load()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, check=True)  # fmt: skip
    assert done.stderr == ""


def test_provenance_names_the_kernel_that_runs():
    from spatialmix import ModelConfig, build_model
    from spatialmix.layers import spatial_kernel

    model = build_model(ModelConfig(arch="convmixer", width=16, depth=1, kernel_size=3))
    cpu = torch.device("cpu")
    with depthwise.native_disabled():
        assert depthwise.kernel_name() == "torch" and spatial_kernel(model, cpu) == "torch"
    expected = "native" if depthwise.load() else "torch"
    assert depthwise.kernel_name() == expected and spatial_kernel(model, cpu) == expected
