"""The prover's own terms: immutable, hash-consed, typed by sort.

Every term is built once: building the same operator on the same arguments (and
parameters) gives back the very same object, so ``a is b`` is structural equality (what
Z3's ``a.eq(b)`` answered) and terms can key dictionaries by identity. Each term also
has a creation number, :attr:`Term.id`, which orders the operands of commutative
operators canonically (as Z3's term ids did).

The sorts are Booleans, bit-vectors of a width, IEEE floats of an exponent and
significand width, mathematical integers and reals, and rounding modes. The operators
are exactly the ones the prover uses (their names are SMT-LIB's); each constructor checks
the sorts of its arguments, since a sort error is a bug of the caller. Constructors do
not simplify: the solver sees the term that was built (see :mod:`tensorize.smt.fold`
for the constant folder). No Python operator is overloaded: ``==`` on terms is identity,
which is what a dictionary and the hash-consing need, and an explicit ``bvadd(a, b)``
says which of the many additions (bit-vector, integer, real, IEEE) is meant.

Terms live as long as something refers to them; the table that hash-conses them holds
them weakly, so the terms of one proof do not outlive it.
"""

from __future__ import annotations

import itertools
import math
import struct
import weakref
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

# -- sorts --------------------------------------------------------------------------------


class Sort:
    """A sort: ``bool``, ``int``, ``real``, ``rm`` (a rounding mode), ``bv`` (with a
    ``width``) or ``fp`` (with ``ebits`` and ``sbits``, the significand counting its
    hidden bit, as in SMT-LIB). Sorts are interned: compare them with ``is``."""

    __slots__ = ("ebits", "kind", "sbits", "width")

    def __init__(self, kind: str, width: int = 0, ebits: int = 0, sbits: int = 0) -> None:
        self.kind, self.width, self.ebits, self.sbits = kind, width, ebits, sbits

    def __repr__(self) -> str:
        if self.kind == "bv":
            return f"(_ BitVec {self.width})"
        if self.kind == "fp":
            return f"(_ FloatingPoint {self.ebits} {self.sbits})"
        return {"bool": "Bool", "int": "Int", "real": "Real", "rm": "RoundingMode"}[self.kind]

    @property
    def is_bool(self) -> bool:
        """Booleans."""
        return self.kind == "bool"

    @property
    def is_bv(self) -> bool:
        """Bit-vectors."""
        return self.kind == "bv"

    @property
    def is_fp(self) -> bool:
        """IEEE floats."""
        return self.kind == "fp"

    @property
    def is_int(self) -> bool:
        """Mathematical integers."""
        return self.kind == "int"

    @property
    def is_real(self) -> bool:
        """Real numbers."""
        return self.kind == "real"


BOOL: Final = Sort("bool")
INT: Final = Sort("int")
REAL: Final = Sort("real")
RM: Final = Sort("rm")
_BV: dict[int, Sort] = {}
_FP: dict[tuple[int, int], Sort] = {}


def bv_sort(width: int) -> Sort:
    """The sort of bit-vectors of ``width`` bits."""
    s = _BV.get(width)
    if s is None:
        if width < 1:
            raise TypeError(f"a bit-vector needs at least one bit, not {width}")
        s = _BV[width] = Sort("bv", width=width)
    return s


def fp_sort(ebits: int, sbits: int) -> Sort:
    """The sort of IEEE floats with ``ebits`` exponent bits and ``sbits`` significand bits
    (hidden bit included: f32 is ``fp_sort(8, 24)``). Formats up to f64's."""
    s = _FP.get((ebits, sbits))
    if s is None:
        if not (2 <= ebits <= 11 and 2 <= sbits <= 53):
            raise TypeError(f"no float format with {ebits} exponent and {sbits} "
                            "significand bits here")
        s = _FP[(ebits, sbits)] = Sort("fp", ebits=ebits, sbits=sbits)
    return s


@dataclass(frozen=True)
class FuncDecl:
    """An uninterpreted function: a name, the sorts of its arguments and of its value."""

    name: str
    domain: tuple[Sort, ...]
    range: Sort


# -- terms --------------------------------------------------------------------------------

