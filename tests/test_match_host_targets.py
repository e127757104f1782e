"""Which targets ``apply`` uses: with no ``--target`` the host CPU's (library calls
included), ``--target all`` every target of the library; named intrinsics and the specs a
user loads are asked for whatever the host."""

from __future__ import annotations

from pathlib import Path

import pytest

import tensorize
from tensorize import api, api_checks
from tensorize.errors import UsageError
from tensorize.intrinsics import host

LIB = tensorize.load_library()

QGEMM = """kernel qgemm(M = 8, N = 64, K = 64) {
  in A: u8[M, K]
  in B: i8[N, K]
  out C: i32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(B[j, k])
      }
    }
  }
}
"""


def test_no_target_means_the_hosts_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_checks, "host_supports", lambda t: t in ("x86.fma", "blas"))
    assert api.command_targets(LIB, []) == ("blas", "x86.fma")
    # every target the host runs, and nothing else
    found = api.host_targets(LIB)
    assert set(found) == {"blas", "x86.fma"}


def test_the_real_host_default_is_what_the_host_runs() -> None:
    found = api.command_targets(LIB, [])
    assert found and all(host.host_supports(t) for t in found)
    assert "blas" in found  # library calls run on any host


def test_all_is_every_target_and_stands_alone() -> None:
    assert api.command_targets(LIB, ["all"]) == ()
    with pytest.raises(UsageError, match="name no other target"):
        api.command_targets(LIB, ["all", "x86"])
    assert api.command_targets(LIB, ["x86"]) == ("x86",)
    with pytest.raises(UsageError, match="unknown target"):
        api.command_targets(LIB, ["no_such_machine"])


def test_named_intrinsics_are_not_filtered_by_the_host() -> None:
    assert api.command_targets(LIB, [], ["nvidia.mma.m16n8k32_s8u8_s32"]) == ()


def test_user_specs_count_as_asked_for(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_checks, "host_supports", lambda t: t == "blas")
    spec = tmp_path / "mine.tz"
    spec.write_text("""intrinsic mine.add4 {
  summary "four adds (a test spec)"
  target mine
  cost 1.0
  cost_source "a test spec"
  manual "none: a test spec"
  in a: i32[4]
  in b: i32[4]
  out c: i32[4]
  for i in 0..4 {
    c[i] = a[i] + b[i]
  }
}
""")
    lib = api.load_specs([spec])
    assert api.command_targets(lib, []) == ("blas", "mine")


def test_cli_default_never_uses_a_target_the_host_cannot_run(cli, tmp_path: Path) -> None:
    src = tmp_path / "q.tz"
    src.write_text(QGEMM)
    report = tmp_path / "r.json"
    result = cli(["apply", str(src), "--no-cache", "--report", str(report), "-o",
                  str(tmp_path / "out.tz")])
    assert result.code == 0
    import json

    chosen = [f["chosen"]["intrinsic"] for k in json.loads(report.read_text())["kernels"]
              for f in k["fragments"] if f.get("chosen")]
    by_name = LIB.as_dict()
    assert all(host.host_supports(by_name[n].target) for n in chosen)
    every = cli(["apply", str(src), "--no-cache", "--target", "all", "--report",
                 str(report), "-o", str(tmp_path / "all.tz")])
    assert every.code == 0
    assert json.loads(report.read_text())["kernels"][0]["fragments"][0]["chosen"]
