"""Shared fixtures: a temporary results store and the offline data, for every test."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SPATIALMIX_SHARED_DATA", REPO.parent / "shared" / "data"))

torch.set_num_threads(int(os.environ.get("SPATIALMIX_THREADS", 2)))


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty, writable results store; tests never touch the repository's results/."""
    monkeypatch.setenv("SPATIALMIX_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("SPATIALMIX_READONLY", raising=False)
    return tmp_path / "results"


@pytest.fixture
def mnist_dir(monkeypatch):
    """Point the data lookup at the offline MNIST copy, or skip saying why."""
    if not (SHARED_DATA / "mnist.npz").exists():
        pytest.skip(f"offline MNIST not found at {SHARED_DATA}")
    monkeypatch.setenv("SPATIALMIX_DATA", str(SHARED_DATA))
    return SHARED_DATA


@pytest.fixture(scope="session")
def book_html(tmp_path_factory):
    """The HTML book, built once per session as `make html` does (warnings are errors)."""
    exe = Path(sys.executable).with_name("jupyter-book")
    if not exe.exists():
        pytest.skip("jupyter-book is not installed (pip install -e '.[book]')")
    out = tmp_path_factory.mktemp("book")
    cmd = [str(exe), "build", str(REPO), "--path-output", str(out), "--warningiserror",
           "--keep-going"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    yield out / "_build" / "html"
    shutil.rmtree(out, ignore_errors=True)
