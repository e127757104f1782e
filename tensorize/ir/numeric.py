"""Exact scalar semantics of the `.tz` language, one value at a time.

These functions are the reference the rest of the project is tested against: they use
Python integers and exact rationals, never a machine type, so each is easy to read next
to DESIGN.md's semantics. Float values are Python floats holding a value of the target
format exactly (every f16, bf16 and f32 value is a float64 value).

Integer division follows SMT-LIB (and C for non-zero divisors): it truncates toward zero,
``x / 0`` is ``-1`` for ``x >= 0`` and ``1`` otherwise (unsigned: all ones), and ``x % 0`` is
``x``; ``MIN / -1`` wraps to ``MIN`` (and ``MIN % -1`` is 0). Shifts read their amount as an
unsigned value of the operand's type: past the width, ``<<`` gives 0 and ``>>`` the sign
fill (arithmetic on signed types, logical on unsigned ones) — SMT-LIB's ``bvshl``,
``bvashr`` and ``bvlshr``. ``abs(MIN)`` wraps to ``MIN``; ``abs`` of an unsigned value is
the value. Float-to-integer conversion truncates toward zero and saturates (infinities to
the extremes), with NaN giving 0. ``min(a, b)`` is ``select(b < a, b, a)`` and ``max(a, b)``
is ``select(b > a, b, a)``, for NaN and signed zeros too.

A NaN has no sign or payload in the semantics (SMT-LIB has one NaN): every NaN stored
to memory is the positive quiet NaN of its type, in every interpreter, so outputs and
their checksums are the same bits whichever interpreter ran.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

from tensorize.ir.types import DType


def wrap(value: int, t: DType) -> int:
    """Reduce an integer to type ``t`` modulo 2**bits (two's complement)."""
    mask = (1 << t.bits) - 1
    value &= mask
    if t.is_signed and value >> (t.bits - 1):
        value -= 1 << t.bits
    return value


def saturate(value: int, t: DType) -> int:
    """Clamp an integer to the range of type ``t``."""
    return max(t.min, min(t.max, value))


def int_div(a: int, b: int, t: DType) -> int:
    """Integer division of two values of type ``t`` (truncating; SMT-LIB at zero)."""
    if b == 0:
        if not t.is_signed:
            return t.max
        return -1 if a >= 0 else 1
    q = abs(a) // abs(b)
    return wrap(q if (a < 0) == (b < 0) else -q, t)


def int_rem(a: int, b: int, t: DType) -> int:
    """Remainder matching :func:`int_div`: the sign of the dividend, ``a % 0 == a``."""
    if b == 0:
        return a
    r = abs(a) % abs(b)
    return wrap(-r if a < 0 else r, t)


def shift_left(a: int, s: int, t: DType) -> int:
    """``a << s``: the amount is read as unsigned; past the width the result is 0."""
    s &= (1 << t.bits) - 1
    return 0 if s >= t.bits else wrap(a << s, t)


def shift_right(a: int, s: int, t: DType) -> int:
    """``a >> s``: arithmetic for signed types, logical for unsigned ones."""
    s &= (1 << t.bits) - 1
    if s >= t.bits:
        return -1 if (t.is_signed and a < 0) else 0
    return a >> s


def round_to_float(value: Fraction | int | float, t: DType) -> float:
    """Round an exact value to float type ``t``, to nearest with ties to even.

    NaN and infinities pass through; a zero keeps the sign of a float zero given in.
    """
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return value
        if value == 0.0:
            return value
    exact = Fraction(value)
    if exact == 0:
        return 0.0
    ebits, sbits = t.float_format
    sign = -1.0 if exact < 0 else 1.0
    mag = abs(exact)
    emax = (1 << (ebits - 1)) - 1
    emin = 1 - emax
    # exponent e with 2**e <= mag < 2**(e+1)
    e = mag.numerator.bit_length() - mag.denominator.bit_length()
    if Fraction(2) ** e > mag:
        e -= 1
    e = max(e, emin)
    quantum = Fraction(2) ** (e - (sbits - 1))
    rounded = round(mag / quantum) * quantum  # Fraction.__round__ ties to even
    if rounded >= Fraction(2) ** (emax + 1):
        return sign * math.inf
    if rounded == 0:
        return sign * 0.0
    return sign * float(rounded)


def float_to_int(value: float, t: DType) -> int:
    """Convert a float to integer type ``t``: truncate, saturate, NaN gives 0."""
    if math.isnan(value):
        return 0
    if math.isinf(value):
        return t.max if value > 0 else t.min
    return saturate(math.trunc(value), t)


def float_binop(op: str, a: float, b: float, t: DType) -> float:
    """IEEE ``a op b`` in float type ``t`` with round-to-nearest-even, for + - * /."""
    special = not (math.isfinite(a) and math.isfinite(b))
    if op == "/" and b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        negative = (math.copysign(1.0, a) < 0) != (math.copysign(1.0, b) < 0)
        return -math.inf if negative else math.inf
    if special:
        with_inf = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                    "/": lambda: a / b}[op]()
        return with_inf
    fa, fb = Fraction(a), Fraction(b)
    exact = {"+": fa + fb, "-": fa - fb, "*": fa * fb, "/": fa / fb if fb else None}[op]
    assert exact is not None
    if exact == 0:
        neg_a = math.copysign(1.0, a) < 0
        neg_b = math.copysign(1.0, b) < 0
        if op == "+":
            negative = neg_a and neg_b
        elif op == "-":
            negative = neg_a and not neg_b
        else:
            negative = neg_a != neg_b
        return -0.0 if negative else 0.0
    result = round_to_float(exact, t)
    if result == 0.0:  # underflow keeps the sign of the exact value
        return -0.0 if exact < 0 else 0.0
    return result


