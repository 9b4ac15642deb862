"""A record against the machine: GFLOP/s of the depthwise ops and of every training step.

Every function reads a stored record (suite.run_benchmark's result). A step's achieved GFLOP/s
is img/s × its FLOPs per image (timing.step_flops, counted per path: "flops" for ours,
"reference_flops" for the reference); its share of the practical peak (the best of the
record's peak_gflops probes) equals ours / ceiling. A record measured before a key existed
yields a line that says so and how to refresh it (REFRESH), never an error.
"""

from __future__ import annotations

from ..text import table
from .ops import OPS
from .reference import family
from .timing import MEMORY

REFRESH = "python -m spatialmix.perf --record --profile"
NOT_IN_RECORD = "not in this record"
# the targets as shares of the machine (issue 14): a mixer's step at half its roofline
# and 2.5× the reference; the sep-ResNet's step at 60 % of the practical peak
SHARE_TARGETS = {"mixer_roofline_share": 0.5, "mixer_native_ratio": 2.5,
                 "sep_resnet_peak_share": 0.6}  # fmt: skip
NAMES = {"sep": "sep-ResNet", "mixer": "ConvMixer", "unshuffle": "un-shuffler"}


def predates(result: dict, what: str) -> str:
    """One line: this record was measured before `what` existed, and how to measure it."""
    return (f"the stored benchmark record ({result['provenance']['date'][:10]}) predates "
            f"{what}; refresh it on a quiet machine: {REFRESH}")  # fmt: skip


PROBES = {"matmul": "a large matrix product", "conv": "a dense conv"}


def practical_peak(result: dict) -> float:
    """The record's practical peak, GFLOP/s: the best of its probes (timing.peak_gflops)."""
    return max(result["peak_gflops"].values())


def peak_text(result: dict) -> str:
    """What the rows' ceilings divide by, for a sentence: the per-row probes' range, or the
    record's best probe where the record predates them."""
    rows = [max(r["peak_gflops"].values()) for r in result["rows"] if "peak_gflops" in r]
    if not rows:
        name, gflops = max(result["peak_gflops"].items(), key=lambda kv: kv[1])
        return f"{gflops:.0f} GFLOP/s, the best probe ({PROBES[name]}) before and after the rows"
    return (f"{min(rows):.0f}–{max(rows):.0f} GFLOP/s across rows, the best of a large matrix "
            f"product and a dense conv timed in turns with each row's steps")  # fmt: skip


def row_peak(result: dict, row: dict) -> float:
    """A row's practical peak, GFLOP/s: the best of the probes timed in turns with its paths,
    or the record's (practical_peak) where the record predates per-row probes."""
    return max(row["peak_gflops"].values()) if "peak_gflops" in row else practical_peak(result)


def depthwise_ops_text(result: dict) -> str:
    """The per-op table (ops.time_depthwise_ops): GFLOP/s of ours and PyTorch's per layer."""
    if "depthwise_ops" not in result:
        return predates(result, "the per-op table of the depthwise convolution")
    rows = result["depthwise_ops"]
    if not rows:
        return "the native depthwise kernel was not available when this record was measured"

    def gflops(r: dict, kernel: str) -> str:
        lo, hi = r[f"{kernel}_iqr"]
        return f"{r[kernel]:.1f} ({lo:.1f}–{hi:.1f})"

    body = [[r["layer"], r["op"], f"{r['gflop']:.3g}", gflops(r, "pytorch"), gflops(r, "ours"),
             f"{r['ratio']:.1f}×"] for r in rows]  # fmt: skip
    lines = [table(["layer", "op", "GFLOP per call", "PyTorch GFLOP/s", "ours GFLOP/s", "ratio"],
                   body)]  # fmt: skip
    for layer in dict.fromkeys(r["layer"] for r in rows):
        ms = {k: sum(1000 * r["gflop"] / r[k] for r in rows if r["layer"] == layer)
              for k in ("pytorch", "ours")}  # fmt: skip
        gain = ms["pytorch"] / ms["ours"]
        lines.append(f"{layer}: {' + '.join(OPS)} take {ms['pytorch']:.1f} ms with PyTorch's "
                     f"kernel, {ms['ours']:.1f} ms with ours ({gain:.1f}×)")  # fmt: skip
    lines.append(f"GFLOP/s at the median call (interquartile range in brackets); the record's "
                 f"practical peak is {practical_peak(result):.0f} GFLOP/s")  # fmt: skip
    return "\n".join(lines)


