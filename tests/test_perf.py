"""spatialmix.perf runs end to end at tiny size (its speed is measured elsewhere, not tested)."""

import contextlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from spatialmix import ConvMixer, ModelConfig, build_model, depthwise
from spatialmix.chapters import chapter_timing, parameters
from spatialmix.layers import SeparableConv2d, SpatialConv
from spatialmix.perf import flops as report_flops
from spatialmix.perf import report, suite
from spatialmix.perf.ops import ELEMENTWISE, KERNELS, OPS, POINTWISE, op_calls, pointwise_calls
from spatialmix.perf.reference import (
    UNSHUFFLE,
    family,
    locuslab_convmixer,
    our_convmixer,
    reference_convmixer,
    sep_resnet,
    unshuffler,
)
from spatialmix.perf.timing import interleaved_throughput, step_flops, training_step
from spatialmix.regimes import REGIMES
from spatialmix.results import RecordError, read_json
from spatialmix.scales import preset

REPO = Path(__file__).resolve().parents[1]

# the reference ConvMixer uses padding="same" with an even kernel, as locuslab wrote it
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def test_benchmark_runs_tiny_and_writes_a_record(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPATIALMIX_COMPILE", "0")  # compiling is tested in test_accel.py
    out = tmp_path / "bench.json"
    assert suite.main(["--batch", "4", "--steps", "4", "--rounds", "2", "--width", "4",
                       "--mixer-width", "8", "--unshuffle-width", "4", "--unshuffle-depth", "1",
                       "--profile", "--out", str(out)]) == 0  # fmt: skip
    result = json.loads(out.read_text())
    # every family in every regime, in each allocator state timed
    for state in {r["allocator"] for r in result["rows"]}:
        timed = {(family(r["model"]), r["regime"]) for r in result["rows"]
                 if r["allocator"] == state}  # fmt: skip
        assert timed == {(f, g) for f in ("sep", "mixer", "unshuffle") for g in REGIMES}
    for r in result["rows"]:
        assert r["steps"] == 4
        for path in ("reference", "ours"):
            slow, fast = r[f"{path}_iqr"]
            assert 0 < slow <= r[path] <= fast
        # no step can beat the peak on all of its FLOPs: a ceiling below the measured
        # throughput means the FLOPs were undercounted
        assert r["flops"] > 0 and r["ceiling"] > r["ours"]
        # the ceiling is the row's own peak, the probes that took turns with its steps
        assert set(r["peak_gflops"]) == {"matmul", "conv"}
        assert r["ceiling"] == pytest.approx(4 * max(r["peak_gflops"].values()) * 1e9 / r["flops"])
        if family(r["model"]) != "sep":  # the same function on either path: the same FLOPs
            assert r["reference_flops"] == r["flops"]
            assert r["depthwise"] == depthwise.kernel_name()
    assert all(r["convs_only"] > 0 for r in result["rows"] if family(r["model"]) == "sep")
    assert set(result["peak_gflops"]) == {"matmul", "conv"}
    assert not any(r["compiled"] for r in result["rows"])
    assert "ratio" in capsys.readouterr().out
    assert len(result["profile"]) == 6
    for ops in result["profile"].values():
        assert ops and sum(o["share"] for o in ops) <= 1 + 1e-9
        # a training step is mostly convolution (the native depthwise ops are dw_*)
        assert any("conv" in o["op"] or "dw_" in o["op"] for o in ops)
    ops = result["depthwise_ops"]
    if depthwise.load():
        assert [(r["layer"].split()[0], r["op"]) for r in ops] == [
            (layer, op) for layer in ("ConvMixer-8", "un-shuffler-4") for op in OPS
        ]
        for r in ops:
            assert (
                r["shape"][0] == 4
                and r["gflop"] == 2 * math.prod(r["shape"]) * r["shape"][-1] / 1e9
            )
            for kernel in KERNELS:
                slow, fast = r[f"{kernel}_iqr"]
                assert 0 < slow <= r[kernel] <= fast
            assert r["ratio"] == pytest.approx(r["ours"] / r["pytorch"])
    assert "GFLOP/s" in report_flops.depthwise_ops_text(result)
    assert [(r["layer"].split()[0], r["op"]) for r in result["pointwise_ops"]] == [
        (layer, op) for layer in ("ConvMixer-8", "un-shuffler-4") for op in OPS
    ]
    for r in result["pointwise_ops"]:
        assert r["gflop"] == 2 * math.prod(r["shape"]) * r["shape"][1] / 1e9
        assert r["best"] == max(r[path] for path in POINTWISE)
    assert {v["depth"] for v in result["mixer_layers"].values()} == {4, 1}
    assert [(r["layer"], r["op"]) for r in result["elementwise_ops"]] == [
        (r["layer"], op) for r in result["pointwise_ops"][::3] for op in ELEMENTWISE
    ]  # the 1×1 layers' shapes, each op
    for r in result["elementwise_ops"]:
        nbytes = 4 * math.prod(r["shape"])
        assert r["copy_gbps"] == pytest.approx(2 * nbytes / r["copy_ms"] / 1e6)
        assert r["floor_ms"] == pytest.approx(ELEMENTWISE[r["op"]][1] * r["copy_ms"] / 2)
        assert r["ratio"] == pytest.approx(r["pytorch_ms"] / r["ours_ms"])
    assert "fewest passes at copy speed" in report_flops.elementwise_ops_text(result)
    if depthwise.load():
        bounds = report_flops.bound_rows(result)
        assert len(bounds) == 2 * len(REGIMES)  # both mixers, in the judged allocator state
        assert all(b["bound"] > 0 for b in bounds)
        assert "bound img/s" in report_flops.pointwise_ops_text(result)
    assert report_flops.REFRESH not in report_flops.steps_text(result)
    assert suite.main(["--markdown", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| sep-ResNet-20 (n=3, d=9) | full |" in table
    assert "| un-shuffler-4/1 (k=9, 28×28) | space |" in table


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
    for chapter in ("04", "05", "06"):  # the quick scale: a first look at the converged chapters
        timing = chapter_timing(chapter, "quick")
        minutes = f"{timing['wall_seconds'] / 60:.0f}" if timing else "?"
        assert f"quick: {minutes} min from an empty store" in readme
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


@pytest.mark.parametrize("native", [True, False])
def test_step_flops_counts_a_depthwise_layer_as_three_passes_on_either_kernel(native):
    """2·N·C·H·W·k² per pass: forward, input and weight gradient (torch's own formula counts
    a depthwise weight gradient C times over), fewer where nothing asks for a gradient."""
    n, c, h, w, k = 2, 6, 7, 9, 5
    x = torch.rand(n, c, h, w).contiguous(memory_format=torch.channels_last)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(c, c, 1, bias=False), SpatialConv(c, k))
    dense, one = 2 * n * c * c * h * w, 2 * n * c * h * w * k * k
    with depthwise.native_disabled() if not native else contextlib.nullcontext():
        # the images need no gradient: the 1×1 conv costs forward and weight gradient only
        assert step_flops(model, x, target=x) == 2 * dense + 3 * one
        model[1].requires_grad_(False)  # a frozen filter bank: no weight gradient
        assert step_flops(model, x, target=x) == 2 * dense + 2 * one


def test_mixer_flops_and_trainable_weights_match_the_reference_in_every_regime():
    x = torch.rand(2, 3, 12, 12)
    for regime in REGIMES:
        ours, ref = our_convmixer(8, regime), reference_convmixer(8, regime)
        assert sum(p.numel() for p in ours.parameters() if p.requires_grad) == sum(
            p.numel() for p in ref.parameters() if p.requires_grad)  # fmt: skip
        assert step_flops(ours, x.contiguous(memory_format=torch.channels_last)) == step_flops(
            reference_convmixer(8, regime), x)  # fmt: skip


def test_the_unshuffler_row_is_chapter_07s_central_shape():
    chapter = parameters("07")
    assert {key: chapter[key] for key in UNSHUFFLE} == UNSHUFFLE
    assert preset("unshuffle", chapter["scale"])["batch_size"] == suite.SIZES["cpu"]["batch"]


@pytest.mark.skipif(not depthwise.load(), reason="the native kernel did not build")
def test_the_timed_ops_compute_the_same_three_functions():
    """Ours and PyTorch's calls of the per-op table agree (PyTorch's input gradient is that of
    the padded input: its interior is the gradient of the image)."""
    torch.manual_seed(0)
    for k in (4, 5):
        x, g = (torch.randn(2, 5, 6, 7).contiguous(memory_format=torch.channels_last)
                for _ in range(2))  # fmt: skip
        calls = op_calls(x, torch.randn(5, 1, k, k), g)
        before = (k - 1) // 2
        ours = [calls[op, "ours"]() for op in OPS]
        torch_ = [calls[op, "pytorch"]() for op in OPS]
        torch_[1] = torch_[1][0][..., before : before + 6, before : before + 7]
        torch_[2] = torch_[2][1]
        for a, b in zip(ours, torch_, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not depthwise.load(), reason="the native kernel did not build")
@pytest.mark.parametrize("arch", ["sep_resnet", "unshuffle"])
def test_a_reference_step_runs_on_pytorchs_kernels_only(arch):
    """The reference paths share layers with ours, so they reached the fused norms once; ours
    runs the native ops at these shapes (16 channels), so the check can fail."""
    if arch == "sep_resnet":
        ref, ours, x, y = sep_resnet(16, "full", "explicit"), sep_resnet(16, "full"), None, None
        x = torch.rand(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    else:
        ref, ours = unshuffler(16, 1, "full"), unshuffler(16, 1, "full")
        x, y = (torch.rand(2, 1, 28, 28).contiguous(memory_format=torch.channels_last)
                for _ in range(2))  # fmt: skip

    def native_ops(step) -> set[str]:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            step()
        return {e.name for e in prof.events() if "spatialmix_native" in e.name}

    assert not native_ops(suite.reference_path(arch, ref, x, y))
    assert native_ops(training_step(ours, x, target=y)[0])


def test_the_timed_pointwise_calls_compute_the_1x1_convs_three_functions():
    """Conv and matmul of the 1×1 per-op table agree: the matmul's outputs are the conv's in the
    (N·H·W, C) view; the weight gradient is the (C, C) matrix of the conv's."""
    torch.manual_seed(0)
    x, g = (torch.randn(2, 6, 3, 5).contiguous(memory_format=torch.channels_last)
            for _ in range(2))  # fmt: skip
    calls = pointwise_calls(x, torch.randn(6, 6, 1, 1), g)
    conv = [calls[op, "conv"]() for op in OPS]
    conv[1], conv[2] = conv[1][0], conv[2][1].view(6, 6)
    for i in (0, 1):
        conv[i] = conv[i].permute(0, 2, 3, 1).reshape(-1, 6)
    for a, b in zip(conv, [calls[op, "matmul"]() for op in OPS], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def _bound_record(regime: str, depth: int) -> dict:
    """One mixer row: depthwise ops of 1 GFLOP each, 1×1 ops of 2 GFLOP at 50 (conv) or 100
    (matmul) GFLOP/s, a 200 GFLOP/s peak, batch 10."""
    dw = [{"layer": "dw", "op": op, "gflop": 1.0, "ours": 100.0} for op in OPS]
    pw = [{"layer": "pw", "op": op, "gflop": 2.0, "conv": 50.0, "conv_iqr": [45.0, 55.0],
           "matmul": 100.0, "matmul_iqr": [90.0, 110.0], "best": 100.0} for op in OPS]  # fmt: skip
    row = {"model": "ConvMixer-8/2", "regime": regime, "allocator": "keep", "ours": 1.0,
           "reference": 100.0, "ceiling": 1000.0}  # fmt: skip
    return {"rows": [row], "batch": 10, "peak_gflops": {"matmul": 200.0, "conv": 150.0},
            "depthwise_ops": dw, "pointwise_ops": pw,
            "mixer_layers": {"ConvMixer-8/2": {"depth": depth, "depthwise": "dw",
                                               "pointwise": "pw"}}}  # fmt: skip


@pytest.mark.parametrize(("regime", "dw_calls", "pw_calls"),
                         [("full", 5, 6), ("chans", 3, 5), ("space", 5, 4)])  # fmt: skip
def test_the_bound_counts_only_the_ops_a_regime_needs(regime, dw_calls, pw_calls):
    """Depth 2: forward twice; the first depthwise layer's input gradient never (only the stem
    is upstream), nor the first 1×1's in chans; weight gradients of what the regime trains."""
    (b,) = report_flops.bound_rows(_bound_record(regime, 2))
    assert b["depthwise_ms"] == pytest.approx(1000 * dw_calls * 1.0 / 200)
    assert b["pointwise_ms"] == pytest.approx(1000 * pw_calls * 2.0 / 100)
    assert b["bound"] == pytest.approx(10 / (dw_calls / 200 + pw_calls * 2 / 100))
    assert b["share"] == pytest.approx(b["bound"] / 1000)
    assert b["ratio"] == pytest.approx(b["bound"] / 100)
    assert b["convs"] == pytest.approx(10 / (dw_calls / 100 + pw_calls * 2 / 100))
    assert b["convs_share"] == pytest.approx(b["convs"] / 1000)
    text = report_flops.pointwise_ops_text(_bound_record(regime, 2))
    assert "out of reach" in text and "not excluded" not in text  # 69-100 img/s vs 500 and 250


def test_the_floor_adds_a_layers_element_wise_work_at_its_fewest_passes():
    """Depth 2 full: 2 GELU+BN+residual and 3 GELU+BN (the blocks' and the stem's) a step."""
    record = _bound_record("full", 2)
    ew = {"GELU+BN+residual": (40.0, 9.0), "GELU+BN": (30.0, 8.0)}  # ours ms, floor ms
    record["elementwise_ops"] = [
        {"layer": "pw", "op": op, "ours_ms": ours, "ours_iqr": [ours + 1, ours - 1],
         "pytorch_ms": 2 * ours, "pytorch_iqr": [2 * ours, 2 * ours], "ratio": 2.0,
         "copy_ms": 2.0, "copy_gbps": 10.0, "floor_ms": floor}
        for op, (ours, floor) in ew.items()]  # fmt: skip
    (b,) = report_flops.bound_rows(record)
    assert b["elementwise_ms"] == pytest.approx(2 * 40 + 3 * 30)
    assert b["elementwise_floor_ms"] == pytest.approx(2 * 9 + 3 * 8)
    convs_s, bound_s = 10 / b["convs"], 10 / b["bound"]
    assert b["parts"] == pytest.approx(10 / (convs_s + 0.170))
    assert b["floor"] == pytest.approx(10 / (bound_s + 0.042))
    assert b["floor_share"] == pytest.approx(b["floor"] / 1000)
    text = report_flops.elementwise_ops_text(record)
    assert "takes 170 ms a step" in text and "at the copy's 10.0 GB/s" in text
    assert "of the roofline (target 50%: out of reach)" in text
    old = {**_bound_record("full", 2), "provenance": {"date": "2026-11-30T18:11"}}
    assert "(2026-11-30) predates the element-wise" in report_flops.elementwise_ops_text(old)


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
    # each run names its machine: machines of this kind differ in instruction set and speed
    prov = {"cpu": "Intel(R) Xeon(R) Processor", "isa": {"cpu": "avx512"}}
    assert report._short_cpu(prov["cpu"]) == "Intel Xeon"
    assert report.history_text([{**history[0], "machine": "Intel Xeon, avx512"}]).splitlines()[
        0].split()[:4] == ["date", "(UTC)", "machine", "timing"]  # fmt: skip


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


def _share_record(mixer_share: float, mixer_ratio: float, sep_share: float) -> dict:
    """A record whose rows reach the given shares of a 100 GFLOP/s peak (batch 10)."""
    rows = []
    for model, share, ratio in (("ConvMixer-128/4 (k=8, p=1)", mixer_share, mixer_ratio),
                                ("un-shuffler-32/8 (k=9, 28×28)", 0.9, 3.0),
                                ("sep-ResNet-20 (n=3, d=9)", sep_share, 5.0)):  # fmt: skip
        for regime in REGIMES:
            ceiling = 1000.0  # 1 GFLOP per step of 10 images at 100 GFLOP/s
            rows.append({"model": model, "regime": regime, "allocator": "keep",
                         "ours": share * ceiling, "reference": share * ceiling / ratio,
                         "ratio": ratio, "flops": 1e9, "reference_flops": 1e9,
                         "ceiling": ceiling})  # fmt: skip
    return {"rows": rows, "batch": 10, "peak_gflops": {"matmul": 80.0, "conv": 100.0},
            "provenance": {"date": "2026-12-01T00:00:00"}}  # fmt: skip


def test_share_targets_are_judged_from_the_record():
    def verdicts(record: dict) -> dict[str, bool | None]:
        return {t["target"].split(" every")[0]: t["met"]
                for t in report_flops.share_target_rows(record)}  # fmt: skip

    met = verdicts(_share_record(0.5, 2.5, 0.6))
    assert len(met) == 5 and all(met.values())
    missed = verdicts(_share_record(0.49, 2.4, 0.59))
    assert [k for k, v in missed.items() if not v] == [
        "ConvMixer-128/4 step ≥ 50% of its roofline,", "ConvMixer-128/4 step ≥ 2.5× reference,",
        "sep-ResNet step ≥ 60% of the practical peak,"]  # fmt: skip
    points = report_flops.roofline_points(_share_record(0.5, 2.5, 0.6))
    assert len(points) == 18 and {p["path"] for p in points} == {"reference", "ours"}
    assert all(p["share"] == pytest.approx(p["gflops"] / 100) for p in points)
    ours = [p for p in points if p["path"] == "ours" and p["family"] == "mixer"]
    assert [p["gflops"] for p in ours] == pytest.approx([50.0] * 3)  # 500 img/s × 0.1 GFLOP


def test_a_record_that_predates_the_new_keys_says_so_and_how_to_refresh_it():
    record = read_json(REPO / "results" / "bench" / "bench.json")
    old = {**record, "rows": [{k: v for k, v in r.items() if k not in
                               ("reference_flops", "depthwise")} for r in record["rows"]
                              if family(r["model"]) != "unshuffle"]}  # fmt: skip
    for key in ("depthwise_ops", "pointwise_ops", "mixer_layers"):
        old.pop(key, None)
    assert report_flops.bound_rows(old) == []
    for text in (report_flops.depthwise_ops_text(old), report_flops.steps_text(old),
                 report_flops.pointwise_ops_text(old),
                 report.targets_text(old, [], ["04"])):  # fmt: skip
        assert "predates" in text and report_flops.REFRESH in text
    judged = report_flops.share_target_rows(old)
    assert [t["met"] for t in judged if "un-shuffler" in t["target"]] == [None, None]
    assert report_flops.roofline_points(old)  # what the record has is still drawn


def test_a_rows_ceiling_divides_by_its_own_peak_probes():
    result = {"batch": 10, "peak_gflops": {"matmul": 200.0, "conv": 150.0},
              "rows": [{"peak_gflops": {"matmul": 90.0, "conv": 100.0}}, {}]}  # fmt: skip
    # the probes timed in turns with the row, where the row has them; else the record's best
    assert report_flops.row_peak(result, result["rows"][0]) == 100.0
    assert report_flops.row_peak(result, result["rows"][1]) == 200.0
    assert report_flops.peak_text(result).startswith("100–100 GFLOP/s across rows")
    old = report_flops.peak_text({**result, "rows": [{}]})
    assert old.startswith("200 GFLOP/s, the best probe (a large matrix product)")
