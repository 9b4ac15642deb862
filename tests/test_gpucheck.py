"""The GPU check script runs end to end (on the CPU, tiny) and refuses to pretend without CUDA."""

import json

import torch

from spatialmix import gpucheck


def test_gpu_check_writes_timings_per_family_and_regime(tmp_path, monkeypatch):
    monkeypatch.setattr(
        gpucheck, "FAMILIES", {k: v for k, v in list(gpucheck.FAMILIES.items())[:1]}
    )
    out = tmp_path / "gpu.json"
    args = ["--device", "cpu", "--steps", "1", "--batch", "2", "--chapters", "", "--no-compile"]
    assert gpucheck.main([*args, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["settings"]["bf16"] and result["provenance"]["torch"] == torch.__version__
    rows = result["epochs"]
    assert [r["regime"] for r in rows] == ["full", "chans", "space"]
    assert all(r["seconds_per_epoch"] > 0 and r["batch"] == 2 for r in rows)


def test_gpu_check_needs_cuda(capsys):
    if torch.cuda.is_available():
        return
    assert gpucheck.main(["--chapters", ""]) == 2
    assert "no CUDA device here" in capsys.readouterr().out
