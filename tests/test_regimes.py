import pytest
import torch
import torch.nn.functional as F

from spatialmix import (
    ChannelConv,
    ModelConfig,
    PatchEmbed,
    SpatialConv,
    apply_regime,
    build_model,
    count_parameters,
    regime_table,
    set_filter_bank,
)
from spatialmix.regimes import REGIMES, freezing_rows, parameter_count_rows

FROZEN = {"full": (), "chans": (SpatialConv, PatchEmbed), "space": (ChannelConv,)}


def _one_step(model, in_channels=3):
    opt = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1, momentum=0.9,
        weight_decay=5e-4,
    )  # fmt: skip
    x = torch.rand(4, in_channels, 16, 16)
    out = model(x)
    loss = F.mse_loss(out, x) if out.dim() == 4 else F.cross_entropy(out, torch.arange(4) % 3)
    loss.backward()
    opt.step()


@pytest.mark.parametrize("arch", ["sep_resnet", "convmixer", "unshuffle"])
@pytest.mark.parametrize("regime", REGIMES)
def test_frozen_tensors_are_bit_identical_and_learned_ones_move(arch, regime):
    torch.manual_seed(0)
    cfg = ModelConfig(arch=arch, regime=regime, width=8, depth=1, kernel_size=3, multiplier=2)
    model = build_model(cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    frozen_names = {
        f"{mn}.{pn}" if mn else pn
        for mn, m in model.named_modules()
        if FROZEN[regime] and isinstance(m, FROZEN[regime])
        for pn, _ in m.named_parameters(recurse=False)
    }
    if regime != "full":
        assert frozen_names, "the regime must freeze something"
    _one_step(model)
    for name, p in model.named_parameters():
        if name in frozen_names:  # no gradient is even computed for a frozen tensor
            assert not p.requires_grad and p.grad is None and torch.equal(p, before[name]), name
        else:
            assert p.requires_grad and not torch.equal(p, before[name]), name


def test_space_freezes_projection_shortcuts_and_chans_freezes_the_stem():
    res = build_model(ModelConfig(arch="sep_resnet", regime="space", width=8, depth=1))
    shortcuts = [b.shortcut for b in res.blocks if b.shortcut is not None]
    assert shortcuts and all(not s.weight.requires_grad for s in shortcuts)
    mixer = build_model(ModelConfig(arch="convmixer", regime="chans", width=8, depth=1))
    assert not mixer.trunk.stem.weight.requires_grad and not mixer.trunk.stem.bias.requires_grad
    assert all(p.requires_grad for p in mixer.head.parameters())


def test_unknown_regime_names_the_valid_ones():
    model = build_model(ModelConfig(width=8, depth=1))
    with pytest.raises(ValueError, match="'full'.*'chans'.*'space'"):
        apply_regime(model, "spatial")


def test_regime_switch_is_idempotent():
    model = build_model(ModelConfig(width=8, depth=1, regime="chans"))
    apply_regime(model, "full")
    assert all(p.requires_grad for p in model.parameters())


def test_counts_per_role_add_up_and_table_prints():
    model = build_model(ModelConfig(width=8, depth=2, regime="chans"))
    counts = count_parameters(model)
    assert counts["spatial"]["trainable"] == 0 and counts["stem"]["trainable"] == 0
    total = sum(c["trainable"] + c["frozen"] for c in counts.values())
    assert total == sum(p.numel() for p in model.parameters())
    assert "chans" in regime_table({"chans": model})


def _spatial_weights(model):
    return [m.weight for m in model.modules() if isinstance(m, SpatialConv)]


def test_same_bank_is_identical_across_channels_but_not_within():
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="sep_resnet", width=4, depth=1, bank="same"))
    for w in _spatial_weights(model):
        c = w.shape[0] // 9
        per_channel = w.view(c, 9, 3, 3)
        assert torch.equal(per_channel, per_channel[:1].expand_as(per_channel))
        assert not torch.equal(per_channel[0, 0], per_channel[0, 1])


def test_box_and_identity_banks():
    box = build_model(ModelConfig(width=4, depth=1, kernel_size=3, bank="box"))
    for w in _spatial_weights(box):
        assert torch.allclose(w, torch.full_like(w, 1 / 9))
    ident = build_model(ModelConfig(width=4, depth=1, kernel_size=8, bank="identity"))
    x = torch.rand(1, 4, 10, 10)
    conv = ident.trunk.blocks[0].spatial
    torch.testing.assert_close(conv(x), x)  # a centred delta passes the image through


def test_random_bank_sigma_zero_is_the_identity():
    torch.manual_seed(1)
    a = build_model(ModelConfig(width=4, depth=1))
    torch.manual_seed(1)
    b = build_model(ModelConfig(width=4, depth=1, sigma=0.0))
    set_filter_bank(b, "random", 0.0)
    for wa, wb in zip(_spatial_weights(a), _spatial_weights(b), strict=True):
        assert torch.equal(wa, wb)


def test_smoothing_changes_filters_but_keeps_their_norm():
    torch.manual_seed(1)
    a = build_model(ModelConfig(width=4, depth=1))
    torch.manual_seed(1)
    b = build_model(ModelConfig(width=4, depth=1, sigma=1.0))
    for wa, wb in zip(_spatial_weights(a), _spatial_weights(b), strict=True):
        assert not torch.allclose(wa, wb)
        torch.testing.assert_close(wa.flatten(1).norm(dim=1), wb.flatten(1).norm(dim=1))


def _leaves_in_graph(loss):
    """Every tensor autograd will accumulate a gradient into, found by walking loss.grad_fn."""
    seen, stack, leaves = set(), [loss.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if type(node).__name__ == "AccumulateGrad":
            leaves.add(id(node.variable))
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return leaves


@pytest.mark.parametrize("impl", ["folded", "explicit"])
@pytest.mark.parametrize("arch", ["sep_resnet", "convmixer"])
@pytest.mark.parametrize("regime", REGIMES)
def test_autograd_graph_reaches_only_learned_tensors(arch, regime, impl):
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch=arch, regime=regime, width=8, depth=1, kernel_size=3,
                                    multiplier=2, impl=impl))  # fmt: skip
    loss = model(torch.rand(2, 3, 16, 16)).square().mean()
    learned = {id(p) for p in model.parameters() if p.requires_grad}
    assert _leaves_in_graph(loss) == learned
    if regime != "full":
        assert learned < {id(p) for p in model.parameters()}


def test_parameter_count_rows_add_d_equal_k_squared():
    rows = parameter_count_rows([16], [3], [1])
    assert [r[:3] for r in rows] == [(16, 3, 1), (16, 3, 9)]
    # Eq. 1: 16·16·9 = 2,304; Eq. 2 at d = 1: 16·9 + 16·16 = 400
    assert rows[0][3:] == ("2,304", "400", "256", "0.17")


def test_freezing_rows_say_ok_for_every_regime():
    models = {r: build_model(ModelConfig(width=8, depth=1, regime=r)) for r in REGIMES}
    rows = freezing_rows(models)
    assert [r[0] for r in rows] == list(REGIMES)
    assert all(r[-1] == "ok" for r in rows)
