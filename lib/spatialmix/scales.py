"""The smoke | cpu | paper presets, as data: data sizes, recipe and evaluation suite per family.

- smoke: seconds; proves every code path runs (tests, CI). Its numbers mean nothing.
- cpu: what the committed book runs on 2 CPU cores: subsets and short schedules (our choice).
- paper: the paper's data and recipe sizes, for GPU users. The paper never states its recipes;
  these are the ones PAPER.md fixes (He et al. 2016 for the ResNets, locuslab for ConvMixer).
Changing any preset value by hand makes a run's scale "custom", never "paper".
"""

from __future__ import annotations

SCALES = ("smoke", "cpu", "paper")
FAMILIES = ("sep_resnet", "convmixer", "unshuffle")  # each has its own recipe

# augmentation by dataset: digits must not be flipped
AUGMENT = {
    "cifar10": "crop_flip",
    "cifar100": "crop_flip",
    "imagenet": "crop_flip",
    "fashion_mnist": "crop_flip",
    "mnist": "crop",
}

_EVAL = {"attack_eps": (1 / 255, 2 / 255, 4 / 255), "pgd_steps": 2, "pgd_step": 0.5}  # α = ε/2

_RESNET = {  # He et al. 2016 family: SGD + momentum, weight decay 5e-4, batch 128
    "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4,
    "batch_size": 128, "schedule": "cosine", "warmup": 0.05, "label_smoothing": 0.0,
}  # fmt: skip
_MIXER = {  # locuslab convmixer-cifar10 family: AdamW, one-cycle, weight decay 0.01
    "optimizer": "adamw", "lr": 0.01, "momentum": 0.9, "nesterov": False, "weight_decay": 0.01,
    "batch_size": 128, "schedule": "onecycle", "warmup": 0.4, "label_smoothing": 0.0,
}  # fmt: skip
_UNSHUFFLE = {**_MIXER, "lr": 0.003, "weight_decay": 0.0}

PRESETS: dict[str, dict[str, dict]] = {
    "sep_resnet": {
        "smoke": {**_RESNET, **_EVAL, "n_train": 256, "n_test": 128, "n_attack": 64,
                  "epochs": 1, "batch_size": 64},
        "cpu": {**_RESNET, **_EVAL, "n_train": 10_000, "n_test": 2_000, "n_attack": 1_000,
                "epochs": 6},
        "paper": {**_RESNET, **_EVAL, "n_train": 0, "n_test": 0, "n_attack": 10_000,
                  "epochs": 160},
    },
    "convmixer": {
        "smoke": {**_MIXER, **_EVAL, "n_train": 256, "n_test": 128, "n_attack": 64,
                  "epochs": 1, "batch_size": 64},
        "cpu": {**_MIXER, **_EVAL, "n_train": 5_000, "n_test": 1_000, "n_attack": 500,
                "epochs": 5},
        "paper": {**_MIXER, **_EVAL, "n_train": 0, "n_test": 0, "n_attack": 10_000,
                  "epochs": 200, "batch_size": 512},
    },
    "unshuffle": {
        "smoke": {**_UNSHUFFLE, **_EVAL, "n_train": 256, "n_test": 64, "n_attack": 0,
                  "epochs": 1, "batch_size": 64},
        "cpu": {**_UNSHUFFLE, **_EVAL, "n_train": 5_000, "n_test": 1_000, "n_attack": 0,
                "epochs": 5},
        "paper": {**_UNSHUFFLE, **_EVAL, "n_train": 0, "n_test": 0, "n_attack": 0,
                  "epochs": 100},
    },
}  # fmt: skip
# every preset also fixes these; 0 means "the whole split"
_COMMON = {"subset_seed": 0, "perm_seed": 0, "adv_eps": 0.0}
for _family in PRESETS.values():
    for _name, _preset in _family.items():
        _family[_name] = {**_COMMON, **_preset}


# the model shape the paper fixes per family; what its figures sweep (depth, sep-ResNet width,
# every un-shuffler size) is free. A paper-scale run of another shape is recorded as "custom".
PAPER_SHAPES: dict[str, dict[str, dict[str, int]]] = {
    "sep_resnet": {"default": {"multiplier": 9}},
    "convmixer": {"default": {"width": 128, "kernel_size": 8, "patch_size": 1},
                  "imagenet": {"width": 512, "kernel_size": 8, "patch_size": 7}},
    "unshuffle": {"default": {}},
}  # fmt: skip


def shape_changes(family: str, dataset: str, model: dict) -> dict[str, tuple[object, int]]:
    """Return {field: (given, paper's)} for every model field that differs from the paper's."""
    shapes = PAPER_SHAPES[family]
    paper = shapes.get(dataset, shapes["default"])
    return {k: (model[k], v) for k, v in paper.items() if model.get(k) != v}


def preset(family: str, scale: str) -> dict:
    """Return a copy of the preset for a model family at a scale; unknown names raise."""
    if family not in PRESETS:
        raise ValueError(f"unknown model family {family!r}; valid: {FAMILIES}")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid scales are {SCALES}")
    return dict(PRESETS[family][scale])


# training-set sizes of the full splits, for compute fractions (paper scale uses all of it)
FULL_TRAIN = {"cifar10": 50_000, "cifar100": 50_000, "mnist": 60_000,
              "fashion_mnist": 60_000, "imagenet": 1_281_167}  # fmt: skip


def compute_fraction(family: str, scale: str, dataset: str) -> float:
    """Training images seen per run at `scale`, as a fraction of the paper-scale preset's."""
    mine, paper = preset(family, scale), preset(family, "paper")
    seen = (mine["n_train"] or FULL_TRAIN[dataset]) * mine["epochs"]
    return seen / ((paper["n_train"] or FULL_TRAIN[dataset]) * paper["epochs"])
