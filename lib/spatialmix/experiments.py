"""The runs behind each figure, as lists of RunConfig: one definition for chapters and scripts.

A chapter asks for these lists and passes them to `gather`; a background job can train the same
list ahead of time, and the chapter then only reads records (as a table: results.frame).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .data import stratified_subset
from .datasets import DataNotFoundError, Dataset
from .evaluation import permutation_for
from .models import ModelConfig
from .records import Record
from .results import RunConfig, lookup, run
from .scales import PAPER_SHAPES, preset
from .store import store_shows_partial
from .stream import Data, load_data
from .unshuffle import baseline_psnr

RESNET_EXPERIMENT = "resnet"  # chapter 04: Figs. 2-4 share one pool of trained models
MIXER_EXPERIMENT = "convmixer"  # chapter 05
ADVERSARIAL_EXPERIMENT = "adversarial"  # chapter 06: FGSM-trained models
UNSHUFFLE_EXPERIMENT = "unshuffle"  # chapter 07


def resnet(
    regime: str, depth: int, width: int = 16, bank: str = "random", imagenet: bool = False
) -> ModelConfig:
    """Return the separable pre-activation ResNet of the paper (d = 9, 3×3)."""
    return ModelConfig(arch="sep_resnet", regime=regime, depth=depth, width=width,
                       kernel_size=3, multiplier=9, bank=bank, imagenet=imagenet)  # fmt: skip


def fig2_runs(
    regimes: Iterable[str],
    depths: Iterable[int],
    datasets: Iterable[str],
    seeds: Iterable[int],
    scale: str,
    overrides: Mapping[str, object] | None = None,
) -> list[RunConfig]:
    """Fig. 2: every regime at every depth n, per dataset and seed (w = 16)."""
    return [
        RunConfig(RESNET_EXPERIMENT, resnet(r, n, imagenet=ds == "imagenet"), ds, scale, seed,
                  dict(overrides or {}))
        for ds in datasets for seed in seeds for n in depths for r in regimes
    ]  # fmt: skip


def fig3_runs(
    banks: Iterable[str],
    depth: int,
    dataset: str,
    seeds: Iterable[int],
    scale: str,
    overrides: Mapping[str, object] | None = None,
) -> list[RunConfig]:
    """Fig. 3: chans with each fixed filter bank, plus full (random init) as the reference."""
    models = [resnet("full", depth)] + [resnet("chans", depth, bank=b) for b in banks]
    return [
        RunConfig(RESNET_EXPERIMENT, m, dataset, scale, seed, dict(overrides or {}))
        for seed in seeds for m in models
    ]  # fmt: skip


def fig4_runs(
    regimes: Iterable[str],
    widths: Iterable[int],
    depth: int,
    dataset: str,
    seeds: Iterable[int],
    scale: str,
    overrides: Mapping[str, object] | None = None,
) -> list[RunConfig]:
    """Fig. 4: full and chans as the width w grows, at a fixed depth n."""
    return [
        RunConfig(RESNET_EXPERIMENT, resnet(r, depth, w), dataset, scale, seed,
                  dict(overrides or {}))
        for seed in seeds for w in widths for r in regimes
    ]  # fmt: skip


def mixer_runs(
    regimes: Iterable[str],
    depths: Iterable[int],
    dataset: str,
    seeds: Iterable[int],
    scale: str,
    width: int,
    kernel_size: int,
    patch_size: int,
    overrides: Mapping[str, object] | None = None,
    sigma: float = 0.0,
) -> list[RunConfig]:
    """Fig. 5: ConvMixer-h/depth in every regime at every depth (chapter 05); with sigma > 0,
    Fig. 7's ConvMixers, whose spatial filters are Gaussian-smoothed at init."""
    return [
        RunConfig(MIXER_EXPERIMENT, ModelConfig(arch="convmixer", regime=r, width=width, depth=n,
                  kernel_size=kernel_size, patch_size=patch_size, sigma=sigma), dataset, scale,
                  seed, dict(overrides or {}))
        for seed in seeds for n in depths for r in regimes
    ]  # fmt: skip


