"""What chapters print from measurements: directions in words, Fig. 8's sentence, verdict lines."""

from types import SimpleNamespace

import pandas as pd

from spatialmix import claims, report

# attack_groups' shape: (condition, regime, depth) -> per seed; chans keeps less accuracy than
# full at both depths, but at depth 2 more of its (lower) clean accuracy
ACC = {("clean", "full", 2): [0.50, 0.52], ("clean", "chans", 2): [0.40, 0.42],
       ("FGSM", "full", 2): [0.30, 0.31], ("FGSM", "chans", 2): [0.28, 0.29],
       ("clean", "full", 4): [0.50, 0.51], ("clean", "chans", 4): [0.50, 0.51],
       ("FGSM", "full", 4): [0.30, 0.32], ("FGSM", "chans", 4): [0.25, 0.26]}  # fmt: skip


def test_robust_gaps_pair_seeds_in_points_and_as_a_share_of_clean():
    gaps = report.robust_gaps(ACC, "FGSM", "clean")
    assert list(gaps) == [2, 4]
    assert gaps[2]["points"].mean < 0 < gaps[2]["share"].mean
    assert gaps[4]["points"].mean < 0 and gaps[4]["share"].mean < 0
    lone = {k: v for k, v in ACC.items() if k != ("FGSM", "chans", 4)}
    assert list(report.robust_gaps(lone, "FGSM", "clean")) == [2]  # a depth needs both regimes


def test_robust_gap_text_says_which_way_it_goes():
    text = report.robust_gap_text(ACC, "FGSM", "clean")
    assert text.startswith("Under FGSM, chans keeps less accuracy than full at every depth")
    share = "as a share of clean accuracy, chans keeps more of its clean accuracy than full at "
    assert share + "depth 2 and less at depth 4" in text
    swapped = {(c, "chans" if r == "full" else "full", n): v for (c, r, n), v in ACC.items()}
    assert "chans keeps more accuracy than full at every depth" in report.robust_gap_text(
        swapped, "FGSM", "clean")  # fmt: skip
    assert report.robust_gap_text({}, "FGSM", "clean").startswith("No depth has stored runs")
    table = report.robust_gap_table(ACC, {"FGSM": "clean"})
    assert "chans − full (points)" in table.splitlines()[0] and len(table.splitlines()) == 4


def test_smoothing_text_follows_the_table():
    df = pd.DataFrame({"sigma": [0.0, 1.0, 2.0], "hf_fraction": [0.81, 0.18, 0.06],
                       "coverage": [1.0, 0.14, 0.07]})  # fmt: skip
    text = report.smoothing_text(df)
    assert text.startswith("At σ = 2, 6.0% of the bank's energy lies above half the Nyquist")
    assert "against 81.0% at σ = 0 (falling at every step of σ)" in text
    bumpy = df.assign(hf_fraction=[0.81, 0.05, 0.06])
    assert "not falling at every step" in report.smoothing_text(bumpy)


def test_issue16_verdicts_have_one_line_each():
    rising = {0.0: [0.30, 0.31, 0.305], 2.0: [0.40, 0.41, 0.404]}
    clean = {0.0: [0.85, 0.86, 0.855], 2.0: [0.851, 0.858, 0.856]}
    hf = {("chans", "b0"): [0.80, 0.81, 0.805], ("full", "b0"): [0.60, 0.61, 0.605]}
    banks = {"a": 1.0, "b": 0.8, "c": 0.5, "d": 0.2}
    acc = {"a": [0.9, 0.91], "b": [0.85, 0.86], "c": [0.8, 0.81], "d": [0.6, 0.61]}
    verdicts = {
        "σ": claims.evaluate("fig7_smoothing_robust", rising, clean),
        "gain": claims.evaluate("fig7_relative_gain", rising),
        "hf": claims.evaluate("fig9_learned_filters_smoother", hf),
        "banks": claims.evaluate("coverage_predicts_accuracy", banks, acc),
    }
    lines = {k: report.measured_text(v) for k, v in verdicts.items()}
    assert lines["σ"].startswith("σ 2 against σ 0: robust accuracy +10.0 [")
    assert lines["gain"].startswith("best σ 2 against σ 0: relative gain +32.")
    assert lines["hf"].startswith("b0: random − learned +20.0 [")
    assert lines["banks"].startswith("Spearman ρ +1.00 [") and "over 4 banks" in lines["banks"]
    table = report.verdict_table(verdicts)
    assert "b0: random − learned" in table and "overall" in table  # Fig. 9 per layer, then all


