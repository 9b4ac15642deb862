import pytest
import torch
import torch.nn.functional as F

from spatialmix import SeparableConv2d, SpatialConv, fold_weight
from spatialmix.layers import Normalize, same_padding


def _pair(c_in, c_out, k, d, stride):
    torch.manual_seed(0)
    explicit = SeparableConv2d(c_in, c_out, k, d, stride, impl="explicit").double()
    folded = SeparableConv2d(c_in, c_out, k, d, stride, impl="folded").double()
    folded.load_state_dict(explicit.state_dict())
    return explicit, folded


@pytest.mark.parametrize("k", [1, 3, 5, 7])
@pytest.mark.parametrize("stride", [1, 2])
def test_explicit_and_folded_agree_on_outputs_and_gradients(k, stride):
    explicit, folded = _pair(4, 6, k, 9, stride)
    x = torch.randn(2, 4, 11, 11, dtype=torch.float64)
    outs, grads = [], []
    for layer in (explicit, folded):
        xi = x.clone().requires_grad_(True)
        y = layer(xi)
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
        outs.append(y)
        grads.append([xi.grad] + [p.grad for p in layer.parameters()])
    assert outs[0].shape == outs[1].shape
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-10, atol=1e-10)
    for g_explicit, g_folded in zip(*grads, strict=True):
        torch.testing.assert_close(g_explicit, g_folded, rtol=1e-10, atol=1e-10)


def test_even_kernel_explicit_and_folded_agree():
    explicit, folded = _pair(3, 5, 8, 2, 1)
    x = torch.randn(2, 3, 10, 10, dtype=torch.float64)
    torch.testing.assert_close(explicit(x), folded(x))


def test_fold_weight_matches_formula():
    torch.manual_seed(0)
    c_in, c_out, d, k = 3, 4, 2, 3
    spatial = torch.randn(c_in * d, 1, k, k)
    channel = torch.randn(c_out, c_in * d, 1, 1)
    w = fold_weight(spatial, channel, c_in)
    o, c = 2, 1
    expected = sum(channel[o, c * d + j, 0, 0] * spatial[c * d + j, 0] for j in range(d))
    torch.testing.assert_close(w[o, c], expected)


@pytest.mark.parametrize("c_in,c_out,k,d", [(3, 16, 3, 9), (16, 32, 3, 9), (8, 8, 5, 1)])
def test_parameter_count_is_eq2(c_in, c_out, k, d):
    layer = SeparableConv2d(c_in, c_out, k, d)
    assert sum(p.numel() for p in layer.parameters()) == c_in * k * k * d + c_in * d * c_out


def test_pointwise_count_equals_dense_count_when_d_is_k_squared():
    c_in, c_out, k = 16, 32, 3
    layer = SeparableConv2d(c_in, c_out, k, multiplier=k * k)
    assert layer.channel.weight.numel() == c_in * c_out * k * k  # Eq. 3


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_even_kernel_same_padding_is_pinned():
    # k = 8, "same": 3 pixels before, 4 after (PyTorch's convention, used by ConvMixer)
    assert same_padding(8) == (3, 4)
    conv = SpatialConv(1, 8)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = 1.0  # tap 0 reads the pixel 3 rows/cols before the output
    x = torch.zeros(1, 1, 12, 12)
    x[0, 0, 5, 5] = 1.0
    y = conv(x)
    assert y.shape == x.shape
    assert y[0, 0].nonzero().tolist() == [[8, 8]]
    reference = F.conv2d(x, conv.weight, padding="same", groups=1)
    torch.testing.assert_close(y, reference)


def test_even_kernel_with_stride_is_rejected():
    with pytest.raises(ValueError, match="even kernel"):
        SeparableConv2d(4, 4, 8, stride=2)


def test_wrong_input_channels_is_a_clear_error():
    layer = SeparableConv2d(3, 8, 3)
    with pytest.raises(ValueError, match="expected 3 input channels"):
        layer(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="3 input channels"):
        Normalize((0.5,) * 3, (0.2,) * 3)(torch.rand(1, 1, 8, 8))


def test_bad_impl_is_rejected():
    with pytest.raises(ValueError, match="folded"):
        SeparableConv2d(3, 8, 3, impl="fast")


@pytest.mark.parametrize("c_in", [1, 3, 7, 8, 16])
@pytest.mark.parametrize("size", [8, 11])
@pytest.mark.parametrize("bias", [False, True])
def test_strided_channel_conv_is_the_strided_1x1_conv(c_in, size, bias):
    # below 8 input channels ChannelConv subsamples, then mixes (the oneDNN AVX2 detour);
    # float64 NCHW runs PyTorch's own strided kernel as the reference, which is safe everywhere
    from spatialmix.layers import ChannelConv

    torch.manual_seed(0)
    ours = ChannelConv(c_in, 5, stride=2, bias=bias).double()
    x = torch.randn(3, c_in, size, size, dtype=torch.float64)
    results = []
    for run in (ours, lambda t: F.conv2d(t, ours.weight, ours.bias, stride=2)):
        ours.zero_grad()
        xi = x.clone().requires_grad_(True)
        y = run(xi)
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
        grads = [xi.grad, ours.weight.grad] + ([ours.bias.grad] if bias else [])
        results.append([y.detach()] + [g.clone() for g in grads])
    assert results[0][0].shape == (3, 5, (size + 1) // 2, (size + 1) // 2)
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
