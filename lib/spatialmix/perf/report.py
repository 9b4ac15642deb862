"""A benchmark record as text: the README's table, the book's tables, sentences, the targets.

Every function reads a stored record (suite.run_benchmark's result) and computes nothing new
from the machine, so the README and chapter 08 regenerate byte for byte from the record.
"""

from __future__ import annotations

from ..provenance import isa_text
from ..text import table
from .flops import NOT_IN_RECORD, peak_text, predates, share_target_rows
from .reference import family
from .timing import MEMORY

# the issue's targets, fixed before anything was measured (and issue 14's: flops.SHARE_TARGETS)
TARGETS = {"sep_resnet_ratio": 10.0, "convmixer_ratio": 2.0, "loader_overhead": 0.15,
           "run_peak_rss_mb": 4096.0}  # fmt: skip


def _ours_note(row: dict) -> str:
    if not row["compiled"]:
        return ""
    return f" (compiled; eager {row['ours_eager']:.0f}, compile {row['compile_seconds']:.0f} s)"


def with_iqr(row: dict, key: str) -> str:
    """A row's img/s for `key` ("reference", "ours") with its interquartile range: "51 (48–54)"."""
    lo, hi = row.get(f"{key}_iqr", (row[key], row[key]))
    return f"{row[key]:.0f} ({lo:.0f}–{hi:.0f})"


def _ratio(row: dict, key: str) -> str:
    return f"{row[key]:.1f}×" if key in row else "—"


def format_rows(result: dict) -> str:
    """Format a benchmark result as a text table."""
    lines = [f"{'model':<28}{'regime':>7}{'memory':>8}{'reference img/s':>18}{'ours img/s':>18}"
             f"{'ratio':>8}{'convs only':>12}{'ceiling':>9}"]  # fmt: skip
    for r in result["rows"]:
        bounds = (f"{_ratio(r, 'convs_only_ratio'):>12}{_ratio(r, 'ceiling_ratio'):>9}"
                  if "ceiling_ratio" in r else "")  # fmt: skip
        lines.append(f"{r['model']:<28}{r['regime']:>7}{r.get('allocator', '?'):>8}"
                     f"{with_iqr(r, 'reference'):>18}"
                     f"{with_iqr(r, 'ours'):>18}{r['ratio']:>7.1f}×{bounds}"
                     f"{_ours_note(r)}")  # fmt: skip
    lo = result["loader"]
    lines.append(f"loader + step: {lo['with_loader']:.0f} img/s vs step alone {lo['step_only']:.0f}"
                 f" ({lo['with_loader'] / lo['step_only'] - 1:+.0%})")  # fmt: skip
    peak = result["peak_gflops"]
    lines.append(f"peak RSS {result['peak_rss_mb']:.0f} MB; peak GFLOP/s: matmul "
                 f"{peak['matmul']:.0f}, conv {peak['conv']:.0f}; threads "
                 f"{result['provenance']['threads']}; {result['provenance']['cpu']}, "
                 f"{isa_text(result['provenance'])}")  # fmt: skip
    for label, ops in result.get("profile", {}).items():
        top = ", ".join(f"{o['op']} {o['ms_per_step']:.0f} ms ({o['share']:.0%})" for o in ops[:4])
        lines.append(f"top operators, {label}: {top}")
    return "\n".join(lines)


