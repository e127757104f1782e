"""The compiled expressions of the scalar interpreters against the reference dispatch.

:class:`ScalarExec` and :class:`RealExec` compile each expression once into closures;
``eval_reference`` is the old evaluator, dispatching on node types at every step. Here
whole kernels (hypothesis-generated, the fuzz generator's, and hand-written edge cases)
run both ways, in exact and real mode, whole and one element at a time, and must give
the same bits or raise the same error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorize.errors import InterpError, NotReal
from tensorize.ir import interp
from tensorize.ir.check import check_function
from tensorize.ir.nodes import Binary, Const, Expr, Function, Load, Var
from tensorize.ir.one_element import OneElementExec, OneElementRealExec
from tensorize.ir.real_exec import RealExec
from tensorize.ir.scalar_exec import Compiled, ScalarExec
from tensorize.ir.traverse import Transformer
from tensorize.ir.types import INDEX
from tests.fuzz.generator import RandomChoices, generate
from tests.kernels import kernel
from tests.strategies import kernels


class _Reference:
    """Mixed into an executor: every expression evaluated by the reference dispatch."""

    def compiled(self, e: Expr) -> Compiled:
        return lambda ex, env: ex.eval_reference(e, env)

    def index(self, index: Any, env: Any, buf: str, shape: Any, span: Any) -> Any:
        return self.eval_index_reference(index, env, buf, shape, span)  # type: ignore[attr-defined]


class RefScalar(_Reference, ScalarExec):
    eval_index_reference = ScalarExec.index_reference


class RefReal(_Reference, RealExec):
    eval_index_reference = RealExec.index_reference


class RefOneScalar(_Reference, OneElementExec):
    eval_index_reference = ScalarExec.index_reference


class RefOneReal(_Reference, OneElementRealExec):
    eval_index_reference = ScalarExec.index_reference


def _run(cls: type, fn: Function, values: dict[str, np.ndarray], real: bool,
         **kw: Any) -> Any:
    bound = interp.bind_sizes(fn, {})
    shapes = interp.shapes_of(fn, bound)
    ins = {k: v for k, v in values.items() if fn.decl(k).mode in ("in", "inout")}
    outs = {k: v for k, v in values.items() if fn.decl(k).mode == "out"}
    mem = interp._real_memory(fn, ins, shapes, outs) if real else \
        interp._memory(fn, ins, shapes, outs)
    try:
        cls(fn, bound, mem, shapes, {}, interp._call, **kw).run()
    except (InterpError, NotReal, ZeroDivisionError, OverflowError) as exc:
        return ("raised", type(exc).__name__, str(exc))
    return {b.name: mem[b.name] for b in fn.outputs}


def _same(x: Any, y: Any) -> None:
    if isinstance(x, tuple):
        assert x == y
        return
    assert x.keys() == y.keys()
    for k in x:
        a, b = np.asarray(x[k]), np.asarray(y[k])
        if a.dtype == object:
            assert a.shape == b.shape and all(
                type(p) is type(q) and p == q for p, q in zip(a.reshape(-1), b.reshape(-1)))
        else:
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), k


def _compare(fn: Function, seed: int) -> None:
    from tensorize.equivalence.execute import input_sets

    sets = list(input_sets(fn, {}, seed, 2, ("min", "max", "mix")))
    for values in sets:
        _same(_run(ScalarExec, fn, values, False), _run(RefScalar, fn, values, False))
        finite = all(np.isfinite(v.astype(np.float64)).all() for v in values.values()
                     if v.dtype.kind == "f" or "bfloat16" in str(v.dtype))
        if finite:
            _same(_run(RealExec, fn, values, True), _run(RefReal, fn, values, True))
        for out in fn.outputs:
            shape = interp.shapes_of(fn, interp.bind_sizes(fn, {}))[out.name]
            for idx in list(np.ndindex(shape))[:3]:
                target = (out.name, tuple(int(i) for i in idx))
                _same(_run(OneElementExec, fn, values, False, target=target),
                      _run(RefOneScalar, fn, values, False, target=target))
                if finite:
                    _same(_run(OneElementRealExec, fn, values, True, target=target),
                          _run(RefOneReal, fn, values, True, target=target))


@settings(max_examples=150, deadline=None)
@given(kernels(), st.integers(0, 1000))
def test_generated_kernels_compile_to_the_reference(fn: Function, seed: int) -> None:
    fn = check_function(fn, {})
    _compare(fn, seed)


def test_fuzz_kernels_compile_to_the_reference() -> None:
    compared = 0
    for seed in range(40):
        g = generate(RandomChoices(seed), allowed=("loopvar_value", "odd_init",
                                                    "unsigned_mixed", "empty_size1"))
        fn = kernel(g.text)
        if interp.estimate_work(fn, interp.bind_sizes(fn, {})) <= 1_500:
            _compare(fn, seed)
            compared += 1
    assert compared >= 8


class _Twice(Transformer):
    """Replaces the index of every load of A by ``index``."""

    def __init__(self, index: Expr) -> None:
        self.new = index

    def visit_Load(self, node: Load) -> Expr:
        return dataclasses.replace(node, index=(self.new,)) if node.buf == "A" else node


EDGE = {
    "index_errors": """kernel k {
      in A: i32[4]
      out C: i32[4]
      for i in 0..4 { C[i] = A[(i * 3) / 4] + A[i % 3] }
    }""",
    "ops": """kernel k {
      in A: i8[6]
      in B: u16[6]
      in F: f16[6]
      out C: i32[6]
      out D: f32[6]
      for i in 0..6 {
        C[i] = i32(A[i] / A[5 - i]) + i32(A[i] % A[5 - i]) + i32(A[i] << i8(i))
             + i32(A[i] >> i8(i)) + i32(B[i] ^ B[5 - i]) + i32(B[i] | B[0]) - i32(B[i] & B[1])
             + select(A[i] < A[0] && B[i] != B[1] || i == 2, 1, 2) + i32(-A[i]) + i32(~B[i])
             + i32(abs(A[i])) + min(i32(A[i]), 3) + max(i32(B[i]), 9) + i32(sat_i8(B[i]))
        D[i] = f32(F[i]) / f32(F[5 - i]) + f32(F[i] * F[i] - F[0]) + fma(f32(F[i]), 2.5, -1.0)
             + exp(f32(F[i])) + rint(f32(F[i])) + f32(i32(F[i] * 100.0))
      }
    }""",
}


@pytest.mark.parametrize("name", sorted(EDGE))
@pytest.mark.parametrize("seed", range(4))
def test_edge_kernels_compile_to_the_reference(name: str, seed: int) -> None:
    _compare(kernel(EDGE[name]), seed)


def test_an_index_out_of_bounds_raises_the_same_error() -> None:
    """(The checker refuses such a kernel: the index is changed after checking.)"""
    fn = kernel(EDGE["index_errors"])
    double = Binary("*", Var("i", INDEX), Const(2, INDEX), INDEX)
    fn = dataclasses.replace(fn, body=(_Twice(double)(fn.body[0]),))
    values = {"A": np.arange(4, dtype=np.int32)}
    fast, ref = _run(ScalarExec, fn, values, False), _run(RefScalar, fn, values, False)
    assert fast[0] == "raised" and "out of bounds" in fast[2]
    assert fast == ref


def test_element_preparation_is_per_function_and_sizes() -> None:
    """run_element's memo (normal form, shapes, work limit) is keyed by the function and
    its sizes: other sizes give other shapes and values, another buffer none."""
    fn = kernel("""kernel k(N = 4) {
      in A: i32[N]
      out C: i32[N]
      out D: i32[N]
      for i in 0..N { C[i] = A[N - 1 - i] * 2 }
    }""")
    for n in (4, 6, 4, 6):
        ins = {"A": np.arange(n, dtype=np.int32) + 1}
        whole = interp.run(fn, ins, sizes={"N": n}, mode="scalar")["C"]
        for i in range(n):
            assert interp.run_element(fn, ins, "C", (i,), sizes={"N": n}) == whole[i]
        assert interp.run_element(fn, ins, "D", (0,), sizes={"N": n}) is None
    for _ in range(2):  # refused the first time and again from the memo
        with pytest.raises(InterpError, match="too large"):
            interp.run_element(fn, {"A": np.zeros(1, np.int32)}, "C", (0,),
                               sizes={"N": 1 << 29})


def test_memoised_shapes_are_a_fresh_dict_per_call() -> None:
    fn = kernel("""kernel k(N = 4) {
      in A: i32[N, 2]
      out C: i32[N]
      for i in 0..N { C[i] = A[i, 1] }
    }""")
    first = interp.shapes_of(fn, {"N": 3})
    assert first == {"A": (3, 2), "C": (3,)}
    first["A"] = (0,)
    assert interp.shapes_of(fn, {"N": 3}) == {"A": (3, 2), "C": (3,)}
    assert interp.shapes_of(fn, {"N": 5}) == {"A": (5, 2), "C": (5,)}
    for _ in range(2):
        with pytest.raises(InterpError, match="too large"):
            interp.shapes_of(fn, {"N": 1 << 28})
