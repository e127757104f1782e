"""Inlining a rewrite's calls (what the execution check runs): the inlined kernel computes
exactly what the calls compute, and calls where copying in and out would matter are not
inlined."""

from __future__ import annotations

import numpy as np
import pytest

import tensorize
from tensorize.equivalence.execute import input_sets
from tensorize.ir import interp
from tensorize.ir.nodes import CallStmt
from tensorize.ir.traverse import walk
from tensorize.rewrite.inline import NotInlined, inline_calls

LIB = tensorize.load_library().as_dict()

KERNELS = {
    "qmatmul_vnni": ("""kernel k(M = 5, N = 37, K = 11) {
  in A: u8[M, K]
  in B: i8[N, K]
  out C: i32[M, N]
  for i in 0..M { for j in 0..N {
    C[i, j] = 0
    for k in 0..K { C[i, j] += i32(A[i, k]) * i32(B[j, k]) } } }
}""", ("x86.avx512_vnni.vpdpbusd_bcast",), "ieee"),
    "transposed_conv": ("""kernel k {
  in X: u8[3, 3, 8]
  in F: i8[3, 3, 8, 16]
  out Y: i32[7, 7, 16]
  for h in 0..7 { for w in 0..7 { for ko in 0..16 { Y[h, w, ko] = 0 } } }
  for ih in 0..3 { for iw in 0..3 { for rh in 0..3 { for rw in 0..3 {
    for ko in 0..16 { for c in 0..8 {
      Y[2 * ih + rh, 2 * iw + rw, ko] += i32(X[ih, iw, c]) * i32(F[rh, rw, c, ko])
  } } } } } }
}""", ("x86.avx512_vnni.vpdpbusd_bcast",), "ieee"),
    "f32_fma_outer": ("""kernel k {
  in A: f32[32, 4]
  in B: f32[4, 16]
  inout C: f32[32, 16]
  for i in 0..32 { for k in 0..4 { for j in 0..16 {
    C[i, j] = fma(A[i, k], B[k, j], C[i, j]) } } }
}""", ("arm.sme512.fmopa",), "ieee"),
    "sgemm_library_call": ("""kernel k {
  in A: f32[6, 5]
  in B: f32[5, 7]
  out C: f32[6, 7]
  for i in 0..6 { for j in 0..7 {
    C[i, j] = 0.0
    for k in 0..5 { C[i, j] += A[i, k] * B[k, j] } } }
}""", ("blas.sgemm",), "real"),
}


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_the_inlined_rewrite_computes_what_the_calls_compute(name: str) -> None:
    text, intrinsics, fp = KERNELS[name]
    kern = tensorize.parse(text, "<test>", LIB).kernels[0]
    result = tensorize.tensorize(kern, LIB, intrinsics=intrinsics, fp=fp)
    rewritten = result.rewritten
    assert any(isinstance(n, CallStmt) for s in rewritten.body for n in walk(s)), name
    inlined = inline_calls(rewritten, LIB)
    assert not any(isinstance(n, CallStmt) for s in inlined.body for n in walk(s))
    for values in list(input_sets(rewritten, {}, seed=5, randoms=2))[:6]:
        ins = {k: v for k, v in values.items() if rewritten.decl(k).mode in ("in", "inout")}
        outs = {k: v for k, v in values.items() if rewritten.decl(k).mode == "out"}
        with np.errstate(all="ignore"):
            want = interp.run(rewritten, ins, library=LIB, outputs=outs)
            got = interp.run(inlined, ins, library=LIB, outputs=outs)
        for buf in want:
            assert np.array_equal(want[buf], got[buf], equal_nan=True), (name, buf)
    # the engine's execution check ran the inlined form and says so
    chosen = next(f.chosen for f in result.fragments if f.chosen)
    assert "calls inlined" in chosen.checks[-1]


ADD = """
intrinsic t.add4 {
  target t
  in a: i32[4]
  inout c: i32[4]
  for i in 0..4 { c[i] += a[i] }
}
intrinsic t.zero_then_add {
  target t
  in a: i32[4]
  out c: i32[4]
  for i in 0..4 { c[i] += a[i] }
}
"""


def _module(body: str) -> tensorize.api.Module:
    return tensorize.parse(ADD + "kernel k {\n  in A: i32[8]\n  inout C: i32[8]\n" + body
                           + "\n}", "<test>")


@pytest.mark.parametrize("call, why", [
    # two lanes of the output view are one element: the calls copy c in once and write
    # it back, the inlined body would add twice
    ("call t.add4(a = (i) -> A[i], c = (i) -> C[i / 2])", "may repeat"),
    # the output shares its buffer with an input: copying in matters
    ("call t.add4(a = (i) -> C[i + 1], c = (i) -> C[i])", "shares its buffer"),
])
def test_calls_whose_copies_matter_are_not_inlined(call: str, why: str) -> None:
    module = _module(call)
    lib = {f.name: f for f in module.intrinsics}
    with pytest.raises(NotInlined, match=why):
        inline_calls(module.get("k"), lib)


def test_an_out_parameter_is_zeroed_first_as_a_call_does() -> None:
    module = _module("call t.zero_then_add(a = (i) -> A[i], c = (i) -> C[2 * i])")
    lib = {f.name: f for f in module.intrinsics}
    k = module.get("k")
    a, c = np.arange(8, dtype=np.int32), np.full(8, 100, dtype=np.int32)
    want = interp.run(k, {"A": a, "C": c}, library=lib)["C"]
    got = interp.run(inline_calls(k, lib), {"A": a, "C": c}, library=lib)["C"]
    assert list(got) == list(want) == [0, 100, 1, 100, 2, 100, 3, 100]
