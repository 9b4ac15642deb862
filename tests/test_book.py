"""The HTML book builds offline with warnings as errors, and every chapter page has its figures."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    exe = Path(sys.executable).with_name("jupyter-book")
    if not exe.exists():
        pytest.skip("jupyter-book is not installed (pip install -e '.[book]')")
    out = tmp_path_factory.mktemp("book")
    done = subprocess.run(
        [
            str(exe),
            "build",
            str(REPO),
            "--path-output",
            str(out),
            "--warningiserror",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    yield out / "_build" / "html"
    shutil.rmtree(out, ignore_errors=True)


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
