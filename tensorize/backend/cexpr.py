"""C expressions with the exact `.tz` semantics (:mod:`tensorize.ir.numeric`).

Every typed IR expression becomes one C expression of its *value type*: the integer
types as their ``<stdint.h>`` types, ``bool``, ``float``, ``double``, and ``f16``/``bf16``
as a ``double`` holding a value of the format (they are stored as ``uint16_t`` bits).
Each operation is written so that C's promotions, undefined behaviour and contraction
cannot change the result: wrapping arithmetic in unsigned types, the ``tz_`` helpers of
:mod:`tensorize.backend.prelude` for division, shifts, saturation and rounding. The file
must be compiled with ``-ffp-contract=off`` and without ``-ffast-math``.

The names of variables and buffer elements come from a caller (:class:`Scope`), so that
the same code serves a kernel's body and the inlined body of an intrinsic.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tensorize.errors import UsageError
from tensorize.ir import vector_ops as vo
from tensorize.ir.nodes import Binary, Call, Cast, Const, Expr, Load, Unary, Var
from tensorize.ir.types import DType

C_TYPES = {
    "i8": "int8_t", "i16": "int16_t", "i32": "int32_t", "i64": "int64_t",
    "u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t",
    "f16": "uint16_t", "bf16": "uint16_t", "f32": "float", "f64": "double", "bool": "bool",
    "index": "int64_t",
}
"""The C type that stores an element of each type (``f16``/``bf16``: their bits)."""


def storage_type(t: DType) -> str:
    """The C type of a buffer element of type ``t``."""
    return C_TYPES[t.name]


def value_type(t: DType) -> str:
    """The C type of an expression of type ``t`` (``f16``/``bf16`` compute in double)."""
    return "double" if t.name in ("f16", "bf16") else C_TYPES[t.name]


def _narrow(t: DType) -> bool:
    return t.name in ("f16", "bf16")


def _wide(t: DType) -> str:
    """The unsigned type wrapping arithmetic of ``t`` is done in."""
    return "uint64_t" if t.bits == 64 else "uint32_t"


def round_narrow(t: DType, double_expr: str) -> str:
    """A double rounded (once, to nearest even) to ``f16``/``bf16``, as a double."""
    return f"tz_{t.name}d(tz_{t.name}({double_expr}))"


def int_literal(value: int, t: DType) -> str:
    """An integer constant of C type ``t``, exact for every value (``INT64_MIN`` too)."""
    if 0 <= value < 2**31:
        return f"(({C_TYPES[t.name]}){value})"
    bits = value & ((1 << 64) - 1)
    return f"(({C_TYPES[t.name]})0x{bits:x}ULL)"


def float_literal(value: float, t: DType) -> str:
    """The float ``value``, already of type ``t``, as an exact C constant of its value type."""
    if math.isinf(value):
        inf = "__builtin_inff()" if t.name == "f32" else "__builtin_inf()"
        return f"(-{inf})" if value < 0 else inf
    if math.isnan(value):
        return "((float)NAN)" if t.name == "f32" else "((double)NAN)"
    text = float(value).hex()
    if value == 0.0 and math.copysign(1.0, value) < 0:
        text = "-0x0.0p+0"
    return f"({text}f)" if t.name == "f32" else f"({text})"


def const_value(value: int | float | bool, t: DType) -> str:
    """A literal of type ``t`` as C (floats rounded to ``t`` like the interpreter does)."""
    if t.is_bool:
        return "true" if value else "false"
    if t.is_index or t.is_int:
        return int_literal(int(value), t)
    exact = float(np.asarray(vo.const(value, t)).astype(np.float64))
    return float_literal(exact, t)


class Scope:
    """How names are written in C: variables and buffer element accesses.

    ``var`` maps an index variable (loop variable, size, view dimension) to C text;
    ``load`` and ``element`` give the C lvalue of a buffer element and its type.
    """

    def __init__(self, var: Callable[[str], str],
                 element: Callable[[str, tuple[Expr, ...]], tuple[str, DType]]) -> None:
        self.var = var
        self.element = element


MINMAX_TYPES = ("int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t",
                "uint64_t", "float", "double")


def minmax_helpers() -> str:
    """``tz_min_T`` / ``tz_max_T``: exactly ``select(b < a, b, a)`` / ``select(b > a, b, a)``."""
    lines = []
    for c in MINMAX_TYPES:
        lines.append(f"static inline {c} tz_min_{c}({c} a, {c} b) {{ return b < a ? b : a; }}")
        lines.append(f"static inline {c} tz_max_{c}({c} a, {c} b) {{ return b > a ? b : a; }}")
    return "\n".join(lines) + "\n"


class ExprEmitter:
    """Turns typed expressions into C; records the integer types that need helpers."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.int_types: set[DType] = set()
        self.float_to_int: set[DType] = set()

    def index(self, e: Expr) -> str:
        """An ``index`` expression (loop bounds, subscripts) as ``int64_t`` arithmetic."""
        if isinstance(e, Const):
            return int_literal(int(e.value), e.dtype)
        if isinstance(e, Var):
            return self.scope.var(e.name)
        if isinstance(e, Unary) and e.op == "-":
            return f"(-{self.index(e.operand)})"
        if isinstance(e, Binary):
            a, b = self.index(e.lhs), self.index(e.rhs)
            if e.op in ("+", "-", "*"):
                return f"({a} {e.op} {b})"
            if e.op == "/":
                return f"tz_floordiv({a}, {b})"
            if e.op == "%":
                return f"tz_floormod({a}, {b})"
        raise UsageError(f"cannot emit index expression {type(e).__name__} {getattr(e, 'op', '')}")

    def cond(self, e: Expr) -> str:
        """An ``if`` condition (affine comparisons, ``&&``, ``||``, ``!``)."""
        if isinstance(e, Const):
            return "true" if e.value else "false"
        if isinstance(e, Unary) and e.op == "!":
            return f"(!{self.cond(e.operand)})"
        if isinstance(e, Binary) and e.op in ("&&", "||"):
            return f"({self.cond(e.lhs)} {e.op} {self.cond(e.rhs)})"
        if isinstance(e, Binary):
            return f"({self.index(e.lhs)} {e.op} {self.index(e.rhs)})"
        raise UsageError("cannot emit condition")

    def expr(self, e: Expr) -> str:
        """A data expression as C of its value type."""
        t = e.dtype
        if t.is_index:
            return self.index(e)
        if isinstance(e, Const):
            return const_value(e.value, t)
        if isinstance(e, Load):
            lvalue, bt = self.scope.element(e.buf, e.index)
            return f"tz_{bt.name}d({lvalue})" if _narrow(bt) else lvalue
        if isinstance(e, Cast):
            return self.cast(e)
        if isinstance(e, Unary):
            return self.unary(e)
        if isinstance(e, Binary):
            return self.binary(e)
        if isinstance(e, Call):
            return self.call(e)
        raise UsageError(f"cannot emit expression {type(e).__name__}")

    def store(self, t: DType, value_c: str) -> str:
        """A value of type ``t`` converted to its storage form."""
        return f"tz_{t.name}({value_c})" if _narrow(t) else value_c

    # -- operators --------------------------------------------------------------------
    def unary(self, e: Unary) -> str:
        t = e.dtype
        a = self.expr(e.operand)
        if e.op == "!":
            return f"(!{a})"
        if e.op == "~":
            return f"(({C_TYPES[t.name]})~{a})"
        if t.is_int:
            return f"(({C_TYPES[t.name]})(0u - ({_wide(t)}){a}))"
        return f"(-{a})"

    def binary(self, e: Binary) -> str:
        op = e.op
        a, b = self.expr(e.lhs), self.expr(e.rhs)
        if op in ("==", "!=", "<", "<=", ">", ">=", "&&", "||"):
            return f"({a} {op} {b})"
        t = e.dtype
        c = C_TYPES[t.name]
        if t.is_int:
            if op in ("+", "-", "*"):
                w = _wide(t)
                return f"(({c})(({w}){a} {op} ({w}){b}))"
            if op in ("&", "|", "^"):
                return f"(({c})({a} {op} {b}))"
            self.int_types.add(t)
            name = {"/": "div", "%": "rem", "<<": "shl", ">>": "shr"}[op]
            return f"tz_{name}_{c}({a}, {b})"
        if t.is_float:
            if _narrow(t):
                return round_narrow(t, f"({a} {op} {b})")
            return f"(({c})({a} {op} {b}))"
        if t.is_bool and op in ("&", "|", "^"):
            return f"({a} {op} {b})"
        raise UsageError(f"cannot emit operator {op} on {t}")

    def call(self, e: Call) -> str:
        t = e.dtype
        args = [self.expr(x) for x in e.args]
        if e.fn == "select":
            return f"({args[0]} ? {args[1]} : {args[2]})"
        vt = value_type(t)
        if e.fn in ("min", "max"):
            return f"tz_{e.fn}_{vt}({args[0]}, {args[1]})"
        if e.fn == "abs":
            if t.is_int:
                if not t.is_signed:
                    return args[0]
                w = _wide(t)
                return (f"(({C_TYPES[t.name]})({args[0]} < 0 ? 0u - ({w}){args[0]} : "
                        f"({w}){args[0]}))")
            return f"__builtin_fabsf({args[0]})" if t.name == "f32" else \
                f"__builtin_fabs({args[0]})"
        if e.fn == "fma":
            if t.name == "f32":
                return f"fmaf({args[0]}, {args[1]}, {args[2]})"
            if t.name == "f64":
                return f"fma({args[0]}, {args[1]}, {args[2]})"
            return round_narrow(t, f"tz_fma16({args[0]}, {args[1]}, {args[2]})")
        if e.fn == "rint":
            return f"rintf({args[0]})" if t.name == "f32" else f"rint({args[0]})"
        # math functions: in the argument's type (f16/bf16 through float, like numpy)
        if t.name == "f32":
            return f"{e.fn}f({args[0]})"
        if t.name == "f64":
            return f"{e.fn}({args[0]})"
        return round_narrow(t, f"(double){e.fn}f((float){args[0]})")

    # -- conversions ------------------------------------------------------------------
    def cast(self, e: Cast) -> str:
        t = e.dtype
        src = e.operand.dtype
        a = self.expr(e.operand)
        c = C_TYPES[t.name]
        if src == t and not src.is_index:
            return a
        if t.is_bool:
            return f"({a} != 0)"
        if src.is_bool:
            if t.is_float:
                return f"(({value_type(t)})({a} ? 1 : 0))"
            return f"(({c})({a} ? 1 : 0))"
        if t.is_int:
            if src.is_float:
                self.float_to_int.add(t)
                return f"tz_f2i_{c}((double){a})"
            if not e.saturate:
                return f"(({c})({a}))"
            return self.saturate(a, src, t)
        # to a float type
        if src.is_int or src.is_index:
            if _narrow(t):
                if src.bits == 64:
                    odd = f"tz_u64_odd({a})" if src.kind == "uint" else f"tz_i64_odd({a})"
                    return round_narrow(t, odd)
                return round_narrow(t, f"(double){a}")
            return f"(({c}){a})"
        # float to float
        if _narrow(t):
            return round_narrow(t, f"(double){a}")
        return f"(({c}){a})"

    def saturate(self, a: str, src: DType, t: DType) -> str:
        """``sat_T`` of an integer (or index) value: clamp to ``t``'s range."""
        c = C_TYPES[t.name]
        if src.is_signed or src.is_index:
            v = f"((int64_t){a})"
            if t.kind == "uint":
                if t.bits == 64:
                    return f"({v} < 0 ? ({c})0 : ({c}){v})"
                return (f"({v} < 0 ? ({c})0 : {v} > (int64_t){t.max} ? ({c}){t.max}u : "
                        f"({c}){v})")
            if t.bits == 64:
                return v
            return (f"({v} < (int64_t){t.min} ? ({c})({t.min}) : {v} > (int64_t){t.max} ? "
                    f"({c}){t.max} : ({c}){v})")
        v = f"((uint64_t){a})"
        hi = t.max
        return f"({v} > (uint64_t){hi}ULL ? ({c}){hi}ULL : ({c}){v})"


def float_to_int_helper(t: DType) -> str:
    """``tz_f2i_T(double)``: truncate toward zero, saturate, NaN gives 0."""
    c = C_TYPES[t.name]
    if t.is_signed:
        top = f"0x1p{t.bits - 1}"
        return (f"static inline {c} tz_f2i_{c}(double x) {{ if (x != x) return 0; "
                f"if (x >= {top}) return ({c}){int_literal(t.max, t)}; if (x <= -{top}) "
                f"return {int_literal(t.min, t)}; return ({c})x; }}\n")
    top = f"0x1p{t.bits}"
    return (f"static inline {c} tz_f2i_{c}(double x) {{ if (x != x || x < 1.0) return 0; "
            f"if (x >= {top}) return {int_literal(t.max, t)}; return ({c})x; }}\n")

