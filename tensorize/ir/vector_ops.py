"""Whole-array versions of the `.tz` semantics, with numpy arrays of the exact dtype.

Each function mirrors one in :mod:`tensorize.ir.numeric` and is tested against it.
numpy already wraps fixed-width integer arithmetic and rounds float16/float32 to nearest
even; what is added here is what numpy does differently from DESIGN.md (division,
shifts, conversions to integers, and double rounding in conversions to bf16).
"""

from __future__ import annotations

import numpy as np

from tensorize.ir import numeric
from tensorize.ir.types import BF16, F64, DType

_EXACT_INT_LIMIT = 2**53


def const(value: int | float | bool, t: DType) -> np.ndarray:
    """A literal as a 0-d array of type ``t`` (rounded like a cast)."""
    if t.is_float:
        return to_float(np.asarray(value, dtype=np.float64 if isinstance(value, float)
                                   else _int_holder(value)), t)
    return np.asarray(value, dtype=t.np_dtype)


def _int_holder(value: int | bool) -> np.dtype:
    return np.dtype(np.uint64) if value > np.iinfo(np.int64).max else np.dtype(np.int64)


def _f64_to_bf16(x: np.ndarray) -> np.ndarray:
    """Correctly rounded float64 -> bfloat16 (round to odd in f32, then to nearest even)."""
    x = np.asarray(x, dtype=np.float64)
    y = x.astype(np.float32)
    finite = np.isfinite(x)
    back = y.astype(np.float64)
    # truncate toward zero: step back where rounding went away from zero
    away = finite & (np.abs(back) > np.abs(x))
    y = np.where(away, np.nextafter(y, np.float32(0)), y)
    inexact = finite & (y.astype(np.float64) != x)
    bits = y.view(np.uint32) | inexact.astype(np.uint32)
    out: np.ndarray = bits.view(np.float32).astype(BF16.np_dtype)
    return out


def to_float(x: np.ndarray, t: DType) -> np.ndarray:
    """Convert ints, bools or floats to float type ``t`` with one rounding to nearest even."""
    x = np.asarray(x)
    if x.dtype in (np.dtype(np.int64), np.dtype(np.uint64)) and x.size and \
            int(np.max(np.abs(x.astype(object)))) >= _EXACT_INT_LIMIT:
        flat = [numeric.round_to_float(int(v), t) for v in x.reshape(-1)]
        return np.asarray(flat, dtype=np.float64).astype(t.np_dtype).reshape(x.shape)
    if t == BF16:
        if x.dtype == BF16.np_dtype:
            return x
        if x.dtype in (np.dtype(np.float32), np.dtype(np.float16)):
            return x.astype(t.np_dtype)
        return _f64_to_bf16(x.astype(np.float64))
    if x.dtype == BF16.np_dtype:
        x = x.astype(np.float32)  # exact
    if x.dtype.kind in "iub" and t != F64:
        x = x.astype(np.float64)  # exact below 2**53
    return x.astype(t.np_dtype)


def float_to_int(x: np.ndarray, t: DType) -> np.ndarray:
    """Truncate toward zero and saturate to integer type ``t``; NaN gives 0."""
    x = np.asarray(x).astype(np.float64)
    nan = np.isnan(x)
    tr = np.trunc(np.where(nan, 0.0, x))
    lo_f, hi_f = float(t.min), float(t.max)
    too_low = tr < lo_f
    too_high = tr >= float(2 ** (t.bits - 1) if t.is_signed else 2 ** t.bits)
    safe = np.clip(tr, lo_f, np.nextafter(hi_f, 0) if hi_f >= 2**53 else hi_f)
    out = safe.astype(t.np_dtype)
    out = np.where(too_low, np.asarray(t.min, dtype=t.np_dtype), out)
    out = np.where(too_high, np.asarray(t.max, dtype=t.np_dtype), out)
    return out.astype(t.np_dtype)


def cast(x: np.ndarray, src: DType, t: DType, saturate: bool) -> np.ndarray:
    """``T(x)`` or ``sat_T(x)`` for a value of type ``src``."""
    x = np.asarray(x)
    if t.is_bool:
        nonzero: np.ndarray = x != 0
        return nonzero
    if t.is_float:
        return to_float(x, t)
    if src.is_float:
        return float_to_int(x, t)
    if src.is_bool:
        return x.astype(t.np_dtype)
    if src.is_index:
        x = x.astype(np.int64)
        src_min, src_max = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    else:
        src_min, src_max = src.min, src.max
    if saturate:
        lo, hi = max(t.min, src_min), min(t.max, src_max)
        x = np.clip(x, np.asarray(lo, x.dtype), np.asarray(hi, x.dtype))
    return x.astype(t.np_dtype)


def _magnitudes(a: np.ndarray, b: np.ndarray, t: DType) -> tuple[np.ndarray, np.ndarray]:
    """``|a|`` and ``|b|`` as unsigned integers of the same width (exact, even for MIN)."""
    unsigned = np.dtype(f"uint{t.bits}")
    ua, ub = np.asarray(a).astype(unsigned), np.asarray(b).astype(unsigned)
    if t.is_signed:  # two's complement negation in unsigned arithmetic: |MIN| = 2**(w-1)
        ua = np.where(np.asarray(a) < 0, ~ua + unsigned.type(1), ua).astype(unsigned)
        ub = np.where(np.asarray(b) < 0, ~ub + unsigned.type(1), ub).astype(unsigned)
    return ua, ub


