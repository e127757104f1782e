"""The interpreter of ``real`` mode: floats as exact rationals.

This is DESIGN.md's real-mode semantics made executable, the ground truth that real-mode
refutations are checked against: f32 and f64 arithmetic is exact; f16 and bf16
arithmetic, and every narrowing conversion, round to nearest even. Values are
:class:`fractions.Fraction`; NaN, infinities and division by zero have no real meaning and
raise :class:`NotReal`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from tensorize.errors import NotReal, Span
from tensorize.ir import numeric
from tensorize.ir.nodes import Const, Expr, Load
from tensorize.ir.scalar_exec import Compiled, ScalarExec, Value, _raiser
from tensorize.ir.types import DType


def narrow(t: DType) -> bool:
    """Whether arithmetic in float type ``t`` rounds in real mode (f16, bf16)."""
    return t.float_format[1] < 24


def to_real(x: float | Fraction) -> Fraction:
    """A finite float as an exact rational."""
    if isinstance(x, Fraction):
        return x
    x = float(x)  # a numpy float of an input buffer
    if not math.isfinite(x):
        raise NotReal(f"{x} is not a real number")
    return Fraction(x)


def round_real(x: Fraction | int | float, t: DType) -> Fraction:
    """Round to float type ``t`` (a rounding point of real mode)."""
    value = numeric.round_to_float(x, t)
    if not math.isfinite(value):
        raise NotReal(f"{float(x)} overflows {t}")
    return Fraction(value)


def _fits(src: DType, t: DType) -> bool:
    return src.bits - (1 if src.is_signed else 0) <= t.float_format[1]


def _widening(src: DType, t: DType) -> bool:
    return src.float_format[0] <= t.float_format[0] and src.float_format[1] <= t.float_format[1]


class RealExec(ScalarExec):
    """:class:`ScalarExec` with float values as exact rationals (real mode)."""

    @classmethod
    def compile(cls, e: Expr) -> Compiled:
        t = e.dtype
        if isinstance(e, Const) and t.is_float:
            try:
                value = to_real(numeric.round_to_float(e.value, t))
            except Exception as exc:  # noqa: BLE001 - raised when evaluated, as before
                return _raiser(exc)
            return lambda ex, env: value
        if isinstance(e, Load) and t.is_float:
            return cls._compile_load(e, lambda x, _: to_real(x))
        return super().compile(e)

    def eval_reference(self, e: Expr, env: dict[str, int]) -> Value:
        t = e.dtype
        if isinstance(e, Const) and t.is_float:
            return to_real(numeric.round_to_float(e.value, t))
        if isinstance(e, Load) and t.is_float:
            idx = self.index_reference(e.index, env, e.buf, self.shapes[e.buf], e.span)
            return to_real(self.mem[e.buf][idx])
        return super().eval_reference(e, env)

    @classmethod
    def binary_function(cls, op: str, t: DType, span: Span | None
                        ) -> Callable[[Value, Value], Value]:
        if not t.is_float or op in ("==", "!=", "<", "<=", ">", ">="):
            return ScalarExec.binary_function(op, t, span)
        arith: Callable[[Any, Any], Any] | None = {
            "+": operator.add, "-": operator.sub, "*": operator.mul}.get(op)
        if arith is not None:
            if narrow(t):
                return lambda a, b: round_real(arith(a, b), t)
            return arith
        binary = cls.binary
        return lambda a, b: binary(op, a, b, t, span)

    @staticmethod
    def cast(x: Value, src: DType, t: DType, saturate: bool) -> Value:
        if t.is_float and not src.is_float:
            value = Fraction(int(x))
            return value if src.is_index or _fits(src, t) else round_real(value, t)
        if t.is_float:
            return x if _widening(src, t) else round_real(x, t)
        if src.is_float:
            return numeric.saturate(math.trunc(x), t)
        return ScalarExec.cast(x, src, t, saturate)

    @staticmethod
    def binary(op: str, a: Value, b: Value, t: DType, span: Any) -> Value:
        if not t.is_float or op in ("==", "!=", "<", "<=", ">", ">="):
            return ScalarExec.binary(op, a, b, t, span)
        if op == "/" and b == 0:
            raise NotReal("division by zero")
        value = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,  # type: ignore[no-untyped-call]  # rationals and floats mix by design here
                 "/": lambda: a / b}[op]()
        return round_real(value, t) if narrow(t) else value

    @staticmethod
    def unary(op: str, x: Value, t: DType) -> Value:
        if t.is_float:
            return -x
        return ScalarExec.unary(op, x, t)

    @staticmethod
    def call_builtin(fn: str, args: list[Value], t: DType) -> Value:
        if not t.is_float:
            return ScalarExec.call_builtin(fn, args, t)
        if fn in ("select", "min", "max"):
            return ScalarExec.call_builtin(fn, args, t)
        x = [to_real(float(v)) if isinstance(v, float) else Fraction(v) for v in args]
        if fn == "abs":
            return abs(x[0])
        if fn == "fma":
            value = x[0] * x[1] + x[2]
            return round_real(value, t) if narrow(t) else value
        if fn == "rint":
            return Fraction(round(x[0]))
        with np.errstate(all="ignore"):  # uninterpreted in proofs; any function will do
            out = float(getattr(np, fn)(np.float64(float(x[0]))))
        return to_real(out)


def to_object_array(arr: np.ndarray) -> np.ndarray:
    """A float array as an object array of exact rationals."""
    flat = [to_real(float(v)) for v in np.asarray(arr).reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(np.asarray(arr).shape)
