"""The HTML book builds offline with warnings as errors, and every chapter page has its figures."""

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture
def html(book_html):
    return book_html


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_page_has_its_figures(html, path):
    page = (html / "book" / f"{path.stem}.html").read_text()
    nb = nbformat.read(path, as_version=4)
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert figures >= 1
    assert len(re.findall(r"<img[^>]+src=\"[^\"]*\.png\"", page)) >= figures
    assert "Traceback" not in page


def test_intro_page_exists(html):
    assert (html / "book" / "intro.html").exists() and (html / "index.html").exists()
