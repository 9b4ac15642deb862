"""spatialmix.perf runs end to end at tiny size (its speed is measured elsewhere, not tested)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from spatialmix import ConvMixer, ModelConfig, build_model
from spatialmix.chapters import chapter_timing
from spatialmix.layers import SeparableConv2d
from spatialmix.perf import report, suite
from spatialmix.perf.reference import locuslab_convmixer
from spatialmix.perf.timing import interleaved_throughput, step_flops
from spatialmix.results import RecordError, read_json

REPO = Path(__file__).resolve().parents[1]

# the reference ConvMixer uses padding="same" with an even kernel, as locuslab wrote it
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def test_benchmark_runs_tiny_and_writes_a_record(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPATIALMIX_COMPILE", "0")  # compiling is tested in test_accel.py
    out = tmp_path / "bench.json"
    assert suite.main(["--batch", "4", "--steps", "4", "--rounds", "2", "--width", "4",
                       "--mixer-width", "8", "--profile", "--out", str(out)]) == 0  # fmt: skip
    result = json.loads(out.read_text())
    assert {r["regime"] for r in result["rows"]} == {"full", "chans", "space"}
    for r in result["rows"]:
        assert r["steps"] == 4
        for path in ("reference", "ours"):
            slow, fast = r[f"{path}_iqr"]
            assert 0 < slow <= r[path] <= fast
    sep = [r for r in result["rows"] if r["model"].startswith("sep")]
    # no step can beat the matmul peak on all of its FLOPs: a ceiling below the measured
    # throughput means the FLOPs were undercounted
    assert all(r["flops"] > 0 and r["ceiling"] > r["ours"] for r in sep)
    assert all(r["convs_only"] > 0 for r in sep)
    assert set(result["peak_gflops"]) == {"matmul", "conv"}
    assert not any(r["compiled"] for r in result["rows"])
    assert "ratio" in capsys.readouterr().out
    assert len(result["profile"]) == 4
    for ops in result["profile"].values():
        assert ops and sum(o["share"] for o in ops) <= 1 + 1e-9
        assert any("conv" in o["op"] for o in ops)  # a training step is mostly convolution
    assert suite.main(["--markdown", str(out)]) == 0
    assert "| sep-ResNet-20 (n=3, d=9) | full |" in capsys.readouterr().out


def test_readme_numbers_come_from_the_stored_records(monkeypatch):
    monkeypatch.delenv("SPATIALMIX_RESULTS", raising=False)
    record = read_json(REPO / "results" / "bench" / "bench.json")
    readme = (REPO / "README.md").read_text()
    assert report.markdown_table(record) in readme, "regenerate it: spatialmix.perf --markdown"
    assert record["profile"], "the stored record was made without --profile"
    assert report.summary(record) in readme, "regenerate it: perf.report.summary"
    for chapter in ("04", "05"):
        timing = chapter_timing(chapter)
        assert timing and f"{timing['wall_seconds'] / 60:.0f} min from an empty store" in readme
        assert f"{timing['peak_rss_mb'] / 1024:.1f} GB for {chapter}" in readme


def test_reference_convmixer_matches_ours_in_function():
    torch.manual_seed(0)
    ref = locuslab_convmixer(8, 2, 8, 1).eval()
    ours = ConvMixer(8, 2, 8, 1, 10).eval()
    # our parameters follow the reference order, so weights transfer one to one
    for p_ours, p_ref in zip(ours.parameters(), ref.parameters(), strict=True):
        p_ours.data.copy_(p_ref.data)
    ours.trunk.normalize.mean.zero_()  # the reference has no input normalisation
    ours.trunk.normalize.std.fill_(1.0)
    x = torch.rand(2, 3, 12, 12)
    torch.testing.assert_close(ours(x), ref(x))


def test_interleaved_paths_take_turns():
    calls = []
    paths = {name: (lambda n=name: calls.append(n)) for name in ("a", "b")}
    timed = interleaved_throughput(paths, batch=8, steps=4, rounds=2, warmup=1)
    # warm-up a, b; then turns of one untimed and two timed steps: a b, then b a
    assert calls == ["a", "b"] + ["a"] * 3 + ["b"] * 3 + ["b"] * 3 + ["a"] * 3
    assert {t["steps"] for t in timed.values()} == {4}


def test_step_flops_is_three_forward_passes_of_one_dense_conv_per_layer():
    """Folding costs the FLOPs of one dense k×k conv (forward, grad input, grad weight) per layer,
    plus the fold itself: c_out·c_in·d·k² multiply-adds, forward and two gradients."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="sep_resnet", regime="full", depth=1, width=4,
                                    impl="folded"))  # fmt: skip
    x = torch.rand(2, 3, 16, 16)
    forward, fold = [], []

    def count(module, inputs, out):  # noqa: ANN001, ANN202
        if isinstance(module, SeparableConv2d):  # folded: one dense c_in -> c_out k×k conv
            k = module.spatial.kernel_size[0]
            forward.append(2 * out.numel() * module.in_channels * k**2)
            fold.append(2 * module.channel.weight.numel() * k**2)
        elif isinstance(module, torch.nn.Conv2d):
            forward.append(2 * out.numel() * module.in_channels * module.kernel_size[0] ** 2)
        elif isinstance(module, torch.nn.Linear):
            forward.append(2 * out.numel() * module.in_features)

    for m in model.modules():
        m.register_forward_hook(count)
    model(x)
    # every layer costs forward + grad input + grad weight, except that no gradient is taken
    # with respect to the images, so the stem (the first layer called) skips its grad input
    expected = 3 * sum(forward) - forward[0] + 3 * sum(fold)
    model = build_model(ModelConfig(arch="sep_resnet", regime="full", depth=1, width=4,
                                    impl="folded"))  # fmt: skip
    assert step_flops(model, x) == expected
    explicit = build_model(ModelConfig(arch="sep_resnet", regime="full", depth=1, width=4,
                                       impl="explicit"))  # fmt: skip
    with pytest.raises(ValueError, match="grouped"):
        step_flops(explicit, x)


