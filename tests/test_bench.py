"""The benchmark runs end to end at tiny size (its speed is measured elsewhere, not tested)."""

import json
from pathlib import Path

import pytest
import torch

from spatialmix import bench

REPO = Path(__file__).resolve().parents[1]

# the reference ConvMixer uses padding="same" with an even kernel, as locuslab wrote it
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def test_benchmark_runs_tiny_and_writes_a_record(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPATIALMIX_COMPILE", "0")  # compiling is tested in test_accel.py
    out = tmp_path / "bench.json"
    assert bench.main(["--batch", "4", "--steps", "1", "--width", "4", "--mixer-width", "8",
                       "--profile", "--out", str(out)]) == 0  # fmt: skip
    result = json.loads(out.read_text())
    assert {r["regime"] for r in result["rows"]} == {"full", "chans", "space"}
    assert all(r["reference"] > 0 and r["ours"] > 0 for r in result["rows"])
    assert not any(r["compiled"] for r in result["rows"])
    assert "ratio" in capsys.readouterr().out
    assert len(result["profile"]) == 4
    for ops in result["profile"].values():
        assert ops and sum(o["share"] for o in ops) <= 1 + 1e-9
        assert any("conv" in o["op"] for o in ops)  # a training step is mostly convolution
    assert bench.main(["--markdown", str(out)]) == 0
    assert "| sep-ResNet-20 (n=3, d=9) | full |" in capsys.readouterr().out


def test_readme_numbers_come_from_the_stored_records(monkeypatch):
    monkeypatch.delenv("SPATIALMIX_RESULTS", raising=False)
    record = json.loads((REPO / "results" / "bench" / "bench.json").read_text())
    readme = (REPO / "README.md").read_text()
    assert bench.markdown_table(record) in readme, "regenerate it: spatialmix.bench --markdown"
    assert record["profile"], "the stored record was made without --profile"
    timing = bench.chapter_timing("04")
    assert timing and f"{timing['wall_seconds'] / 60:.0f} min from an empty store" in readme


def test_reference_convmixer_matches_ours_in_function():
    torch.manual_seed(0)
    ref = bench.locuslab_convmixer(8, 2, 8, 1).eval()
    ours = bench.ConvMixer(8, 2, 8, 1, 10).eval()
    # our parameters follow the reference order, so weights transfer one to one
    for p_ours, p_ref in zip(ours.parameters(), ref.parameters(), strict=True):
        p_ours.data.copy_(p_ref.data)
    ours.trunk.normalize.mean.zero_()  # the reference has no input normalisation
    ours.trunk.normalize.std.fill_(1.0)
    x = torch.rand(2, 3, 12, 12)
    torch.testing.assert_close(ours(x), ref(x))
