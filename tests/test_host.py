"""The host-target table: lookups by prefix, and what this host can run."""

from __future__ import annotations

import pytest

from tensorize.intrinsics import host


def test_every_bundled_target_is_in_the_table() -> None:
    import tensorize

    for fn in tensorize.load_library():
        assert host.target_info(fn.target) is not None or fn.target.split(".")[0] in (
            "nvidia", "ascend", "gemmini", "hexagon"), fn.target


def test_lookup_by_family_prefix_and_unknown() -> None:
    assert host.target_info("blas.level3") == host.TARGETS["blas"]
    assert host.target_info("x86") is None
    assert host.missing_features("nvidia.sm80") is None
    assert host.host_supports("blas")


def test_other_machine_family_is_not_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "host_machine", lambda: "riscv64")
    assert host.missing_features("x86.fma") is None
    assert not host.host_supports("arm.neon")


def test_missing_features_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "host_machine", lambda: "x86_64")
    monkeypatch.setattr(host, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert host.host_supports("x86.fma")
    assert host.missing_features("x86.avx512_vnni") == ("avx512f", "avx512vl", "avx512_vnni")