def _judged(result: dict) -> tuple[str, list[dict]]:
    """The allocator state the share targets are judged in ("keep" where the record timed it,
    as the issue asks) and the record's rows in it."""
    states = [r.get("allocator", "?") for r in result["rows"]]
    state = "keep" if "keep" in states else states[0]
    return state, [r for r in result["rows"] if r.get("allocator", "?") == state]


def roofline_points(result: dict) -> list[dict]:
    """Every model's training step against the peak, reference and ours, in the judged state.

    One point per row and path whose FLOPs the record counted: {"model", "regime", "path",
    "gflops", "iqr" (GFLOP/s, [slow, fast]), "share" (of the row's practical peak, row_peak)}.
    """
    batch = result["batch"]
    out = []
    for r in _judged(result)[1]:
        peak = row_peak(result, r)
        for path, key in (("reference", "reference_flops"), ("ours", "flops")):
            if key not in r:
                continue
            per_img = r[key] / batch / 1e9
            lo, hi = r.get(f"{path}_iqr", (r[path], r[path]))
            out.append({"model": r["model"], "family": family(r["model"]),
                        "regime": r["regime"], "path": path, "gflops": r[path] * per_img,
                        "iqr": [lo * per_img, hi * per_img],
                        "share": r[path] * per_img / peak})  # fmt: skip
    return out


def steps_text(result: dict) -> str:
    """Every training step's FLOPs, achieved GFLOP/s and share of the peak (roofline_points)."""
    state, rows = _judged(result)
    points = {(p["model"], p["regime"], p["path"]): p for p in roofline_points(result)}
    body = []
    for r in rows:
        ref, ours = (points.get((r["model"], r["regime"], k)) for k in ("reference", "ours"))
        body.append([r["model"], r["regime"],
                     f"{r['flops'] / result['batch'] / 1e9:.2f}" if ours else "—",
                     f"{ref['gflops']:.0f} ({ref['share']:.0%})" if ref else "—",
                     f"{ours['gflops']:.0f} ({ours['share']:.0%})" if ours else "—",
                     f"{r['ceiling']:.0f}" if "ceiling" in r else "—"])  # fmt: skip
    head = ["model", "regime", "GFLOP per image", "reference GFLOP/s (of peak)",
            "ours GFLOP/s (of peak)", "img/s at the peak"]  # fmt: skip
    lines = [f"practical peak {peak_text(result)}; steps timed with "
             f"{'freed memory kept' if state == 'keep' else state + ' memory'}",
             table(head, body)]  # fmt: skip
    if any("reference_flops" not in r for r in rows):
        lines.append(predates(result, "FLOPs counted for every model and path"))
    return "\n".join(lines)


def _lowest(rows: list[dict], value: str, suffix: str = "") -> str:
    """The lowest value of a family's rows over the regimes, and where: "lowest 43% (chans)".

    value "share" prints as a percentage, any other with two decimals and `suffix`."""
    low = min(rows, key=lambda r: r[value])
    number = f"{low[value]:.0%}" if value == "share" else f"{low[value]:.2f}{suffix}"
    return f"lowest {number} ({low['regime']}) of {len(rows)} regimes"


