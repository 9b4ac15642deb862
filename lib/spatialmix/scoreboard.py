"""The scoreboard: every claim of the paper, what we measured, and its verdict, on one page.

Each chapter ends its claims with store_verdicts(...), which keeps the chapter's verdicts in
`<store>/verdicts/<chapter>.json`, but only for the book's own run: a writable store and the
chapter's committed parameters (CI's read-only runs and papermill runs with parameters leave the
files alone). `python -m spatialmix.scoreboard` builds book/scoreboard.md and the README's table
from those files; tests/test_scoreboard.py checks the committed ones are what it builds.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import report
from .claims import CLAIMS, Verdict
from .store import read_json, repo_root, store_dir, store_is_readonly, write_atomically

SCHEMA = 1
README_START, README_END = "<!-- scoreboard:start -->", "<!-- scoreboard:end -->"
NOT_RUN = "not run yet"


def verdicts_dir() -> Path:
    """Where the store keeps each chapter's verdicts: `<store>/verdicts/`."""
    return store_dir() / "verdicts"


def _data_of(label: str, context: Mapping[str, object]) -> str:
    """The data set(s) a row rests on: the one its label names, else all of the chapter's."""
    data = context.get("data", {})
    if not isinstance(data, Mapping):
        return str(data)
    return str(data[label]) if label in data else ", ".join(map(str, data.values()))


def measurement(verdict: Verdict, label: str, context: Mapping[str, object]) -> str:
    """One line: the measured differences with their intervals, then seeds, scale and data."""
    seeds = context.get("seeds")
    where = [f"{seeds} seed{'' if seeds == 1 else 's'}" if seeds else "",
             f"scale {context['scale']}" if context.get("scale") else "",
             _data_of(label, context)]  # fmt: skip
    where = ", ".join(w for w in where if w)
    if verdict.status == report.NOT_EVALUATED:
        return f"not evaluated: runs missing from the store ({where})"
    if not verdict.measured:
        return f"nothing measured ({where})"
    return f"{report.measured_text(verdict)} ({where})"


def store_verdicts(
    chapter: str,
    verdicts: Mapping[str, Verdict] | Iterable[tuple[str, Verdict]],
    context: Mapping[str, object],
    part: str = "",
) -> Path | None:
    """Keep a chapter's verdicts for the scoreboard; return the file written, or None.

    verdicts: row label (a data set, "FGSM, n = 1", ...) -> Verdict, or (label, Verdict) pairs
    where one label has verdicts of several claims. context: "scale", "seeds" (how many) and
    "data" (data set -> its source label, or one string). part: a second set of verdicts of the
    chapter, at another scale (e.g. "converged": the grid the queues train), kept in a file of
    its own and named in every row. Written only when the store is writable and papermill
    injected no parameters: the stored verdicts are the committed book's.
    """
    if store_is_readonly() or report.injected_parameters():
        return None
    pairs = list(verdicts.items() if isinstance(verdicts, Mapping) else verdicts)
    unknown = sorted({v.claim for _, v in pairs} - set(CLAIMS))
    if unknown:
        raise KeyError(f"verdicts of unknown claims {unknown}; known: {sorted(CLAIMS)}")
    rows = [{"claim": v.claim, "label": str(label), "status": v.status,
             "measurement": measurement(v, str(label), context)} for label, v in pairs]  # fmt: skip
    record = {"schema": SCHEMA, "chapter": chapter, "context": dict(context), "verdicts": rows}
    if part:
        record["part"] = part
    path = verdicts_dir() / (f"{chapter}.{part}.json" if part else f"{chapter}.json")
    write_atomically(path, record)
    return path


def load_records(folder: Path | None = None) -> list[dict]:
    """Every chapter's stored verdicts, by chapter name, each chapter's parts after it."""
    folder = verdicts_dir() if folder is None else Path(folder)
    paths = folder.glob("*.json") if folder.exists() else []
    paths = sorted(paths, key=lambda p: (p.name.split(".")[0], p.name.count(".")))
    return [read_json(p, "chapter verdicts") for p in paths]


