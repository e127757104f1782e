"""Exact scalar semantics of the `.tz` language, one value at a time.

These functions are the reference the rest of the project is tested against: they use
Python integers and exact rationals, never a machine type, so each is easy to read next
to DESIGN.md's semantics. Float values are Python floats holding a value of the target
format exactly (every f16, bf16 and f32 value is a float64 value).

Integer division follows SMT-LIB (and C for non-zero divisors): it truncates toward zero,
``x / 0`` is ``-1`` for ``x >= 0`` and ``1`` otherwise (unsigned: all ones), and ``x % 0`` is
``x``. Float-to-integer conversion truncates toward zero and saturates, with NaN giving 0.
"""

from __future__ import annotations

import math
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
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c if not (math.isinf(a) and b == 0 or math.isinf(b) and a == 0) \
            else math.nan
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
