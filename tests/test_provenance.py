"""Every record names the instruction set it ran on: machines of one kind differ in it."""

import torch

from spatialmix import provenance
from spatialmix.provenance import instruction_set, isa_text


def test_instruction_set_is_read_from_the_cpu_flags(monkeypatch):
    cases = [({"avx2", "fma"}, "avx2"), ({"avx2", "avx512f"}, "avx512"),
             ({"avx2", "avx512f", "amx_tile"}, "amx"), ({"neon"}, "other")]  # fmt: skip
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    for flags, expected in cases:
        monkeypatch.setattr(provenance, "cpu_flags", lambda f=flags: f)
        assert instruction_set()["cpu"] == expected
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    found = instruction_set()
    assert found["onednn_cap"] == "AVX2"
    assert isa_text({"isa": found}) == "no AVX2 (oneDNN capped at AVX2)"
    assert isa_text({}) == "instruction set not recorded"


def test_provenance_names_this_machines_instruction_set():
    isa = provenance.provenance(torch.device("cpu"))["isa"]
    assert isa["kernels"] == torch.backends.cpu.get_cpu_capability()
    flags = provenance.cpu_flags()
    if flags:  # Linux: the flags decide
        assert (isa["cpu"] == "avx2") == ("avx2" in flags and "avx512f" not in flags)