def _rows(records: Iterable[dict], link: str) -> list[tuple[str, ...]]:
    """One row per claim, in CLAIMS order: claim, measurement(s), verdict(s), chapter(s)."""
    by_claim: dict[str, list[tuple[str, dict, str]]] = {c: [] for c in CLAIMS}
    for rec in records:
        data, part = rec["context"].get("data", {}), rec.get("part", "")
        for row in rec["verdicts"]:
            # a row is named by its label unless that is its data set, which the text names
            row = {**row, "label": f"{row['label']} ({part})" if part else row["label"]}
            label = "" if row["label"] in data else f"{row['label']}: "
            by_claim[row["claim"]].append((rec["chapter"], row, label))
    out = []
    for cid, claim in CLAIMS.items():
        what = f"{claim.statement} ({claim.figure}, {claim.section}) `{cid}`"
        rows = by_claim[cid]
        if not rows:
            out.append((what, NOT_RUN, NOT_RUN, "–"))
            continue
        if len(rows) > 1:  # several verdicts: each says which it is
            rows = [(ch, r, f"{r['label']}: ") for ch, r, _ in rows]
        meas = "<br>".join(head + r["measurement"] for _, r, head in rows)
        status = "<br>".join(head + _status(r["status"]) for _, r, head in rows)
        chapters = dict.fromkeys(ch for ch, _, _ in rows)
        out.append((what, meas, status, ", ".join(f"[{c[:2]}]({link}{c}.ipynb)" for c in chapters)))
    return out


def _status(status: str) -> str:
    return "not evaluated" if status == report.NOT_EVALUATED else f"**{status}**"


def _table(records: Iterable[dict], link: str) -> str:
    lines = ["| Claim (our words; figure, §) | Our measurement | Verdict | Chapter |",
             "|---|---|---|---|"]  # fmt: skip
    lines += ["| " + " | ".join(r) + " |" for r in _rows(records, link)]
    return "\n".join(lines)


def page(records: Iterable[dict]) -> str:
    """Markdown of book/scoreboard.md: every claim's verdict, built from the stored records."""
    return f"""# Scoreboard

Each claim of the paper, in our words, with what we measured and the verdict its chapter
computed. Each difference is paired seed by seed and shown with its 90 % interval over seeds in
brackets (in points of accuracy unless stated): *reproduced* when the interval shows the paper's
effect (clear of zero, or inside the equivalence margin the claim states), *not reproduced* when
it excludes the effect the paper claims, *inconclusive* otherwise, *not evaluated* when the
chapter's runs are not all in the store (Figs. 1 and 10 still compare a difference with the
seed-to-seed spread). The numbers are from this book's CPU-scale runs (the scale is given with
each), not the paper's.

{_table(records, "")}

This page is generated from `results/verdicts/` by `python -m spatialmix.scoreboard`.
"""


def readme_table(records: Iterable[dict]) -> str:
    """The README's scoreboard table: as on the book's page, linking to book/NN_topic.ipynb."""
    return _table(records, "book/")


def replace_readme_table(
    text: str, table: str, start: str = README_START, end: str = README_END
) -> str:
    """README text with what stands between two markers replaced by `table`."""
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README has no {start} ... {end} markers")
    return pattern.sub(lambda _: f"{start}\n{table}\n{end}", text, count=1)


def main() -> int:
    """Write book/scoreboard.md and the README's table from the stored verdicts."""
    root = repo_root()
    records = load_records()
    (root / "book" / "scoreboard.md").write_text(page(records))
    readme = root / "README.md"
    readme.write_text(replace_readme_table(readme.read_text(), readme_table(records)))
    claimed = {r["claim"] for rec in records for r in rec["verdicts"]}
    print(f"scoreboard: {len(claimed)} of {len(CLAIMS)} claims have verdicts "
          f"(from {len(records)} chapters)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
