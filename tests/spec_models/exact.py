"""Exact float arithmetic for the models: rationals rounded once to a binary format."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import ml_dtypes
import numpy as np

FORMATS: dict[str, tuple[int, int, Any]] = {
    # name: (exponent bits, fraction bits, numpy dtype)
    "f16": (5, 10, np.float16),
    "bf16": (8, 7, ml_dtypes.bfloat16),
    "f32": (8, 23, np.float32),
    "f64": (11, 52, np.float64),
}


def round_to(x: Fraction, fmt: str, zero_sign: int = 1) -> float:
    """``x`` rounded to nearest, ties to even, in ``fmt`` (as a Python float).

    Overflow gives an infinity; a zero result takes the sign ``zero_sign`` when ``x`` is
    exactly zero, else the sign of ``x``.
    """
    ebits, fbits, _ = FORMATS[fmt]
    if x == 0:
        return math.copysign(0.0, zero_sign)
    sign = -1 if x < 0 else 1
    mag = abs(x)
    emax = (1 << (ebits - 1)) - 1
    emin = 1 - emax
    e = mag.numerator.bit_length() - mag.denominator.bit_length()
    if Fraction(2) ** e > mag:
        e -= 1
    quantum = Fraction(2) ** (max(e, emin) - fbits)
    q, r = divmod(mag, quantum)
    n = int(q)
    if r * 2 > quantum or (r * 2 == quantum and n % 2 == 1):
        n += 1
    value = n * quantum
    largest = (2 - Fraction(1, 1 << fbits)) * Fraction(2) ** emax
    if value > largest:
        return sign * math.inf
    if value == 0:
        return math.copysign(0.0, sign)
    return sign * float(value)


def as_fraction(v: Any) -> Fraction:
    """A finite float (numpy or Python) as an exact rational."""
    return Fraction(float(v))


def fma(a: Any, b: Any, c: Any, fmt: str) -> float:
    """IEEE fusedMultiplyAdd(a, b, c) in ``fmt``, written from the standard's definition."""
    fa, fb, fc = float(a), float(b), float(c)
    if not all(math.isfinite(v) for v in (fa, fb, fc)):
        # infinities and NaN: the exact product is not needed (inf * 0 is NaN, etc.)
        prod = fa * fb
        return float(np.asarray(prod + fc, dtype=np.float64).astype(FORMATS[fmt][2]))
    exact = Fraction(fa) * Fraction(fb) + Fraction(fc)
    if exact == 0:
        # an exact zero: -0 only when the product and c are both zeros of negative sign
        prod_neg = math.copysign(1, fa) * math.copysign(1, fb) < 0
        both_zero = (fa == 0 or fb == 0) and fc == 0
        return -0.0 if both_zero and prod_neg and math.copysign(1, fc) < 0 else 0.0
    return round_to(exact, fmt)


def add(a: Any, b: Any, fmt: str) -> float:
    """IEEE addition a + b in ``fmt`` (round to nearest even)."""
    fa, fb = float(a), float(b)
    if not (math.isfinite(fa) and math.isfinite(fb)):
        return float(np.asarray(fa + fb, dtype=np.float64).astype(FORMATS[fmt][2]))
    exact = Fraction(fa) + Fraction(fb)
    if exact == 0:
        both_neg = math.copysign(1, fa) < 0 and math.copysign(1, fb) < 0
        return -0.0 if both_neg and fa == 0 and fb == 0 else 0.0
    return round_to(exact, fmt)


def mul(a: Any, b: Any, fmt: str) -> float:
    """IEEE multiplication a * b in ``fmt`` (round to nearest even)."""
    fa, fb = float(a), float(b)
    if not (math.isfinite(fa) and math.isfinite(fb)):
        return float(np.asarray(fa * fb, dtype=np.float64).astype(FORMATS[fmt][2]))
    exact = Fraction(fa) * Fraction(fb)
    sign = -1 if (math.copysign(1, fa) * math.copysign(1, fb)) < 0 else 1
    if exact == 0:
        return math.copysign(0.0, sign)
    return round_to(exact, fmt)


def array(values: Any, fmt: str, shape: tuple[int, ...]) -> np.ndarray:
    """Python floats as an array of ``fmt``'s numpy type (exact: each is representable)."""
    return np.asarray(values, dtype=np.float64).astype(FORMATS[fmt][2]).reshape(shape)


def fractions(x: np.ndarray) -> np.ndarray:
    """A float array as an object array of exact rationals."""
    flat = [Fraction(float(v)) for v in np.asarray(x).reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(np.asarray(x).shape)
