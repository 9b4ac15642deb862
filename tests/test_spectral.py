import dataclasses

import pytest
import torch

from spatialmix import (
    ModelConfig,
    build_model,
    coverage,
    high_frequency_fraction,
    random_bank,
    smooth_filters,
    spectral_envelope,
)
from spatialmix.spectral import (
    HALF_NYQUIST,
    coverage_gain_rows,
    radial_frequency,
    smoothed_envelopes,
    smoothing_table,
)


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


SIGMAS = [0.0, 0.5, 1.0, 2.0]


def test_smoothing_table_loses_high_frequencies_at_every_step_of_sigma():
    """Fig. 8's numbers: each σ leaves less energy above half Nyquist and a smaller coverage."""
    bank = random_bank(32, 8, seed=0)
    df = smoothing_table(bank, SIGMAS, size=64)
    assert list(df.columns) == ["sigma", "hf_fraction", "coverage"]
    assert df["sigma"].tolist() == SIGMAS
    assert (df["hf_fraction"].diff().dropna() < 0).all()
    assert df["coverage"].iloc[-1] < df["coverage"].iloc[0]
    # σ = 0 is the bank as drawn, measured as everywhere else in the book
    first = df.iloc[0]
    assert first.hf_fraction == pytest.approx(high_frequency_fraction(bank, size=64))
    assert first.coverage == coverage(spectral_envelope(bank, 64))


def test_smoothed_envelopes_are_the_envelopes_of_the_smoothed_bank():
    bank = random_bank(16, 8, seed=1)
    envs = smoothed_envelopes(bank, SIGMAS, size=32)
    assert list(envs) == SIGMAS
    torch.testing.assert_close(envs[0.0], spectral_envelope(bank, 32))
    torch.testing.assert_close(envs[1.0], spectral_envelope(smooth_filters(bank, 1.0), 32))
    high = radial_frequency(32) > HALF_NYQUIST  # the envelope's far corners empty out too
    assert envs[2.0][high].max() / envs[2.0].max() < envs[0.0][high].max() / envs[0.0].max()


def test_fig8_bank_is_the_one_fig7_models_freeze():
    """The chans ConvMixer built with σ holds smooth_filters(its σ = 0 bank, σ), layer by layer."""
    cfg = ModelConfig(arch="convmixer", regime="chans", width=8, depth=2, kernel_size=8)
    torch.manual_seed(0)
    plain = build_model(cfg)
    torch.manual_seed(0)
    smoothed = build_model(dataclasses.replace(cfg, sigma=1.0))
    for a, b in zip(plain.trunk.blocks, smoothed.trunk.blocks, strict=True):
        torch.testing.assert_close(b.spatial.weight, smooth_filters(a.spatial.weight, 1.0))
