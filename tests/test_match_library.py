"""Library calls: intrinsics with size parameters match whole nests, with the sizes bound
to the program's extents; the cost is a function of the sizes; float BLAS only in real
mode (the specs declare ``order unordered``)."""

from __future__ import annotations

import dataclasses

import tensorize
from tensorize.ir.nodes import Arg, CallStmt, Const, For
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import enumerate_candidates, instantiate, tile_kernel
from tensorize.matcher.fragments import fragments
from tensorize.rewrite.apply import apply_plan, bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tensorize.rewrite.plan import make_plan
from tensorize.rewrite.validate import validate
from tests.kernels import kernel

LIB = tensorize.load_library()

GEMM = """kernel sg(M = 8, N = 6, K = 4) {
  in  A: f32[M, K]
  in  B: f32[N, K]
  out C: f32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += A[i, k] * B[j, k]
      }
    }
  }
}"""

DOT = """kernel d(N = 4000) {
  in  X: f64[N]
  in  Y: f64[N]
  out S: f64
  S = 0
  for n in 0..N {
    S += X[n] * Y[n]
  }
}"""


def _run(text: str, fp: str, intrinsic: str, sizes: dict[str, int] | None = None,
         exhaustive: bool = False):
    return TensorizePass(fp=fp, intrinsics=(intrinsic,),  # type: ignore[arg-type]
                         exhaustive=exhaustive).run(kernel(text, LIB), LIB, sizes)


def test_sgemm_matches_a_whole_nest_in_real_mode_with_a_transposed_view() -> None:
    result = _run(GEMM, "real", "blas.sgemm")
    chosen = result.fragments[0].chosen
    assert chosen is not None and chosen.calls == 1
    assert "sizes M=8, N=6, K=4" in chosen.mapping
    call = next(n for s in result.rewritten.body for n in tensorize.ir.traverse.walk(s)
                if isinstance(n, CallStmt))
    assert [a.name for a in call.args[:3]] == ["M", "N", "K"]


def test_float_blas_is_refused_in_ieee_mode() -> None:
    report = _run(GEMM, "ieee", "blas.sgemm").fragments[0]
    assert report.chosen is None
    assert report.rejected and report.rejected[0][1] == "order"


def test_dot_accumulates_through_the_call() -> None:
    chosen = _run(DOT, "real", "blas.ddot").fragments[0].chosen
    assert chosen is not None and "sizes N=4000" in chosen.mapping


def test_a_call_has_an_overhead_small_sizes_stay_scalar() -> None:
    small = _run(GEMM, "real", "blas.sgemm", {"M": 2, "N": 2, "K": 2},
                 exhaustive=True).fragments[0]
    assert small.chosen is None
    proved = [a for a in small.alternatives if a.status == "proved"]
    assert proved and all(a.cost > small.scalar_cost for a in proved)
    # without explain's every-candidate check, none is even proved: none could win
    lazy = _run(GEMM, "real", "blas.sgemm", {"M": 2, "N": 2, "K": 2}).fragments[0]
    assert lazy.chosen is None and lazy.alternatives and all(
        a.status == "unchecked" and "no less than the scalar loop" in a.reason
        for a in lazy.alternatives)
    big = _run(GEMM, "real", "blas.sgemm").fragments[0]
    assert big.chosen is not None and big.chosen.cost < big.scalar_cost


def test_the_validator_checks_the_sizes_passed_to_the_call() -> None:
    k = bake_sizes(kernel(GEMM, LIB), {"M": 8, "N": 6, "K": 4})
    frag = fragments(k, {})[0]
    intr = LIB["blas.sgemm"]
    cand = next(c for c in enumerate_candidates(frag, intr, k, "real").candidates
                if c.pairing == (("A", "A"), ("B", "B")))
    inst = instantiate(intr, cand.sizes)
    tile = tile_kernel(cand, frag, inst, k)
    plan = make_plan(cand, frag.form, inst)
    stmts = apply_plan(plan, frag.form)
    w = k.buffer("C").dtype
    assert validate(frag.form, stmts, inst, tile, plan, w_type=w, fp="real").ok

    def wrong_size(s):
        if isinstance(s, For):
            return dataclasses.replace(s, body=tuple(wrong_size(x) for x in s.body))
        if isinstance(s, CallStmt):
            return dataclasses.replace(s, args=tuple(
                Arg("N", Const(5, INDEX)) if a.name == "N" else a for a in s.args))
        return s
    mutant = tuple(wrong_size(s) for s in stmts)
    got = validate(frag.form, mutant, inst, tile, plan, w_type=w, fp="real")
    assert not got.ok and "sizes" in got.failures[0]


def test_a_large_gemm_becomes_one_call_and_wrong_pairings_are_dropped_early() -> None:
    result = _run(GEMM, "real", "blas.sgemm", {"M": 512, "N": 512, "K": 512})
    report = result.fragments[0]
    assert report.chosen is not None and report.chosen.calls == 1
    assert report.chosen.cost < report.scalar_cost / 10
    # the candidates with A and B swapped differ already at sizes of at most 3
    assert any("already at sizes" in a.reason for a in report.alternatives)
