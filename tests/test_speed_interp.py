"""The interpreter's alias checks of a call's views: still exact, and fast when batched."""

from __future__ import annotations

import time

import numpy as np
import pytest

import tensorize
from tensorize.errors import InterpError

ADD = """
intrinsic t.add4 {
  summary "c[i] += a[i]"
  target t
  cost 1.0
  in a: i32[4]
  inout c: i32[4]
  for i in 0..4 { c[i] += a[i] }
}
"""


def _kernel(body: str, n: int = 8) -> tensorize.api.Function:
    text = ADD + f"""
kernel k {{
  in A: i32[{n}]
  out C: i32[{n}]
  {body}
}}"""
    module = tensorize.parse(text)
    return module.get("k"), {f.name: f for f in module.intrinsics}


@pytest.mark.parametrize("n", [8, 1000])  # counted (small buffer) or sorted (large one)
def test_output_view_repeating_an_element_is_refused(n: int) -> None:
    k, lib = _kernel("call t.add4(a = (i) -> A[i], c = (i) -> C[i / 2])", n)
    with pytest.raises(InterpError, match="writes the same element"):
        tensorize.run(k, library=lib)


@pytest.mark.parametrize("n", [8, 1000])
def test_output_view_overlapping_an_input_is_refused(n: int) -> None:
    text = ADD + f"""
kernel k {{
  inout C: i32[{n}]
  call t.add4(a = (i) -> C[i + 3], c = (i) -> C[i])
}}"""
    module = tensorize.parse(text)
    lib = {f.name: f for f in module.intrinsics}
    with pytest.raises(InterpError, match="overlap"):
        tensorize.run(module.get("k"), library=lib)


def test_disjoint_views_run() -> None:
    k, lib = _kernel("for t in 0..2 { call t.add4(a = (i) -> A[4 * t + i], "
                     "c = (i) -> C[4 * t + i]) }")
    a = np.arange(8, dtype=np.int32)
    assert list(tensorize.run(k, {"A": a}, library=lib)["C"]) == list(a)


def test_a_large_batched_call_checks_its_views_quickly() -> None:
    # 65536 batched calls of 4 lanes: numpy 2's np.unique took over a second here
    n = 4 * 65536
    k, lib = _kernel("for t in 0..65536 { call t.add4(a = (i) -> A[4 * t + i], "
                     "c = (i) -> C[4 * t + i]) }", n)
    a = np.arange(n, dtype=np.int32)
    start = time.perf_counter()
    out = tensorize.run(k, {"A": a}, library=lib)["C"]
    assert time.perf_counter() - start < 1.0
    assert np.array_equal(out, a)


# -- the sanity run, batched over its input sets ------------------------------------------
@pytest.mark.parametrize("sizes", [{"M": 3, "N": 35, "K": 10}, {"M": 4, "N": 32, "K": 8}])
def test_batched_runs_equal_runs_one_by_one(sizes) -> None:
    from tensorize.equivalence import execute

    lib = tensorize.load_library()
    text = """kernel mm(M = 4, N = 32, K = 8) {
  in  A: u8[M, K]
  in  B: i8[N, K]
  out C: i32[M, N]
  for i in 0..M { for j in 0..N { C[i, j] = 0
    for k in 0..K { C[i, j] += i32(A[i, k]) * i32(B[j, k]) } } }
}"""
    k = tensorize.parse(text, "<t>", lib).kernels[0]
    result = tensorize.tensorize(k, lib, targets=["x86"], sizes=sizes)
    assert result.changed  # calls (and, at the first sizes, scalar tails) to run
    for fn in (result.rewritten, result.kernel):
        bound = {} if fn is result.rewritten else sizes
        sets = list(execute.input_sets(fn, bound, 0, 2, ("mix", "max", "min")))
        got = execute._run_batched(fn, bound, sets, lib.as_dict())
        want = _sequential_sized(fn, sets, lib.as_dict(), bound)
        assert got is not None and len(got) == len(want) == 5
        for g, w in zip(got, want):
            assert g.keys() == w.keys()
            assert all(np.array_equal(g[name], w[name]) for name in w)


def _sequential_sized(fn, sets, lib, sizes):
    from tensorize.ir import interp

    out = []
    for v in sets:
        ins = {b.name: v[b.name] for b in fn.buffers if b.mode in ("in", "inout")}
        outs = {b.name: v[b.name] for b in fn.buffers if b.mode == "out"}
        out.append(interp.run(fn, ins, sizes=sizes, library=lib, outputs=outs))
    return out


def test_a_batched_check_finds_what_the_sets_one_by_one_find() -> None:
    from tensorize.equivalence.execute import refute_by_execution

    k, lib = _kernel("for t in 0..2 { call t.add4(a = (i) -> A[4 * t + i], "
                     "c = (i) -> C[4 * t + i]) }")
    wrong, _ = _kernel("for t in 0..2 { call t.add4(a = (i) -> A[4 * t + 3 - i], "
                       "c = (i) -> C[4 * t + i]) }")
    for batched in (False, True):
        assert refute_by_execution(k, {}, k, {}, lib, "ieee", batched=batched) is None
        cex = refute_by_execution(k, {}, wrong, {}, lib, "ieee", batched=batched)
        assert cex is not None
    one = refute_by_execution(k, {}, wrong, {}, lib, "ieee", batched=False)
    both = refute_by_execution(k, {}, wrong, {}, lib, "ieee", batched=True)
    assert one.describe() == both.describe()
