"""flush_denormals: subnormal floats become zero in training, so late steps do not slow down."""

import os
import platform
import subprocess
import sys

import pytest

from spatialmix import accel

# a child process: the setting is process-wide and one-way, so each case gets a fresh one
CHILD = """
import time, torch
from spatialmix.accel import flush_denormals
from spatialmix.provenance import provenance
torch.set_num_threads(2)
state = flush_denormals()
tiny = torch.full((4,), 1e-39)  # subnormal in float32
x = torch.randn(64, 128, 8, 8).contiguous(memory_format=torch.channels_last).requires_grad_()
conv = torch.nn.Conv2d(128, 128, 1).to(memory_format=torch.channels_last)
y = conv(x)
g = torch.randn_like(y) * 1e-39  # subnormal gradients, as a mixer's late steps produce
start = time.perf_counter()
y.backward(g)
ms = (time.perf_counter() - start) * 1e3
flushed = bool((tiny * 1.0 == 0).all() and (x.grad == 0).all())
print(state, provenance(torch.device("cpu"))["denormals"], flushed, f"{ms:.0f}")
"""


def _child(setting: str) -> tuple[str, str, bool, float]:
    env = {**os.environ, accel.DENORMALS_ENV: setting}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                          timeout=240, check=True)  # fmt: skip
    state, recorded, flushed, ms = done.stdout.split()
    return state, recorded, flushed == "True", float(ms)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="FTZ/DAZ are x86's")
def test_subnormals_are_flushed_to_zero_in_every_thread_and_recorded():
    state, recorded, flushed, _ = _child("flush")
    assert state == recorded == "flush" and flushed  # inputs and results both, 2 threads
    state, recorded, flushed, _ = _child("keep")
    assert state == recorded == "keep" and not flushed


def test_unknown_setting_is_an_error(monkeypatch):
    monkeypatch.setenv(accel.DENORMALS_ENV, "daz")
    with pytest.raises(ValueError, match="flush or keep"):
        accel.flush_denormals()