_ids = itertools.count()
_table: weakref.WeakValueDictionary[tuple[object, ...], Term] = weakref.WeakValueDictionary()


class Term:
    """One node: an operator ``op`` applied to ``args`` with ``params`` (a constant's
    value, a variable's name, an extraction's bits...), of sort ``sort``. Built only
    through the constructors below; never mutated."""

    __slots__ = ("__weakref__", "args", "id", "op", "params", "sort")

    op: str
    args: tuple[Term, ...]
    params: tuple[object, ...]
    sort: Sort
    id: int

    def __repr__(self) -> str:
        return show(self)

    def __reduce__(self) -> str:
        raise TypeError("terms are hash-consed within one process and cannot be pickled")

    @property
    def is_const(self) -> bool:
        """A literal value (see :attr:`value`)."""
        return self.op == "const"

    @property
    def is_var(self) -> bool:
        """A free constant (an input of the formula), named :attr:`name`."""
        return self.op == "var"

    @property
    def value(self) -> object:
        """A literal's value: bool, int (a bit-vector's unsigned value, an integer), a
        Fraction (a real), or, for a float, the bits of the equal Python float."""
        assert self.op == "const", self
        return self.params[0]

    @property
    def int_value(self) -> int:
        """A bit-vector literal's unsigned value, an integer literal, a Boolean as 0/1,
        a float literal's double bits."""
        v = self.params[0]
        assert self.op == "const" and isinstance(v, int), self
        return int(v)

    @property
    def rational(self) -> Fraction:
        """An integer or real literal as a fraction."""
        v = self.params[0]
        assert self.op == "const" and isinstance(v, (int, Fraction)), self
        return Fraction(v)

    @property
    def name(self) -> str:
        """A variable's name."""
        assert self.op == "var", self
        return str(self.params[0])

    @property
    def width(self) -> int:
        """A bit-vector's width."""
        assert self.sort.kind == "bv", self
        return self.sort.width


def make(op: str, args: tuple[Term, ...], params: tuple[object, ...], sort: Sort) -> Term:
    """The one term with these fields (built on first use). Constructors check sorts and
    call this; so does generic rebuilding (:func:`rebuild`)."""
    key = (op, args, params, sort)
    t = _table.get(key)
    if t is None:
        t = object.__new__(Term)
        t.op, t.args, t.params, t.sort, t.id = op, args, params, sort, next(_ids)
        _table[key] = t
    return t


def rebuild(t: Term, args: tuple[Term, ...] | list[Term]) -> Term:
    """``t`` with other arguments of the same sorts (``t`` itself when they are its own)."""
    args = tuple(args)
    if len(args) == len(t.args) and all(a is b for a, b in zip(args, t.args)):
        return t
    for a, b in zip(args, t.args):
        if a.sort is not b.sort:
            raise TypeError(f"rebuilding {t.op}: {a.sort} for {b.sort}")
    return make(t.op, args, t.params, t.sort)


def _need(cond: bool, what: str, *terms: Term) -> None:
    if not cond:
        raise TypeError(f"{what}: " + ", ".join(f"{x.sort}" for x in terms))


# -- leaves -------------------------------------------------------------------------------
def bool_val(value: bool) -> Term:
    """``true`` or ``false``."""
    return make("const", (), (bool(value),), BOOL)


TRUE: Final = bool_val(True)
FALSE: Final = bool_val(False)


def bv_val(value: int, width: int) -> Term:
    """A bit-vector literal (``value`` taken modulo ``2**width``)."""
    return make("const", (), (int(value) % (1 << width),), bv_sort(width))


def int_val(value: int) -> Term:
    """An integer literal."""
    return make("const", (), (int(value),), INT)


def real_val(value: Fraction | int) -> Term:
    """A real literal."""
    return make("const", (), (Fraction(value),), REAL)


CANONICAL_NAN: Final[int] = int(struct.unpack("<q", struct.pack("<d", math.nan))[0])


def _double_bits(x: float) -> int:
    if x != x:
        return CANONICAL_NAN
    return int(struct.unpack("<q", struct.pack("<d", x))[0])


def bits_to_double(bits: int) -> float:
    """The Python float whose IEEE double pattern is ``bits``."""
    return float(struct.unpack("<d", struct.pack("<q", bits))[0])


