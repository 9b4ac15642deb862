import pytest
import torch

from spatialmix import ConvMixer, fgsm, pgd


@pytest.fixture
def setup():
    torch.manual_seed(0)
    model = ConvMixer(8, 1, 3, 1, 10)
    x = torch.rand(6, 3, 12, 12)
    y = torch.arange(6) % 10
    return model, x, y


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
@pytest.mark.parametrize("training", [True, False])
def test_attack_contract(setup, attack, training):
    model, x, y = setup
    model.train(training)
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    eps = 8 / 255
    if attack == "fgsm":
        x_adv = fgsm(model, x, y, eps)
    else:
        x_adv = pgd(model, x, y, eps, alpha=eps / 2, steps=3, random_start=True)
    assert (x_adv - x).abs().max() <= eps + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert (x_adv != x).any()
    assert model.training is training
    assert not x_adv.requires_grad
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n]) and torch.equal(p.grad, torch.full_like(p, 7.0)), n


def test_pgd_one_step_alpha_eps_equals_fgsm(setup):
    model, x, y = setup
    eps = 1 / 255
    torch.testing.assert_close(pgd(model, x, y, eps, alpha=eps, steps=1), fgsm(model, x, y, eps))


def test_fgsm_raises_the_loss(setup):
    model, x, y = setup
    model.eval()
    loss = torch.nn.functional.cross_entropy
    with torch.no_grad():
        clean = loss(model(x), y)
        attacked = loss(model(fgsm(model, x, y, 4 / 255)), y)
    assert attacked > clean


def test_bad_pgd_arguments(setup):
    model, x, y = setup
    with pytest.raises(ValueError):
        pgd(model, x, y, 1 / 255, alpha=0, steps=1)
