"""Every operator means the same in the scalar and vectorised interpreters and in SMT.

For each (operator, type) pair a one-statement kernel is run by both interpreters and its
expression is translated to Z3, which evaluates it on the same inputs; results must agree
bit for bit (NaN payloads excepted). 8-bit operands are checked exhaustively (all 65,536
pairs for the operators with the most corner cases; ``python -m tests.op_semantics`` runs
every operator exhaustively), wider ones on edge values (0, 1, -1, MIN, MIN+1, MAX-1,
MAX, shift amounts around the width; for floats ±0, ±inf, NaN, subnormals, the largest
value, ties) plus random values; above ``LIMIT`` rows the product of edge values is
sampled here and run whole by the campaign command.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from tensorize.ir import interp, numeric
from tensorize.ir.nodes import MATH_FUNCS
from tensorize.ir.types import BOOL, SCALAR_TYPES
from tests import op_semantics as ops
from tests.op_semantics import (
    COMPARISONS,
    FLOAT_BINARY,
    FLOAT_TYPES,
    INT_BINARY,
    INT_TYPES,
    NUMERIC_TYPES,
    Op,
    binary,
    cast,
    disagreements,
    rows_for,
    unary,
)

I8, U8, I64 = SCALAR_TYPES["i8"], SCALAR_TYPES["u8"], SCALAR_TYPES["i64"]


LIMIT = 600
"""Rows per operator in the suite (edge-value products are sampled above it; the full
products run in ``python -m tests.op_semantics``)."""


def _check(op: Op, exhaustive_bits: int = 8,
           sides: tuple[str, ...] = ("scalar", "vector", "smt")) -> None:
    limit = None if exhaustive_bits > 8 else LIMIT
    bad = disagreements(op, rows_for(op, exhaustive_bits=exhaustive_bits, limit=limit), sides)
    assert not bad, "\n".join(bad)


def _id(op: Op) -> str:
    return f"{op.text.replace('[i]', '')}:{','.join(str(t) for t in op.operands)}"


INT_OPS = [binary(o, t) for t in INT_TYPES for o in INT_BINARY + COMPARISONS] + \
    [unary(o, t) for t in INT_TYPES for o in ("-", "~", "abs")]
FLOAT_OPS = [binary(o, t) for t in FLOAT_TYPES for o in FLOAT_BINARY + COMPARISONS] + \
    [unary(o, t) for t in FLOAT_TYPES for o in ("-", "abs", "rint")] + \
    [Op("fma(A[i], B[i], C[i])", (t, t, t), t) for t in FLOAT_TYPES]
CASTS = [cast(s, d, sat) for s in NUMERIC_TYPES + [BOOL] for d in NUMERIC_TYPES + [BOOL]
         for sat in (False, True)
         if not (d.is_bool and s.is_float) and not (sat and (not d.is_int or s.is_bool))]
OTHERS = [Op("select(A[i], B[i], C[i])", (BOOL, t, t), t) for t in NUMERIC_TYPES + [BOOL]] + \
    [Op("A[i] && B[i]", (BOOL, BOOL), BOOL), Op("A[i] || B[i]", (BOOL, BOOL), BOOL),
     Op("!A[i]", (BOOL,), BOOL), binary("==", BOOL), binary("!=", BOOL)]


@pytest.mark.parametrize("op", INT_OPS + FLOAT_OPS + CASTS + OTHERS, ids=_id)
def test_interpreters_and_smt_agree_on_edge_values(op: Op) -> None:
    """Scalar, vectorised and SMT semantics agree (8-bit unary operands: all 256)."""
    _check(op)


EXHAUSTIVE = [binary("/", I8), binary("%", I8), binary(">>", I8), binary("<<", I8),
              binary(">>", U8), binary("/", U8), binary("min", U8), binary("<", U8)]


@pytest.mark.parametrize("op", EXHAUSTIVE, ids=_id)
def test_smt_agrees_with_the_interpreter_on_all_8bit_pairs(op: Op) -> None:
    """All 65,536 pairs: the vectorised interpreter against Z3's folding of the term."""
    _check(op, exhaustive_bits=16, sides=("vector", "smt"))


