"""The scalar interpreter: one statement instance at a time, obviously right.

Values are Python ints, bools and floats; every operation goes through the exact
reference semantics of :mod:`tensorize.ir.numeric`. It is the reference the vectorised
interpreter is tested against, and the fallback for anything that one cannot vectorise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from tensorize.errors import InterpError, Span
from tensorize.ir import numeric
from tensorize.ir.nodes import (
    Assign,
    Binary,
    Call,
    CallStmt,
    Cast,
    Const,
    Expr,
    For,
    Function,
    If,
    Load,
    Stmt,
    Unary,
    Var,
)
from tensorize.ir.types import DType

Value = int | float | bool | Fraction
"""A scalar value: Python numbers (exact rationals for the floats of real mode)."""


def to_python(x: Any, t: DType) -> Value:
    """A numpy element as the Python value the scalar semantics works on."""
    if t.is_float:
        return float(x)
    if t.is_bool:
        return bool(x)
    return int(x)


class ScalarExec:
    """Executes one function's body on a memory of arrays (or views), statement by statement."""

    def __init__(self, fn: Function, sizes: Mapping[str, int], mem: dict[str, Any],
                 shapes: Mapping[str, tuple[int, ...]], library: Mapping[str, Function],
                 call: Callable[..., None]) -> None:
        self.fn, self.sizes, self.mem, self.shapes = fn, dict(sizes), mem, dict(shapes)
        self.library, self._call = library, call
        self.types = {b.name: b.dtype for b in fn.buffers}

    def run(self) -> None:
        """Execute the whole body."""
        self.block(self.fn.body, dict(self.sizes))

    def block(self, stmts: tuple[Stmt, ...], env: dict[str, int]) -> None:
        for s in stmts:
            self.stmt(s, env)

    def stmt(self, s: Stmt, env: dict[str, int]) -> None:
        if isinstance(s, Assign):
            idx = self.index(s.index, env, s.buf, self.shapes[s.buf], s.span)
            value = self.eval(s.value, env)
            if isinstance(value, float) and math.isnan(value):
                value = math.nan  # one NaN: see tensorize.ir.numeric
            self.mem[s.buf][idx] = value
        elif isinstance(s, For):
            lo, hi = self.eval(s.lo, env), self.eval(s.hi, env)
            for v in range(lo, hi):  # type: ignore[arg-type]  # loop bounds are index values
                env[s.var] = v
                self.block(s.body, env)
            env.pop(s.var, None)
        elif isinstance(s, If):
            self.block(s.then if self.eval(s.cond, env) else s.orelse, env)
        elif isinstance(s, CallStmt):
            self._call(self, s, env, ())
        else:
            raise AssertionError(type(s).__name__)

    def index(self, index: tuple[Expr, ...], env: dict[str, int], buf: str,
              shape: tuple[int, ...], span: Span | None) -> tuple[int, ...]:
        """Evaluate and bounds-check an index tuple."""
        idx = tuple(int(self.eval(e, env)) for e in index)
        for axis, (i, n) in enumerate(zip(idx, shape)):
            if not 0 <= i < n:
                raise InterpError(f"index {i} out of bounds for dimension {axis} of '{buf}' "
                                  f"(size {n})", span)
        return idx

    # -- expressions ------------------------------------------------------------------
    def eval(self, e: Expr, env: dict[str, int]) -> Value:
        t = e.dtype
        if isinstance(e, Const):
            if t is not None and t.is_float:
                return numeric.round_to_float(e.value, t)
            return e.value
        if isinstance(e, Var):
            return env[e.name]
        if isinstance(e, Load):
            idx = self.index(e.index, env, e.buf, self.shapes[e.buf], e.span)
            return to_python(self.mem[e.buf][idx], self.types[e.buf])
        assert t is not None, "expressions are typed by the checker"
        if isinstance(e, Cast):
            src = e.operand.dtype
            assert src is not None
            return self.cast(self.eval(e.operand, env), src, t, e.saturate)
        if isinstance(e, Unary):
            x = self.eval(e.operand, env)
            return self.unary(e.op, x, t)
        if isinstance(e, Binary):
            if e.op == "&&":
                return bool(self.eval(e.lhs, env)) and bool(self.eval(e.rhs, env))
            if e.op == "||":
                return bool(self.eval(e.lhs, env)) or bool(self.eval(e.rhs, env))
            a, b = self.eval(e.lhs, env), self.eval(e.rhs, env)
            operand_type = e.lhs.dtype
            assert operand_type is not None
            return self.binary(e.op, a, b, operand_type, e.span)
        if isinstance(e, Call):
            args = [self.eval(a, env) for a in e.args]
            return self.call_builtin(e.fn, args, t)
        raise AssertionError(type(e).__name__)

    @staticmethod
    def cast(x: Value, src: DType, t: DType, saturate: bool) -> Value:
        if t.is_bool:
            return x != 0
        if t.is_float:
            return numeric.round_to_float(int(x) if isinstance(x, bool) else x, t)
        if src.is_float:
            return numeric.float_to_int(float(x), t)
        x = int(x)
        return numeric.saturate(x, t) if saturate else numeric.wrap(x, t)

    @staticmethod
    def unary(op: str, x: Value, t: DType) -> Value:
        if op == "!":
            return not x
        if op == "~":
            return numeric.wrap(~int(x), t)
        if t.is_float:
            return -float(x)
        if t.is_index:
            return -int(x)
        return numeric.wrap(-int(x), t)

    @staticmethod
    def binary(op: str, a: Value, b: Value, t: DType, span: Span | None) -> Value:
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b,
                    ">": a > b, ">=": a >= b}[op]
        if t.is_index:
            a, b = int(a), int(b)
            if op in ("/", "%") and b == 0:
                raise InterpError("division by zero in an index expression", span)
            return {"+": a + b, "-": a - b, "*": a * b, "/": a // b if b else 0,
                    "%": a % b if b else 0}[op]
        if t.is_float:
            return numeric.float_binop(op, float(a), float(b), t)
        a, b = int(a), int(b)
        if op == "+":
            return numeric.wrap(a + b, t)
        if op == "-":
            return numeric.wrap(a - b, t)
        if op == "*":
            return numeric.wrap(a * b, t)
        if op == "/":
            return numeric.int_div(a, b, t)
        if op == "%":
            return numeric.int_rem(a, b, t)
        if op == "&":
            return numeric.wrap(a & b, t)
        if op == "|":
            return numeric.wrap(a | b, t)
        if op == "^":
            return numeric.wrap(a ^ b, t)
        if op == "<<":
            return numeric.shift_left(a, numeric.wrap(b, t), t)
        if op == ">>":
            return numeric.shift_right(a, numeric.wrap(b, t), t)
        raise AssertionError(op)

    @staticmethod
    def call_builtin(fn: str, args: list[Value], t: DType) -> Value:
        if fn == "select":
            return args[1] if args[0] else args[2]
        if fn == "min":
            return args[1] if args[1] < args[0] else args[0]
        if fn == "max":
            return args[1] if args[1] > args[0] else args[0]
        if fn == "fma":
            return numeric.fma(float(args[0]), float(args[1]), float(args[2]), t)
        if fn == "rint":
            return numeric.rint(float(args[0]))
        if fn == "abs":
            if t.is_float:
                return math.fabs(float(args[0]))
            return numeric.wrap(abs(int(args[0])), t)
        # math functions: numpy's own function in the exact type
        with np.errstate(all="ignore"):
            out = getattr(np, fn)(np.asarray(args[0], dtype=t.np_dtype))
        return float(out)
