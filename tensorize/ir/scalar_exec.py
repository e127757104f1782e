"""The scalar interpreter: one statement instance at a time, obviously right.

Values are Python ints, bools and floats; every operation goes through the exact
reference semantics of :mod:`tensorize.ir.numeric`. It is the reference the vectorised
interpreter is tested against, and the fallback for anything that one cannot vectorise.
"""

from __future__ import annotations

import math
import operator
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


Compiled = Callable[["ScalarExec", dict[str, int]], Value]
"""An expression compiled for one executor class: its value for an executor and an
environment (what ``eval`` of the expression gives)."""

_COMPILED: dict[tuple[type, int], tuple[Expr, Compiled]] = {}
"""Compiled expressions by executor class and expression (its identity: the entry keeps
the expression alive)."""

_COMPILED_LIMIT = 1 << 16

_COMPILED_INDEX: dict[tuple[type, int], tuple[tuple[Expr, ...], tuple[Compiled, ...]]] = {}
"""Compiled index tuples by executor class and tuple (its identity, kept alive)."""

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}


def _raiser(exc: BaseException) -> Compiled:
    """A compiled expression that raises ``exc`` when evaluated (what ``eval`` did)."""
    def run(ex: ScalarExec, env: dict[str, int]) -> Value:
        raise exc
    return run


