import pytest
import torch

from spatialmix import ConvMixer, ModelConfig, SeparableResNet, UnshuffleMixer, build_model
from spatialmix.layers import SeparableConv2d
from spatialmix.regimes import REGIMES


def _count_layers(model):
    """Weight layers on the main path: separable convs and the linear head (6n+2 / 8n+2)."""
    convs = sum(isinstance(m, SeparableConv2d) for m in model.modules())
    return convs + 1


@pytest.mark.parametrize("n", [1, 2, 3])
def test_sep_resnet_cifar_has_6n_plus_2_layers(n):
    model = SeparableResNet(n)
    assert _count_layers(model) == 6 * n + 2
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_sep_resnet_imagenet_has_8n_plus_2_layers_and_widths():
    model = SeparableResNet(1, imagenet=True, num_classes=7)
    assert _count_layers(model) == 8 + 2
    assert model.head.in_features == 512
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 7)


def test_convmixer_keeps_resolution_with_even_kernel_and_reference_order():
    model = ConvMixer(16, 2, 8, 1, 10)
    feats = model.trunk(torch.rand(2, 3, 32, 32))
    assert feats.shape == (2, 16, 32, 32)
    names = [n for n, _ in model.named_parameters() if n.endswith("weight")]
    assert names == [
        "trunk.stem.weight", "trunk.stem_norm.weight",
        "trunk.blocks.0.spatial.weight", "trunk.blocks.0.spatial_norm.weight",
        "trunk.blocks.0.channel.weight", "trunk.blocks.0.channel_norm.weight",
        "trunk.blocks.1.spatial.weight", "trunk.blocks.1.spatial_norm.weight",
        "trunk.blocks.1.channel.weight", "trunk.blocks.1.channel_norm.weight",
        "head.weight",
    ]  # fmt: skip


def test_convmixer_patch_size_downsamples():
    model = ConvMixer(16, 1, 5, 2, 10)
    assert model.trunk(torch.rand(1, 3, 32, 32)).shape == (1, 16, 16, 16)


@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_unshuffler_maps_back_to_image_shape(channels, size):
    model = UnshuffleMixer(16, 2, 7, channels)
    x = torch.rand(2, channels, size, size)
    assert model(x).shape == x.shape


@pytest.mark.parametrize("arch", ["sep_resnet", "convmixer", "unshuffle"])
@pytest.mark.parametrize("regime", REGIMES)
def test_every_family_and_regime_runs_without_nans(arch, regime):
    cfg = ModelConfig(arch=arch, regime=regime, width=8, depth=1, kernel_size=3)
    torch.manual_seed(0)
    model = build_model(cfg, num_classes=10, in_channels=1)
    out = model(torch.rand(2, 1, 16, 16))
    assert torch.isfinite(out).all()


def test_bad_config_values_are_clear_errors():
    with pytest.raises(ValueError, match="arch must be one of"):
        ModelConfig(arch="resnet")
    with pytest.raises(ValueError, match="regime"):
        ModelConfig(regime="frozen")
    with pytest.raises(ValueError, match="bank"):
        ModelConfig(bank="gabor")


def test_wrong_input_channels_fails_loudly():
    with pytest.raises(ValueError, match="3 input channels"):
        ConvMixer(8, 1, 3, 1, 10)(torch.rand(1, 1, 8, 8))


def test_non_positive_sizes_are_rejected():
    with pytest.raises(ValueError, match=">= 1"):
        SeparableResNet(0)
    with pytest.raises(ValueError, match=">= 1"):
        ConvMixer(0, 2, 3, 1, 10)
