import pytest
import torch

from spatialmix import (
    coverage,
    high_frequency_fraction,
    random_bank,
    smooth_filters,
    spectral_envelope,
)
from spatialmix.spectral import coverage_gain_rows


def test_delta_has_flat_envelope():
    delta = torch.zeros(1, 1, 3, 3)
    delta[0, 0, 1, 1] = 1.0
    env = spectral_envelope(delta, size=64)
    assert env.shape == (64, 64)
    torch.testing.assert_close(env, torch.ones_like(env))
    assert coverage(env) == 1.0


def test_box_peaks_at_the_centre():
    env = spectral_envelope(torch.full((1, 1, 3, 3), 1 / 9), size=64)
    assert env.argmax().item() == 32 * 64 + 32  # fftshift puts DC at (size/2, size/2)
    assert env.max().item() == pytest.approx(1.0)
    assert coverage(env) < 0.5


def test_envelope_is_max_over_filters():
    bank = random_bank(5, 3, seed=0)
    env = spectral_envelope(bank, size=32)
    singles = torch.stack([spectral_envelope(bank[i], size=32) for i in range(5)])
    torch.testing.assert_close(env, singles.amax(0))


def test_coverage_grows_with_the_number_of_random_filters():
    few = coverage(spectral_envelope(random_bank(1, 3, seed=0), size=64))
    many = coverage(spectral_envelope(random_bank(64, 3, seed=0), size=64))
    assert many > few


def test_smoothing_lowers_high_frequency_fraction():
    bank = random_bank(32, 8, seed=0)
    before = high_frequency_fraction(bank)
    for sigma in (0.5, 1.0, 2.0):
        after = high_frequency_fraction(smooth_filters(bank, sigma))
        assert after < before
        before = after


def test_sigma_zero_is_the_identity_and_negative_sigma_fails():
    bank = random_bank(4, 3, seed=0)
    assert torch.equal(smooth_filters(bank, 0.0), bank)
    with pytest.raises(ValueError):
        smooth_filters(bank, -1.0)


def test_random_bank_follows_pytorch_default_init_bound():
    bank = random_bank(1000, 3, seed=0)
    assert bank.abs().max() <= 1 / 3
    assert bank.abs().max() > 0.3


def test_coverage_gain_rows_format_the_verdict_per_kernel():
    measured = {3: {"count_lo": 1, "coverage_lo": 0.1234, "count_hi": 64, "coverage_hi": 0.5,
                    "gain": 0.3766, "n": 5}}  # fmt: skip
    assert coverage_gain_rows(measured) == [(3, 1, "0.123", 64, "0.500", "+0.377", 5)]