def share_target_rows(result: dict) -> list[dict]:
    """The share targets (SHARE_TARGETS), judged on the record: met True or False, or None
    with "measured" NOT_IN_RECORD where the record predates the rows a target needs."""
    state, rows = _judged(result)
    memory = MEMORY.get(state, state)
    out = []
    for fam in ("mixer", "unshuffle"):
        mine = [{**r, "share": r["ours"] / r["ceiling"]} for r in rows
                if family(r["model"]) == fam and "ceiling" in r]  # fmt: skip
        name = mine[0]["model"].split(" ")[0] if mine else NAMES[fam]
        share, ratio = (SHARE_TARGETS[k] for k in ("mixer_roofline_share", "mixer_native_ratio"))
        targets = [(f"{name} step ≥ {share:.0%} of its roofline, every regime ({memory})",
                    "share", share),
                   (f"{name} step ≥ {ratio}× reference, every regime ({memory})",
                    "ratio", ratio)]  # fmt: skip
        for target, key, bound in targets:
            if not mine:
                out.append({"target": target, "measured": NOT_IN_RECORD, "met": None})
                continue
            out.append({"target": target, "measured": _lowest(mine, key, "×"),
                        "met": min(r[key] for r in mine) >= bound})  # fmt: skip
    sep = [{**r, "share": r["ours"] / r["ceiling"]} for r in rows
           if family(r["model"]) == "sep" and "ceiling" in r]  # fmt: skip
    bound = SHARE_TARGETS["sep_resnet_peak_share"]
    target = f"sep-ResNet step ≥ {bound:.0%} of the practical peak, every regime ({memory})"
    out.append({"target": target, "measured": _lowest(sep, "share") if sep
                else NOT_IN_RECORD,
                "met": min(r["share"] for r in sep) >= bound if sep else None})  # fmt: skip
    return out


def _op_counts(regime: str, depth: int) -> dict[tuple[str, str], int]:
    """How many calls of each (conv, op) a mixer step of `depth` layers needs at the least.

    Forward every layer; the weight gradient of what the regime trains (chans: the 1×1 convs,
    space: the depthwise ones); the input gradient wherever something trained lies upstream,
    counted generously: never for the first depthwise layer (only the stem is upstream of it),
    and in chans never for the first 1×1 either (only frozen convs are upstream).
    """
    dw_wgrad, pw_wgrad = regime in ("full", "space"), regime in ("full", "chans")
    return {("depthwise", "forward"): depth, ("depthwise", "input grad"): depth - 1,
            ("depthwise", "weight grad"): depth * dw_wgrad,
            ("pointwise", "forward"): depth,
            ("pointwise", "input grad"): depth - (regime == "chans"),
            ("pointwise", "weight grad"): depth * pw_wgrad}  # fmt: skip


def bound_rows(result: dict) -> list[dict]:
    """The most a mixer's step could reach with the 1×1 convs this machine runs.

    Per mixer row in the judged state: its 1×1 convs' ops at the best rate the record measured
    for each (pointwise_ops: conv or matmul), its depthwise ops' FLOPs at the practical peak, and
    nothing else taking time (no stem, head, BatchNorm, GELU, optimizer or memory traffic; the
    peak is the row's own, row_peak, as in its ceiling):
    "bound" img/s, "share" of the row's ceiling, "ratio" to the reference. The op counts are
    the fewest a step needs (_op_counts), so the bound is an upper bound on any step that keeps
    these 1×1 products. "convs" (img/s) and "convs_share": the same with the depthwise ops at
    the rate our kernel ran them, what the convolutions as they are leave for everything else.
    [] where the record predates pointwise_ops.
    """
    if "pointwise_ops" not in result:
        return []
    batch = result["batch"]
    ops = {("depthwise", r["layer"], r["op"]): r for r in result["depthwise_ops"]}
    ops |= {("pointwise", r["layer"], r["op"]): r for r in result["pointwise_ops"]}
    out = []
    for r in _judged(result)[1]:
        layers = result["mixer_layers"].get(r["model"])
        if layers is None:
            continue
        peak = row_peak(result, r)
        seconds = {"depthwise": 0.0, "pointwise": 0.0, "ours": 0.0}
        for (conv, op), n in _op_counts(r["regime"], layers["depth"]).items():
            o = ops[conv, layers[conv], op]
            seconds[conv] += n * o["gflop"] / (peak if conv == "depthwise" else o["best"])
            if conv == "depthwise":  # ... and at the rate our kernel ran it
                seconds["ours"] += n * o["gflop"] / o["ours"]
        bound = batch / (seconds["depthwise"] + seconds["pointwise"])
        convs = batch / (seconds["ours"] + seconds["pointwise"])
        row = {"model": r["model"], "family": family(r["model"]), "regime": r["regime"],
               "ours": r["ours"], "ceiling": r["ceiling"], "reference": r["reference"],
               "pointwise_ms": 1000 * seconds["pointwise"],
               "depthwise_ms": 1000 * seconds["depthwise"], "bound": bound,
               "share": bound / r["ceiling"], "ratio": bound / r["reference"],
               "convs": convs, "convs_share": convs / r["ceiling"]}  # fmt: skip
        out.append(row | _elementwise_bounds(result, layers, seconds, r["ceiling"]))
    return out