def _with_sign(magnitude: np.ndarray, negative: np.ndarray, t: DType) -> np.ndarray:
    """``-magnitude`` where ``negative``, else ``magnitude``, wrapped to type ``t``."""
    unsigned = magnitude.dtype
    signed = np.where(negative, ~magnitude + unsigned.type(1), magnitude).astype(unsigned)
    return signed.astype(t.np_dtype)


def int_div(a: np.ndarray, b: np.ndarray, t: DType) -> np.ndarray:
    """Truncating division with SMT-LIB's result for a zero divisor; ``MIN / -1`` wraps."""
    a, b = np.asarray(a, t.np_dtype), np.asarray(b, t.np_dtype)
    zero = b == 0
    ua, ub = _magnitudes(a, b, t)
    ub = np.where(zero, ub.dtype.type(1), ub).astype(ub.dtype)
    q = _with_sign(ua // ub, (a < 0) != (b < 0), t)
    if t.is_signed:
        by_zero = np.where(a >= 0, np.asarray(-1, t.np_dtype), np.asarray(1, t.np_dtype))
    else:
        by_zero = np.asarray(t.max, t.np_dtype)
    return np.where(zero, by_zero, q).astype(t.np_dtype)


def int_rem(a: np.ndarray, b: np.ndarray, t: DType) -> np.ndarray:
    """Remainder with the sign of the dividend; ``a % 0 == a``."""
    a, b = np.asarray(a, t.np_dtype), np.asarray(b, t.np_dtype)
    zero = b == 0
    ua, ub = _magnitudes(a, b, t)
    ub = np.where(zero, ub.dtype.type(1), ub).astype(ub.dtype)
    r = _with_sign(ua % ub, a < 0, t)
    return np.where(zero, a, r).astype(t.np_dtype)


def shift(a: np.ndarray, s: np.ndarray, t: DType, left: bool) -> np.ndarray:
    """``a << s`` / ``a >> s`` with the amount read as unsigned and past-width results."""
    unsigned = np.dtype(f"uint{t.bits}")
    amount = np.asarray(s).astype(t.np_dtype).view(unsigned) if np.ndim(s) else \
        np.asarray(np.asarray(s, t.np_dtype).view(unsigned))
    big = amount >= t.bits
    small = np.where(big, 0, amount).astype(t.np_dtype)
    if left:
        shifted = np.left_shift(a, small)
        return np.where(big, np.asarray(0, t.np_dtype), shifted).astype(t.np_dtype)
    shifted = np.right_shift(a, small)
    fill = np.where(a < 0, np.asarray(-1, t.np_dtype), np.asarray(0, t.np_dtype)) \
        if t.is_signed else np.asarray(0, t.np_dtype)
    return np.where(big, fill, shifted).astype(t.np_dtype)


def canonical_nan(x: np.ndarray, t: DType) -> np.ndarray:
    """Every NaN replaced by the one NaN a store writes (positive, quiet, no payload)."""
    nan = np.isnan(x)
    if not np.any(nan):
        return x
    return np.where(nan, np.asarray(np.nan, dtype=t.np_dtype), x).astype(t.np_dtype)


def minimum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``min(a, b)`` = ``select(b < a, b, a)`` (deterministic for NaN and signed zeros)."""
    return np.where(b < a, b, a)


def maximum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``max(a, b)`` = ``select(b > a, b, a)``."""
    return np.where(b > a, b, a)


def _round_to_odd_sum(p: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``p + c`` in float64 rounded to odd (exact TwoSum error decides the last bit)."""
    s = p + c
    bb = s - p
    err = (p - (s - bb)) + (c - bb)
    inexact = np.isfinite(s) & (err != 0)
    other = np.nextafter(s, s + np.where(err > 0, np.inf, -np.inf))
    s_odd = (s.view(np.uint64) & np.uint64(1)) == 1
    out: np.ndarray = np.where(inexact & ~s_odd, other, s)
    return out


def fma(a: np.ndarray, b: np.ndarray, c: np.ndarray, t: DType) -> np.ndarray:
    """Fused multiply-add with one rounding to ``t`` (exact for f16, bf16, f32; f64 too)."""
    a, b, c = np.broadcast_arrays(np.asarray(a), np.asarray(b), np.asarray(c))
    if t.bits == 64:
        flat = [numeric.fma(float(x), float(y), float(z), t)
                for x, y, z in zip(a.reshape(-1), b.reshape(-1), c.reshape(-1))]
        return np.asarray(flat, dtype=np.float64).reshape(a.shape)
    p = a.astype(np.float64) * b.astype(np.float64)  # exact: 2 x 24 bits < 53
    with np.errstate(all="ignore"):
        odd = _round_to_odd_sum(p, c.astype(np.float64))
    return to_float(odd, t) if t == BF16 else odd.astype(t.np_dtype)


def rint(x: np.ndarray) -> np.ndarray:
    """Round to nearest integer, ties to even."""
    out: np.ndarray = np.rint(x)
    return out