def smoothing_runs(
    sigmas: Iterable[float], depth: int, dataset: str, seeds: Iterable[int], scale: str,
    width: int, kernel_size: int, patch_size: int,
) -> list[RunConfig]:  # fmt: skip
    """Fig. 7: chans ConvMixers with frozen random filters smoothed at each σ (σ = 0 is Fig. 5's
    chans), and full beside them: the same attacks judge both."""
    shape = (width, kernel_size, patch_size)
    return [
        *mixer_runs(("full", "chans"), [depth], dataset, seeds, scale, *shape),
        *(c for s in sigmas if s > 0
          for c in mixer_runs(("chans",), [depth], dataset, seeds, scale, *shape, sigma=s)),
    ]  # fmt: skip


def smoothing_depth(depths: Iterable[int]) -> int:
    """Fig. 7's ConvMixer depth among chapter 05's: 4 (Fig. 9's model, MIXER_CONVERGED's
    sigma_depth) where chapter 05 trains it, else its deepest."""
    depths = list(depths)
    return 4 if 4 in depths else max(depths)


def adversarial_runs(
    regimes: Iterable[str],
    depths: Iterable[int],
    dataset: str,
    seeds: Iterable[int],
    scale: str,
    eps: float,
) -> list[RunConfig]:
    """Fig. 6: separable ResNets trained on FGSM(ε) batches (chapter 06)."""
    return [
        RunConfig(ADVERSARIAL_EXPERIMENT, resnet(r, n), dataset, scale, seed, {"adv_eps": eps})
        for seed in seeds for n in depths for r in regimes
    ]  # fmt: skip


Shape = tuple[int, int, int]  # an un-shuffler's (depth, width, kernel_size)


def unshuffle_shapes(
    depth: int,
    width: int,
    kernel_size: int,
    depths: Iterable[int] = (),
    widths: Iterable[int] = (),
    kernel_sizes: Iterable[int] = (),
) -> list[Shape]:
    """Fig. 10's model shapes: the central (depth, width, k) first, then each axis swept through
    it with the other two held (one factor at a time: depth, then width, then k)."""
    shapes = [(depth, width, kernel_size), *((d, width, kernel_size) for d in depths),
              *((depth, w, kernel_size) for w in widths),
              *((depth, width, k) for k in kernel_sizes)]  # fmt: skip
    return list(dict.fromkeys(shapes))


def unshuffle_shape(model: ModelConfig) -> Shape:
    """A model's (depth, width, kernel_size), as Fig. 10's shapes are written."""
    return model.depth, model.width, model.kernel_size


def largest_shape(shapes: Iterable[Shape]) -> Shape:
    """The shape with the most multiply-adds per pixel, depth·(width² + width·k²) (Fig. 11)."""
    return max(shapes, key=lambda s: s[0] * (s[1] ** 2 + s[1] * s[2] ** 2))


def unshuffle_runs(
    regimes: Iterable[str],
    datasets: Iterable[str],
    seeds: Iterable[int],
    scale: str,
    shapes: Iterable[Shape],
    overrides: Mapping[str, object] | None = None,
) -> list[RunConfig]:
    """Figs. 10-11: un-shuffling ConvMixers of each shape, one fixed pixel permutation."""
    return [
        RunConfig(UNSHUFFLE_EXPERIMENT, ModelConfig(arch="unshuffle", regime=r, width=w, depth=d,
                  kernel_size=k), ds, scale, seed, dict(overrides or {}))
        for seed in seeds for ds in datasets for d, w, k in shapes for r in regimes
    ]  # fmt: skip


