"""``explain`` says which side of a counterexample is the program and which the intrinsic,
and why a proved candidate was not used."""

from __future__ import annotations

from pathlib import Path

import tensorize
from tensorize.equivalence.results import Counterexample, Difference
from tensorize.rewrite.engine import TensorizePass
from tests.kernels import kernel

MLA = """kernel mla(N = 8) {
  in a: f32[N]
  in b: f32[N]
  inout c: f32[N]
  for i in 0..N {
    c[i] += a[i] * b[i]
  }
}
"""

SUM = """kernel s(N = 64) {
  in x: f32[N]
  inout r: f32
  for i in 0..N {
    r += x[i]
  }
}
"""

GEMM_2 = """kernel g(M = 2, N = 2, K = 2) {
  in A: f32[M, K]
  in B: f32[K, N]
  inout C: f32[M, N]
  for i in 0..M {
    for j in 0..N {
      for k in 0..K {
        C[i, j] += A[i, k] * B[k, j]
      }
    }
  }
}
"""


def test_refuted_tile_names_the_program_and_the_intrinsic(cli, tmp_path: Path) -> None:
    src = tmp_path / "mla.tz"
    src.write_text(MLA)
    result = cli(["explain", "--intrinsic", "x86.fma.vfmadd231ps_ymm", str(src)])
    assert result.code == 1
    assert "the program gives" in result.out and "the intrinsic gives" in result.out
    assert "left gives" not in result.out and "right gives" not in result.out
    assert "buffers named by the intrinsic's parameters" in result.out


def test_refuted_reason_in_the_report_is_labelled_too() -> None:
    lib = tensorize.load_library()
    k = kernel(MLA, lib.as_dict())
    frag = TensorizePass(intrinsics=("x86.fma.vfmadd231ps_ymm",)).run(k, lib).fragments[0]
    reasons = [a.reason for a in frag.alternatives if a.status == "refuted"]
    assert reasons and all("the program gives" in r for r in reasons)


def test_execution_disagreement_names_the_original_and_the_rewrite(monkeypatch) -> None:
    cex = Counterexample({"c": "[1]"}, (Difference("c", (0,), "1.0", "2.0"),), "execution")
    monkeypatch.setattr(TensorizePass, "_execution_check",
                        lambda self, *args: ("at full size", cex))
    lib = tensorize.load_library()
    k = kernel(MLA, lib.as_dict())
    result = TensorizePass(intrinsics=("x86.fma.vfmadd231ps_ymm",), fp="real").run(k, lib)
    frag = result.fragments[0]
    assert frag.chosen is None and not result.changed
    reason = frag.alternatives[0].reason
    assert "the original kernel gives 1.0, the rewritten kernel gives 2.0" in reason


def test_proved_but_not_cheaper_than_scalar_says_so(cli, tmp_path: Path) -> None:
    src = tmp_path / "s.tz"
    src.write_text(SUM)
    # a library call's overhead makes a 2x2x2 GEMM cheaper as scalar code
    src.write_text(GEMM_2)
    result = cli(["explain", "--fp", "real", "--intrinsic", "blas.sgemm", str(src)])
    assert "[proved]" in result.out
    assert "no cheaper than the scalar loop" in result.out
