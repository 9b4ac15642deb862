"""The queue trains a grid's missing runs in order, commits each record, and resumes."""

import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from spatialmix import ModelConfig, build_model
from spatialmix import queue as queue_mod
from spatialmix.experiments import (
    CONVERGED,
    MIXER_CONVERGED,
    converged_fig2_runs,
    converged_fig3_runs,
    converged_fig4_runs,
    converged_fig5_runs,
    converged_fig6_runs,
    converged_fig7_runs,
    converged_grid,
    mixer_converged_grid,
    paired_per_depth,
    paired_records,
)
from spatialmix.results import RunConfig, find_records, record_path

TINY = ModelConfig(arch="sep_resnet", width=4, depth=1, multiplier=2)


def _grid():
    return [RunConfig("unit", TINY, "mnist", "smoke", seed=s) for s in (0, 1)]


def _git(root, *args):
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)


def test_queue_commits_each_record_and_skips_stored_ones(mnist_dir, store):
    store.mkdir(parents=True)
    _git(store, "init", "-q")
    _git(store, "config", "user.email", "queue@test")
    _git(store, "config", "user.name", "queue")
    said = []
    assert queue_mod.run_queue(_grid(), commit=True, require_clean=False, say=said.append) == 2
    log = _git(store, "log", "--format=%s").stdout.splitlines()
    assert len(log) == 2 and all(line.startswith("Record: unit: mnist") for line in log)
    # its training time, every sitting ("0 min" on a quiet machine; a busy one can take more)
    assert all(re.search(r" \(trained \d+ min, ", line) for line in log)
    tracked = _git(store, "ls-files").stdout.split()
    assert sorted(tracked) == sorted(str(record_path(c)[0].relative_to(store)) for c in _grid())
    assert len(find_records("unit")) == 2 and any("landed" in s for s in said)
    assert queue_mod.run_queue(_grid(), commit=True, require_clean=False, say=said.append) == 0
    assert [s for s, stored in queue_mod.plan(_grid()) if not stored] == []


def test_queue_stops_starting_runs_after_its_hours(mnist_dir, store):
    said = []
    assert queue_mod.run_queue(_grid(), hours=0, require_clean=False, say=said.append) == 0
    assert said == ["stopping after 0 h; run again to go on"]


def test_converged_grid_pairs_seeds_and_lists_each_run_once():
    grid = converged_grid()
    assert len({repr(c) for c in grid}) == len(grid)
    fig2 = [c for c in grid if c.experiment == "resnet" and not c.overrides]
    seeds = set(CONVERGED["seeds"])
    for regime in ("full", "chans", "space"):
        for n in CONVERGED["depths"]:
            got = {c.seed for c in fig2 if c.model.regime == regime and c.model.depth == n
                   and c.dataset == "cifar10" and c.model.bank == "random"}  # fmt: skip
            assert got == seeds, (regime, n)
    assert grid[0].seed == 0 and all(c.scale == "converged" for c in grid)
    assert grid[0].model.depth == max(CONVERGED["depths"]) and grid[0].model.regime == "full"
    assert {c.overrides.get("epochs") for c in grid if "epochs" in c.overrides} == {40}


def test_mixer_grid_pairs_seeds_and_puts_the_calibration_point_first():
    grid = mixer_converged_grid()
    assert len({repr(c) for c in grid}) == len(grid)
    first = grid[0].model
    assert (first.depth, first.regime, first.patch_size) == (8, "full", 2) and grid[0].seed == 0
    p = MIXER_CONVERGED
    for sigma in (0.0, *p["sigmas"]):  # Fig. 7: every σ of chans on every seed
        got = {c.seed for c in grid if c.model.sigma == sigma and c.model.regime == "chans"
               and c.model.depth == p["sigma_depth"] and c.model.patch_size == 2}  # fmt: skip
        assert got == set(p["seeds"]), sigma
    every = {(r, s) for r in ("full", "chans", "space") for s in p["seeds"]}
    subset = {"n_train": p["p_check_subset"]}
    for patch in (1, 2):  # the p check: depth 4 at p 1 and p 2, on the same subset
        check = [c for c in grid if c.model.patch_size == patch and c.overrides == subset]
        assert {(c.model.regime, c.seed) for c in check} == every, patch
        assert {c.model.depth for c in check} == {p["p1_depth"]}
    assert all(c.overrides == subset for c in grid if c.model.patch_size == 1)
    assert {c.overrides.get("epochs") for c in grid if "epochs" in c.overrides} == {20}
    eps = grid[0].settings()[0]["attack_eps"]  # Fig. 7's radii on every ConvMixer
    assert [round(e * 255) for e in eps] == [1, 2, 4, 8]