def unshuffle_budget_runs(
    scale: str, dataset: str, seeds: Iterable[int], shape: Shape
) -> list[RunConfig]:
    """Chapter 07's budget check: the central model in every regime with budget_factor(scale)
    times the epochs (recorded as "custom"); none where the scale claims no convergence."""
    factor = budget_factor(scale)
    if not factor:
        return []
    epochs = int(preset("unshuffle", scale, dataset)["epochs"])
    return unshuffle_runs(REGIMES3, [dataset], seeds, scale, [shape], {"epochs": factor * epochs})


# Chapter 07's cost. Designed from one timed training step per shape (batch 128, 1 thread, Intel
# Xeon AVX-512, beside a 2-thread job, img/s full / chans): (depth 8, width 32, k 9) 115 / 248;
# (8, 64, 9) 50 / 76; (8, 128, 9) 25 / 48; (10, 64, 9) 46 / 84; (8, 64, 11) 47 / 93; 3×32×32 at
# (8, 64, 9) 44 / 89; space ≈ 1.1× full. Measured since (2 threads, same CPU): at 10 epochs
# 32/8 runs took 5-6 min and 64/8 full 16 min (beside tests); at 20 epochs, with the register-
# window kernel and nothing beside, 32/8 chans and space 7 min each. So the committed grid (4
# shapes on MNIST, the central one on Fashion-MNIST and CIFAR-10, 3 regimes, 2 seeds: 36 runs)
# takes an estimated 6-7 h at "converged" (10,000 images × 20 epochs), 0.7 h more for the budget
# check, and 19 min at "quick" (2,000 × 2).
def fig10_runs(
    dataset: str, panels: Iterable[str], seeds: Iterable[int], scale: str, shapes: Sequence[Shape]
) -> list[RunConfig]:
    """Chapter 07: every shape on `dataset` (Fig. 10's sweeps), the central one (shapes[0]) on
    each other panel; per seed in turn, the central model on `dataset` first (its PSNR curve
    says whether the recipe is long enough), every regime of a shape together."""
    runs = []
    for seed in seeds:
        for ds in dict.fromkeys([dataset, *panels]):
            runs += unshuffle_runs(REGIMES3, [ds], [seed], scale,
                                   shapes if ds == dataset else shapes[:1])  # fmt: skip
    return runs


def unshuffle_baselines(data: Dataset, scale: str) -> dict[str, float]:
    """Fig. 10's lines for one data set (unshuffle.baseline_psnr), on the training subset the
    runs at `scale` learn from and the test subset they are scored on, with their permutation."""
    s = preset("unshuffle", scale, data.name)
    x_train = data.x_train[stratified_subset(data.y_train, s["n_train"], s["subset_seed"])]
    x_test = data.x_test[stratified_subset(data.y_test, s["n_test"], s["subset_seed"])]
    return baseline_psnr(x_train, x_test, permutation_for(data, s["perm_seed"]))


def load_available(
    names: Iterable[str], data_dir: str | None = None
) -> tuple[dict[str, Data], dict[str, str]]:
    """Load every dataset that can be found: ({name: Dataset}, {name: why it is missing}).

    ImageNet is listed, not decoded (stream.load_stream): its runs stream it.
    """
    found, missing = {}, {}
    for name in names:
        try:
            found[name] = load_data(name, data_dir or None)
        except DataNotFoundError:  # the full message lists machine-specific paths
            missing[name] = f"no {name} data found: set SPATIALMIX_DATA or pass data_dir"
    return found, missing


def gather(
    cfgs: Iterable[RunConfig], regimes: Iterable[str], device: str = "auto", progress: bool = True
) -> list[Record | None]:
    """Run the configs whose regime is selected; only look up the others (None if absent).

    This is how `-p freeze chans` trains chans alone while the figures still show whatever the
    store holds for full and space. With SPATIALMIX_READONLY=partial, every config is only
    looked up.
    """
    regimes = set() if store_shows_partial() else set(regimes)
    return [run(c, device, progress) if c.model.regime in regimes else lookup(c) for c in cfgs]


