"""Shared fixtures: a temporary results store and the offline data, for every test."""

import os
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