class ScalarExec:
    """Executes one function's body on a memory of arrays (or views), statement by statement.

    Expressions are compiled once (per executor class) into Python closures that compute
    exactly what the reference :meth:`eval_reference` does, without dispatching on the
    node type at every evaluation.
    """

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
            value = self.compiled(s.value)(self, env)
            if isinstance(value, float) and math.isnan(value):
                value = math.nan  # one NaN: see tensorize.ir.numeric
            self.mem[s.buf][idx] = value
        elif isinstance(s, For):
            lo, hi = self.compiled(s.lo)(self, env), self.compiled(s.hi)(self, env)
            body, var, block = s.body, s.var, self.block
            for v in range(lo, hi):  # type: ignore[arg-type]  # loop bounds are index values
                env[var] = v
                block(body, env)
            env.pop(var, None)
        elif isinstance(s, If):
            self.block(s.then if self.compiled(s.cond)(self, env) else s.orelse, env)
        elif isinstance(s, CallStmt):
            self._call(self, s, env, ())
        else:
            raise AssertionError(type(s).__name__)

    def index(self, index: tuple[Expr, ...], env: dict[str, int], buf: str,
              shape: tuple[int, ...], span: Span | None) -> tuple[int, ...]:
        """Evaluate and bounds-check an index tuple."""
        found = _COMPILED_INDEX.get((type(self), id(index)))
        if found is None or found[0] is not index:
            found = (index, tuple([self.compiled(e) for e in index]))
            if len(_COMPILED_INDEX) >= _COMPILED_LIMIT:
                _COMPILED_INDEX.clear()
            _COMPILED_INDEX[(type(self), id(index))] = found
        idx = tuple([int(f(self, env)) for f in found[1]])
        for axis, (i, n) in enumerate(zip(idx, shape)):
            if not 0 <= i < n:
                raise InterpError(f"index {i} out of bounds for dimension {axis} of '{buf}' "
                                  f"(size {n})", span)
        return idx

    # -- expressions ------------------------------------------------------------------
    def eval(self, e: Expr, env: dict[str, int]) -> Value:
        """The value of ``e`` in ``env`` (by its compiled form)."""
        return self.compiled(e)(self, env)

    def compiled(self, e: Expr) -> Compiled:
        """``e`` compiled for this executor's class (made once, then looked up)."""
        found = _COMPILED.get((type(self), id(e)))
        if found is not None and found[0] is e:
            return found[1]
        fn = type(self).compile(e)
        if len(_COMPILED) >= _COMPILED_LIMIT:
            _COMPILED.clear()
        _COMPILED[(type(self), id(e))] = (e, fn)
        return fn

    @classmethod
    def compile(cls, e: Expr) -> Compiled:
        """A closure computing what :meth:`eval_reference` computes for ``e``, with this
        class's semantics (its ``cast``, ``unary``, ``binary`` and ``call_builtin``)."""
        t = e.dtype
        if isinstance(e, Const):
            try:
                value = numeric.round_to_float(e.value, t) if t.is_float else e.value
            except Exception as exc:  # noqa: BLE001 - raised when evaluated, as before
                return _raiser(exc)
            return lambda ex, env: value
        if isinstance(e, Var):
            name = e.name
            return lambda ex, env: env[name]
        if isinstance(e, Load):
            return cls._compile_load(e, to_python)
        if isinstance(e, Cast):
            src = e.operand.dtype
            operand, cast, saturate = cls.compile(e.operand), cls.cast, e.saturate
            return lambda ex, env: cast(operand(ex, env), src, t, saturate)
        if isinstance(e, Unary):
            operand, unary, op = cls.compile(e.operand), cls.unary, e.op
            return lambda ex, env: unary(op, operand(ex, env), t)
        if isinstance(e, Binary):
            lhs, rhs = cls.compile(e.lhs), cls.compile(e.rhs)
            if e.op == "&&":
                return lambda ex, env: bool(lhs(ex, env)) and bool(rhs(ex, env))
            if e.op == "||":
                return lambda ex, env: bool(lhs(ex, env)) or bool(rhs(ex, env))
            binary = cls.binary_function(e.op, e.lhs.dtype, e.span)
            return lambda ex, env: binary(lhs(ex, env), rhs(ex, env))
        if isinstance(e, Call):
            args = [cls.compile(a) for a in e.args]
            call, fn = cls.call_builtin, e.fn
            return lambda ex, env: call(fn, [a(ex, env) for a in args], t)
        return _raiser(AssertionError(type(e).__name__))

    @classmethod
    def _compile_load(cls, e: Load, convert: Callable[[Any, DType], Value]) -> Compiled:
        """A load: its index evaluated and bounds-checked, the element converted."""
        index = [cls.compile(i) for i in e.index]
        buf, span = e.buf, e.span

        def load(ex: ScalarExec, env: dict[str, int]) -> Value:
            idx = tuple([int(i(ex, env)) for i in index])
            shape = ex.shapes[buf]
            for i, n in zip(idx, shape):
                if not 0 <= i < n:
                    ex.index(e.index, env, buf, shape, span)  # raises the error
            return convert(ex.mem[buf][idx], ex.types[buf])
        return load

    @classmethod
    def binary_function(cls, op: str, t: DType, span: Span | None
                        ) -> Callable[[Value, Value], Value]:
        """``binary(op, a, b, t, span)`` as a function of ``a`` and ``b`` alone."""
        compare = _COMPARE.get(op)
        if compare is not None:
            return compare
        if t.is_index:
            if op == "+":
                return lambda a, b: int(a) + int(b)
            if op == "-":
                return lambda a, b: int(a) - int(b)
            if op == "*":
                return lambda a, b: int(a) * int(b)
        elif t.is_float:
            if op in ("+", "-", "*", "/"):
                float_binop = numeric.float_binop
                return lambda a, b: float_binop(op, float(a), float(b), t)
        elif op in ("+", "-", "*", "&", "|", "^"):
            wrap = numeric.wrap
            arith: Callable[[Any, Any], Any] = {
                "+": operator.add, "-": operator.sub, "*": operator.mul,
                "&": operator.and_, "|": operator.or_, "^": operator.xor}[op]
            return lambda a, b: wrap(arith(int(a), int(b)), t)
        binary = cls.binary
        return lambda a, b: binary(op, a, b, t, span)

    def eval_reference(self, e: Expr, env: dict[str, int]) -> Value:
        """The value of ``e`` by dispatching on node types at every step (the reference
        the compiled form is tested against)."""
        t = e.dtype
        if isinstance(e, Const):
            if t.is_float:
                return numeric.round_to_float(e.value, t)
            return e.value
        if isinstance(e, Var):
            return env[e.name]
        if isinstance(e, Load):
            idx = self.index_reference(e.index, env, e.buf, self.shapes[e.buf], e.span)
            return to_python(self.mem[e.buf][idx], self.types[e.buf])
        if isinstance(e, Cast):
            return self.cast(self.eval_reference(e.operand, env), e.operand.dtype, t,
                             e.saturate)
        if isinstance(e, Unary):
            x = self.eval_reference(e.operand, env)
            return self.unary(e.op, x, t)
        if isinstance(e, Binary):
            if e.op == "&&":
                return bool(self.eval_reference(e.lhs, env)) and \
                    bool(self.eval_reference(e.rhs, env))
            if e.op == "||":
                return bool(self.eval_reference(e.lhs, env)) or \
                    bool(self.eval_reference(e.rhs, env))
            a, b = self.eval_reference(e.lhs, env), self.eval_reference(e.rhs, env)
            return self.binary(e.op, a, b, e.lhs.dtype, e.span)
        if isinstance(e, Call):
            args = [self.eval_reference(a, env) for a in e.args]
            return self.call_builtin(e.fn, args, t)
        raise AssertionError(type(e).__name__)

    def index_reference(self, index: tuple[Expr, ...], env: dict[str, int], buf: str,
                        shape: tuple[int, ...], span: Span | None) -> tuple[int, ...]:
        """:meth:`index` by :meth:`eval_reference`."""
        idx = tuple(int(self.eval_reference(e, env)) for e in index)
        for axis, (i, n) in enumerate(zip(idx, shape)):
            if not 0 <= i < n:
                raise InterpError(f"index {i} out of bounds for dimension {axis} of '{buf}' "
                                  f"(size {n})", span)
        return idx

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
