"""IR expressions to solver terms (:mod:`tensorize.smt.terms`): one table, one entry per node kind.

Integers are bit-vectors of their width. Floats are IEEE terms in ``ieee`` mode; in
``real`` mode they are reals: f32/f64 arithmetic is exact (a compiler's fast-math view),
while f16/bf16 arithmetic and every narrowing conversion go through an uninterpreted
rounding function, so the proof can never erase them. Math functions are uninterpreted.

Sums and products that may be reordered (wrapping integer ``+``/``*``; real ``+``/``*``)
are built in a canonical order, so two reductions that differ only in their order give
the same term. IEEE ``+`` and ``*`` are commutative but not associative: only their two
operands are ordered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from tensorize.errors import EquivalenceError
from tensorize.ir import numeric
from tensorize.ir.nodes import Binary, Call, Cast, Const, Expr, Load, Unary, Var
from tensorize.ir.types import DType
from tensorize.smt import terms as T
from tensorize.smt.terms import RNE, RTZ, Sort, Term

Index = int | Term
"""An index value: a Python int (unrolled) or an integer term (symbolic)."""
Value = Any  # a term, or an index value (a Python int or bool) where indices are computed
Reader = Callable[[Load, tuple[Index, ...]], Term]


def sort_of(t: DType, mode: str) -> Sort:
    """The sort of values of type ``t``."""
    if t.is_bool:
        return T.BOOL
    if t.is_int:
        return T.bv_sort(t.bits)
    if t.is_index:
        return T.INT
    if mode == "real":
        return T.REAL
    ebits, sbits = t.float_format
    return T.fp_sort(ebits, sbits)


def index_term(x: Index) -> Term:
    """An index value as an integer term."""
    return T.int_val(x) if isinstance(x, int) else x


def as_bool(x: Value) -> Term:
    """A condition as a Boolean term (a comparison of concrete indices is a Python bool)."""
    return T.bool_val(x) if isinstance(x, bool) else x


def _is_add(t: Term) -> bool:
    return t.op == "bvadd" or t.op == "+"


def _add(a: Term, b: Term) -> Term:
    return T.bvadd(a, b) if a.sort.is_bv else T.add(a, b)


def canonical_sum(terms: list[Term]) -> Term:
    """``t0 + t1 + ...`` flattened one level and ordered by creation (for AC operators)."""
    flat: list[Term] = []
    for t in terms:
        flat.extend(t.args if _is_add(t) else [t])
    flat.sort(key=lambda t: t.id)
    out = flat[0]
    for t in flat[1:]:
        out = _add(out, t)
    return out


def ordered(a: Term, b: Term) -> tuple[Term, Term]:
    """The operands of a commutative operator in a canonical order."""
    return (a, b) if a.id <= b.id else (b, a)


def _neg(x: Term) -> Term:
    return T.bvneg(x) if x.sort.is_bv else T.neg(x)


def _lt(a: Term, b: Term) -> Term:
    """Signed ``<`` on bit-vectors, ``<`` on reals."""
    return T.bv_cmp("bvslt", a, b) if a.sort.is_bv else T.compare("<", a, b)


def _zero_like(x: Term) -> Term:
    return T.bv_val(0, x.sort.width) if x.sort.is_bv else T.real_val(0)


class Translator:
    """Translates typed expressions under one floating-point mode.

    ``read`` turns a load (with its index already evaluated) into a term; index values
    are Python ints (unrolled) or integer terms (symbolic).
    """

    def __init__(self, mode: str, read: Reader) -> None:
        self.mode = mode
        self.read = read
        self._funcs: dict[str, T.FuncDecl] = {}
        self.table: dict[type, Callable[[Any, Mapping[str, Value]], Value]] = {
            Const: self._const, Var: self._var, Load: self._load, Cast: self._cast,
            Unary: self._unary, Binary: self._binary, Call: self._call,
        }

    def __call__(self, e: Expr, env: Mapping[str, Value]) -> Value:
        handler = self.table.get(type(e))
        if handler is None:
            raise EquivalenceError(f"cannot translate {type(e).__name__} to SMT", e.span)
        out = handler(e, env)
        # a comparison of concrete indices is a Python bool: as an operand it is a term
        return as_bool(out) if isinstance(out, bool) else out

    def func(self, name: str, domain: list[Sort], rng: Sort) -> T.FuncDecl:
        """An uninterpreted function, one per name (rounding, math functions)."""
        f = self._funcs.get(name)
        if f is None:
            f = T.func(name, domain, rng)
            self._funcs[name] = f
        return f

    def round_to(self, x: Term, t: DType) -> Term:
        """Real mode: an uninterpreted rounding to float type ``t``."""
        return T.apply(self.func(f"round_{t}", [T.REAL], T.REAL), x)

    # -- leaves -----------------------------------------------------------------------
    def _const(self, e: Const, env: Mapping[str, Value]) -> Value:
        t = e.dtype
        if t.is_index:
            return e.value
        if t.is_bool:
            return T.bool_val(bool(e.value))
        if t.is_int:
            return T.bv_val(int(e.value), t.bits)
        value = numeric.round_to_float(e.value, t)
        if self.mode == "real":
            if value != value or value in (float("inf"), float("-inf")):
                return T.apply(self.func(f"special_{value}", [], T.REAL))
            return T.real_val(Fraction(value))
        return T.fp_val(value, sort_of(t, "ieee"))

    def _var(self, e: Var, env: Mapping[str, Value]) -> Value:
        return env[e.name]

    def index(self, e: Expr, env: Mapping[str, Value]) -> Value:
        """An index expression: a Python int when every variable is concrete."""
        return self(e, env)

    def _load(self, e: Load, env: Mapping[str, Value]) -> Term:
        return self.read(e, tuple(self(i, env) for i in e.index))

    # -- conversions ------------------------------------------------------------------
    def _cast(self, e: Cast, env: Mapping[str, Value]) -> Term:
        src, t = e.operand.dtype, e.dtype
        x = self(e.operand, env)
        if src.is_index:
            x = T.int2bv(index_term(x), 64)
            src = DType("i64", "int", 64)
        if t.is_bool:
            return T.distinct(x, T.bv_val(0, src.bits)) if src.is_int else x
        if src.is_bool:
            if t.is_int:
                return T.ite(x, T.bv_val(1, t.bits), T.bv_val(0, t.bits))
            return self._int_to_float(T.ite(x, T.bv_val(1, 8), T.bv_val(0, 8)),
                                      DType("u8", "uint", 8), t)
        if src.is_int and t.is_int:
            return _int_cast(x, src, t, e.saturate)
        if src.is_int and t.is_float:
            return self._int_to_float(x, src, t)
        if src.is_float and t.is_int:
            return self._float_to_int(x, src, t)
        return self._float_to_float(x, src, t)

    def _int_to_float(self, x: Term, src: DType, t: DType) -> Term:
        if self.mode == "real":
            real = T.to_real(T.bv2int(x, src.is_signed))
            exact = src.bits - (1 if src.is_signed else 0) <= t.float_format[1]
            return real if exact else self.round_to(real, t)
        return T.fp_from_int(RNE, x, sort_of(t, "ieee"), src.is_signed)

    def _float_to_int(self, x: Term, src: DType, t: DType) -> Term:
        if self.mode == "real":
            return T.apply(self.func(f"to_{t}_from_{src}", [T.REAL], T.bv_sort(t.bits)), x)
        sort = x.sort
        trunc = T.fp_round(RTZ, x)
        hi = T.fp_val(float(2 ** (t.bits - 1) if t.is_signed else 2 ** t.bits), sort)
        lo = T.fp_val(float(-(2 ** (t.bits - 1))) if t.is_signed else 0.0, sort)
        conv = T.fp_to_bv(RTZ, trunc, t.bits, t.is_signed)
        # hi/lo may round to an infinity in a narrow source format (2**31 in f16): then
        # no finite value reaches them, and the infinities are tested on their own
        # (fp.to_sbv of an infinity is unspecified in SMT-LIB).
        top, bottom = T.bv_val(t.max, t.bits), T.bv_val(t.min, t.bits)
        return T.ite(T.fp_test("fp.isNaN", x), T.bv_val(0, t.bits),
                     T.ite(T.fp_test("fp.isInfinite", x),
                           T.ite(T.fp_test("fp.isNegative", x), bottom, top),
                           T.ite(T.fp_cmp("fp.geq", trunc, hi), top,
                                 T.ite(T.fp_cmp("fp.lt", trunc, lo), bottom, conv))))

    def _float_to_float(self, x: Term, src: DType, t: DType) -> Term:
        if src == t:
            return x
        if self.mode == "real":
            widening = src.float_format[0] <= t.float_format[0] and \
                src.float_format[1] <= t.float_format[1]
            return x if widening else self.round_to(x, t)
        return T.fp_convert(RNE, x, sort_of(t, "ieee"))

    # -- operators --------------------------------------------------------------------
    def _unary(self, e: Unary, env: Mapping[str, Value]) -> Value:
        x = self(e.operand, env)
        t = e.dtype
        if e.op == "!":
            return T.not_(as_bool(x))
        if e.op == "~":
            return T.bvnot(x)
        if t.is_float and self.mode == "ieee":
            return T.fp_neg(x)
        if isinstance(x, int):
            return -x
        return _neg(x)

    def _binary(self, e: Binary, env: Mapping[str, Value]) -> Value:
        op = e.op
        a, b = self(e.lhs, env), self(e.rhs, env)
        t = e.lhs.dtype
        if op == "&&":
            return T.and_(as_bool(a), as_bool(b))
        if op == "||":
            return T.or_(as_bool(a), as_bool(b))
        if t.is_index:
            return _index_op(op, a, b)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self._compare(op, a, b, t)
        if t.is_int:
            return _int_op(op, a, b, t)
        if t.is_bool:
            raise EquivalenceError(f"operator {op} on bool", e.span)
        return self._float_op(op, a, b, t)

    def _compare(self, op: str, a: Term, b: Term, t: DType) -> Term:
        if op == "==" and not (t.is_float and self.mode == "ieee"):
            return T.eq(a, b)
        if op == "!=" and not (t.is_float and self.mode == "ieee"):
            return T.distinct(a, b)
        if t.is_int:
            rel = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}[op]
            return T.bv_cmp(("bvu" if not t.is_signed else "bvs") + rel, a, b)
        if t.is_float and self.mode == "ieee":
            if op == "!=":
                return T.not_(T.fp_cmp("fp.eq", a, b))
            name = {"==": "fp.eq", "<": "fp.lt", "<=": "fp.leq", ">": "fp.gt",
                    ">=": "fp.geq"}[op]
            return T.fp_cmp(name, a, b)
        return T.compare(op, a, b)

    def _float_op(self, op: str, a: Term, b: Term, t: DType) -> Term:
        if self.mode == "ieee":
            if op in ("+", "*"):
                a, b = ordered(a, b)
            name = {"+": "fp.add", "-": "fp.sub", "*": "fp.mul", "/": "fp.div"}[op]
            return T.fp_arith(name, RNE, a, b)
        if op == "+":
            result = canonical_sum([a, b])
        elif op == "-":
            result = canonical_sum([a, T.neg(b)])
        elif op == "*":
            x, y = ordered(a, b)
            result = T.mul(x, y)
        else:
            result = T.real_div(a, b)
        narrow = t.float_format[1] < 24  # f16, bf16: every operation rounds
        return self.round_to(result, t) if narrow else result

    def _call(self, e: Call, env: Mapping[str, Value]) -> Value:
        args = [self(a, env) for a in e.args]
        t = e.dtype
        if e.fn == "select":
            c, x, y = args
            if isinstance(x, int) or isinstance(y, int):  # index values
                if c is T.TRUE or c is T.FALSE:
                    return x if c is T.TRUE else y  # concrete: stays a Python int
                x, y = index_term(x), index_term(y)
            return T.ite(c, x, y)
        if e.fn in ("min", "max"):
            a, b = args
            less = self._compare("<", b, a, t) if e.fn == "min" else \
                self._compare(">", b, a, t)
            return T.ite(less, b, a)
        if e.fn == "fma":
            # x * y is exactly commutative (one canonical NaN), so fma(x, y, c) and
            # fma(y, x, c) are one term: the solver need not find that out by itself
            x, y = ordered(args[0], args[1])
            if self.mode == "ieee":
                return T.fp_fma(RNE, x, y, args[2])
            result = canonical_sum([T.mul(x, y), args[2]])
            return self.round_to(result, t) if t.float_format[1] < 24 else result
        if e.fn == "rint":
            if self.mode == "ieee":
                return T.fp_round(RNE, args[0])
            return T.apply(self.func(f"rint_{t}", [T.REAL], T.REAL), args[0])
        if e.fn == "abs":
            v: Term = args[0]
            if t.is_float and self.mode == "ieee":
                return T.fp_abs(v)
            if t.is_int and not t.is_signed:  # an unsigned value is its own absolute value
                return v
            return T.ite(_lt(v, _zero_like(v)), _neg(v), v)  # signed <; abs(MIN) wraps
        sort = sort_of(t, self.mode)
        return T.apply(self.func(f"{e.fn}_{t}", [sort], sort), args[0])


def _index_op(op: str, a: Index, b: Index) -> Value:
    if isinstance(a, int) and isinstance(b, int):
        if op in ("/", "%"):  # floor division and its remainder, as in the interpreters
            return a // b if op == "/" else a % b
        ops: dict[str, Callable[[int, int], int | bool]] = {
            "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
            "==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
            "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}
        return ops[op](a, b)
    if op in ("/", "%"):
        q = _floor_div(a, b)
        return q if op == "/" else T.sub(index_term(a), T.mul(index_term(b), q))
    x, y = index_term(a), index_term(b)
    if op in ("+", "-", "*"):
        return {"+": T.add, "-": T.sub, "*": T.mul}[op](x, y)
    if op == "==":
        return T.eq(x, y)
    if op == "!=":
        return T.distinct(x, y)
    return T.compare(op, x, y)


def _floor_div(a: Index, b: Index) -> Term:
    """``floor(a / b)`` on integers: SMT-LIB's ``div`` is Euclidean, which differs from
    the floor for a negative divisor; ``(-a) div (-b)`` is the floor then."""
    x = index_term(a)
    minus_x = T.int_val(-a) if isinstance(a, int) else T.neg(a)
    if isinstance(b, int):
        return T.int_div(x, T.int_val(b)) if b > 0 else T.int_div(minus_x, T.int_val(-b))
    return T.ite(T.compare(">", b, T.int_val(0)), T.int_div(x, b),
                 T.int_div(minus_x, T.neg(b)))


def _range(x: Term) -> tuple[int, int] | None:
    """The value range of an extended narrower bit-vector, read as signed."""
    if x.op == "sign_extend":
        w = x.args[0].width
        return -(1 << (w - 1)), (1 << (w - 1)) - 1
    if x.op == "zero_extend":
        w = x.args[0].width
        return 0, (1 << w) - 1
    return None


def _narrow_product(x: Term, y: Term) -> Term | None:
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
    if width >= x.width:
        return None

    def narrow(v: Term) -> Term:
        inner = v.args[0]
        grow = width - inner.width
        if grow <= 0:
            return T.extract(width - 1, 0, inner)
        return T.sign_ext(grow, inner) if v.op == "sign_extend" else T.zero_ext(grow, inner)

    nx, ny = ordered(narrow(x), narrow(y))
    return T.sign_ext(x.width - width, T.bvmul(nx, ny))


def _int_op(op: str, a: Term, b: Term, t: DType) -> Term:
    if op == "+":
        return canonical_sum([a, b])
    if op == "-":
        return canonical_sum([a, T.bvneg(b)])
    if op == "*":
        x, y = ordered(a, b)
        narrow = _narrow_product(x, y)
        return T.bvmul(x, y) if narrow is None else narrow
    name = {"/": ("bvsdiv", "bvudiv"), "%": ("bvsrem", "bvurem"), "&": ("bvand",) * 2,
            "|": ("bvor",) * 2, "^": ("bvxor",) * 2, "<<": ("bvshl",) * 2,
            ">>": ("bvashr", "bvlshr")}.get(op)
    if name is None:
        raise EquivalenceError(f"unknown operator {op}")
    return T.bv_op(name[0] if t.is_signed else name[1], a, b)


def _int_cast(x: Term, src: DType, t: DType, saturate: bool) -> Term:
    if saturate:
        wide = max(src.bits, t.bits) + 2
        xw = T.sign_ext(wide - src.bits, x) if src.is_signed else \
            T.zero_ext(wide - src.bits, x)
        lo, hi = T.bv_val(t.min, wide), T.bv_val(t.max, wide)
        xw = T.ite(T.bv_cmp("bvslt", xw, lo), lo, T.ite(T.bv_cmp("bvsgt", xw, hi), hi, xw))
        return T.extract(t.bits - 1, 0, xw)
    if t.bits == src.bits:
        return x
    if t.bits < src.bits:
        return T.extract(t.bits - 1, 0, x)
    grow = t.bits - src.bits
    return T.sign_ext(grow, x) if src.is_signed else T.zero_ext(grow, x)
