"""IR expressions to Z3 terms: one table, one entry per node kind.

Integers are bit-vectors of their width. Floats are IEEE terms in ``ieee`` mode; in
``real`` mode they are reals: f32/f64 arithmetic is exact (a compiler's fast-math view),
while f16/bf16 arithmetic and every narrowing conversion go through an uninterpreted
rounding function, so the proof can never erase them. Math functions are uninterpreted.

Sums and products that may be reordered (wrapping integer ``+``/``*``; real ``+``/``*``)
are built in a canonical order, so two reductions that differ only in their order give
the same Z3 term. IEEE ``+`` and ``*`` are commutative but not associative: only their two
operands are ordered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from functools import reduce
from typing import Any

import z3

from tensorize.errors import EquivalenceError
from tensorize.ir import numeric
from tensorize.ir.nodes import Binary, Call, Cast, Const, Expr, Load, Unary, Var
from tensorize.ir.types import DType

RNE = z3.RNE()
RTZ = z3.RTZ()

Term = Any  # a z3 expression, or a Python int for index values
Reader = Callable[[Load, tuple[Term, ...]], Term]


def sort_of(t: DType, mode: str) -> z3.SortRef:
    """The Z3 sort of values of type ``t``."""
    if t.is_bool:
        return z3.BoolSort()
    if t.is_int:
        return z3.BitVecSort(t.bits)
    if t.is_index:
        return z3.IntSort()
    if mode == "real":
        return z3.RealSort()
    ebits, sbits = t.float_format
    return z3.FPSort(ebits, sbits)


def _is_add(t: z3.ExprRef) -> bool:
    return bool(z3.is_app_of(t, z3.Z3_OP_BADD) or z3.is_app_of(t, z3.Z3_OP_ADD))


def canonical_sum(terms: list[z3.ExprRef]) -> z3.ExprRef:
    """``t0 + t1 + ...`` flattened and ordered by term identity (for AC operators)."""
    flat: list[z3.ExprRef] = []
    for t in terms:
        flat.extend(t.children() if _is_add(t) else [t])
    flat.sort(key=lambda t: t.get_id())
    return flat[0] if len(flat) == 1 else reduce(lambda a, b: a + b, flat)


def ordered(a: z3.ExprRef, b: z3.ExprRef) -> tuple[z3.ExprRef, z3.ExprRef]:
    """The operands of a commutative operator in a canonical order."""
    return (a, b) if a.get_id() <= b.get_id() else (b, a)


class Translator:
    """Translates typed expressions under one floating-point mode.

    ``read`` turns a load (with its index already evaluated) into a term; index values
    are Python ints (unrolled) or Z3 integers (symbolic).
    """

    def __init__(self, mode: str, read: Reader) -> None:
        self.mode = mode
        self.read = read
        self._funcs: dict[str, z3.FuncDeclRef] = {}
        self.table: dict[type, Callable[[Any, Mapping[str, Term]], Term]] = {
            Const: self._const, Var: self._var, Load: self._load, Cast: self._cast,
            Unary: self._unary, Binary: self._binary, Call: self._call,
        }

    def __call__(self, e: Expr, env: Mapping[str, Term]) -> Term:
        handler = self.table.get(type(e))
        if handler is None:
            raise EquivalenceError(f"cannot translate {type(e).__name__} to SMT", e.span)
        return handler(e, env)

    def func(self, name: str, domain: list[z3.SortRef], rng: z3.SortRef) -> z3.FuncDeclRef:
        """An uninterpreted function, one per name (rounding, math functions)."""
        f = self._funcs.get(name)
        if f is None:
            f = z3.Function(name, *domain, rng)
            self._funcs[name] = f
        return f

    def round_to(self, x: z3.ExprRef, t: DType) -> z3.ExprRef:
        """Real mode: an uninterpreted rounding to float type ``t``."""
        return self.func(f"round_{t}", [z3.RealSort()], z3.RealSort())(x)

    # -- leaves -----------------------------------------------------------------------
    def _const(self, e: Const, env: Mapping[str, Term]) -> Term:
        t = e.dtype
        if t is None or t.is_index:
            return e.value
        if t.is_bool:
            return z3.BoolVal(bool(e.value))
        if t.is_int:
            return z3.BitVecVal(int(e.value), t.bits)
        value = numeric.round_to_float(e.value, t)
        if self.mode == "real":
            if value != value or value in (float("inf"), float("-inf")):
                return self.func(f"special_{value}", [], z3.RealSort())()
            return z3.RealVal(Fraction(value))
        return z3.FPVal(value, sort_of(t, "ieee"))

    def _var(self, e: Var, env: Mapping[str, Term]) -> Term:
        return env[e.name]

    def index(self, e: Expr, env: Mapping[str, Term]) -> Term:
        """An index expression: a Python int when every variable is concrete."""
        return self(e, env)

    def _load(self, e: Load, env: Mapping[str, Term]) -> Term:
        return self.read(e, tuple(self(i, env) for i in e.index))

    # -- conversions ------------------------------------------------------------------
    def _cast(self, e: Cast, env: Mapping[str, Term]) -> Term:
        src, t = e.operand.dtype, e.dtype
        x = self(e.operand, env)
        assert src is not None and t is not None
        if src.is_index:
            x = z3.Int2BV(x if z3.is_expr(x) else z3.IntVal(x), 64)
            src = DType("i64", "int", 64)
        if t.is_bool:
            return x != z3.BitVecVal(0, src.bits) if src.is_int else x
        if src.is_bool:
            if t.is_int:
                return z3.If(x, z3.BitVecVal(1, t.bits), z3.BitVecVal(0, t.bits))
            return self._int_to_float(z3.If(x, z3.BitVecVal(1, 8), z3.BitVecVal(0, 8)),
                                      DType("u8", "uint", 8), t)
        if src.is_int and t.is_int:
            return _int_cast(x, src, t, e.saturate)
        if src.is_int and t.is_float:
            return self._int_to_float(x, src, t)
        if src.is_float and t.is_int:
            return self._float_to_int(x, src, t)
        return self._float_to_float(x, src, t)

    def _int_to_float(self, x: z3.ExprRef, src: DType, t: DType) -> z3.ExprRef:
        if self.mode == "real":
            real = z3.ToReal(z3.BV2Int(x, is_signed=src.is_signed))
            exact = src.bits - (1 if src.is_signed else 0) <= t.float_format[1]
            return real if exact else self.round_to(real, t)
        sort = sort_of(t, "ieee")
        return z3.fpSignedToFP(RNE, x, sort) if src.is_signed else \
            z3.fpUnsignedToFP(RNE, x, sort)

    def _float_to_int(self, x: z3.ExprRef, src: DType, t: DType) -> z3.ExprRef:
        if self.mode == "real":
            return self.func(f"to_{t}_from_{src}", [z3.RealSort()], z3.BitVecSort(t.bits))(x)
        sort = x.sort()
        trunc = z3.fpRoundToIntegral(RTZ, x)
        hi = z3.FPVal(float(2 ** (t.bits - 1) if t.is_signed else 2 ** t.bits), sort)
        lo = z3.FPVal(float(-(2 ** (t.bits - 1))) if t.is_signed else 0.0, sort)
        conv = z3.fpToSBV(RTZ, trunc, z3.BitVecSort(t.bits)) if t.is_signed else \
            z3.fpToUBV(RTZ, trunc, z3.BitVecSort(t.bits))
        # hi/lo may round to an infinity in a narrow source format (2**31 in f16): then
        # no finite value reaches them, and the infinities are tested on their own
        # (fp.to_sbv of an infinity is unspecified in SMT-LIB).
        top, bottom = z3.BitVecVal(t.max, t.bits), z3.BitVecVal(t.min, t.bits)
        return z3.If(z3.fpIsNaN(x), z3.BitVecVal(0, t.bits),
                     z3.If(z3.fpIsInf(x), z3.If(z3.fpIsNegative(x), bottom, top),
                           z3.If(z3.fpGEQ(trunc, hi), top,
                                 z3.If(z3.fpLT(trunc, lo), bottom, conv))))

    def _float_to_float(self, x: z3.ExprRef, src: DType, t: DType) -> z3.ExprRef:
        if src == t:
            return x
        if self.mode == "real":
            widening = src.float_format[0] <= t.float_format[0] and \
                src.float_format[1] <= t.float_format[1]
            return x if widening else self.round_to(x, t)
        return z3.fpFPToFP(RNE, x, sort_of(t, "ieee"))

    # -- operators --------------------------------------------------------------------
    def _unary(self, e: Unary, env: Mapping[str, Term]) -> Term:
        x = self(e.operand, env)
        t = e.dtype
        if e.op == "!":
            return z3.Not(x)
        if e.op == "~":
            return ~x
        if t is not None and t.is_float and self.mode == "ieee":
            return z3.fpNeg(x)
        return -x

    def _binary(self, e: Binary, env: Mapping[str, Term]) -> Term:
        op = e.op
        a, b = self(e.lhs, env), self(e.rhs, env)
        t = e.lhs.dtype
        assert t is not None
        if op == "&&":
            return z3.And(a, b)
        if op == "||":
            return z3.Or(a, b)
        if t.is_index:
            return _index_op(op, a, b)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self._compare(op, a, b, t)
        if t.is_int:
            return _int_op(op, a, b, t)
        if t.is_bool:
            raise EquivalenceError(f"operator {op} on bool", e.span)
        return self._float_op(op, a, b, t)

    def _compare(self, op: str, a: Term, b: Term, t: DType) -> z3.BoolRef:
        if t.is_int and not t.is_signed:
            return {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: z3.ULT(a, b),
                    "<=": lambda: z3.ULE(a, b), ">": lambda: z3.UGT(a, b),
                    ">=": lambda: z3.UGE(a, b)}[op]()
        if t.is_float and self.mode == "ieee":
            return {"==": z3.fpEQ, "!=": z3.fpNEQ, "<": z3.fpLT, "<=": z3.fpLEQ,
                    ">": z3.fpGT, ">=": z3.fpGEQ}[op](a, b)
        return {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b,
                "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b}[op]()

    def _float_op(self, op: str, a: Term, b: Term, t: DType) -> Term:
        if self.mode == "ieee":
            if op in ("+", "*"):
                a, b = ordered(a, b)
            fn = {"+": z3.fpAdd, "-": z3.fpSub, "*": z3.fpMul, "/": z3.fpDiv}[op]
            return fn(RNE, a, b)
        if op == "+":
            result = canonical_sum([a, b])
        elif op == "-":
            result = canonical_sum([a, -b])
        elif op == "*":
            x, y = ordered(a, b)
            result = x * y
        else:
            result = a / b
        narrow = t.float_format[1] < 24  # f16, bf16: every operation rounds
        return self.round_to(result, t) if narrow else result

    def _call(self, e: Call, env: Mapping[str, Term]) -> Term:
        args = [self(a, env) for a in e.args]
        t = e.dtype
        assert t is not None
        if e.fn == "select":
            return z3.If(args[0], args[1], args[2])
        if e.fn in ("min", "max"):
            a, b = args
            less = self._compare("<", b, a, t) if e.fn == "min" else \
                self._compare(">", b, a, t)
            return z3.If(less, b, a)
        if e.fn == "fma":
            # x * y is exactly commutative (one canonical NaN), so fma(x, y, c) and
            # fma(y, x, c) are one term: the solver need not find that out by itself
            x, y = ordered(args[0], args[1])
            if self.mode == "ieee":
                return z3.fpFMA(RNE, x, y, args[2])
            result = canonical_sum([x * y, args[2]])
            return self.round_to(result, t) if t.float_format[1] < 24 else result
        if e.fn == "rint":
            if self.mode == "ieee":
                return z3.fpRoundToIntegral(RNE, args[0])
            return self.func(f"rint_{t}", [z3.RealSort()], z3.RealSort())(args[0])
        if e.fn == "abs":
            if t.is_float:
                return z3.fpAbs(args[0]) if self.mode == "ieee" else \
                    z3.If(args[0] < 0, -args[0], args[0])
            if not t.is_signed:  # an unsigned value is its own absolute value
                return args[0]
            return z3.If(args[0] < 0, -args[0], args[0])  # signed <; abs(MIN) wraps to MIN
        sort = sort_of(t, self.mode)
        return self.func(f"{e.fn}_{t}", [sort], sort)(args[0])


def _index_op(op: str, a: Term, b: Term) -> Term:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%"):  # floor division and its remainder, as in the interpreters
        if isinstance(a, int) and isinstance(b, int):
            return a // b if op == "/" else a % b
        q = _floor_div(a, b)
        return q if op == "/" else a - b * q
    return {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b,
            "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b}[op]()


def _floor_div(a: Term, b: Term) -> Term:
    """``floor(a / b)`` on integers: SMT-LIB's ``div`` is Euclidean, which differs from
    the floor for a negative divisor; ``(-a) div (-b)`` is the floor then."""
    if isinstance(b, int):
        return a / b if b > 0 else (-a) / (-b)
    return z3.If(b > 0, a / b, (-a) / (-b))


def _range(x: z3.ExprRef) -> tuple[int, int] | None:
    """The value range of an extended narrower bit-vector, read as signed."""
    if z3.is_app_of(x, z3.Z3_OP_SIGN_EXT):
        w = x.arg(0).size()
        return -(1 << (w - 1)), (1 << (w - 1)) - 1
    if z3.is_app_of(x, z3.Z3_OP_ZERO_EXT):
        w = x.arg(0).size()
        return 0, (1 << w) - 1
    return None


def _narrow_product(x: z3.ExprRef, y: z3.ExprRef) -> z3.ExprRef | None:
    """``x * y`` computed at the width the exact product needs, then sign-extended.

    Sound because the exact product of two extended narrow values fits that width, so
    the product modulo 2**width equals the exact product; it keeps multipliers small
    for the solver (an 8x8-bit product needs 17 bits, not 32).
    """
    rx, ry = _range(x), _range(y)
    if rx is None or ry is None:
        return None
    corners = [p * q for p in rx for q in ry]
    lo, hi = min(corners), max(corners)
    width = max(lo.bit_length(), hi.bit_length()) + 1
    if width >= x.size():
        return None

    def narrow(v: z3.ExprRef) -> z3.ExprRef:
        inner = v.arg(0)
        grow = width - inner.size()
        if grow <= 0:
            return z3.Extract(width - 1, 0, inner)
        return z3.SignExt(grow, inner) if z3.is_app_of(v, z3.Z3_OP_SIGN_EXT) else \
            z3.ZeroExt(grow, inner)

    nx, ny = ordered(narrow(x), narrow(y))
    return z3.SignExt(x.size() - width, nx * ny)


def _int_op(op: str, a: z3.ExprRef, b: z3.ExprRef, t: DType) -> z3.ExprRef:
    if op == "+":
        return canonical_sum([a, b])
    if op == "-":
        return canonical_sum([a, -b])
    if op == "*":
        x, y = ordered(a, b)
        narrow = _narrow_product(x, y)
        return x * y if narrow is None else narrow
    if op == "/":
        return a / b if t.is_signed else z3.UDiv(a, b)
    if op == "%":
        return z3.SRem(a, b) if t.is_signed else z3.URem(a, b)
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    if op == "^":
        return a ^ b
    if op == "<<":
        return a << b
    if op == ">>":
        return a >> b if t.is_signed else z3.LShR(a, b)
    raise EquivalenceError(f"unknown operator {op}")


def _int_cast(x: z3.ExprRef, src: DType, t: DType, saturate: bool) -> z3.ExprRef:
    if saturate:
        wide = max(src.bits, t.bits) + 2
        xw = z3.SignExt(wide - src.bits, x) if src.is_signed else z3.ZeroExt(wide - src.bits, x)
        lo, hi = z3.BitVecVal(t.min, wide), z3.BitVecVal(t.max, wide)
        xw = z3.If(xw < lo, lo, z3.If(xw > hi, hi, xw))
        return z3.Extract(t.bits - 1, 0, xw)
    if t.bits == src.bits:
        return x
    if t.bits < src.bits:
        return z3.Extract(t.bits - 1, 0, x)
    grow = t.bits - src.bits
    return z3.SignExt(grow, x) if src.is_signed else z3.ZeroExt(grow, x)