def fma(a: float, b: float, c: float, t: DType) -> float:
    """``a * b + c`` with a single rounding to float type ``t`` (IEEE fusedMultiplyAdd)."""
    if math.isnan(a) or math.isnan(b) or math.isnan(c):
        return math.nan
    if math.isinf(a) or math.isinf(b):  # the product is infinite (or invalid: inf * 0)
        if a == 0 or b == 0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b) + c  # inf - inf: NaN
    if math.isinf(c):  # a finite product, exact (never overflows), plus an infinity
        return c
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        product_negative = (math.copysign(1.0, a) < 0) != (math.copysign(1.0, b) < 0)
        both_negative = product_negative and math.copysign(1.0, c) < 0
        if a * b == 0 and c == 0:
            return -0.0 if both_negative else 0.0
        return 0.0
    result = round_to_float(exact, t)
    if result == 0.0:
        return -0.0 if exact < 0 else 0.0
    return result


def rint(x: float) -> float:
    """Round to the nearest integer, ties to even; keeps the sign of zero."""
    if not math.isfinite(x):
        return x
    r = float(round(Fraction(x)))
    return math.copysign(r, x) if r == 0 else r


def next_float(x: float, t: DType, up: bool) -> float:
    """The neighbour of ``x`` in float type ``t`` toward +inf (``up``) or -inf."""
    if math.isnan(x) or (math.isinf(x) and (x > 0) == up):
        return x
    import numpy as np  # only here: checking a kernel needs no numpy

    unsigned = np.dtype(f"u{t.bits // 8}")
    bits = int(np.asarray(x, dtype=np.float64).astype(t.np_dtype).view(unsigned))
    sign = 1 << (t.bits - 1)
    if x == 0.0:
        bits = 1 if up else sign | 1  # the smallest subnormal of the right sign
    elif (x > 0) == up:
        bits += 1  # away from zero
    else:
        bits -= 1  # toward zero
    return float(np.asarray(bits, dtype=unsigned).view(t.np_dtype))


Bound = int | float
"""An end of an ``assume`` range as written (an integer, or a float read as f64)."""


def assumed_bounds(t: DType, ranges: Iterable[tuple[Bound, Bound, bool]]
                   ) -> tuple[Bound, Bound] | None:
    """The least and greatest values of type ``t`` inside every range; None if none.

    Each range is ``(lo, hi, inclusive)``: ``lo <= x < hi``, or ``lo <= x <= hi`` when
    inclusive, compared exactly (a float bound is the exact value of its f64). Integer
    types give integers; float types give values of the type (NaN is never inside).
    """
    lo: Bound = t.min if t.is_int else -math.inf
    hi: Bound = t.max if t.is_int else math.inf
    for r_lo, r_hi, inclusive in ranges:
        if t.is_int:
            lo = max(lo, math.ceil(Fraction(r_lo)) if math.isfinite(r_lo) else lo)
            top = hi if r_hi == math.inf else (
                math.floor(Fraction(r_hi)) if inclusive else math.ceil(Fraction(r_hi)) - 1)
            hi = min(hi, top)
            continue
        f_lo = _float_at_least(r_lo, t)
        f_hi = _float_at_most(r_hi, t, inclusive)
        lo, hi = max(lo, f_lo), min(hi, f_hi)
    if lo > hi:
        return None
    return lo, hi


def _float_at_least(v: Bound, t: DType) -> float:
    """The least value of float type ``t`` that is ``>= v``."""
    if math.isinf(v):
        return float(v)
    r = round_to_float(v if isinstance(v, int) else Fraction(v), t)
    if r == -math.inf or (math.isfinite(r) and Fraction(r) < Fraction(v)):
        r = next_float(r, t, up=True)
    return r


def _float_at_most(v: Bound, t: DType, inclusive: bool) -> float:
    """The greatest value of float type ``t`` that is ``<= v`` (``< v`` if not inclusive)."""
    if math.isinf(v):
        return float(v) if inclusive else next_float(float(v), t, up=False)
    r = round_to_float(v if isinstance(v, int) else Fraction(v), t)
    if r == -math.inf:
        return r
    if r == math.inf or Fraction(r) > Fraction(v) or (not inclusive and Fraction(r) == v):
        r = next_float(r, t, up=False)
    return r