# -- the defects found, each pinned by a direct example --------------------------------
def test_abs_of_an_unsigned_value_is_itself_in_smt() -> None:
    bad = disagreements(unary("abs", U8), [(200,), (129,), (255,)], ("scalar", "smt"))
    assert not bad, bad


def test_float_to_int_of_infinity_is_defined_in_smt() -> None:
    f16 = SCALAR_TYPES["f16"]
    for t in ("i32", "i64", "u32"):
        op = cast(f16, SCALAR_TYPES[t], False)
        bad = disagreements(op, [(-math.inf,), (math.inf,)], ("scalar", "smt"))
        assert not bad, bad


def test_fma_of_an_overflowing_product_and_an_infinity() -> None:
    """IEEE fma does not round the product: huge * 1.5 + (-inf) is -inf, not NaN."""
    f64 = SCALAR_TYPES["f64"]
    assert numeric.fma(1.5, 1.7976931348623157e308, -math.inf, f64) == -math.inf
    assert math.isnan(numeric.fma(math.inf, 0.0, 1.0, f64))
    assert math.isnan(numeric.fma(math.inf, 1.0, -math.inf, f64))
    op = Op("fma(A[i], B[i], C[i])", (f64, f64, f64), f64)
    rows = [(1.5, 1.7976931348623157e308, -math.inf), (-2.0, 1e308, math.inf)]
    assert not disagreements(op, rows)


def test_i64_division_by_negative_values_from_int64_min() -> None:
    """The vectorised interpreter took |INT64_MIN| as negative and floored the quotient."""
    rows = [(I64.min, -1), (I64.min, -2), (I64.min, 3), (I64.min, -100), (I64.min, I64.min),
            (I64.max, I64.min), (-7, 2), (7, -2), (I64.min, 0), (5, 0)]
    for o in ("/", "%"):
        assert not disagreements(binary(o, I64), rows), o


def test_shifts_parse_with_c_precedence_and_both_directions() -> None:
    """``>>`` and ``<<`` lex as shifts (not two comparisons) and bind looser than ``+``."""
    op = Op("A[i] >> B[i] + 1 << 1", (U8, U8), U8)  # (a >> (b + 1)) << 1
    a = np.arange(256, dtype=np.uint8)
    b = np.full(256, 2, dtype=np.uint8)
    got = interp.run(op.kernel(), {"A": a, "B": b}, sizes={"N": 256})["OUT"]
    assert got.tolist() == [((v >> 3) << 1) & 0xFF for v in range(256)]


@pytest.mark.parametrize("t", INT_TYPES, ids=str)
def test_shift_semantics_past_the_width(t) -> None:
    """Documented: the amount is read as unsigned; past the width, 0 or the sign fill."""
    for a in (1, -1, t.min, t.max):
        a = numeric.wrap(a, t)
        for s in (t.bits, t.bits + 1, -1):
            s = numeric.wrap(s, t)
            assert numeric.shift_left(a, s, t) == 0
            assert numeric.shift_right(a, s, t) == (-1 if t.is_signed and a < 0 else 0)
        assert numeric.shift_right(a, 1, t) == a >> 1  # arithmetic on signed types


# -- the real-mode interpreter ----------------------------------------------------------
def _real(op: Op, rows: list[tuple]) -> list:
    cols = ops.columns_of(op, rows)
    out = interp.run(op.kernel(), {ops.NAMES[k]: c for k, c in enumerate(cols)},
                     sizes={"N": len(rows)}, mode="real")["OUT"]
    return list(out)


def _finite_rows(op: Op) -> list[tuple]:
    return [r for r in rows_for(op, exhaustive_bits=8, limit=LIMIT) if all(
        not isinstance(v, float) or math.isfinite(v) for v in r)]


@pytest.mark.parametrize("op", [o for o in INT_OPS if o.operands[0].bits <= 16] + [
    cast(s, d, sat) for s in INT_TYPES[:2] + INT_TYPES[4:6] for d in INT_TYPES
    for sat in (False, True)], ids=_id)