# the paper's model shape where a chapter's committed one is smaller (PAPER.md): chapter 05's
# ConvMixer-128/8 at p 1; chapter 07's large un-shuffler (depth 16, width 512, k 7, the arXiv
# appendix) as the central model, each sweep a second value through it (ours) that still sees
# the whole image: reach ⌊(k − 1)/2⌋·depth ≥ 31 px (unshuffle.sees_whole_image)
PAPER_PARAMETERS: dict[str, dict[str, object]] = {
    "05": dict(PAPER_SHAPES["convmixer"]["default"]),
    "07": {"depth": 16, "width": 512, "kernel_size": 7, "depths": [12, 16],
           "widths": [256, 512], "kernel_sizes": [7, 9]},
}  # fmt: skip


# --- grids: every run a set of figures needs at one scale, in the order a queue trains them ----

# chapters 04 and 06 at the converged scale (issue 17): 3 seeds paired across regimes, Fig. 2 on
# both datasets, Fig. 3 at n = 2, Fig. 4 at n = 1 on a 20,000-image subset (its widest model
# costs 16× the narrow ones: the whole data would take hours per run), FGSM training at n = 1, 2.
# Its cost, from training steps measured 2026-11-30 at 1 thread (queue --workers 2 runs two such
# runs at once, each at about its 1-thread speed; queue paused, Intel Xeon AVX-512, batch 256,
# random images): n 1 / 2 / 3 full 846 / 410 / 283 img/s (chans, space at n 3: 263 / 267),
# Fashion-MNIST n 3 274; FGSM training n 1 / 2 381 / 222; Fig. 4's widths 8 / 32 / 64 at n 1
# 1453 / 266 / 88. Per seed Fig. 2 takes 9.1 h of one worker (CIFAR-10 6.1, Fashion-MNIST 2.9),
# Fig. 3 2.0, FGSM training 4.0; the budget check 6.2, Fig. 4 11.4: about 32 h on 2 cores with
# two workers and evaluation (~7 %), against the 24 h asked; the fused BatchNorm + ReLU that
# landed after these measurements makes the steps 1.07-1.14× faster (~29 h). Where to save is
# to be decided from the first seed's curves (FGSM training, Fashion-MNIST, Fig. 4's subset may
# flatten early), not before.
CONVERGED = {"seeds": (0, 1, 2), "depths": (1, 2, 3), "panels": ("cifar10", "fashion_mnist"),
             "banks": ("random", "same", "box", "identity"), "bank_depth": 2,
             "widths": (8, 16, 32, 64), "width_depth": 1, "width_subset": 20_000,
             "adversarial_depths": (1, 2), "eps": 1 / 255, "budget_factor": 2}  # fmt: skip
REGIMES3 = ("full", "chans", "space")


def converged_fig2_runs(panels: Iterable[str]) -> list[RunConfig]:
    """Fig. 2 as the converged grid trains it, for those of `panels` it covers: every regime,
    depth and seed of CONVERGED. A chapter committed at another scale looks them up to show how
    far the background queues have come (gather with no regime selected trains nothing)."""
    covered = [name for name in panels if name in CONVERGED["panels"]]
    return fig2_runs(REGIMES3, CONVERGED["depths"], covered, CONVERGED["seeds"], "converged")


def converged_fig3_runs(p: Mapping[str, object] = CONVERGED) -> list[RunConfig]:
    """Fig. 3 as the converged grid trains it: full and chans with each bank at its bank depth,
    on its main dataset, every seed (chapter 04, committed at another scale, looks them up)."""
    return fig3_runs(p["banks"], p["bank_depth"], p["panels"][0], p["seeds"], "converged")


def converged_fig4_runs(p: Mapping[str, object] = CONVERGED) -> list[RunConfig]:
    """Fig. 4 as the converged grid trains it: full and chans at each width, at its width depth,
    on its training subset of the main dataset, every seed."""
    return fig4_runs(("full", "chans"), p["widths"], p["width_depth"], p["panels"][0],
                     p["seeds"], "converged", {"n_train": p["width_subset"]})  # fmt: skip