def fp_val(value: float, sort: Sort) -> Term:
    """An IEEE literal of ``sort``: ``value`` rounded to it (to nearest, ties to even, as
    Z3's ``FPVal`` of a Python float). Kept as the bits of the equal double (one NaN)."""
    _need(sort.is_fp, "fp_val of a non-float sort")
    return make("const", (), (_double_bits(round_to(value, sort)),), sort)


def round_to(value: float, sort: Sort) -> float:
    """``value`` rounded to the nearest value of ``sort`` (ties to even; past the largest
    finite value, an infinity). NaN, infinities and zeros pass through."""
    if value != value or math.isinf(value) or value == 0:
        return value
    e, s = sort.ebits, sort.sbits
    emax = (1 << (e - 1)) - 1
    mag = Fraction(abs(value))
    _m, x = math.frexp(abs(value))  # 2**(x-1) <= |value| < 2**x
    quantum = Fraction(2) ** (max(x - 1, 1 - emax) - (s - 1))
    rounded = round(mag / quantum) * quantum  # Fraction rounds ties to even
    sign = -1.0 if value < 0 else 1.0
    if rounded >= Fraction(2) ** (emax + 1):
        return sign * math.inf
    return sign * float(rounded)


def fp_value(t: Term) -> float:
    """A float literal's value as a Python float."""
    assert t.op == "const" and t.sort.is_fp, t
    return bits_to_double(t.int_value)


def fp_to_bits(value: float, sort: Sort) -> int:
    """The IEEE bit pattern of ``value`` (representable in ``sort``; NaN: the quiet NaN
    with only the top significand bit set, Z3's)."""
    e, s = sort.ebits, sort.sbits
    bias = (1 << (e - 1)) - 1
    if value != value:
        return int((((1 << e) - 1) << (s - 1)) | (1 << (s - 2)))
    sign = 1 if math.copysign(1.0, value) < 0 else 0
    a = abs(value)
    if math.isinf(a):
        return (sign << (e + s - 1)) | (((1 << e) - 1) << (s - 1))
    if a == 0:
        return sign << (e + s - 1)
    m, x = math.frexp(a)  # a = m * 2**x, 0.5 <= m < 1
    exp = x - 1 + bias  # biased exponent of 1.f * 2**(x-1)
    if exp >= 1:
        frac = int(math.ldexp(m, s)) - (1 << (s - 1))  # m * 2**s = 1.f * 2**(s-1)
    else:  # subnormal: a = f * 2**(1 - bias - (s - 1))
        frac = int(math.ldexp(a, bias - 1 + s - 1))
        exp = 0
    return (sign << (e + s - 1)) | (exp << (s - 1)) | frac


def fp_from_bits(bits: int, sort: Sort) -> float:
    """The value of an IEEE bit pattern of ``sort`` (exact: the formats fit a double)."""
    e, s = sort.ebits, sort.sbits
    bias = (1 << (e - 1)) - 1
    sign = -1.0 if (bits >> (e + s - 1)) & 1 else 1.0
    exp = (bits >> (s - 1)) & ((1 << e) - 1)
    frac = bits & ((1 << (s - 1)) - 1)
    if exp == (1 << e) - 1:
        return math.nan if frac else sign * math.inf
    if exp == 0:
        return sign * math.ldexp(frac, 1 - bias - (s - 1))
    return sign * math.ldexp(frac + (1 << (s - 1)), exp - bias - (s - 1))


RNE: Final = make("rm", (), ("RNE",), RM)
"""Round to nearest, ties to even."""
RTZ: Final = make("rm", (), ("RTZ",), RM)
"""Round toward zero."""


def var(name: str, sort: Sort) -> Term:
    """A free constant (an input of the formula): one per name and sort."""
    return make("var", (), (name,), sort)


def func(name: str, domain: tuple[Sort, ...] | list[Sort], range_: Sort) -> FuncDecl:
    """An uninterpreted function."""
    return FuncDecl(name, tuple(domain), range_)


def decl_of(t: Term) -> FuncDecl:
    """The function an ``apply`` term applies."""
    f = t.params[0]
    assert t.op == "apply" and isinstance(f, FuncDecl), t
    return f


