"""The constant fast path of the bounds check (ir/bounds.py ``_constant_safe``): when it
says an index stays in ``0..extent``, every point of the loops agrees (checked by
enumeration on random index expressions with ``/`` and ``%``); and the kernels it speeds
up (rewrites with fused groups and tails) still get their out-of-bounds errors."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorize.errors import CheckError
from tensorize.ir.bounds import _constant_safe
from tensorize.ir.nodes import Binary, Const, Expr, Var
from tensorize.ir.types import INDEX
from tests.kernels import kernel

VARS = ("a", "b", "c")


def _exprs() -> st.SearchStrategy[Expr]:
    leaves = st.one_of(st.sampled_from(VARS).map(lambda v: Var(v, INDEX)),
                       st.integers(-3, 9).map(lambda c: Const(c, INDEX)))

    def grow(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.one_of(
            st.tuples(st.sampled_from("+-*"), inner, inner).map(
                lambda t: Binary(t[0], t[1], t[2], INDEX)),
            st.tuples(st.sampled_from("/%"), inner, st.integers(-2, 5)).map(
                lambda t: Binary(t[0], t[1], Const(t[2], INDEX), INDEX)))
    return st.recursive(leaves, grow, max_leaves=6)


def _value(e: Expr, env: dict[str, int]) -> int:
    if isinstance(e, Const):
        return int(e.value)
    if isinstance(e, Var):
        return env[e.name]
    assert isinstance(e, Binary)
    x, y = _value(e.lhs, env), _value(e.rhs, env)
    if e.op == "+":
        return x + y
    if e.op == "-":
        return x - y
    if e.op == "*":
        return x * y
    if y == 0:
        raise ZeroDivisionError
    q = abs(x) // abs(y) * (1 if (x >= 0) == (y > 0) else -1)  # any rounding: the fast
    return q if e.op == "/" else x - q * y                      # path refuses negatives


@settings(max_examples=400, deadline=None)
@given(_exprs(), st.lists(st.tuples(st.integers(-2, 4), st.integers(0, 6)), min_size=3,
                          max_size=3), st.integers(1, 40))
def test_a_safe_verdict_holds_at_every_point(e: Expr, bounds, extent: int) -> None:
    loops = tuple((v, Const(lo, INDEX), Const(hi, INDEX)) for v, (lo, hi) in zip(VARS, bounds))
    if not _constant_safe(e, Const(extent, INDEX), loops):
        return
    for point in itertools.product(*(range(lo, hi) for lo, hi in bounds)):
        env = dict(zip(VARS, point))
        try:
            value = _value(e, env)
        except ZeroDivisionError:  # pragma: no cover - a safe verdict never divides by 0
            raise AssertionError(f"{e} divides by zero at {env}") from None
        assert 0 <= value < extent, (e, env, value)


def test_a_loop_bound_in_an_outer_variable_is_bounded_by_its_interval() -> None:
    # for i in 0..4 { for j in i..i+3 { X[j] } }: j reaches 5, so X needs 6 elements
    i, j = Var("i", INDEX), Var("j", INDEX)
    loops = (("i", Const(0, INDEX), Const(4, INDEX)),
             ("j", i, Binary("+", i, Const(3, INDEX), INDEX)))
    assert _constant_safe(j, Const(6, INDEX), loops)
    assert not _constant_safe(j, Const(5, INDEX), loops)


@pytest.mark.parametrize("hi, ok", [(4, True), (5, False)])
def test_fused_tile_indices_are_still_checked(hi: int, ok: bool) -> None:
    """A fused index ``(4 * t + d) / 3`` over the tiles: in bounds, or an error."""
    text = f"""kernel k() {{
  in  X: i32[6, 3]
  out Y: i32[{hi * 4}]
  for t in 0..{hi} {{
    for d in 0..4 {{
      Y[4 * t + d] = X[(4 * t + d) / 3, (4 * t + d) % 3]
    }}
  }}
}}"""
    if ok:
        kernel(text)
    else:
        with pytest.raises(CheckError, match="reaches 6 at t = 4, d = 3"):
            kernel(text)
