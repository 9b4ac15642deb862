"""The scoreboard: book/scoreboard.md and the README's table are built from the stored verdicts."""

import json
from pathlib import Path

import pytest

from spatialmix import report, scoreboard
from spatialmix.claims import AWAITING_RUNS, CLAIMS, Verdict

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "results" / "verdicts"


def test_the_committed_page_is_built_from_the_stored_verdicts():
    records = scoreboard.load_records(COMMITTED)
    assert records, f"no stored verdicts in {COMMITTED}: run the chapters"
    assert (REPO / "book" / "scoreboard.md").read_text() == scoreboard.page(records), (
        "book/scoreboard.md is stale: run `python -m spatialmix.scoreboard`"
    )


def test_the_readme_table_is_built_from_the_stored_verdicts():
    readme = (REPO / "README.md").read_text()
    table = scoreboard.readme_table(scoreboard.load_records(COMMITTED))
    assert scoreboard.replace_readme_table(readme, table) == readme, (
        "README's scoreboard table is stale: run `python -m spatialmix.scoreboard`"
    )


def test_every_claim_has_one_row_naming_it():
    rows = [line for line in scoreboard.page(scoreboard.load_records(COMMITTED)).splitlines()
            if line.startswith("| ") and "`" in line]  # fmt: skip
    assert len(rows) == len(CLAIMS)
    for claim in CLAIMS:
        assert sum(f"`{claim}`" in row for row in rows) == 1, claim


def test_every_claim_has_a_stored_verdict():
    """Except the claims committed before their runs (claims.AWAITING_RUNS), and those only
    until a chapter stores their verdicts."""
    stored = {r["claim"] for rec in scoreboard.load_records(COMMITTED) for r in rec["verdicts"]}
    assert stored == set(CLAIMS) - AWAITING_RUNS


def test_a_claim_without_verdicts_is_not_run_yet():
    assert scoreboard.page([]).count(scoreboard.NOT_RUN) == 2 * len(CLAIMS)


VERDICTS = {
    "FGSM, n = 1": Verdict("fig6_chans_more_robust", "reproduced",
                           {"chans_minus_full": {"mean": 0.028, "lo": 0.011, "hi": 0.045,
                                                 "n": 3}}),
    "PGD-2, n = 1": Verdict("fig6_chans_more_robust", report.NOT_EVALUATED, {}),
    "PGD-2, FGSM-trained, n = 1": Verdict("fig6_gap_gone_adversarial", "not reproduced",
                                          {"chans_minus_full": {"mean": -0.05, "lo": -0.06,
                                                                "hi": -0.04, "n": 3}}),
}  # fmt: skip
CONTEXT = {"scale": "smoke", "seeds": 2, "data": {"cifar10": "cifar10 (JPEG q75 copy)"}}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("SPATIALMIX_READONLY", raising=False)
    monkeypatch.setattr(report, "injected_parameters", lambda: {})
    return tmp_path / "results"


def test_store_verdicts_writes_the_statuses_it_is_given(store):
    path = scoreboard.store_verdicts("06_adversarial", VERDICTS, CONTEXT)
    assert path == store / "verdicts" / "06_adversarial.json"
    rows = json.loads(path.read_text())["verdicts"]
    assert [(r["label"], r["claim"], r["status"]) for r in rows] == [
        (label, v.claim, v.status) for label, v in VERDICTS.items()
    ]
    text = {r["label"]: r["measurement"] for r in rows}
    assert text["FGSM, n = 1"] == (
        "chans − full +2.8 [+1.1, +4.5] points (2 seeds, scale smoke, cifar10 (JPEG q75 copy))"
    )
    assert text["PGD-2, n = 1"].startswith("not evaluated")
    page = scoreboard.page(scoreboard.load_records())
    assert "[06](06_adversarial.ipynb)" in page and "PGD-2, n = 1: not evaluated" in page


def test_store_verdicts_writes_nothing_in_a_read_only_store(store, monkeypatch):
    monkeypatch.setenv("SPATIALMIX_READONLY", "1")
    assert scoreboard.store_verdicts("06_adversarial", VERDICTS, CONTEXT) is None
    assert not store.exists()


def test_store_verdicts_writes_nothing_when_papermill_passed_parameters(store, monkeypatch):
    monkeypatch.setattr(report, "injected_parameters", lambda: {"scale": "smoke"})
    assert scoreboard.store_verdicts("06_adversarial", VERDICTS, CONTEXT) is None
    assert not store.exists()


def test_a_part_at_another_scale_has_its_own_file_and_names_its_rows(store):
    converged = {"cifar10": Verdict("fig6_chans_more_robust", "inconclusive",
                                    {"chans_minus_full": {"mean": 0.01, "lo": -0.01, "hi": 0.03,
                                                          "n": 3}})}  # fmt: skip
    scoreboard.store_verdicts("06_adversarial", VERDICTS, CONTEXT)
    path = scoreboard.store_verdicts(
        "06_adversarial", converged, {**CONTEXT, "scale": "converged"}, part="converged"
    )
    assert path == store / "verdicts" / "06_adversarial.converged.json"
    page = scoreboard.page(scoreboard.load_records())
    assert "cifar10 (converged): **inconclusive**" in page
    assert page.index("FGSM, n = 1: **reproduced**") < page.index("(converged): **inconclusive**")
    measured = "cifar10 (converged): chans − full +1.0 [-1.0, +3.0] points (2 seeds, scale conv"
    assert measured in page
    assert page.count("[06](06_adversarial.ipynb)") == 2  # one row per claim, one link each