def test_budget_table_reads_psnr_in_db_and_accuracy_in_points():
    def frame(metric: str, values: dict[str, float]) -> pd.DataFrame:
        return pd.DataFrame([{"metric": metric, "regime": r, "seed": 0, "value": v}
                             for r, v in values.items()])  # fmt: skip

    text = report.budget_table(frame("test_psnr", {"full": 16.5, "chans": 13.1}),
                               frame("test_psnr", {"full": 17.0, "chans": 13.6}), 2,
                               "test_psnr")  # fmt: skip
    assert "test PSNR (dB) at 2× the epochs" in text and "full − chans (dB)" in text
    assert "16.50 (n=1)" in text and "+3.4" in text and "chans − space (dB)" in text
    acc = report.budget_table(frame("test_acc", {"full": 0.8, "space": 0.5}),
                              frame("test_acc", {"full": 0.82}), 2)  # fmt: skip
    assert "80.0 (n=1)" in acc and "full − chans (points)" in acc


def _frame(metric: str, values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"metric": metric, "regime": r, "seed": s, "value": v}
                         for r, vs in values.items() for s, v in enumerate(vs)])  # fmt: skip


def test_budget_text_states_the_gains_and_what_they_say_against_the_bar():
    base = _frame("test_psnr", {"full": [16.5, 16.7], "chans": [13.1, 13.3]})
    more = _frame("test_psnr", {"full": [18.0, 18.2], "chans": [13.2, 13.4]})
    text = report.budget_text(base, more, 2, "test_psnr")
    assert text.startswith("2× the epochs changed full by +1.50 dB, chans by +0.10 dB (n = 2)")
    assert "full − chans went from +3.40 to +4.80 dB." in text and "space" not in text
    mixed = report.budget_text(base, more, 2, "test_psnr", still_learning=0.5)
    assert mixed.endswith("full gained at least 0.5 dB (still learning), the rest less.")
    flat = report.budget_text(base, base, 2, "test_psnr", still_learning=0.5)
    assert flat.endswith("No regime gained 0.5 dB: the curves had flattened.")
    once, twice = _frame("test_acc", {"full": [0.80]}), _frame("test_acc", {"full": [0.85]})
    acc = report.budget_text(once, twice, 2, still_learning=0.01)
    assert "full by +5.0 points" in acc and acc.endswith("training had not finished.")
    empty = pd.DataFrame(columns=["metric", "regime", "seed", "value"])
    assert "no regime" in report.budget_text(base, empty, 2, "test_psnr")


def test_paired_gap_text_pairs_seeds_and_gives_an_interval_from_two():
    one = report.paired_gap_text([16.0], [14.5], "space − chans")
    assert one == "space − chans: +1.50 dB (n = 1)"
    two = report.paired_gap_text([16.0, 17.0], [14.0, 15.5], "a − b")
    assert two.startswith("a − b: +1.75 dB [") and two.endswith("(n = 2)")


def test_patch_check_sets_the_subset_beside_all_the_data_and_judges_each_p(mnist_dir, store):
    from spatialmix.experiments import mixer_runs
    from spatialmix.results import frame, run

    shape, subset = (8, 3, 1), {"n_train": 128}  # width, k, depth below; smoke trains 256 images
    grid = mixer_runs(("full", "chans", "space"), [1], "mnist", [0], "smoke", *shape[:2], 2)
    check = [*mixer_runs(("full", "chans", "space"), [1], "mnist", [0], "smoke", *shape[:2], 1,
                         subset),
             *mixer_runs(("full", "chans", "space"), [1], "mnist", [0], "smoke", *shape[:2], 2,
                         subset)]  # fmt: skip
    grid_df = frame(run(c, progress=False) for c in grid)
    records = [run(c, progress=False) for c in check[:-1]] + [None]  # p 2's space still missing
    text, verdicts = report.patch_check(check, records, grid_df)
    assert "training images" in text and "test accuracy % (depth 1)" in text
    assert "  256 " in text and "  128 " in text  # the grid's data beside the subset's
    assert [label for label, _ in verdicts] == ["p 1, 128 images", "p 2, 128 images"]
    assert verdicts[0][1].status in claims.STATUSES
    assert verdicts[1][1].status == report.NOT_EVALUATED
    assert report.patch_check([], [], grid_df) == ("", [])


