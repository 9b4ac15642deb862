"""The Spectra evaluation on the paper's 512² DFT (Fig. 9) and the first book's keys."""

import hashlib
import json

import torch

from spatialmix import ModelConfig, build_model
from spatialmix.evaluation import Spectra, Target, pooled_envelope
from spatialmix.results import RunConfig


def test_old_keys_stay_and_the_pooled_one_differs():
    text = json.dumps({"envelope": 32, "size": 64}, sort_keys=True, separators=(",", ":"))
    assert Spectra(64, 32).key == f"spectra-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    assert Spectra(512, 32, pooled=True).key != Spectra(512, 32).key


def test_pooled_spectra_match_the_small_ones_closely():
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="convmixer", regime="chans", width=16, depth=2,
                                    kernel_size=8, patch_size=2))  # fmt: skip
    target = Target(model, "classify", None, torch.device("cpu"))
    _, small = Spectra(64, 32).measure(target)
    _, big = Spectra(512, 32, pooled=True).measure(target)
    for a, b in zip(small["layers"], big["layers"], strict=True):
        assert len(b["envelope"]) == 32 and len(b["envelope"][0]) == 32
        assert abs(a["hf_fraction"] - b["hf_fraction"]) < 0.02  # the same integral, finer grid
        assert abs(a["coverage"] - b["coverage"]) < 0.05
    env = torch.rand(64, 64, dtype=torch.float64)
    assert torch.allclose(pooled_envelope(env, 32)[0, 0], env[:2, :2].mean())


def test_converged_convmixers_measure_on_the_paper_dft():
    model = ModelConfig(arch="convmixer", width=128, depth=4, kernel_size=8, patch_size=2)
    spectra = [e for e in RunConfig("convmixer", model, "cifar10", "converged").evaluations()
               if isinstance(e, Spectra)]  # fmt: skip
    assert spectra == [Spectra(512, 32, pooled=True)]
    cpu = RunConfig("convmixer", model, "cifar10", "cpu").evaluations()
    assert Spectra(64, 32) in cpu