def _elementwise_bounds(result: dict, layers: dict, seconds: dict, ceiling: float) -> dict:
    """A mixer step's GELU + BatchNorm work (elementwise_ops at its 1×1 layer's shape: one with
    the residual per block, one without per block and the stem's), as our fused op ran it and at
    its fewest passes at the copy's bandwidth; and two bounds with it (img/s, share of ceiling):
    "parts", every part as measured alone (1×1, our depthwise, our element-wise; no stem conv,
    head, optimizer or framework overhead), and "floor", the 1×1 ops as measured, the depthwise
    ones at the peak and the element-wise at their floor: the most a step reaches that keeps
    these 1×1 products and takes BatchNorm's statistics in a pass of their own. {} where the
    record predates elementwise_ops."""
    ops = {(r["layer"], r["op"]): r for r in result.get("elementwise_ops", [])}
    plain, res = (ops.get((layers["pointwise"], op)) for op in ("GELU+BN", "GELU+BN+residual"))
    if plain is None or res is None:
        return {}
    depth, batch = layers["depth"], result["batch"]
    ms = {key: depth * res[key] + (depth + 1) * plain[key] for key in ("ours_ms", "floor_ms")}
    parts = batch / (seconds["ours"] + seconds["pointwise"] + ms["ours_ms"] / 1000)
    floor = batch / (seconds["depthwise"] + seconds["pointwise"] + ms["floor_ms"] / 1000)
    return {"elementwise_ms": ms["ours_ms"], "elementwise_floor_ms": ms["floor_ms"],
            "copy_gbps": plain["copy_gbps"], "parts": parts, "parts_share": parts / ceiling,
            "floor": floor, "floor_share": floor / ceiling}  # fmt: skip


def pointwise_ops_text(result: dict) -> str:
    """The 1×1 convs' ops by themselves (ops.time_pointwise_ops), and the bound they set on every
    mixer step (bound_rows), judged against the share and ratio targets."""
    if "pointwise_ops" not in result:
        return predates(result, "the 1×1 convolutions' per-op table and the bound they set")
    peak = practical_peak(result)

    def gflops(r: dict, path: str) -> str:
        lo, hi = r[f"{path}_iqr"]
        return f"{r[path]:.0f} ({lo:.0f}–{hi:.0f}, {r[path] / peak:.0%})"

    body = [[r["layer"], r["op"], f"{r['gflop']:.3g}", gflops(r, "conv"), gflops(r, "matmul")]
            for r in result["pointwise_ops"]]  # fmt: skip
    head = ["layer", "op", "GFLOP per call", "conv GFLOP/s (of peak)", "matmul GFLOP/s (of peak)"]
    lines = [table(head, body), ""]
    share, ratio = (SHARE_TARGETS[k] for k in ("mixer_roofline_share", "mixer_native_ratio"))
    rows = bound_rows(result)
    body = [[r["model"], r["regime"], f"{r['ours']:.0f}", f"{r['pointwise_ms']:.0f}",
             f"{r['depthwise_ms']:.0f}", f"{r['bound']:.0f} ({r['share']:.0%})",
             f"{r['ratio']:.1f}×", f"{r['convs']:.0f} ({r['convs_share']:.0%})"]
            for r in rows]  # fmt: skip
    head = ["model", "regime", "ours img/s", "1×1 ms", "depthwise ms at the peak",
            "bound img/s (of roofline)", "bound / reference",
            "convs as measured img/s (of roofline)"]  # fmt: skip
    lines.append(table(head, body))
    for fam in dict.fromkeys(r["family"] for r in rows):
        mine = [r for r in rows if r["family"] == fam]
        verdicts = []
        for key, bound in (("share", share), ("ratio", ratio)):
            low = min(mine, key=lambda r: r[key])
            verdicts.append(f"at most {_reach(low[key], bound, key == 'share')} in {low['regime']}")
        low = min(mine, key=lambda r: r["convs_share"])
        lines.append(f"{mine[0]['model'].split(' ')[0]}: with nothing but its 1×1 convs at the "
                     f"best rate measured here and its depthwise FLOPs at the peak, a step "
                     f"reaches {'; '.join(verdicts)}. With the depthwise ops at our kernel's "
                     f"measured rate instead, the convolutions alone allow at most "
                     f"{low['convs_share']:.0%} of the roofline ({low['regime']})")  # fmt: skip
    lines.append(f"1×1 GFLOP/s at the median call (interquartile range; share of the record's "
                 f"practical peak, {peak:.0f} GFLOP/s)")  # fmt: skip
    return "\n".join(lines)