def apply(f: FuncDecl, *args: Term) -> Term:
    """``f(args)``; a function of no arguments is the variable of its name."""
    _need(len(args) == len(f.domain) and all(a.sort is d for a, d in zip(args, f.domain)),
          f"applying {f.name}", *args)
    if not args:
        return var(f.name, f.range)
    return make("apply", tuple(args), (f,), f.range)


# -- Booleans and equality ----------------------------------------------------------------
def not_(a: Term) -> Term:
    """``not a``."""
    _need(a.sort is BOOL, "not", a)
    return make("not", (a,), (), BOOL)


def and_(*args: Term) -> Term:
    """``a and b and ...`` (at least one argument)."""
    _need(bool(args) and all(a.sort is BOOL for a in args), "and", *args)
    return make("and", args, (), BOOL)


def or_(*args: Term) -> Term:
    """``a or b or ...`` (at least one argument)."""
    _need(bool(args) and all(a.sort is BOOL for a in args), "or", *args)
    return make("or", args, (), BOOL)


def ite(c: Term, a: Term, b: Term) -> Term:
    """``if c then a else b``."""
    _need(c.sort is BOOL and a.sort is b.sort, "ite", c, a, b)
    return make("ite", (c, a, b), (), a.sort)


def eq(a: Term, b: Term) -> Term:
    """``a = b`` (structural on floats: ``-0 != +0``, every NaN is the NaN)."""
    _need(a.sort is b.sort, "=", a, b)
    return make("=", (a, b), (), BOOL)


def distinct(a: Term, b: Term) -> Term:
    """``a != b`` (SMT-LIB's ``distinct``)."""
    _need(a.sort is b.sort, "distinct", a, b)
    return make("distinct", (a, b), (), BOOL)


# -- bit-vectors --------------------------------------------------------------------------
BV_BINARY: Final = frozenset({"bvadd", "bvmul", "bvsdiv", "bvudiv", "bvsrem", "bvurem",
                              "bvand", "bvor", "bvxor", "bvshl", "bvashr", "bvlshr"})
BV_COMPARE: Final = frozenset({"bvslt", "bvsle", "bvsgt", "bvsge",
                               "bvult", "bvule", "bvugt", "bvuge"})


def bv_op(op: str, a: Term, b: Term) -> Term:
    """A binary bit-vector operator of :data:`BV_BINARY` (``bvsdiv``/``bvsrem`` signed,
    ``bvashr`` arithmetic), on two bit-vectors of one width."""
    _need(op in BV_BINARY and a.sort.is_bv and a.sort is b.sort, op, a, b)
    return make(op, (a, b), (), a.sort)


def bv_cmp(op: str, a: Term, b: Term) -> Term:
    """A bit-vector comparison of :data:`BV_COMPARE` (``s``: signed, ``u``: unsigned)."""
    _need(op in BV_COMPARE and a.sort.is_bv and a.sort is b.sort, op, a, b)
    return make(op, (a, b), (), BOOL)


def bvadd(a: Term, b: Term) -> Term:
    """``a + b`` modulo ``2**width``."""
    return bv_op("bvadd", a, b)


def bvmul(a: Term, b: Term) -> Term:
    """``a * b`` modulo ``2**width``."""
    return bv_op("bvmul", a, b)


def bvneg(a: Term) -> Term:
    """``-a`` modulo ``2**width``."""
    _need(a.sort.is_bv, "bvneg", a)
    return make("bvneg", (a,), (), a.sort)


def bvnot(a: Term) -> Term:
    """Bitwise complement."""
    _need(a.sort.is_bv, "bvnot", a)
    return make("bvnot", (a,), (), a.sort)


def extract(hi: int, lo: int, a: Term) -> Term:
    """Bits ``hi`` down to ``lo`` of ``a``."""
    _need(a.sort.is_bv and 0 <= lo <= hi < a.sort.width, f"extract {hi} {lo}", a)
    return make("extract", (a,), (hi, lo), bv_sort(hi - lo + 1))


def zero_ext(n: int, a: Term) -> Term:
    """``a`` with ``n`` zero bits on top."""
    _need(a.sort.is_bv and n >= 0, "zero_extend", a)
    return make("zero_extend", (a,), (n,), bv_sort(a.sort.width + n))