def test_a_new_record_keeps_the_previous_one_as_history(tmp_path, monkeypatch):
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path))

    def record(date: str, sep: float) -> dict:
        rows = [{"model": "sep-ResNet-20", "regime": g, "ratio": sep} for g in ("full", "space")]
        rows.append({"model": "ConvMixer-128/4", "regime": "full", "ratio": 2.5})
        return {"provenance": {"date": date}, "rows": rows, "steps": 9, "rounds": 3}

    path = suite.record_file("cpu")
    assert suite.keep_as_history(path) is None  # nothing to keep yet
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record("2026-01-02T03:04:05+00:00", 9.5)))
    kept = suite.keep_as_history(path)
    assert kept.name == "bench_2026-01-02T03-04-05.json" and not path.exists()
    path.write_text(json.dumps(record("2026-01-03T00:00:00+00:00", 10.5)))
    history = report.history_rows(suite.run_history("cpu"))
    assert [h["date"] for h in history] == ["2026-01-02 03:04", "2026-01-03 00:00"]
    assert [h["sep_met"] for h in history] == [False, True]
    assert all(h["mixer_met"] for h in history)
    assert history[0]["ratios"] == {"sep full": 9.5, "sep space": 9.5, "mixer full": 2.5}


def test_the_command_line_prints_a_stored_records_table():
    path = REPO / "results" / "bench" / "bench.json"
    done = subprocess.run([sys.executable, "-m", "spatialmix.perf", "--markdown", str(path)],
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert done.stdout == report.markdown_table(read_json(path)) + "\n"


def test_a_torn_benchmark_or_timing_record_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path))
    assert chapter_timing("04") is None  # never timed: the chapter says so
    for path in (suite.record_file("cpu"), tmp_path / "bench" / "chapter_04.json"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"rows": [')
    with pytest.raises(RecordError, match="benchmark record .*bench.json: it is truncated"):
        suite.stored_or_run("cpu")
    with pytest.raises(RecordError, match="chapter timing .*chapter_04.json: it is truncated"):
        chapter_timing("04")


def test_chapter_08_tables_are_formatted_in_the_library():
    record = {"rows": [{"model": "sep", "regime": "full", "allocator": state, "reference": ref,
                        "ours": ours} for state, ref, ours in
                       (("default", 50.0, 500.0), ("keep", 100.0, 550.0))]}  # fmt: skip
    assert report.allocator_table(record).splitlines()[2:] == [
        "  sep    full                  50   100  2.00×            500   550  1.10×",
        "img/s, median of the timed steps; gain = keep / default",
    ]