def elementwise_ops_text(result: dict) -> str:
    """The GELU + BatchNorm work of a mixer layer by itself (ops.time_elementwise_ops), ours and
    PyTorch's, beside a copy; then what it leaves of every mixer step (bound_rows: "parts" and
    "floor"), judged against the share and ratio targets."""
    if "elementwise_ops" not in result:
        return predates(result, "the element-wise per-op table and the bound it sets")

    def ms(r: dict, key: str) -> str:
        slow, fast = r[f"{key}_iqr"]
        return f"{r[f'{key}_ms']:.1f} ({fast:.1f}–{slow:.1f})"

    body = [[r["layer"], r["op"], ms(r, "ours"), ms(r, "pytorch"), f"{r['ratio']:.1f}×",
             f"{r['copy_ms']:.1f} ({r['copy_gbps']:.1f} GB/s)", f"{r['floor_ms']:.1f}"]
            for r in result["elementwise_ops"]]  # fmt: skip
    head = ["shape", "forward + backward", "ours ms", "PyTorch's ms", "ratio",
            "copy of one tensor ms", "fewest passes at copy speed ms"]  # fmt: skip
    lines = [table(head, body), ""]
    rows = [r for r in bound_rows(result) if "floor" in r]
    body = [[r["model"], r["regime"], f"{r['ours']:.0f}", f"{r['elementwise_ms']:.0f}",
             f"{r['elementwise_floor_ms']:.0f}", f"{r['parts']:.0f} ({r['parts_share']:.0%})",
             f"{r['floor']:.0f} ({r['floor_share']:.0%}, {r['floor'] / r['reference']:.1f}×)"]
            for r in rows]  # fmt: skip
    head = [
        "model",
        "regime",
        "ours img/s",
        "element-wise ms (ours)",
        "at the floor ms",
        "parts as measured img/s (of roofline)",
        "floor img/s (of roofline, / reference)",
    ]
    lines.append(table(head, body))
    share, ratio = (SHARE_TARGETS[k] for k in ("mixer_roofline_share", "mixer_native_ratio"))
    for fam in dict.fromkeys(r["family"] for r in rows):
        mine = [r for r in rows if r["family"] == fam]
        low = min(mine, key=lambda r: r["floor_share"])
        weak = min(mine, key=lambda r: r["floor"] / r["reference"])
        times = sorted({f"{r['elementwise_ms']:.0f}" for r in mine}, key=float)
        lines.append(
            f"{mine[0]['model'].split(' ')[0]}: its element-wise work as our fused ops run it "
            f"takes {'–'.join(times[:: max(1, len(times) - 1)])} ms a step (the same ops in "
            f"every regime); its parts measured alone add up to "
            f"at most {max(r['parts_share'] for r in mine):.0%} of the roofline; with the "
            f"element-wise passes at the copy's {mine[0]['copy_gbps']:.1f} GB/s and the "
            f"depthwise FLOPs at the peak, at most {_reach(low['floor_share'], share, True)} in "
            f"{low['regime']} and {_reach(weak['floor'] / weak['reference'], ratio, False)} in "
            f"{weak['regime']}"
        )
    lines.append("ms at the median call (interquartile range); one tensor is a layer's "
                 "activation, (N, C, H, W) fp32 channels-last")  # fmt: skip
    return "\n".join(lines)


def _reach(value: float, target: float, share: bool) -> str:
    """'41% of the roofline (target 50%: out of reach)' or '2.7× the reference (...)'."""
    shown = (
        (f"{value:.0%} of the roofline", f"{target:.0%}")
        if share
        else (f"{value:.1f}× the reference", f"{target}×")
    )
    return f"{shown[0]} (target {shown[1]}: {'out of reach' if value < target else 'not excluded'})"