def sign_ext(n: int, a: Term) -> Term:
    """``a`` with ``n`` copies of its sign bit on top."""
    _need(a.sort.is_bv and n >= 0, "sign_extend", a)
    return make("sign_extend", (a,), (n,), bv_sort(a.sort.width + n))


# -- integers and reals -------------------------------------------------------------------
ARITH_COMPARE: Final = frozenset({"<", "<=", ">", ">="})


def _arith(a: Term, b: Term, what: str) -> None:
    _need(a.sort is b.sort and a.sort.kind in ("int", "real"), what, a, b)


def add(a: Term, b: Term) -> Term:
    """``a + b`` on integers or reals."""
    _arith(a, b, "+")
    return make("+", (a, b), (), a.sort)


def sub(a: Term, b: Term) -> Term:
    """``a - b`` on integers or reals."""
    _arith(a, b, "-")
    return make("-", (a, b), (), a.sort)


def mul(a: Term, b: Term) -> Term:
    """``a * b`` on integers or reals."""
    _arith(a, b, "*")
    return make("*", (a, b), (), a.sort)


def neg(a: Term) -> Term:
    """``-a`` on integers or reals."""
    _need(a.sort.kind in ("int", "real"), "neg", a)
    return make("neg", (a,), (), a.sort)


def int_div(a: Term, b: Term) -> Term:
    """SMT-LIB's integer ``div`` (Euclidean: the remainder is never negative; division
    by zero is unspecified)."""
    _need(a.sort is INT and b.sort is INT, "div", a, b)
    return make("div", (a, b), (), INT)


def real_div(a: Term, b: Term) -> Term:
    """``a / b`` on reals (division by zero unspecified)."""
    _need(a.sort is REAL and b.sort is REAL, "/", a, b)
    return make("/", (a, b), (), REAL)


def compare(op: str, a: Term, b: Term) -> Term:
    """``a op b`` on integers or reals, ``op`` one of ``< <= > >=``."""
    _arith(a, b, op)
    _need(op in ARITH_COMPARE, op, a, b)
    return make(op, (a, b), (), BOOL)


def int2bv(a: Term, width: int) -> Term:
    """An integer modulo ``2**width`` as a bit-vector."""
    _need(a.sort is INT, "int2bv", a)
    return make("int2bv", (a,), (width,), bv_sort(width))


def bv2int(a: Term, signed: bool) -> Term:
    """A bit-vector's (signed or unsigned) value as an integer."""
    _need(a.sort.is_bv, "bv2int", a)
    return make("bv2int", (a,), (bool(signed),), INT)


def to_real(a: Term) -> Term:
    """An integer as a real."""
    _need(a.sort is INT, "to_real", a)
    return make("to_real", (a,), (), REAL)


# -- IEEE floats --------------------------------------------------------------------------
FP_ARITH: Final = frozenset({"fp.add", "fp.sub", "fp.mul", "fp.div"})
FP_COMPARE: Final = frozenset({"fp.eq", "fp.lt", "fp.leq", "fp.gt", "fp.geq"})
FP_TESTS: Final = frozenset({"fp.isNaN", "fp.isInfinite", "fp.isNegative"})


def fp_arith(op: str, rm: Term, a: Term, b: Term) -> Term:
    """``fp.add``, ``fp.sub``, ``fp.mul`` or ``fp.div`` rounded by ``rm``."""
    _need(op in FP_ARITH and rm.sort is RM and a.sort.is_fp and a.sort is b.sort, op, a, b)
    return make(op, (rm, a, b), (), a.sort)


def fp_fma(rm: Term, a: Term, b: Term, c: Term) -> Term:
    """``a * b + c`` rounded once."""
    _need(rm.sort is RM and a.sort.is_fp and a.sort is b.sort is c.sort, "fp.fma", a, b, c)
    return make("fp.fma", (rm, a, b, c), (), a.sort)


def fp_neg(a: Term) -> Term:
    """The sign flipped."""
    _need(a.sort.is_fp, "fp.neg", a)
    return make("fp.neg", (a,), (), a.sort)