def markdown_table(result: dict) -> str:
    """Format a stored benchmark record as the README's Markdown table."""
    prov = result["provenance"]
    lines = [f"Measured {prov['date'][:10]} on {prov['cpu']} ({isa_text(prov)}), "
             f"{prov['threads']} threads, torch "
             f"{prov['torch']}, batch {result['batch']}; img/s is the median of "
             f"{result['steps']} steps per path (interquartile range in brackets), the paths of a "
             f"row taking turns in {result['rounds']} rounds. Two bounds on ours, as ratios to "
             f"the reference: *convs only* is measured, our step with BatchNorm and ReLU deleted "
             f"(not the same function); *ceiling* is all of our step's FLOPs at this machine's "
             f"practical peak ({peak_text(result)}) "
             f"with nothing else taking time. Memory: *default* is glibc's allocator as PyTorch "
             f"finds it, *keep* keeps freed blocks in the heap "
             f"(`spatialmix.accel.keep_freed_memory`, what our training does).", "",
             "| model | regime | memory | reference img/s | ours img/s | ratio | convs only "
             "| ceiling | ours, how |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in result["rows"]:
        how = "folded, channels-last" if r["model"].startswith("sep") else "channels-last"
        if family(r["model"]) != "sep" and r.get("depthwise") == "native":
            how += ", native depthwise"
        if r["compiled"]:
            how += (f", torch.compile (eager: {r['ours_eager']:.0f} img/s; "
                    f"compiling took {r['compile_seconds']:.0f} s once)")  # fmt: skip
        bounds = f"{_ratio(r, 'convs_only_ratio')} | {_ratio(r, 'ceiling_ratio')}"
        lines.append(f"| {r['model']} | {r['regime']} | {r.get('allocator', '?')} | "
                     f"{with_iqr(r, 'reference')} | "
                     f"{with_iqr(r, 'ours')} | {r['ratio']:.1f}× | {bounds} | {how} |")  # fmt: skip
    if any(family(r["model"]) == "unshuffle" for r in result["rows"]):
        lines += ["", "Every reference runs on PyTorch's kernels only (no native depthwise "
                  "conv, no fused norms; `depthwise.native_disabled` for the sep-ResNet and the "
                  "un-shuffler); the un-shuffler's is the same model as ours, which runs the "
                  "native ones."]  # fmt: skip
    lo = result["loader"]
    lines += ["", f"Loader + step {lo['with_loader']:.0f} img/s vs step alone "
              f"{lo['step_only']:.0f}; peak RSS of the benchmark process "
              f"{result['peak_rss_mb']:.0f} MB."]  # fmt: skip
    return "\n".join(lines)


def roofline_rows(result: dict) -> list[dict]:
    """Per sep-ResNet row: our step's time and GFLOP/s next to its two bounds (run_benchmark).

    Every model's step against the peak: flops.roofline_points."""
    out = []
    for r in result["rows"]:
        if "convs_only" not in r:
            continue
        step_ms = 1000 * result["batch"] / r["ours"]
        out.append({"regime": r["regime"], "allocator": r.get("allocator", "?"),
                    "gflop_per_step": r["flops"] / 1e9,
                    "step_ms": step_ms, "convs_only_ms": 1000 * result["batch"] / r["convs_only"],
                    "at_peak_ms": 1000 * result["batch"] / r["ceiling"],
                    "achieved_gflops": r["flops"] / 1e6 / step_ms, "ratio": r["ratio"],
                    "convs_only_ratio": r["convs_only_ratio"],
                    "ceiling_ratio": r["ceiling_ratio"]})  # fmt: skip
    return out


def allocator_rows(result: dict) -> list[dict]:
    """Per model and regime timed both ways: img/s with glibc's default and with memory kept."""
    timed = {(r["model"], r["regime"], r.get("allocator")): r for r in result["rows"]}
    out = []
    for (model, regime, state), d in timed.items():
        k = timed.get((model, regime, "keep"))
        if state != "default" or k is None:
            continue
        out.append({"model": model, "regime": regime,
                    "reference_default": d["reference"], "reference_keep": k["reference"],
                    "reference_gain": k["reference"] / d["reference"],
                    "ours_default": d["ours"], "ours_keep": k["ours"],
                    "ours_gain": k["ours"] / d["ours"]})  # fmt: skip
    return out


def _by_allocator(rows: list[dict]) -> dict[str, dict[str, list[float]]]:
    """Group a record's rows by allocator state: {state: {"sep", "mixer", "unshuffle", "bound":
    ratios}} (family; "bound": the sep-ResNet's convs-only ratios)."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        group = out.setdefault(r.get("allocator", "?"),
                               {"sep": [], "mixer": [], "unshuffle": [], "bound": []})  # fmt: skip
        group[family(r["model"])].append(r["ratio"])
        if "convs_only_ratio" in r:
            group["bound"].append(r["convs_only_ratio"])
    return out


def _span(values: list[float], fmt: str = ".1f") -> str:
    lo, hi = min(values), max(values)
    return f"{lo:{fmt}}×" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}–{hi:{fmt}}×"


def summary(result: dict) -> str:
    """The benchmark's findings as sentences, every number read from the record."""
    lines = []
    for state, g in _by_allocator(result["rows"]).items():
        shuffler = (f", {_span(g['unshuffle'])} on the un-shuffler (against PyTorch's kernels)"
                    if g["unshuffle"] else "")  # fmt: skip
        lines.append(f"With {MEMORY[state]} for both paths, ours is {_span(g['sep'])} the "
                     f"reference on the sep-ResNet (convs-only bound {_span(g['bound'])}) and "
                     f"{_span(g['mixer'])} on ConvMixer{shuffler}.")  # fmt: skip
    gains = allocator_rows(result)
    if gains:
        sep = [g for g in gains if g["model"].startswith("sep")]
        mix = [g for g in gains if g["model"].startswith("ConvMixer")]

        def gain(rows: list[dict], path: str) -> str:
            return _span([g[f"{path}_gain"] for g in rows], ".2f")

        lines.append(f"Keeping freed memory makes the reference {gain(sep, 'reference')} as fast "
                     f"on the sep-ResNet and {gain(mix, 'reference')} on ConvMixer; ours "
                     f"{gain(sep, 'ours')} (sep-ResNet) and {gain(mix, 'ours')} "
                     f"(ConvMixer).")  # fmt: skip
    return " ".join(lines)


def _short_cpu(name: str | None) -> str:
    """A CPU model name for a narrow column: "Intel(R) Xeon(R) Processor" -> "Intel Xeon"."""
    if not name:
        return "?"
    return " ".join(w for w in name.replace("(R)", "").replace("(TM)", "").split()
                    if w not in ("Processor", "CPU"))  # fmt: skip


def history_rows(records: list[dict]) -> list[dict]:
    """Per benchmark run: how it timed, its ratio per row, whether the ratio targets held."""
    out = []
    for r in records:
        ratios = {f"{family(row['model'])} {row['regime']}"
                  f"{', keep' if row.get('allocator') == 'keep' else ''}": row["ratio"]
                  for row in r["rows"]}  # fmt: skip
        how = (f"turns: {r['steps']} steps in {r['rounds']} rounds" if "rounds" in r
               else f"one after another: {r['steps']} steps")  # fmt: skip
        # judged as the issue first measured: with the allocator as PyTorch finds it
        groups = _by_allocator(r["rows"])
        judged = next((g for state, g in groups.items() if state != "keep"), groups.get("keep"))
        prov = r["provenance"]
        isa = isa_text(prov) if prov.get("isa") else "?"  # not recorded before 2026-11-30
        out.append({"date": prov["date"][:16].replace("T", " "), "timing": how,
                    "machine": f"{_short_cpu(prov.get('cpu'))}, {isa}", "ratios": ratios,
                    "sep_met": min(judged["sep"]) >= TARGETS["sep_resnet_ratio"],
                    "mixer_met": min(judged["mixer"]) >= TARGETS["convmixer_ratio"]})  # fmt: skip
    return out


def target_rows(result: dict, chapter_runs: list[dict] | None = None) -> list[dict]:
    """The issues' targets against a benchmark record (and timed chapter runs, for memory).

    The two ratio targets are judged once per allocator state the record timed (MEMORY); the
    share targets of issue 14 (flops.share_target_rows) with freed memory kept.
    """
    rows = []
    for state, g in _by_allocator(result["rows"]).items():
        sep, mix, bound = g["sep"], g["mixer"], g["bound"]
        note = f"; convs only {min(bound):.1f}×" if bound else ""
        rows += [
            {"target": f"sep-ResNet step ≥ {TARGETS['sep_resnet_ratio']:.0f}× reference, every "
                       f"regime ({MEMORY[state]})",
             "measured": f"{min(sep):.2f}× (lowest of {len(sep)}{note})",
             "met": min(sep) >= TARGETS["sep_resnet_ratio"]},
            {"target": f"ConvMixer step ≥ {TARGETS['convmixer_ratio']:.0f}× reference "
                       f"({MEMORY[state]})",
             "measured": f"{min(mix):.2f}× (lowest of {len(mix)})",
             "met": min(mix) >= TARGETS["convmixer_ratio"]},
        ]  # fmt: skip
    rows += share_target_rows(result)
    lo = result["loader"]
    overhead = 1 - lo["with_loader"] / lo["step_only"]
    within = f"loader + step within {TARGETS['loader_overhead']:.0%} of the step alone"
    rows.append({"target": within,
                 "measured": f"{lo['with_loader']:.0f} vs {lo['step_only']:.0f} img/s "
                             f"({-overhead:+.0%})",
                 "met": overhead <= TARGETS["loader_overhead"]})  # fmt: skip
    target = f"peak RSS of a CPU-scale run ≤ {TARGETS['run_peak_rss_mb'] / 1024:.0f} GB"
    timed = [c for c in chapter_runs or [] if c.get("peak_rss_mb")]
    if not timed:
        return [*rows, {"target": target, "measured": "not measured", "met": None}]
    for c in timed:
        states = ", ".join(MEMORY[a] for a in c.get("allocator", ["?"]))
        rows.append({"target": f"{target} ({c['chapter']})",
                     "measured": f"{c['peak_rss_mb'] / 1024:.1f} GB: {c['records_made']} runs in "
                                 f"one kernel, {states}",
                     "met": c["peak_rss_mb"] <= TARGETS["run_peak_rss_mb"]})  # fmt: skip
    return rows


# chapter 08's printed text: every table and sentence the chapter shows, read from the record


def measured_text(result: dict) -> str:
    """One line: when, where and how a benchmark record was measured."""
    prov = result["provenance"]
    return (f"measured {prov['date'][:10]} on {prov['cpu']}, {prov['threads']} threads, "
            f"torch {prov['torch']}, batch {result['batch']}, "
            f"median of {result['steps']} steps")  # fmt: skip


def throughput_table(result: dict) -> str:
    """The record's rows as img/s of the reference and ours, with the ratio and compiling."""
    rows = result["rows"]
    head = f"n = {rows[0]['steps']} timed steps per path and row, in {result['rounds']} rounds"
    headers = ["model", "regime", "memory", "reference img/s", "ours eager", "ours img/s",
               "ratio", "compiled"]  # fmt: skip
    body = [[r["model"], r["regime"], r.get("allocator", "?"), with_iqr(r, "reference"),
             f"{r['ours_eager']:.0f}", with_iqr(r, "ours"), f"{r['ratio']:.1f}×",
             f"yes ({r['compile_seconds']:.0f} s once)" if r["compiled"] else "no"]
            for r in rows]  # fmt: skip
    return f"{head}\n{table(headers, body)}"


def roofline_text(result: dict) -> str:
    """The machine's peak, the sep-ResNet's bounds (roofline_rows) and the lowest one per state."""
    peak = result["peak_gflops"]
    threads = result["provenance"]["threads"]
    lines = [f"practical peak in this run: dense conv {peak['conv']:.0f} GFLOP/s, matmul "
             f"{peak['matmul']:.0f} GFLOP/s (fp32, {threads} threads); the ceilings divide "
             f"by {peak_text(result)}"]  # fmt: skip
    bounds = roofline_rows(result)
    headers = ["regime", "memory", "GFLOP per step", "ours ms", "achieved GFLOP/s",
               "convs only ms", "ms at the peak", "ratio", "convs only", "ceiling"]  # fmt: skip
    lines.append(table(headers, [
        [r["regime"], r["allocator"], f"{r['gflop_per_step']:.1f}", f"{r['step_ms']:.0f}",
         f"{r['achieved_gflops']:.0f}", f"{r['convs_only_ms']:.0f}", f"{r['at_peak_ms']:.0f}",
         f"{r['ratio']:.1f}×", f"{r['convs_only_ratio']:.1f}×", f"{r['ceiling_ratio']:.1f}×"]
        for r in bounds]))  # fmt: skip
    for state in dict.fromkeys(r["allocator"] for r in bounds):
        low = min((r for r in bounds if r["allocator"] == state),
                  key=lambda r: r["convs_only_ratio"])  # fmt: skip
        lines.append(f"\n{state}: lowest convs-only bound {low['convs_only_ratio']:.1f}× "
                     f"({low['regime']}), target {TARGETS['sep_resnet_ratio']:.0f}×; BatchNorm "
                     f"and ReLU take {1 - low['convs_only_ms'] / low['step_ms']:.0%} of our step "
                     f"there")  # fmt: skip
    return "\n".join(lines)


def allocator_table(result: dict) -> str:
    """img/s of both paths with glibc's default allocator and with freed memory kept."""
    headers = ["model", "regime", "reference: default", "keep", "gain", "ours: default", "keep",
               "gain"]  # fmt: skip
    body = [[r["model"], r["regime"], f"{r['reference_default']:.0f}",
             f"{r['reference_keep']:.0f}", f"{r['reference_gain']:.2f}×",
             f"{r['ours_default']:.0f}", f"{r['ours_keep']:.0f}", f"{r['ours_gain']:.2f}×"]
            for r in allocator_rows(result)]  # fmt: skip
    return f"{table(headers, body)}\nimg/s, median of the timed steps; gain = keep / default"


VERDICT = {True: "met", False: "NOT met", None: "not measured"}


def targets_text(result: dict, timings: list[dict], timed: list[str]) -> str:
    """The targets' verdicts (target_rows), the timed chapter runs and the summary sentences."""
    targets = target_rows(result, timings)
    rows = [[t["target"], t["measured"], VERDICT[t["met"]]] for t in targets]
    lines = [table(["target", "measured", "verdict"], rows)]
    if any(t["measured"] == NOT_IN_RECORD for t in targets):
        lines.append(predates(result, "the rows some targets need (FLOPs, the un-shuffler)"))
    for t in timings:
        prov = t["provenance"]
        lines.append(f"\nchapter {t['chapter']} from an empty store: "
                     f"{t['wall_seconds'] / 60:.0f} min wall, {t['records_made']} runs, "
                     f"{prov['threads']} threads, {prov['date'][:10]}; "
                     f"{', '.join(MEMORY[a] for a in t.get('allocator', ['?']))}")  # fmt: skip
    if not timings:
        lines.append(f"\nno chapter of {timed} has a timed run from an empty store in this "
                     f"results store")  # fmt: skip
    return "\n".join([*lines, "", summary(result)])


def history_text(history: list[dict]) -> str:
    """Every stored run (history_rows) as a table of ratios, and how often the targets held."""
    keys = list(history[-1]["ratios"])
    sep, mix = TARGETS["sep_resnet_ratio"], TARGETS["convmixer_ratio"]
    body = [[h["date"], h.get("machine", "?"), h["timing"],
             *[f"{h['ratios'][k]:.1f}×" if k in h["ratios"] else "—" for k in keys],
             "met" if h["sep_met"] else "NOT met"] for h in history]  # fmt: skip
    rows = table(["date (UTC)", "machine", "timing", *keys, f"sep ≥ {sep:.0f}×"], body)
    n = len(history)
    return (f"{rows}\n\nsep-ResNet ≥ {sep:.0f}× in every regime: met in "
            f"{sum(h['sep_met'] for h in history)} of {n} runs; ConvMixer ≥ {mix:.0f}×: met in "
            f"{sum(h['mixer_met'] for h in history)} of {n}")  # fmt: skip


def profile_text(result: dict) -> str:
    """Per profiled path: its operators with the most self CPU time, per step and as a share."""
    blocks = []
    for label, ops in result["profile"].items():
        rows = [[o["op"], f"{o['ms_per_step']:.0f}", f"{o['share']:.0%}"] for o in ops]
        blocks.append(f"{label}:\n{table(['operator', 'ms per step', 'share'], rows)}\n")
    return "\n".join(blocks)
