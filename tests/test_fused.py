"""GELU then BatchNorm fused (fused.gelu_norm) equals norm(gelu(y)) [+ residual] in PyTorch, and
BatchNorm then ReLU (fused.norm_relu) relu(norm(x)): output, every gradient and the running
statistics, to float rounding; elsewhere they fall back."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spatialmix import depthwise, fused

pytestmark = pytest.mark.skipif(not depthwise.load(), reason="the native kernel did not build")


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    """Run the test at 1 and at 2 threads, restoring the setting after."""
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


def _assert_matches(out, expected, ours, ref, inputs, ref_inputs, g):
    """out equals expected, and so do the gradients of inputs and the norm's weight and bias
    (ours vs ref) and the norms' running statistics, within 1e-5 relative."""
    assert rel(out, expected) < 1e-5
    got = torch.autograd.grad(out, [*inputs, ours.weight, ours.bias], g)
    want = torch.autograd.grad(expected, [*ref_inputs, ref.weight, ref.bias], g)
    assert all(rel(a, b) < 1e-5 for a, b in zip(got, want, strict=True))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert rel(getattr(ours, name).float(), getattr(ref, name).float()) < 1e-5, name


def _norm(c, seed=0):
    torch.manual_seed(seed)
    bn = nn.BatchNorm2d(c)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.normal_()
    bn.running_mean.normal_()
    return bn


@pytest.mark.parametrize(
    ("shape", "residual"),
    [((4, 32, 5, 7), True), ((2, 16, 3, 3), False), ((8, 128, 8, 8), True), ((1, 48, 2, 1), False)],
)
def test_output_gradients_and_running_statistics_match_pytorch(shape, residual, threads):
    ours, ref = _norm(shape[1]), _norm(shape[1])
    gen = torch.Generator().manual_seed(1)
    y = (2 * torch.randn(shape, generator=gen)).contiguous(memory_format=torch.channels_last)
    r = torch.randn(shape, generator=gen) if residual else None
    g = torch.randn(shape, generator=gen)
    inputs = [t.clone().requires_grad_() for t in ([y, r] if residual else [y])]
    ref_inputs = [t.clone().requires_grad_() for t in inputs]
    assert fused.fusable(inputs[0], nn.GELU(), ours)
    out = fused.gelu_norm(inputs[0], nn.GELU(), ours, *inputs[1:])
    expected = ref(F.gelu(ref_inputs[0]))
    expected = expected + ref_inputs[1] if residual else expected
    _assert_matches(out, expected, ours, ref, inputs, ref_inputs, g)


def test_falls_back_where_it_does_not_apply():
    bn = _norm(16)
    y = torch.randn(2, 16, 4, 4)
    assert not fused.fusable(y, nn.GELU(approximate="tanh"), bn)
    assert not fused.fusable(torch.randn(2, 12, 4, 4), nn.GELU(), _norm(12))  # 12 channels
    assert not fused.fusable(y.double(), nn.GELU(), copy.deepcopy(bn).double())
    assert not fused.fusable(torch.randn(1, 16, 1, 1), nn.GELU(), bn)  # one value per channel
    with depthwise.native_disabled():
        assert not fused.fusable(y, nn.GELU(), bn)
    bn.eval()
    assert not fused.fusable(y, nn.GELU(), bn)
    ref = copy.deepcopy(bn)
    assert torch.equal(fused.gelu_norm(y, nn.GELU(), bn, y), y + ref(F.gelu(y)))


@pytest.mark.parametrize("shape", [(4, 32, 5, 7), (2, 16, 3, 3), (8, 64, 8, 8), (1, 48, 2, 1)])
def test_norm_relu_matches_pytorch(shape, threads):
    ours, ref = _norm(shape[1]), _norm(shape[1])
    gen = torch.Generator().manual_seed(2)
    x = (torch.randn(shape, generator=gen) + 0.3).contiguous(memory_format=torch.channels_last)
    g = torch.randn(shape, generator=gen)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = fused.norm_relu(xa, ours, nn.ReLU(inplace=True))
    expected = F.relu(ref(xb))
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out > 0, expected > 0)  # the same units pass the ReLU
    _assert_matches(out, expected, ours, ref, [xa], [xb], g)


def test_norm_relu_runs_the_modules_where_it_does_not_fuse():
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(fused.norm_relu(x, nn.Identity(), nn.Identity()), x)  # convs_only
    assert torch.equal(fused.norm_relu(x, nn.Identity(), nn.ReLU()), F.relu(x))
    assert torch.equal(fused.gelu_norm(x, nn.GELU(), nn.Identity(), x), x + F.gelu(x))
    bn = _norm(16).eval()
    assert torch.equal(fused.norm_relu(x, bn, nn.ReLU()), F.relu(copy.deepcopy(bn)(x)))
    bn12 = _norm(12)
    x12 = torch.randn(2, 12, 4, 4)
    assert torch.equal(fused.norm_relu(x12, bn12, nn.ReLU()), F.relu(_norm(12)(x12)))