def converged_fig6_runs(p: Mapping[str, object] = CONVERGED) -> tuple[list[RunConfig], ...]:
    """Fig. 6 as the converged grid trains it, on its main dataset (CIFAR-10): (standard
    training, every regime and depth of Fig. 2; FGSM training of full and chans at the
    adversarial depths), every seed. Chapter 06, committed at another scale, looks them up."""
    main, seeds = p["panels"][0], p["seeds"]
    standard = fig2_runs(REGIMES3, p["depths"], [main], seeds, "converged")
    fgsm = adversarial_runs(("full", "chans"), p["adversarial_depths"], main, seeds, "converged",
                            float(p["eps"]))  # fmt: skip
    return standard, fgsm


def paired_records(records: Iterable[Record | None]) -> list[Record]:
    """The stored records of the seeds every regime among them has, so that curves and gaps
    pair seed by seed (a seed one regime still lacks is left out for all)."""
    stored = [r for r in records if r is not None]
    regimes = {r.spec.model.regime for r in stored}
    by_seed: dict[int, set[str]] = {}
    for r in stored:
        by_seed.setdefault(r.spec.seed, set()).add(r.spec.model.regime)
    return [r for r in stored if by_seed[r.spec.seed] == regimes]


def paired_per_depth(records: Iterable[Record | None], regimes: Iterable[str]) -> list[Record]:
    """paired_records at each depth on its own, among `regimes` only: a seed pairs at depth n when
    every one of those regimes stored at n has it, whatever other depths and regimes hold."""
    wanted = set(regimes)
    stored = [r for r in records if r is not None and r.spec.model.regime in wanted]
    depths = sorted({r.spec.model.depth for r in stored})
    return [r for n in depths for r in paired_records(x for x in stored if x.spec.model.depth == n)]


def fig4_overrides(scale: str) -> dict[str, object]:
    """Fig. 4's data subset at a scale: at "converged", CONVERGED["width_subset"] images (the
    widest model costs 64× the narrowest: FLOPs grow as w²); elsewhere the scale's own (none)."""
    return {"n_train": CONVERGED["width_subset"]} if scale == "converged" else {}


def budget_factor(scale: str) -> int:
    """How many times the epochs the budget check re-runs the deepest Fig. 2 point with (0: no
    check at this scale; only the converged scale claims to have converged)."""
    return int(CONVERGED["budget_factor"]) if scale == "converged" else 0


def budget_check_runs(
    scale: str, depth: int, dataset: str, seeds: Iterable[int], factor: int
) -> list[RunConfig]:
    """A Fig. 2 point of every regime at `factor` times the epochs (recorded as "custom")."""
    epochs = RunConfig(RESNET_EXPERIMENT, resnet("full", depth), dataset, scale).settings()[0]
    overrides = {"epochs": factor * int(epochs["epochs"])}
    return fig2_runs(REGIMES3, [depth], [dataset], seeds, scale, overrides)


def converged_grid(p: Mapping[str, object] = CONVERGED) -> list[RunConfig]:
    """Chapters 04 and 06 at the converged scale, most valuable first: for each seed in turn,
    Fig. 2 (CIFAR-10, then Fashion-MNIST; deepest first, the point whose accuracy target
    decides whether the recipe is long enough), Fig. 3's banks and FGSM training of full and chans;
    the 2× budget check after the second seed; then Fig. 4. FGSM training leaves space out: the
    claims compare full and chans, and the budget (24 hours on 2 cores) does not stretch to it."""
    scale, main = "converged", "cifar10"
    subset = fig4_overrides(scale)

    def core(seed: int) -> list[RunConfig]:
        deepest_first = sorted(p["depths"], reverse=True)
        return [*fig2_runs(REGIMES3, deepest_first, p["panels"], [seed], scale),
                *fig3_runs(p["banks"], p["bank_depth"], main, [seed], scale),
                *adversarial_runs(("full", "chans"), p["adversarial_depths"], main, [seed], scale,
                                  p["eps"])]  # fmt: skip

    seeds = list(p["seeds"])
    runs = [
        *core(seeds[0]),
        *core(seeds[1]),
        *budget_check_runs(scale, max(p["depths"]), main, seeds[:1], p["budget_factor"]),
    ]
    for seed in seeds[2:]:
        runs += core(seed)
    runs += fig4_runs(("full", "chans"), p["widths"], p["width_depth"], main, seeds, scale, subset)
    return list({(c.experiment, repr(c)): c for c in runs}.values())  # a run listed twice once