def test_real_mode_equals_scalar_mode_on_integers(op: Op) -> None:
    rows = rows_for(op, exhaustive_bits=8, limit=LIMIT)
    scalar = ops.interpret(op, ops.columns_of(op, rows), "scalar")
    real = ops.out_bits(np.asarray(_real(op, rows), dtype=op.result.np_dtype), op.result)
    assert real == scalar


@pytest.mark.parametrize("op", [binary(o, t) for t in FLOAT_TYPES for o in
                                FLOAT_BINARY + COMPARISONS] +
                         [unary(o, t) for t in FLOAT_TYPES for o in ("-", "abs", "rint")] +
                         [cast(s, d, False) for s in FLOAT_TYPES for d in NUMERIC_TYPES] +
                         [cast(s, d, False) for s in INT_TYPES for d in FLOAT_TYPES],
                         ids=_id)
def test_real_mode_is_exact_arithmetic_with_the_documented_roundings(op: Op) -> None:
    """Real mode: f32/f64 arithmetic exact; f16/bf16 arithmetic and narrowing conversions
    round to nearest even, exactly like IEEE on finite values that do not overflow."""
    rows = [r for r in _finite_rows(op) if not (op.text.startswith("A[i] /") and r[1] == 0)]
    got = _real(op, _no_overflow(op, rows))
    for row, value in zip(_no_overflow(op, rows), got):
        expected = _exact(op, row)
        assert value == expected, (op.text, row, value, expected)


def _exact(op: Op, row: tuple) -> object:
    """The real-mode value of ``op`` on ``row``, computed with fractions."""
    t, src = op.result, op.operands[0]
    xs = [Fraction(v) if isinstance(v, float) else v for v in row]
    text = op.text
    if text.startswith(("A[i] ", "min", "max")) and len(op.operands) == 2:
        a, b = xs
        name = text.split()[1] if text.startswith("A[i] ") else text[:3]
        if name in COMPARISONS:
            return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
                    ">=": a >= b}[name]
        value = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                 "/": lambda: a / b, "min": lambda: b if b < a else a,
                 "max": lambda: b if b > a else a}[name]()
        return _round(value, t) if t.float_format[1] < 24 else value
    if text == "-A[i]":
        return -xs[0]
    if text == "abs(A[i])":
        return abs(xs[0])
    if text == "rint(A[i])":
        return Fraction(round(xs[0]))
    # a cast
    x = xs[0]
    if t.is_int:
        return numeric.saturate(math.trunc(x), t)
    if src.is_float and src.float_format[0] <= t.float_format[0] and \
            src.float_format[1] <= t.float_format[1]:
        return x
    if src.is_int and src.bits - src.is_signed <= t.float_format[1]:
        return Fraction(x)
    return _round(Fraction(x), t)


def _round(value: Fraction, t) -> Fraction:
    return Fraction(numeric.round_to_float(value, t))


def _no_overflow(op: Op, rows: list[tuple]) -> list[tuple]:
    """Rows whose real-mode rounding stays finite (overflow has no real meaning)."""
    out = []
    for r in rows:
        try:
            v = _exact(op, r)
        except (ZeroDivisionError, OverflowError):
            continue
        if isinstance(v, Fraction) and op.result.is_float and not math.isfinite(
                numeric.round_to_float(v, op.result)):
            continue
        out.append(r)
    return out


@pytest.mark.parametrize("t", FLOAT_TYPES, ids=str)
def test_nan_results_are_the_same_bits_in_both_interpreters(t) -> None:
    """numpy's 0/0 is a negative NaN, Python's a positive one: a store writes one NaN."""
    rows = [(0.0, 0.0), (math.inf, math.inf), (-math.inf, math.inf), (math.nan, 1.0),
            (math.inf, 0.0)]
    for text in ("A[i] / B[i]", "A[i] - B[i]", "A[i] * B[i]", "-(A[i] / B[i])",
                 "fma(A[i], B[i], 1.0)", "abs(A[i] * B[i])", "min(A[i] / B[i], A[i])"):
        op = Op(text, (t, t), t)
        cols = ops.columns_of(op, rows)
        outs = [interp.run(op.kernel(), {"A": cols[0], "B": cols[1]}, sizes={"N": len(rows)},
                           mode=mode)["OUT"] for mode in ("scalar", "vector")]
        assert interp.checksum(outs[0]) == interp.checksum(outs[1]), text
        assert outs[0].tobytes() == outs[1].tobytes(), text


