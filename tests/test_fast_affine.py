"""The memo of ``affine.linear_form`` against the computation it caches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tensorize.ir import affine
from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import Binary, Const, Expr, Unary, Var
from tensorize.ir.types import BOOL, F32, INDEX

NAMES = ["i", "j", "M", "N"]

_leaves = st.one_of(st.sampled_from([Var(n) for n in NAMES]),
                    st.integers(-3, 5).map(lambda v: Const(v, INDEX)),
                    st.just(Const(True, BOOL)), st.just(Const(0.5, F32)))


def _grow(kids: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "/", "%"]), kids, kids).map(
            lambda x: Binary(x[0], x[1], x[2], INDEX)),
        kids.map(lambda k: Unary("-", k, INDEX)))


exprs = st.recursive(_leaves, _grow, max_leaves=8)
consts = st.dictionaries(st.sampled_from(NAMES), st.integers(-4, 9), max_size=4)


@settings(max_examples=300, deadline=None)
@given(exprs, st.lists(consts, min_size=1, max_size=4))
def test_memoised_linear_form_is_the_computed_one(e: Expr, envs: list[dict[str, int]]) -> None:
    for env in envs + envs:  # the second round hits the memo
        assert linear_form(e, env) == affine._linear_form(e, env)
        assert linear_form(e) == affine._linear_form(e, {})


def test_same_expression_other_values_other_forms() -> None:
    e = Binary("*", Var("i"), Binary("+", Var("M"), Const(1, INDEX), INDEX), INDEX)
    assert linear_form(e) is None  # i * (M + 1): not linear while M is a variable
    assert linear_form(e, {"M": 3}) == affine.Linear((("i", 4),), 0)
    assert linear_form(e, {"M": 5}) == affine.Linear((("i", 6),), 0)
    assert linear_form(e, {"M": 3, "unrelated": 1}) == affine.Linear((("i", 4),), 0)
    assert linear_form(e, {"M": 3, "i": 2}) == affine.Linear((), 8)


def test_numpy_values_are_not_memoised_with_ints() -> None:
    import numpy as np

    e = Binary("+", Var("M"), Const(1, INDEX), INDEX)
    form = linear_form(e, {"M": np.int64(2)})
    assert form is not None and form.const == 3 and type(form.const) is np.int64
    form = linear_form(e, {"M": 2})
    assert form is not None and type(form.const) is int
