"""The prover's term language (tensorize/smt/terms.py, fold.py): hash-consing, literals,
and the constant folder checked against Z3 on random terms."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tensorize.smt import terms as T
from tensorize.smt.fold import simplify, substitute
from tensorize.smt.z3_backend import to_z3
from tests.smt_check import check_equal

W = 8
BV8 = T.bv_sort(W)
F16 = T.fp_sort(5, 11)
X, Y = T.var("x", BV8), T.var("y", BV8)
F, G = T.var("f", F16), T.var("g", F16)
N, M = T.var("n", T.INT), T.var("m", T.INT)


def test_building_twice_gives_the_same_object() -> None:
    a = T.bvadd(X, T.bv_val(3, W))
    b = T.bvadd(T.var("x", BV8), T.bv_val(3 + 256, W))
    assert a is b
    assert T.bvadd(T.bv_val(3, W), X) is not a  # the order is kept: no folding
    assert T.var("x", T.bv_sort(16)) is not X  # one variable per name and sort
    assert a.id > X.id  # ids count creations: arguments first


def test_float_literals_are_distinct_by_bits() -> None:
    zero, minus = T.fp_val(0.0, F16), T.fp_val(-0.0, F16)
    assert zero is not minus
    assert T.fp_val(math.nan, F16) is T.fp_val(-math.nan, F16)  # one NaN


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, width=64) | st.sampled_from(
    [2.0 ** 31, -(2.0 ** 31), 65504.0, 65520.0, 65519.99, 2.0 ** -24, 2.0 ** -25,
     3 * 2.0 ** -26, 1e-40, -0.0, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11]),
       st.sampled_from([(5, 11), (8, 8), (8, 24), (11, 53)]))
def test_float_literals_round_as_z3_does(value: float, fmt: tuple[int, int]) -> None:
    import z3

    sort = T.fp_sort(*fmt)
    ours = T.fp_val(value, sort)
    theirs = z3.simplify(z3.fpToIEEEBV(z3.FPVal(value, z3.FPSort(*fmt)))).as_long()
    assert T.fp_to_bits(T.fp_value(ours), sort) == theirs


def test_sorts_are_checked() -> None:
    with pytest.raises(TypeError):
        T.bvadd(X, T.bv_val(1, 16))
    with pytest.raises(TypeError):
        T.and_(X)
    with pytest.raises(TypeError):
        T.add(N, T.real_val(1))


@pytest.mark.parametrize("fmt,dtype", [((5, 11), np.float16), ((8, 24), np.float32),
                                       ((11, 53), np.float64)])
def test_float_bit_patterns_match_numpy(fmt: tuple[int, int], dtype: type) -> None:
    sort = T.fp_sort(*fmt)
    width = sum(fmt)
    rng = np.random.default_rng(0)
    patterns = rng.integers(0, 2 ** min(width, 62), 2000, dtype=np.int64)
    specials = [0, 1, 2 ** (width - 1), 2 ** (width - 1) + 1, (2 ** fmt[0] - 1) << (fmt[1] - 1)]
    for bits in [*map(int, patterns), *specials]:
        bits &= (1 << width) - 1
        value = float(np.array([bits], dtype=f"u{width // 8}").view(dtype)[0])
        if value != value:
            continue
        assert T.fp_from_bits(bits, sort) == value
        assert math.copysign(1, T.fp_from_bits(bits, sort)) == math.copysign(1, value)
        assert T.fp_to_bits(value, sort) == bits


def test_an_offset_has_one_normal_form() -> None:
    """Two sides computing one element's offset differently read one term."""
    i, k = T.var("i", T.INT), T.var("k", T.INT)
    one = T.add(T.add(T.int_val(0), T.mul(i, T.int_val(64))), T.mul(k, T.int_val(1)))
    other = T.add(T.mul(T.int_val(1), k), T.sub(T.mul(T.int_val(32), T.add(i, i)),
                                                  T.int_val(0)))
    assert simplify(one) is simplify(other)
    assert simplify(T.sub(one, one)) is T.int_val(0)
    assert check_equal(one, simplify(one))


def test_constant_conditions_fold() -> None:
    c = T.and_(T.compare("<", T.int_val(2), T.int_val(3)),
               T.not_(T.eq(T.int_val(1), T.int_val(2))))
    assert simplify(c) is T.TRUE
    assert simplify(T.or_(T.FALSE, T.compare(">=", T.int_val(0), T.int_val(1)))) is T.FALSE


def test_division_by_zero_is_left_to_the_solver() -> None:
    t = T.int_div(T.int_val(5), T.int_val(0))
    assert simplify(t) is t
    assert simplify(T.bv_op("bvudiv", T.bv_val(5, W), T.bv_val(0, W))) is T.bv_val(255, W)


def test_substitute_replaces_every_occurrence() -> None:
    p = T.bvmul(X, Y)
    t = T.bvadd(p, T.bvneg(p))
    fresh = T.var("p", BV8)
    assert substitute(t, {p: fresh}) is T.bvadd(fresh, T.bvneg(fresh))
    with pytest.raises(TypeError):
        substitute(t, {p: F})


def test_deep_chains_need_no_recursion() -> None:
    t = X
    for k in range(20_000):
        t = T.bvadd(t, T.bv_val(k, W))
    assert simplify(T.bvadd(T.bv_val(1, W), T.bv_val(2, W))) is T.bv_val(3, W)
    assert simplify(t).sort is BV8
    to_z3(t)  # the translation walks it without recursion too


# -- the folder against Z3 on random terms ------------------------------------------------
def _bv_leaves() -> st.SearchStrategy[T.Term]:
    values = st.sampled_from([0, 1, 2, 7, 8, 9, 127, 128, 129, 254, 255]) | \
        st.integers(0, 255)
    return values.map(lambda v: T.bv_val(v, W)) | st.sampled_from([X, Y])