def test_regimes_share_every_initial_tensor_for_a_seed():
    """Paired seeds: full, chans and space of one seed start from the same weights."""

    def weights(regime):
        torch.manual_seed(3)
        return build_model(ModelConfig(arch="sep_resnet", regime=regime, depth=1, width=8), 10, 3)

    full = weights("full").state_dict()
    for regime in ("chans", "space"):
        other = weights(regime).state_dict()
        assert all(torch.equal(full[k], other[k]) for k in full), regime


CHILD = """
import sys
from spatialmix import ModelConfig, queue
from spatialmix.results import RunConfig
model = ModelConfig(arch="sep_resnet", width=4, depth=1, multiplier=2)
grid = [RunConfig("unit", model, "mnist", "smoke", seed=s) for s in range(4)]
queue.run_queue(queue.shard(grid, sys.argv[1]), commit=len(sys.argv) > 2, require_clean=False)
"""


def _spawn(shard, store, mnist_dir, commit=False):
    import os
    import sys

    env = {**os.environ, "SPATIALMIX_RESULTS": str(store), "SPATIALMIX_DATA": str(mnist_dir),
           "SPATIALMIX_THREADS": "1"}  # fmt: skip
    args = [sys.executable, "-c", CHILD, shard, *(["commit"] if commit else [])]
    return subprocess.Popen(args, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


def _trained(proc):
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    return [line for line in out.splitlines() if line.startswith("training")]


def test_two_shards_share_one_store(mnist_dir, store):
    procs = [_spawn(f"{i}/2", store, mnist_dir) for i in range(2)]
    trained = [_trained(p) for p in procs]
    assert [len(t) for t in trained] == [2, 2]
    assert len(set(trained[0]) | set(trained[1])) == 4  # every run once, by one shard
    assert len(find_records("unit")) == 4


def test_shards_in_separate_stores_merge_and_conflicts_are_refused(mnist_dir, tmp_path, store):
    from spatialmix.results import RecordError, merge_store

    a, b = tmp_path / "a", tmp_path / "b"
    for proc in [_spawn("0/2", a, mnist_dir), _spawn("1/2", b, mnist_dir)]:
        assert len(_trained(proc)) == 2
    assert len(merge_store(a, store)) == 2 and len(merge_store(b, store)) == 2
    assert len(find_records("unit")) == 4
    assert merge_store(a, store) == []  # the same records again: nothing to do
    again = tmp_path / "again"
    assert len(_trained(_spawn("0/2", again, mnist_dir))) == 2  # the same runs, trained anew
    with pytest.raises(RecordError, match="same key, different content"):
        merge_store(again, store)


def test_workers_on_one_store_each_train_what_nobody_has_claimed(mnist_dir, store):
    store.mkdir(parents=True)
    for args in (("init", "-q"), ("config", "user.email", "q@test"), ("config", "user.name", "q")):
        _git(store, *args)
    procs = [_spawn("0/1", store, mnist_dir, commit=True) for _ in range(2)]  # the whole grid
    trained = [_trained(p) for p in procs]
    assert sum(len(t) for t in trained) == 4  # without claims the second trains all 4 again
    assert len(set(trained[0]) | set(trained[1])) == 4
    assert len(_git(store, "log", "--format=%s").stdout.splitlines()) == 4  # commits serialised


def test_a_run_claimed_elsewhere_is_skipped(mnist_dir, store):
    from spatialmix.results import lookup
    from spatialmix.store import claim

    grid = _grid()
    with claim(record_path(grid[0])[0]) as mine:
        with claim(record_path(grid[0])[0]) as again:  # a second claim, as another process's
            assert mine and not again
        assert queue_mod.run_queue(grid, require_clean=False, say=lambda text: None) == 1
    assert lookup(grid[0]) is None and lookup(grid[1]) is not None


def test_workers_share_the_cores_and_leave_the_children_one_worker_each(monkeypatch):
    argv = ["run", "07:quick", "--workers", "2", "--commit", "--workers=2"]
    assert queue_mod._without_workers(argv) == ["run", "07:quick", "--commit"]
    monkeypatch.setenv("SPATIALMIX_THREADS", "1")
    with pytest.raises(SystemExit, match="exceeds the 1 cores"):
        queue_mod.run_workers(["run", "07:quick"], 2)


def test_shard_specs_are_checked():
    assert queue_mod.shard(list(range(5)), "1/2") == [1, 3]
    with pytest.raises(ValueError, match="0 <= i < n"):
        queue_mod.shard([1], "2/2")


def test_plan_states_the_hours_spent_and_left(mnist_dir, store, monkeypatch):
    grid = _grid()
    assert "spent 0.0 core-hours" in queue_mod.cost(grid)
    queue_mod.run_queue(grid[:1], require_clean=False, say=lambda text: None)
    text = queue_mod.cost(grid)
    assert "1 of the 1 missing runs would take about" in text and "more on a quiet " in text
    assert "(1 from their fastest stored twin (another seed or bank), 0 from their FLOPs" in text
    here = queue_mod.this_machine()  # the only kind of machine stored: the reference
    assert f" h on 2 cores (the stored runs as they took, the rest as a quiet {here} would)" in text
    assert "; quiet: " in text and f" h on {here} (this machine) (the stored runs' times " in text
    assert text.endswith("quiet_core_seconds, and by each kind of machine's pace, from the twins "
                         "trained on both)")  # fmt: skip
    assert "; the grid in all: about " in text
    # core-hours count a run's threads: a 1-thread run's hours once, a 2-thread run's twice
    record = queue_mod.lookup(grid[0])
    hours = record.provenance["train_seconds"] * record.provenance["threads"] / 3600
    assert text.startswith(f"spent {hours:.1f} core-hours training the stored runs, "
                           f"{hours / 2:.1f} h on 2 cores")  # fmt: skip
    # the chapters' compute_text counts the same record the same way (one definition)
    from spatialmix import report
    from spatialmix.results import frame

    assert f"1 run trained for {hours:.1f} core-hours" in report.compute_text(frame([record]))
    del record.provenance["load_mean"]  # a run from before loads were recorded says so
    monkeypatch.setattr(queue_mod, "_stored", lambda g: {0: record})
    assert queue_mod.cost(grid).endswith(  # and with no load recorded, no pace is measured
        "pace, from the twins trained on both; 1 of them recorded no load, counted as the lesser "
        "of what they took and what the runs that recorded it estimate)"
    )


@pytest.mark.parametrize("scale", ["cpu", "converged"])
def test_a_chapters_grid_trains_fig4_on_the_data_the_chapter_reads(scale):
    # chapter 04 reads Fig. 4 from runs on ex.fig4_overrides(scale) (a 20,000-image subset at
    # "converged"): its queue grid must hold those runs, not the same models on all the data
    from spatialmix import experiments as ex

    p = queue_mod.parameters("04")
    asked = ex.fig4_runs(
        ("full", "chans"),
        p["widths"],
        p["width_depth"],
        p["dataset"],
        p["seeds"],
        scale,
        ex.fig4_overrides(scale),
    )  # as the chapter's cell
    grid = {repr(c) for c in queue_mod.chapter_grid("04", scale, False)}
    assert {repr(c) for c in asked} <= grid


def test_chapter_06s_grid_trains_fgsm_models_as_the_chapter_asks():
    # chapter 06 trains FGSM models in adv_regimes at adv_depths (its cell 6), not in every
    # regime at the standard-training depths
    from spatialmix import experiments as ex

    p = {**queue_mod.parameters("06"), "adv_regimes": ["full", "chans"], "adv_depths": [1, 2]}
    asked = ex.adversarial_runs(p["adv_regimes"], p["adv_depths"], p["dataset"], p["seeds"],
                                "converged", p["eps_255"] / 255)  # fmt: skip
    grid = queue_mod.chapter_grid("06", "converged", False, adv_regimes=["full", "chans"],
                                  adv_depths=[1, 2])  # fmt: skip
    fgsm = {repr(c) for c in grid if c.settings()[0]["adv_eps"] > 0}
    assert fgsm == {repr(c) for c in asked}


def test_chapters_at_their_converged_parameters_ask_for_exactly_the_converged_grids():
    """Every run chapters 04, 05 and 06 ask for at scale converged (their parameters as
    experiments.CONVERGED_PARAMETERS sets them: what `queue run NN:converged` trains) is in the
    two converged grids, and the grids train nothing the chapters do not read."""
    from spatialmix import experiments as ex

    asked = set()
    for chapter in ("04", "05", "06"):
        changes = ex.scale_parameters(chapter, "converged")
        assert set(changes) <= set(queue_mod.parameters(chapter)), chapter  # real parameters
        asked |= {
            (c.experiment, repr(c))
            for c in queue_mod.chapter_grid(chapter, "converged", False, **changes)
        }
    grids = {(c.experiment, repr(c)) for c in ex.converged_grid() + ex.mixer_converged_grid()}
    assert asked == grids
    assert {repr(c) for c in queue_mod.grid_named("04:converged")} <= {r for _, r in grids}
    read = queue_mod.read_command("05:converged")  # what `plan` prints for the chapter
    assert read.startswith("papermill book/05_convmixer.ipynb out.ipynb -p freeze all -p scale")
    assert '"width": 128' in read and queue_mod.read_command("07:converged") == ""


def test_runs_without_a_twin_are_estimated_from_their_flops(mnist_dir, store):
    from spatialmix.run_flops import training_flops

    wide = RunConfig("unit", ModelConfig(arch="sep_resnet", width=8, depth=1, multiplier=2),
                     "mnist", "smoke")  # fmt: skip
    grid = [*_grid(), wide]
    queue_mod.run_queue(grid[:1], require_clean=False, say=lambda text: None)
    seconds = queue_mod.quiet_core_seconds(queue_mod.lookup(grid[0]).provenance)
    guess = queue_mod.estimates(grid)
    assert guess[1] == (pytest.approx(seconds), "twin")  # seed 1: its seed-0 twin's time
    rate = seconds / training_flops(grid[0])  # width 8: the stored run's seconds per FLOP
    assert guess[2] == (pytest.approx(training_flops(wide) * rate), "flops")
    assert training_flops(wide) > training_flops(grid[0])
    text = queue_mod.cost(grid)
    assert "(1 from their fastest stored twin (another seed or bank), 1 from their FLOPs" in text
    other = RunConfig("unit", ModelConfig(arch="convmixer", width=8, depth=1), "mnist", "smoke")
    text = queue_mod.cost([*grid, other])  # the test store has no benchmark record
    assert "; 1 runs of families with neither a stored run nor a benchmark row are not" in text


def test_a_family_with_nothing_stored_is_estimated_from_the_benchmarks_step(mnist_dir, store):
    from spatialmix.run_flops import training_flops

    mixer = RunConfig("unit", ModelConfig(arch="convmixer", width=8, depth=1), "mnist", "smoke")
    chans = RunConfig("unit", ModelConfig(arch="convmixer", width=8, depth=1, regime="chans"),
                      "mnist", "smoke")  # fmt: skip
    row = {"model": "ConvMixer-128/4 (k=8, p=1)", "allocator": "keep", "flops": 64e9}
    bench = {"provenance": {"threads": 2}, "batch": 128, "rows": [
        {**row, "regime": "full", "ours": 100.0}, {**row, "regime": "chans", "ours": 160.0},
        {**row, "allocator": "default", "regime": "full", "ours": 50.0}]}  # fmt: skip
    per_image = 64e9 / 128  # the full step's FLOPs per image: 3× the forward
    assert queue_mod.bench_rates(bench) == {
        ("convmixer", "full"): pytest.approx(2 / (100.0 * per_image)),  # freed memory kept
        ("convmixer", "chans"): pytest.approx(2 / (160.0 * per_image))}  # fmt: skip
    guess = queue_mod.estimates([mixer, chans], {}, bench)
    assert guess[0] == (pytest.approx(training_flops(mixer) * 2 / (100.0 * per_image)), "bench")
    assert guess[1][0] < guess[0][0] and guess[1][1] == "bench"  # frozen: a cheaper step
    text = queue_mod.cost([mixer, chans], bench=bench)
    assert "2 from their FLOPs at the rate of the benchmark's training step" in text
    assert "the grid in all" in text
    assert queue_mod.estimates([mixer], {}, {"provenance": {}, "batch": 1, "rows": []}) == {}


def test_every_model_of_the_stored_benchmark_is_a_family_the_queue_knows():
    record = json.loads((Path(__file__).parents[1] / "results/bench/bench.json").read_text())
    rates = queue_mod.bench_rates(record)
    assert {arch for arch, _ in rates} == {"sep_resnet", "convmixer", "unshuffle"}
    assert {regime for _, regime in rates} == {"full", "chans", "space"}


def test_a_queue_with_hours_passes_over_runs_that_would_outlast_them(mnist_dir, store, monkeypatch):
    grid = _grid()
    monkeypatch.setattr(queue_mod, "estimates", lambda g, *a, **k: {0: (7200.0 * 64, "twin")})
    said = []
    assert queue_mod.run_queue(grid, hours=1, require_clean=False, say=said.append) == 1
    assert said[0].startswith("passing over unit: mnist sep_resnet n=1 w=4 full seed 0")
    assert "min left" in said[0] and said[1].startswith("training unit: mnist")
    assert queue_mod.lookup(grid[0]) is None and queue_mod.lookup(grid[1]) is not None


def test_estimates_count_a_runs_share_of_the_cores_and_prefer_runs_that_recorded_it():
    prov = {"train_seconds": 600.0, "threads": 1, "cores": 2}
    assert queue_mod.quiet_core_seconds(prov) == 600.0  # load not recorded: as measured
    assert queue_mod.quiet_core_seconds({**prov, "load_mean": 1.5}) == 600.0  # never stretched
    assert queue_mod.quiet_core_seconds({**prov, "load_mean": 3.0}) == pytest.approx(400.0)
    assert queue_mod.quiet_core_seconds({**prov, "threads": 2, "load_mean": 4.0}) == 600.0
    grid = [RunConfig("unit", TINY, "mnist", "smoke", seed=s) for s in (0, 1, 2, 3)]
    records = {i: SimpleNamespace(provenance=p) for i, p in enumerate([
        {**prov, "train_seconds": 900.0},                    # contended, load unknown
        {**prov, "train_seconds": 720.0, "load_mean": 3.0},  # beside CI: 480 quiet
        {**prov, "train_seconds": 500.0, "load_mean": 2.0}])}  # fmt: skip
    guess = queue_mod.estimates(grid, records)
    assert guess == {3: (pytest.approx(480.0), "twin")}  # the fastest twin with its load known
    del records[1], records[2]
    assert queue_mod.estimates(grid, records)[3] == (pytest.approx(900.0), "twin")


def test_a_run_another_worker_holds_is_not_said_to_be_passed_over(mnist_dir, store, monkeypatch):
    from spatialmix.store import claim

    grid = _grid()
    monkeypatch.setattr(queue_mod, "estimates", lambda g, *a, **k: {0: (7200.0 * 64, "twin")})
    said = []
    with claim(record_path(grid[0])[0]):  # another worker is training grid[0]
        assert queue_mod.run_queue(grid, hours=1, require_clean=False, say=said.append) == 1
    assert not any(text.startswith("passing over") for text in said)


def test_the_runs_landed_rescale_the_estimates_to_this_machines_pace(mnist_dir, store, monkeypatch):
    grid = _grid()  # run 0 estimated at a microsecond: however fast it trains, it is slower
    monkeypatch.setattr(
        queue_mod, "estimates", lambda g, *a, **k: {0: (1e-6, "twin"), 1: (1.0, "twin")}
    )
    said = []
    assert queue_mod.run_queue(grid, hours=1, require_clean=False, say=said.append) == 1
    took = [s for s in said if s.startswith("  took ")]
    assert len(took) == 1 and "× its estimate; estimates now × " in took[0]
    assert said[-1].startswith("passing over unit: mnist sep_resnet n=1 w=4 full seed 1")
    assert "this machine's pace" in said[-1]  # 1 s estimated, ≥ 1 h at the measured pace
    assert queue_mod.lookup(grid[1]) is None
    pace = queue_mod.Pace()
    assert pace.factor == 1.0 and pace.text() == ""
    pace.add(100.0, 230.0)
    pace.add(100.0, 250.0)
    assert pace.factor == pytest.approx(2.4)


def test_match_trains_and_plans_only_the_runs_it_names(mnist_dir, store, monkeypatch, capsys):
    grid = _grid()
    said = []
    assert queue_mod.run_queue(grid, require_clean=False, say=said.append, match=["seed 1"]) == 1
    assert queue_mod.lookup(grid[0]) is None and queue_mod.lookup(grid[1]) is not None
    assert queue_mod.matches(grid[0], ["w=4", "seed 0"]) and not queue_mod.matches(grid[0], ["w=8"])
    # the estimate of the run left out of the match comes from its stored twin, outside the match
    assert "1 of the 1 missing runs would take" in queue_mod.cost(grid, match=["seed 0"])
    monkeypatch.setattr(queue_mod, "grid_named", lambda name: grid)
    assert queue_mod.main(["plan", "unit", "--match", "seed 0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("missing  unit: mnist sep_resnet n=1 w=4 full seed 0")
    assert out[1] == "0 of 1 runs that match 'seed 0' stored"


def test_kinds_of_machine_are_compared_on_their_twins_and_estimates_come_in_the_references_time():
    from dataclasses import replace

    from spatialmix.run_flops import training_flops

    wide = replace(TINY, width=8)
    grid = [RunConfig("unit", m, "mnist", "smoke", seed=s) for m in (TINY, wide) for s in (0, 1, 2)]
    xeon = {"cpu": "Xeon", "isa": {"cpu": "avx512"}, "threads": 1, "cores": 2, "load_mean": 2.0}
    epyc, atom = {**xeon, "cpu": "EPYC", "isa": {"cpu": "avx2"}}, {**xeon, "cpu": "Atom"}
    assert queue_mod.machine(xeon) == "Xeon (AVX-512)"
    records = {i: SimpleNamespace(provenance=p) for i, p in enumerate([
        {**xeon, "train_seconds": 100.0}, {**xeon, "train_seconds": 400.0},  # the most runs
        {**epyc, "train_seconds": 250.0}])}  # its fastest Xeon twin took 100 s  # fmt: skip
    paces = queue_mod.machine_paces(grid, records)
    assert paces == {"Xeon (AVX-512)": (1.0, 0), "EPYC (AVX2)": (pytest.approx(2.5), 1)}
    rate = (100.0 + 400.0 + 250.0 / 2.5) / (3 * training_flops(grid[0]))  # in Xeon seconds
    assert queue_mod.estimates(grid, records) == {
        i: (pytest.approx(training_flops(grid[i]) * rate), "flops") for i in (3, 4, 5)
    }
    # a kind that shares twins only with a compared kind is compared through it; a kind whose
    # runs recorded no load is not compared at all
    records[3] = SimpleNamespace(provenance={**epyc, "train_seconds": 500.0})
    records[4] = SimpleNamespace(provenance={**atom, "train_seconds": 1500.0})
    records[5] = SimpleNamespace(provenance={**atom, "cpu": "Old", "train_seconds": 9.0})
    del records[5].provenance["load_mean"]
    paces = queue_mod.machine_paces(grid, records)
    assert paces["Atom (AVX-512)"][1] == 1 and "Old (AVX-512)" not in paces and len(paces) == 3
    xeon_pace = paces["Xeon (AVX-512)"][0]  # (EPYC now ties with it and comes first by name)
    assert paces["Atom (AVX-512)"][0] / xeon_pace == pytest.approx(2.5 * 1500.0 / 500.0)


def _two_kinds_of_machine() -> tuple[list[RunConfig], dict[int, SimpleNamespace]]:
    """Four seeds of one run: two stored from a Xeon (1 h each), one from an EPYC taking twice
    as long, one missing."""
    grid = [RunConfig("unit", TINY, "mnist", "smoke", seed=s) for s in (0, 1, 2, 3)]
    xeon = {"cpu": "Xeon", "isa": {"cpu": "avx512"}, "threads": 1, "cores": 2, "load_mean": 2.0}
    epyc = {**xeon, "cpu": "EPYC", "isa": {"cpu": "avx2"}, "train_seconds": 7200.0}
    records = {i: SimpleNamespace(provenance=p) for i, p in enumerate([
        {**xeon, "train_seconds": 3600.0}, {**xeon, "train_seconds": 3600.0}, epyc])}  # fmt: skip
    return grid, records


def test_plan_states_the_grid_on_each_kind_of_machine(monkeypatch):
    grid, records = _two_kinds_of_machine()
    monkeypatch.setattr(queue_mod, "_stored", lambda g: records)
    monkeypatch.setattr(queue_mod, "this_machine", lambda: "EPYC (AVX2)")
    text = queue_mod.cost(grid)  # 4 Xeon core-hours in all: seed 3 as its twins, on the Xeon
    assert "; quiet: 2.0 h on Xeon (AVX-512), 4.0 h on EPYC (AVX2) (this machine; × 2.00, from 1 " \
        "twins) (" in text  # fmt: skip
    assert "would take about 1.0 core-hours more on a quiet Xeon (AVX-512), 0.5 h on 2" in text
    monkeypatch.setattr(queue_mod, "this_machine", lambda: "Atom (AVX2)")
    assert queue_mod.cost(grid).endswith("; this machine, Atom (AVX2), not compared yet: its "
                                         "queue learns its pace)")  # fmt: skip
    pace = queue_mod.Pace(prior=2.0)  # the queue starts at its kind's pace, then measures its own
    assert pace.factor == 2.0 and "× 2.00" in pace.text()
    pace.add(100.0, 300.0)
    assert pace.factor == 3.0


def test_a_run_of_unknown_contention_counts_no_more_than_its_twins_that_recorded_it(monkeypatch):
    grid = [RunConfig("unit", TINY, "mnist", "smoke", seed=s) for s in (0, 1, 2)]
    prov = {"cpu": "Xeon", "isa": {"cpu": "avx512"}, "threads": 1, "cores": 2, "load_mean": 2.0}
    blind = {k: v for k, v in prov.items() if k != "load_mean"}
    records = {0: SimpleNamespace(provenance={**prov, "train_seconds": 3600.0}),
               1: SimpleNamespace(provenance={**blind, "train_seconds": 5 * 3600.0})}  # fmt: skip
    monkeypatch.setattr(queue_mod, "_stored", lambda g: records)
    monkeypatch.setattr(queue_mod, "this_machine", lambda: "Xeon (AVX-512)")
    text = queue_mod.cost(grid)  # 6 core-hours as taken; quiet, 3: seed 1 as its twin seed 0
    assert "spent 6.0 core-hours" in text and "; quiet: 1.5 h on Xeon (AVX-512) (this" in text
    records[1].provenance["train_seconds"] = 1800.0  # faster than its twin: as it took
    assert "; quiet: 1.2 h on Xeon (AVX-512) (this" in queue_mod.cost(grid)


def test_a_chapter_states_its_grid_from_an_empty_store_on_each_kind_of_machine(monkeypatch):
    grid, records = _two_kinds_of_machine()
    monkeypatch.setattr(queue_mod, "grid_named", lambda name: grid)
    monkeypatch.setattr(queue_mod, "_stored", lambda g: records)
    text = queue_mod.budget_text("unit")  # 4 Xeon core-hours: 2 h on 2 cores; the EPYC twice
    assert text.startswith("the `unit` grid: 3 of its 4 runs stored, trained for 4.0 core-hours;")
    assert (
        "about 2.0 h on a quiet Xeon (AVX-512) (the reference); 4.0 h on a quiet EPYC (AVX2) "
        "(× 2.00, from 1 runs with a twin on the reference), on 2 cores kept busy" in text
    )
    assert text.endswith("`python -m spatialmix.queue plan unit`)")
    monkeypatch.setattr(queue_mod, "_stored", lambda g: {})  # nothing stored, no benchmark row
    monkeypatch.setattr(queue_mod, "_stored_bench", lambda: None)
    assert "too few stored to estimate the rest" in queue_mod.budget_text("unit")


def test_chapter_04_reads_the_converged_fig2_runs_the_queue_trains():
    runs = converged_fig2_runs(["cifar10", "fashion_mnist", "cifar100"])  # cifar100: not in it
    assert len(runs) == 3 * len(CONVERGED["depths"]) * 2 * len(CONVERGED["seeds"])
    grid = {(c.experiment, repr(c)) for c in converged_grid()}
    assert {(c.experiment, repr(c)) for c in runs} <= grid


def test_chapter_04_reads_the_converged_fig3_and_fig4_runs_the_queue_trains():
    banks, widths = converged_fig3_runs(), converged_fig4_runs()
    assert len(banks) == (1 + len(CONVERGED["banks"])) * len(CONVERGED["seeds"])
    assert len(widths) == 2 * len(CONVERGED["widths"]) * len(CONVERGED["seeds"])
    assert {c.overrides["n_train"] for c in widths} == {CONVERGED["width_subset"]}
    grid = {(c.experiment, repr(c)) for c in converged_grid()}
    assert {(c.experiment, repr(c)) for c in banks + widths} <= grid


def test_chapter_06_reads_the_converged_fig6_runs_the_queue_trains():
    standard, fgsm = converged_fig6_runs()
    assert len(standard) == 3 * len(CONVERGED["depths"]) * len(CONVERGED["seeds"])
    assert len(fgsm) == 2 * len(CONVERGED["adversarial_depths"]) * len(CONVERGED["seeds"])
    grid = {(c.experiment, repr(c)) for c in converged_grid()}
    assert {(c.experiment, repr(c)) for c in standard + fgsm} <= grid


def test_chapter_05_reads_the_converged_fig5_runs_the_queue_trains():
    runs = converged_fig5_runs()
    assert len(runs) == 3 * len(MIXER_CONVERGED["depths"]) * len(MIXER_CONVERGED["seeds"])
    grid = {(c.experiment, repr(c)) for c in mixer_converged_grid()}
    assert {(c.experiment, repr(c)) for c in runs} <= grid


def test_chapter_06_reads_the_converged_fig7_runs_the_queue_trains():
    runs = converged_fig7_runs()
    seeds = len(MIXER_CONVERGED["seeds"])
    assert len(runs) == (2 + len(MIXER_CONVERGED["sigmas"])) * seeds  # full, chans, each σ
    assert {c.model.depth for c in runs} == {MIXER_CONVERGED["sigma_depth"]}
    grid = {(c.experiment, repr(c)) for c in mixer_converged_grid()}
    assert {(c.experiment, repr(c)) for c in runs} <= grid


def test_paired_records_keep_the_seeds_every_regime_has():
    def rec(regime: str, seed: int) -> SimpleNamespace:
        model = SimpleNamespace(regime=regime)
        return SimpleNamespace(spec=SimpleNamespace(seed=seed, model=model))

    full0, chans0, full1, space0 = rec("full", 0), rec("chans", 0), rec("full", 1), rec("space", 0)
    assert paired_records([full0, None, chans0, full1, space0]) == [full0, chans0, space0]
    assert paired_records([full0, full1]) == [full0, full1]  # one regime: every seed pairs
    assert paired_records([None]) == []


def test_paired_per_depth_pairs_each_depth_on_its_own():
    def rec(regime: str, depth: int, seed: int) -> SimpleNamespace:
        model = SimpleNamespace(regime=regime, depth=depth)
        return SimpleNamespace(spec=SimpleNamespace(seed=seed, model=model))

    f20, c20, f21 = rec("full", 2, 0), rec("chans", 2, 0), rec("full", 2, 1)
    f40, f41, c41 = rec("full", 4, 0), rec("full", 4, 1), rec("chans", 4, 1)
    s41 = rec("space", 4, 1)  # not among the regimes asked for
    got = paired_per_depth([f20, c20, f21, None, f40, f41, c41, s41], ("full", "chans"))
    assert got == [f20, c20, f41, c41]  # seed 1 at depth 2 and seed 0 at depth 4 lack chans