def test_compute_text_counts_core_hours_not_summed_wall_time():
    from spatialmix.provenance import core_seconds

    # two 1-thread hours side by side, a 2-thread half hour, and a run that records no threads
    rows = [("a", {"train_seconds": 3600.0, "threads": 1}),
            ("b", {"train_seconds": 3600.0, "threads": 1}),
            ("c", {"train_seconds": 1800.0, "threads": 2}),
            ("d", {"train_seconds": 1800.0})]  # fmt: skip
    assert [core_seconds(p) for _, p in rows] == [3600.0, 3600.0, 3600.0, 1800.0]
    assert core_seconds({"threads": 2}) is None
    df = pd.DataFrame([{"key": k, "metric": m, "threads": p.get("threads"), "cpu": "Xeon",
                        "isa": "AVX-512", "value": core_seconds(p) if m == "core_seconds" else 0.5}
                       for k, p in rows for m in ("core_seconds", "test_psnr")])  # fmt: skip
    text = report.compute_text(df, cores=2)
    # 3.5 core-hours, 1.75 h on 2 cores; the run without threads counts as 1 thread
    assert text.startswith("4 runs trained for 3.5 core-hours")
    assert "threads; Xeon (AVX-512): 3 runs at 1 thread, 1 run at 2 threads)" in text
    assert text.endswith("1.8 h on 2 cores")  # no run recorded the machine's load: no more
    # runs that recorded the load: those above the machine's cores shared them
    loaded = df.assign(cores=2, load_mean=[1.9, 1.9, 3.4, 3.4, 2.2, 2.2, None, None])
    assert report.compute_text(loaded, cores=2).endswith(
        "; 1 of the 3 runs that recorded the machine's load trained while it exceeded the cores "
        "by more than 0.5 (mean 1-minute load average; their times include waiting for a core)"
    )
    # 2.2 on 2 cores is within the margin (a shell beside the runs); 2.6 is not
    loaded = loaded.assign(load_mean=[1.9, 1.9, 3.4, 3.4, 2.6, 2.6, None, None])
    assert "; 2 of the 3 runs" in report.compute_text(loaded, cores=2)
    assert report.compute_text(df[df.metric == "test_psnr"]).startswith("no stored run")


def test_findings_say_claim_by_claim_where_each_was_reproduced():
    from spatialmix.claims import CLAIMS, Verdict

    verdicts = [("mnist", Verdict("fig10_full_learns", "reproduced")),
                ("cifar10", Verdict("fig10_full_learns", "not reproduced")),
                ("fashion", Verdict("fig10_full_learns", "reproduced")),
                ("depth 8", Verdict("fig10_chans_params_flat", "inconclusive"))]  # fmt: skip
    lines = report.findings_text(verdicts).splitlines()
    learns = CLAIMS["fig10_full_learns"].statement.rstrip(".")
    assert lines[0] == (f"- {learns} — **reproduced** for *mnist* and *fashion*; **not "
                        "reproduced** for *cifar10*.")  # fmt: skip
    assert lines[1].endswith(" — **inconclusive** for *depth 8*.") and len(lines) == 2
    assert report.findings_text(dict(verdicts[:1])) == f"- {learns} — **reproduced** for *mnist*."
    three = [(f"n {n}", Verdict("fig10_full_learns", "reproduced")) for n in (1, 2, 3)]
    assert report.findings_text(three).endswith("for *n 1*, *n 2* and *n 3*.")


def test_the_recipe_in_words_follows_the_scales_preset(monkeypatch):
    from spatialmix import scales

    text = report.recipe_text("sep_resnet", "converged", "cifar10", ["cifar10", "fashion_mnist"])
    p = scales.preset("sep_resnet", "converged", "cifar10")
    assert text.startswith("SGD with Nesterov momentum 0.9, weight decay 5·10⁻⁴, ")
    assert f"batch {p['batch_size']}, peak learning rate {p['lr']:g} with a one-cycle" in text
    fashion = scales.preset("sep_resnet", "converged", "fashion_mnist")["epochs"]
    assert f"{p['epochs']} epochs (fashion_mnist: {fashion}); random crop (pad 4)" in text
    assert "label smoothing 0.1" in text and "then cosine decay" not in text
    cpu = report.recipe_text("sep_resnet", "cpu", "cifar10", ["cifar10", "fashion_mnist"])
    assert (
        "then cosine decay" in cpu
        and "label smoothing" not in cpu
        and "(" not in cpu.split("epochs")[1].split(";")[0]
    )  # one epoch count for both at this scale
    monkeypatch.setitem(scales.PRESETS["convmixer"]["quick"], "weight_decay", 0.0)
    assert "AdamW, weight decay 0, " in report.recipe_text("convmixer", "quick", "cifar10")
    assert report.recipe_text("convmixer", "paper", "cifar10").endswith(
        "horizontal flip, RandAugment"
    )
    assert report.recipe_text("unshuffle", "quick", "mnist").endswith("; no augmentation")


