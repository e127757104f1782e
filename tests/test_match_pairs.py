"""Pair products (``vpmaddwd``, ``vpmaddubsw``, ``dot_16x4_pmadd``): reads of one buffer at
constant offsets in an arithmetic progression (``X[2 * i]``, ``X[2 * i + 1]``) bound to
one parameter through a constant dimension (``matcher/unrolled.py``); a wrong pairing or
a missing saturation is refused by the tile proof."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import tensorize
from tensorize.ir import interp
from tensorize.ir.interp import bind_sizes
from tensorize.ir.nodes import CallStmt, Const, Var, View
from tensorize.ir.traverse import walk
from tensorize.ir.types import INDEX
from tensorize.matcher.unrolled import families, singles
from tensorize.rewrite.apply import bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tests.kernels import kernel

LIB = tensorize.load_library().as_dict()
MADDWD = "x86.avx512_bw.vpmaddwd"
MADDUBSW = "x86.avx512_bw.vpmaddubsw"
PMADD = "x86.avx512_bw.dot_16x4_pmadd"

PAIRS = """kernel pairs(N = {n}) {{
  in X: i16[2 * N]
  in W: i16[2 * N]
  out Y: i32[N]
  for i in 0..N {{
    Y[i] = {body}
  }}
}}"""
GOOD = "i32(X[2 * i]) * i32(W[2 * i]) + i32(X[2 * i + 1]) * i32(W[2 * i + 1])"


def _run(text: str, name: str):
    k = kernel(text, LIB)
    result = TensorizePass(intrinsics=(name,)).run(k, LIB)
    return bake_sizes(k, bind_sizes(k, {})), result


def _agrees(original, rewritten) -> None:
    inputs = interp.random_inputs(original, {}, 11)
    want = tensorize.run(original, inputs, library=LIB)
    got = tensorize.run(rewritten, inputs, library=LIB)
    for name in want:
        np.testing.assert_array_equal(want[name], got[name])


def _i(v: int) -> Const:
    return Const(v, INDEX)


def test_families_group_arithmetic_progressions_only() -> None:
    i = Var("i", INDEX)
    from tensorize.ir.nodes import Binary
    two_i = Binary("*", _i(2), i, INDEX)
    at = [(two_i,), (Binary("+", two_i, _i(1), INDEX),)]
    grouped = families([("X", x) for x in at])
    assert len(grouped) == 1 and grouped[0].extent == 2 and grouped[0].step == (1,)
    # offsets 0, 1, 3: no progression, three single reads
    gap = at + [(Binary("+", two_i, _i(3), INDEX),)]
    assert [f.extent for f in families([("X", x) for x in gap])] == [1, 1, 1]
    # different linear parts (2 * i and i + 1) are not one family
    other = [(two_i,), (Binary("+", i, _i(1), INDEX),)]
    assert [f.extent for f in families([("X", x) for x in other])] == [1, 1]
    assert [f.extent for f in singles([("X", x) for x in at])] == [1, 1]


@pytest.mark.parametrize("n", [64, 20])
def test_adjacent_pairs_match_vpmaddwd_with_a_tail(n: int) -> None:
    original, result = _run(PAIRS.format(n=n, body=GOOD), MADDWD)
    chosen = result.fragments[0].chosen
    assert chosen is not None and chosen.calls == n // 16 and chosen.tail == n % 16
    assert chosen.strided == 0  # (i, t) -> X[2 * (16 * io + i) + t] is contiguous
    assert result.checked_by_execution
    _agrees(original, result.rewritten)


def test_pairs_in_two_rows_match_through_a_strided_view() -> None:
    text = """kernel rows(N = 32) {
  in X: i16[2, N]
  in W: i16[2, N]
  out Y: i32[N]
  for i in 0..N {
    Y[i] = i32(X[0, i]) * i32(W[0, i]) + i32(X[1, i]) * i32(W[1, i])
  }
}"""
    original, result = _run(text, MADDWD)
    chosen = result.fragments[0].chosen
    assert chosen is not None and chosen.strided == 2
    call = next(n for s in result.rewritten.body for n in walk(s) if isinstance(n, CallStmt))
    a = next(x.value for x in call.args if x.name == "a")
    assert isinstance(a, View) and a.index[0] == Var(a.dims[1], INDEX)
    _agrees(original, result.rewritten)


@pytest.mark.parametrize("body", [
    # the products paired the other way
    "i32(X[2 * i]) * i32(W[2 * i + 1]) + i32(X[2 * i + 1]) * i32(W[2 * i])",
    # one product twice
    "i32(X[2 * i]) * i32(W[2 * i]) + i32(X[2 * i]) * i32(W[2 * i])",
])
def test_wrong_pairs_are_not_vpmaddwd(body: str) -> None:
    _original, result = _run(PAIRS.format(n=32, body=body), MADDWD)
    frag = result.fragments[0]
    assert frag.chosen is None
    assert any(a.status == "refuted" for a in frag.alternatives) or frag.rejected


UBSW = """kernel ubsw(N = 64) {{
  in A: u8[2 * N]
  in B: i8[2 * N]
  out Y: i16[N]
  for i in 0..N {{
    Y[i] = {body}
  }}
}}"""


def test_saturated_pairs_match_vpmaddubsw() -> None:
    body = "sat_i16(i32(A[2 * i]) * i32(B[2 * i]) + i32(A[2 * i + 1]) * i32(B[2 * i + 1]))"
    original, result = _run(UBSW.format(body=body), MADDUBSW)
    assert result.fragments[0].chosen is not None
    _agrees(original, result.rewritten)


def test_wrapping_pairs_are_not_vpmaddubsw() -> None:
    body = "i16(i32(A[2 * i]) * i32(B[2 * i]) + i32(A[2 * i + 1]) * i32(B[2 * i + 1]))"
    _original, result = _run(UBSW.format(body=body), MADDUBSW)
    frag = result.fragments[0]
    assert frag.chosen is None
    assert any(a.status == "refuted" for a in frag.alternatives)


GEMV = """kernel gemv(N = {n}, K = {k}) {{
  in X: u8[K]
  in W: i8[N, K]
  inout Y: i32[N]
  for i in 0..N {{
    for kk in 0..K / 4 {{
      Y[i] += {body}
    }}
  }}
}}"""


def _pair(a: int, b: int, sat: bool) -> str:
    inner = (f"i32(X[4 * kk + {a}]) * i32(W[i, 4 * kk + {a}]) + "
             f"i32(X[4 * kk + {b}]) * i32(W[i, 4 * kk + {b}])")
    return f"i32(sat_i16({inner}))" if sat else f"({inner})"


def test_gemv_with_saturated_pairs_matches_dot_16x4_pmadd() -> None:
    body = f"{_pair(0, 1, True)} + {_pair(2, 3, True)}"
    original, result = _run(GEMV.format(n=40, k=12, body=body), PMADD)
    chosen = result.fragments[0].chosen
    assert chosen is not None and chosen.calls == 2 * 3 and chosen.tail == 8 * 3
    _agrees(original, result.rewritten)


def test_gemv_without_the_pair_saturation_is_not_dot_16x4_pmadd() -> None:
    body = f"{_pair(0, 1, False)} + {_pair(2, 3, False)}"
    _original, result = _run(GEMV.format(n=32, k=8, body=body), PMADD)
    frag = result.fragments[0]
    assert frag.chosen is None
    assert any(a.status == "refuted" for a in frag.alternatives)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")
def test_rewrites_with_constant_dimensions_compile_to_correct_c() -> None:
    """The C back end's scalar emission of calls with a constant view dimension (the
    templates need AVX-512, so they are off here) gives the interpreter's results."""
    from tensorize.backend.native import compile_kernel
    text = PAIRS.format(n=20, body=GOOD)
    _original, result = _run(text, MADDWD)
    rewritten = result.rewritten
    inputs = interp.random_inputs(rewritten, {}, 5)
    want = interp.run(rewritten, inputs, library=LIB)
    arrays = {b: np.array(v) for b, v in inputs.items()}
    arrays["Y"] = np.zeros(20, np.int32)
    compile_kernel(rewritten, LIB, templates=False)(**arrays)
    assert interp.checksum(arrays["Y"]) == interp.checksum(want["Y"])