# chapters 05 and 06's ConvMixers at the converged scale (issue 16): ConvMixer-128, k 8, at p 2
# for the grid (p 1 costs 4× per image), 3 seeds paired across regimes, Fig. 7's σ at depth 4
# (Fig. 9's model), the 2× budget check at the deepest point. Does p change the verdict? Depth 4
# at p 1 AND at p 2, every regime and seed, both on a subset of "p_check_subset" images (the
# same recipe otherwise): p is the only difference between the two, and the p-2 runs on all the
# data say what the subset costs. On all the data the p-1 point alone was about 9 of the grid's
# ~25 hours (scales.EPOCHS_MIXER's comment); on 20,000 images both take about 5.
MIXER_CONVERGED = {"seeds": (0, 1, 2), "depths": (2, 4, 8), "width": 128, "kernel_size": 8,
                   "patch_size": 2, "p1_depth": 4, "p_check_subset": 20_000,
                   "sigmas": (0.5, 1.0, 2.0), "sigma_depth": 4, "budget_factor": 2,
                   "dataset": "cifar10"}  # fmt: skip


def converged_fig5_runs(p: Mapping[str, object] = MIXER_CONVERGED) -> list[RunConfig]:
    """Fig. 5 as the `mixers` grid trains it: every regime, depth and seed of MIXER_CONVERGED at
    its shape and on its dataset (chapter 05, committed at another scale, looks them up)."""
    shape = (p["width"], p["kernel_size"], p["patch_size"])
    return mixer_runs(REGIMES3, p["depths"], p["dataset"], p["seeds"], "converged", *shape)


def converged_fig7_runs(p: Mapping[str, object] = MIXER_CONVERGED) -> list[RunConfig]:
    """Fig. 7 as the `mixers` grid trains it: chans ConvMixers smoothed at every σ of
    MIXER_CONVERGED, beside Fig. 5's full and chans at its sigma_depth, every seed (chapter 06,
    committed at another scale, looks them up)."""
    shape = (p["width"], p["kernel_size"], p["patch_size"])
    return smoothing_runs(p["sigmas"], p["sigma_depth"], p["dataset"], p["seeds"], "converged",
                          *shape)  # fmt: skip


def mixer_converged_grid(p: Mapping[str, object] = MIXER_CONVERGED) -> list[RunConfig]:
    """Chapters 05-06's ConvMixers, most valuable first: for each seed in turn, Fig. 5 (deepest
    first: its full model's accuracy decides whether the recipe is long enough) and Fig. 7's
    smoothed chans; the budget check after the second seed; the p = 1 point last."""
    scale, ds = "converged", p["dataset"]
    shape = (p["width"], p["kernel_size"], p["patch_size"])

    def core(seed: int) -> list[RunConfig]:
        deepest_first = sorted(p["depths"], reverse=True)
        return [
            *mixer_runs(REGIMES3, deepest_first, ds, [seed], scale, *shape),
            *smoothing_runs(p["sigmas"], p["sigma_depth"], ds, [seed], scale, *shape),
        ]

    seeds = list(p["seeds"])
    runs = [*core(seeds[0]), *core(seeds[1]),
            *mixer_budget_runs(scale, max(p["depths"]), ds, seeds[:1], *shape)]  # fmt: skip
    for seed in seeds[2:]:
        runs += core(seed)
    runs += patch_check_runs(scale, ds, seeds, *shape)
    return list({(c.experiment, repr(c)): c for c in runs}.values())