_F16_BITS = st.sampled_from([0x0000, 0x8000, 0x3C00, 0xBC00, 0x7C00, 0xFC00, 0x7E00,
                             0x0001, 0x8001, 0x7BFF]) | st.integers(0, 0xFFFF)


def _fp_leaves() -> st.SearchStrategy[T.Term]:
    consts = _F16_BITS.map(lambda b: T.fp_val(T.fp_from_bits(b, F16), F16))
    return consts | st.sampled_from([F, G])


def _grammar() -> tuple[st.SearchStrategy[T.Term], st.SearchStrategy[T.Term],
                        st.SearchStrategy[T.Term], st.SearchStrategy[T.Term]]:
    bv = st.deferred(lambda: _bv_leaves() | st.one_of(
        st.tuples(st.sampled_from(sorted(T.BV_BINARY)), bv, bv).map(lambda a: T.bv_op(*a)),
        bv.map(T.bvneg), bv.map(T.bvnot),
        bv.map(lambda x: T.extract(7, 0, T.sign_ext(4, x))),
        bv.map(lambda x: T.zero_ext(4, T.extract(3, 0, x))),
        bv.map(lambda x: T.extract(11, 4, T.sign_ext(8, x))),
        st.tuples(boolean, bv, bv).map(lambda a: T.ite(*a)),
        integer.map(lambda n: T.int2bv(n, W)),
    ))
    fp = st.deferred(lambda: _fp_leaves() | st.one_of(
        fp.map(T.fp_neg), fp.map(T.fp_abs),
        st.tuples(bv, bv).map(lambda a: T.fp_from_bv(
            T.bv_op("bvor", T.zero_ext(8, a[0]),
                    T.bv_op("bvshl", T.zero_ext(8, a[1]), T.bv_val(8, 16))), F16)),
        st.tuples(boolean, fp, fp).map(lambda a: T.ite(*a)),
    ))
    integer = st.deferred(lambda: st.integers(-20, 300).map(T.int_val) |
                          st.sampled_from([N, M]) | st.one_of(
        st.tuples(st.sampled_from([T.add, T.sub, T.mul]), integer, integer)
          .map(lambda a: a[0](a[1], a[2])),
        integer.map(T.neg),
        st.tuples(integer, integer).map(lambda a: T.int_div(*a)),
        st.tuples(bv, st.booleans()).map(lambda a: T.bv2int(*a)),
    ))
    boolean = st.deferred(lambda: st.sampled_from([T.TRUE, T.FALSE, T.var("p", T.BOOL)])
                          | st.one_of(
        st.tuples(st.sampled_from(sorted(T.BV_COMPARE)), bv, bv)
          .map(lambda a: T.bv_cmp(*a)),
        st.tuples(st.sampled_from(sorted(T.FP_COMPARE)), fp, fp)
          .map(lambda a: T.fp_cmp(*a)),
        st.tuples(st.sampled_from(sorted(T.FP_TESTS)), fp).map(lambda a: T.fp_test(*a)),
        st.tuples(st.sampled_from(sorted(T.ARITH_COMPARE)), integer, integer)
          .map(lambda a: T.compare(*a)),
        st.tuples(bv, bv).map(lambda a: T.eq(*a)), st.tuples(fp, fp).map(lambda a: T.eq(*a)),
        st.tuples(bv, bv).map(lambda a: T.distinct(*a)),
        boolean.map(T.not_),
        st.lists(boolean, min_size=1, max_size=3).map(lambda a: T.and_(*a)),
        st.lists(boolean, min_size=1, max_size=3).map(lambda a: T.or_(*a)),
    ))
    return bv, fp, integer, boolean


BV_TERMS, FP_TERMS, INT_TERMS, BOOL_TERMS = _grammar()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(BV_TERMS, FP_TERMS, INT_TERMS, BOOL_TERMS))
def test_folding_agrees_with_z3(t: T.Term) -> None:
    folded = simplify(t)
    assert folded.sort is t.sort
    assert check_equal(t, folded), (T.show(t, 12), T.show(folded, 12))
    FOLDED.append(folded is not t)


FOLDED: list[bool] = []


def test_the_random_terms_were_folded() -> None:
    """The random test above exercised the folder (runs after it, in file order)."""
    if len(FOLDED) < 100:
        pytest.skip("runs with the random folding test")
    assert sum(FOLDED) > len(FOLDED) // 4


EDGES = [0, 1, 2, 7, 8, 9, 127, 128, 129, 254, 255]


@pytest.mark.parametrize("op", sorted(T.BV_BINARY | T.BV_COMPARE))
def test_each_bit_vector_operator_folds_as_z3_computes(op: str) -> None:
    """Every pair of edge values, and random ones, for each operator."""
    rng = np.random.default_rng(len(op))
    pairs = [(a, b) for a in EDGES for b in EDGES] + \
        [tuple(map(int, p)) for p in rng.integers(0, 256, (40, 2))]
    for a, b in pairs:
        x, y = T.bv_val(a, W), T.bv_val(b, W)
        t = T.bv_cmp(op, x, y) if op in T.BV_COMPARE else T.bv_op(op, x, y)
        folded = simplify(t)
        assert folded.is_const
        assert check_equal(t, folded), (op, a, b)


def test_fraction_and_real_literals_fold() -> None:
    r = T.add(T.real_val(Fraction(1, 3)), T.neg(T.real_val(Fraction(1, 6))))
    assert simplify(r) is T.real_val(Fraction(1, 6))
    assert simplify(T.real_div(T.real_val(1), T.real_val(0))).op == "/"