def fp_abs(a: Term) -> Term:
    """The sign cleared."""
    _need(a.sort.is_fp, "fp.abs", a)
    return make("fp.abs", (a,), (), a.sort)


def fp_round(rm: Term, a: Term) -> Term:
    """``a`` rounded to an integral value by ``rm``."""
    _need(rm.sort is RM and a.sort.is_fp, "fp.roundToIntegral", a)
    return make("fp.roundToIntegral", (rm, a), (), a.sort)


def fp_cmp(op: str, a: Term, b: Term) -> Term:
    """An IEEE comparison of :data:`FP_COMPARE` (false when either is NaN; ``-0 = +0``)."""
    _need(op in FP_COMPARE and a.sort.is_fp and a.sort is b.sort, op, a, b)
    return make(op, (a, b), (), BOOL)


def fp_test(op: str, a: Term) -> Term:
    """``fp.isNaN``, ``fp.isInfinite`` or ``fp.isNegative``."""
    _need(op in FP_TESTS and a.sort.is_fp, op, a)
    return make(op, (a,), (), BOOL)


def fp_from_bv(bits: Term, sort: Sort) -> Term:
    """The float whose IEEE pattern is ``bits``."""
    _need(bits.sort.is_bv and sort.is_fp and bits.sort.width == sort.ebits + sort.sbits,
          "to_fp of bits", bits)
    return make("to_fp_bits", (bits,), (), sort)


def fp_from_int(rm: Term, a: Term, sort: Sort, signed: bool) -> Term:
    """A bit-vector's (signed or unsigned) value, rounded to ``sort`` by ``rm``."""
    _need(rm.sort is RM and a.sort.is_bv and sort.is_fp, "to_fp of an integer", a)
    return make("to_fp_signed" if signed else "to_fp_unsigned", (rm, a), (), sort)


def fp_convert(rm: Term, a: Term, sort: Sort) -> Term:
    """A float rounded by ``rm`` to another float format."""
    _need(rm.sort is RM and a.sort.is_fp and sort.is_fp, "to_fp of a float", a)
    return make("to_fp_fp", (rm, a), (), sort)


def fp_to_bv(rm: Term, a: Term, width: int, signed: bool) -> Term:
    """A float rounded by ``rm`` to an integer of ``width`` bits (unspecified when it
    does not fit, or for NaN and the infinities)."""
    _need(rm.sort is RM and a.sort.is_fp, "fp.to_bv", a)
    return make("fp.to_sbv" if signed else "fp.to_ubv", (rm, a), (width,), bv_sort(width))


# -- reading terms ------------------------------------------------------------------------
def walk(*roots: Term) -> list[Term]:
    """Every distinct subterm of ``roots``, each after its arguments (no recursion: a
    prefix sum unrolls into a chain thousands of terms deep)."""
    out: list[Term] = []
    seen: set[int] = set()
    stack: list[tuple[Term, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        t, done = stack.pop()
        if done:
            out.append(t)
            continue
        if t.id in seen:
            continue
        seen.add(t.id)
        stack.append((t, True))
        stack.extend((a, False) for a in reversed(t.args) if a.id not in seen)
    return out


def free_vars(*roots: Term) -> set[Term]:
    """The variables (free constants) that ``roots`` mention."""
    return {t for t in walk(*roots) if t.op == "var"}


def show(t: Term, depth: int = 6) -> str:
    """SMT-LIB-like text of a term (cut at ``depth`` levels: for messages only)."""
    if t.op == "const":
        v = t.params[0]
        if t.sort.is_bool:
            return "true" if v else "false"
        if t.sort.is_bv:
            return f"#x{v:0{max(1, (t.sort.width + 3) // 4)}x}[{t.sort.width}]"
        if t.sort.is_fp:
            return f"{fp_value(t)!r}:{t.sort}"
        return str(v)
    if t.op in ("var", "rm"):
        return str(t.params[0])
    if depth <= 0:
        return "..."
    head = t.op
    if t.op == "apply":
        head = decl_of(t).name
    elif t.params:
        head = f"(_ {t.op} {' '.join(map(str, t.params))})"
    return f"({head} {' '.join(show(a, depth - 1) for a in t.args)})"