def _real_smt(op: Op, row: tuple) -> object:
    """Z3's value of the real-mode translation of ``op`` on one row of finite values."""
    import z3

    from tensorize.equivalence.smt import Translator
    from tensorize.smt import terms as T
    from tensorize.smt.z3_backend import to_z3

    values = {}
    for k, (t, v) in enumerate(zip(op.operands, row)):
        if t.is_bool:
            values[ops.NAMES[k]] = T.bool_val(bool(v))
        elif t.is_float:
            values[ops.NAMES[k]] = T.real_val(Fraction(v))
        else:
            values[ops.NAMES[k]] = T.bv_val(ops.bits_of(v, t), t.bits)
    tr = Translator("real", lambda load, idx: values[load.buf])
    term = z3.simplify(to_z3(tr(ops.value_expr(op.kernel()), {"i": 0})))
    if z3.is_true(term) or z3.is_false(term):
        return z3.is_true(term)
    if z3.is_bv_value(term):
        return numeric.wrap(term.as_long(), op.result)
    assert z3.is_rational_value(term), term
    return Fraction(term.numerator_as_long(), term.denominator_as_long())


EXACT_REAL_OPS = [binary(o, t) for t in FLOAT_TYPES[2:] for o in FLOAT_BINARY + COMPARISONS] + \
    [unary(o, t) for t in FLOAT_TYPES for o in ("-", "abs")] + \
    [cast(s, SCALAR_TYPES["f64"], False) for s in FLOAT_TYPES + INT_TYPES[:3] + INT_TYPES[4:7]] + \
    [Op("select(A[i], B[i], C[i])", (BOOL, t, t), t) for t in FLOAT_TYPES]


@pytest.mark.parametrize("op", EXACT_REAL_OPS, ids=_id)
def test_real_mode_smt_agrees_with_the_real_interpreter(op: Op) -> None:
    """Where real mode is exact (no uninterpreted rounding), Z3 computes what
    :mod:`tensorize.ir.real_exec` computes."""
    rows = [r for r in _finite_rows(op) if not (op.text.startswith("A[i] /") and r[1] == 0)]
    rows = rows[:150]
    got = _real(op, rows)
    for row, value in zip(rows, got):
        assert _real_smt(op, row) == value, (op.text, row, value)


def test_index_division_is_floor_division_in_smt_too() -> None:
    """Index ``/`` and ``%`` are floor division in the interpreters; SMT-LIB's ``div`` and
    ``mod`` are Euclidean (they differ for a negative divisor)."""
    import z3

    from tensorize.equivalence.smt import Translator
    from tensorize.ir.nodes import Binary, Const, Var
    from tensorize.ir.types import INDEX
    from tensorize.smt import terms as T
    from tensorize.smt.z3_backend import to_z3

    i, j = z3.Ints("i j")
    env = {"i": T.var("i", T.INT), "j": T.var("j", T.INT)}  # i and j in Z3
    tr = Translator("ieee", lambda load, idx: T.FALSE)
    for op in ("/", "%"):
        by_const = to_z3(tr(Binary(op, Var("i", INDEX), Const(-3, INDEX), INDEX), env))
        by_var = to_z3(tr(Binary(op, Var("i", INDEX), Var("j", INDEX), INDEX), env))
        for a in range(-7, 8):
            for b in (-3, -2, 2, 3):
                want = a // b if op == "/" else a % b
                got = z3.simplify(z3.substitute(by_var, (i, z3.IntVal(a)), (j, z3.IntVal(b))))
                assert got.as_long() == want, (a, op, b)
            got = z3.simplify(z3.substitute(by_const, (i, z3.IntVal(a))))
            assert got.as_long() == (a // -3 if op == "/" else a % -3), (a, op)


@pytest.mark.parametrize("op", [unary(f, t) for t in FLOAT_TYPES for f in MATH_FUNCS],
                         ids=_id)
def test_math_functions_agree_in_both_interpreters(op: Op) -> None:
    """Math functions are uninterpreted in proofs; both interpreters must still agree."""
    _check(op, sides=("scalar", "vector"))