def test_the_distance_from_the_paper_follows_the_presets(monkeypatch):
    from spatialmix import scales

    monkeypatch.setitem(scales.PRESETS["sep_resnet"]["cpu"], "epochs", 8)
    assert report.distance_text("sep_resnet", "cpu", "cifar10", "cifar10 (JPEG q75 copy)") == (
        "at the `cpu` scale each run trains on 10,000 of the 50,000 training images of cifar10 "
        "(JPEG q75 copy) for 8 epochs, where a paper-scale run trains on all 50,000 for 160: 1% "
        "of its image passes")  # fmt: skip
    monkeypatch.setitem(scales.PRESETS["sep_resnet"]["converged"], "epochs", 1)
    assert "all 60,000 training images of fashion_mnist for 1 epoch," in report.distance_text(
        "sep_resnet", "converged", "fashion_mnist"
    )
    assert report.distance_text("sep_resnet", "paper", "cifar10").endswith("the paper's budget")


def test_the_attacks_are_worded_from_the_presets(monkeypatch):
    from spatialmix import scales

    cpu = scales.PRESETS["sep_resnet"]["cpu"]
    monkeypatch.setitem(cpu, "attack_eps", (1 / 255, 8 / 255))
    monkeypatch.setitem(cpu, "n_attack", 1_500)
    monkeypatch.setitem(cpu, "pgd_step", 0.5)
    assert report.attack_text("sep_resnet", "cpu", "cifar10") == (
        "FGSM and PGD-2 at ε ∈ {1, 8}/255 on 1,500 stratified test images, PGD in steps of "
        "α = ε/2, each projected back onto the ε-ball (our choice; Eq. 4 steps by ε)")  # fmt: skip
    monkeypatch.setitem(cpu, "pgd_step", (1.0, 0.25))
    monkeypatch.setitem(cpu, "n_attack", 0)
    text = report.attack_text("sep_resnet", "cpu", "cifar10")
    assert "on all the test images" in text and "(the paper's Eq. 4 iterated)" in text
    assert text.endswith(", and of α = ε/4 as a variant")


def test_run_costs_tell_runs_on_a_subset_from_runs_on_every_image():
    df = pd.DataFrame([{"key": k, "metric": m, "dataset": "c", "n_train": n, "regime": "full",
                        "seed": k, "device": "cpu", "threads": 1, "value": v}
                       for k, n in ((0, 0), (1, 20000))
                       for m, v in (("test_acc", 0.8), ("img_per_s", 300.0),
                                    ("train_seconds", 60.0))])  # fmt: skip
    text = report.run_costs(df, ("dataset", "n_train", "regime"))
    assert "train images" in text.splitlines()[0]
    assert [line.split()[1] for line in text.splitlines()[2:]] == ["all", "20,000"]


def test_a_robustness_verdict_waits_only_for_the_runs_of_its_own_depth():
    cfgs = [SimpleNamespace(model=SimpleNamespace(regime=r, depth=n))
            for n in (2, 4) for r in ("full", "chans") for _ in range(2)]  # fmt: skip
    records = [object()] * 6 + [None, None]  # depth 4's chans runs still train
    runs = {"FGSM": (cfgs, records)}
    verdicts = report.robustness_verdicts(
        ACC, {"FGSM": "fig6_chans_more_robust"}, {"FGSM": [2, 4]}, runs, {"FGSM": "clean"}
    )
    assert verdicts["FGSM, n = 2"].status == "not reproduced"  # chans keeps less: evaluated
    assert verdicts["FGSM, n = 4"].status == report.NOT_EVALUATED


def test_bank_groups_follow_the_papers_order_and_the_table_names_each_bank():
    rows = [("chans", "box", 0, 0.5), ("full", "random", 0, 0.8), ("chans", "random", 0, 0.79),
            ("chans", "random", 1, 0.81), ("chans", "identity", 0, 0.3)]  # fmt: skip
    df = pd.DataFrame([{"metric": "test_acc", "regime": r, "bank": b, "seed": s, "value": v}
                       for r, b, s, v in rows])  # fmt: skip
    acc = report.bank_groups(df)
    assert list(acc) == ["full", "random", "box", "identity"]  # Same has no run: left out
    assert acc["random"] == [0.79, 0.81] and acc["full"] == [0.8]
    text = report.bank_table(acc, {"full": "Full", "random": "Different"})
    assert "Different   chans  80.0 ± 1.4 (n=2)" in text and "box   chans        50.0 (n=1)" in text


def test_mean_sd_text_never_prints_a_nonzero_spread_as_zero():
    assert report.mean_sd_text([0.6757, 0.6761], percent=True) == "67.6 ± <0.05 (n=2)"
    assert report.mean_sd_text([0.5, 0.5], percent=True) == "50.0 ± 0.0 (n=2)"  # truly none
    assert report.mean_sd_text([0.5, 0.52], percent=True) == "51.0 ± 1.4 (n=2)"
    assert report.mean_sd_text([1.0, 1.001], digits=2) == "1.00 ± <0.005 (n=2)"
    assert report.mean_sd_text([0.5]) == "0.5 (n=1)"