def mixer_budget_runs(
    scale: str, depth: int, dataset: str, seeds: Iterable[int], width: int, kernel_size: int,
    patch_size: int,
) -> list[RunConfig]:  # fmt: skip
    """Fig. 5's budget check: every regime at `depth` with budget_factor(scale) times the
    epochs (recorded as "custom"); none where the scale claims no convergence."""
    factor = budget_factor(scale)
    if not factor:
        return []
    shape = (width, kernel_size, patch_size)
    epochs = mixer_runs(["full"], [depth], dataset, [0], scale, *shape)[0].settings()[0]["epochs"]
    return mixer_runs(REGIMES3, [depth], dataset, seeds, scale, *shape,
                      {"epochs": factor * int(epochs)})  # fmt: skip


def patch_check_runs(
    scale: str, dataset: str, seeds: Iterable[int], width: int, kernel_size: int, patch_size: int
) -> list[RunConfig]:
    """Does p change Fig. 5's verdict? One depth (MIXER_CONVERGED["p1_depth"]) at the paper's
    p = 1, then at the grid's p, every regime and seed, both on the first
    MIXER_CONVERGED["p_check_subset"] training images (stratified): the same runs but for p.
    Only at the converged scale, and only when the grid's p is not 1."""
    if scale != "converged" or patch_size == 1:
        return []
    depth, seeds = int(MIXER_CONVERGED["p1_depth"]), list(seeds)
    subset = {"n_train": int(MIXER_CONVERGED["p_check_subset"])}
    return [*mixer_runs(REGIMES3, [depth], dataset, seeds, scale, width, kernel_size, 1, subset),
            *mixer_runs(REGIMES3, [depth], dataset, seeds, scale, width, kernel_size, patch_size,
                        subset)]  # fmt: skip


GRIDS = {"converged": converged_grid, "mixers": mixer_converged_grid}


# what each chapter's parameters become at the converged scale, so that the chapters ask for
# exactly the runs of the two converged grids (tests/test_queue.py checks it): papermill them
# with these values (-p/-y), as `queue run NN:converged` and chapter 06's reading of chapters
# 04 and 05 do
CONVERGED_PARAMETERS: dict[str, dict[str, object]] = {
    "04": {"panels": list(CONVERGED["panels"]), "depths": list(CONVERGED["depths"]),
           "seeds": list(CONVERGED["seeds"]), "banks": list(CONVERGED["banks"]),
           "bank_depth": CONVERGED["bank_depth"], "widths": list(CONVERGED["widths"]),
           "width_depth": CONVERGED["width_depth"]},
    "05": {"depths": list(MIXER_CONVERGED["depths"]), "seeds": list(MIXER_CONVERGED["seeds"]),
           "width": MIXER_CONVERGED["width"], "kernel_size": MIXER_CONVERGED["kernel_size"],
           "patch_size": MIXER_CONVERGED["patch_size"]},
    "06": {"depths": list(CONVERGED["depths"]), "adv_depths": list(CONVERGED["adversarial_depths"]),
           "adv_regimes": ["full", "chans"], "seeds": list(CONVERGED["seeds"]),
           "eps_255": round(CONVERGED["eps"] * 255, 6),
           "sigmas": [0.0, *MIXER_CONVERGED["sigmas"]]},
}  # fmt: skip
SCALE_PARAMETERS = {"paper": PAPER_PARAMETERS, "converged": CONVERGED_PARAMETERS}


def scale_parameters(chapter: str, scale: str) -> dict[str, object]:
    """What a chapter's committed parameters change to at a scale ("04", "converged"): the
    paper's shapes at "paper", the converged grids' values at "converged", else nothing."""
    return dict(SCALE_PARAMETERS.get(scale, {}).get(chapter[:2], {}))
