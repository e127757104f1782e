"""The interpreter of ``real`` mode: floats as exact rationals.

This is DESIGN.md's real-mode semantics made executable, the ground truth that real-mode
refutations are checked against: f32 and f64 arithmetic is exact; f16 and bf16
arithmetic, and every narrowing conversion, round to nearest even. Values are
:class:`fractions.Fraction`; NaN, infinities and division by zero have no real meaning and
raise :class:`NotReal`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from tensorize.errors import NotReal
from tensorize.ir import numeric
from tensorize.ir.affine import Linear, linear_form
from tensorize.ir.nodes import Assign, Const, Expr, For, Load, Stmt
from tensorize.ir.scalar_exec import ScalarExec, Value
from tensorize.ir.traverse import walk
from tensorize.ir.types import DType


def narrow(t: DType) -> bool:
    """Whether arithmetic in float type ``t`` rounds in real mode (f16, bf16)."""
    return t.float_format[1] < 24


def to_real(x: float | Fraction) -> Fraction:
    """A finite float as an exact rational."""
    if isinstance(x, Fraction):
        return x
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

    def eval(self, e: Expr, env: dict[str, int]) -> Value:
        t = e.dtype
        if isinstance(e, Const) and t is not None and t.is_float:
            return to_real(numeric.round_to_float(e.value, t))
        if isinstance(e, Load) and t is not None and t.is_float:
            idx = self.index(e.index, env, e.buf, self.shapes[e.buf], e.span)
            return to_real(self.mem[e.buf][idx])
        return super().eval(e, env)

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


class OneElementRealExec(RealExec):
    """:class:`RealExec` that computes one element of one buffer and skips every other
    write to that buffer (their values are never evaluated, their indices still are).

    Only for a kernel whose writes are all to that buffer, each statement reading at most
    the element it writes (the reduction and map normal forms of
    :mod:`tensorize.ir.reduction`): then the element's final value depends on its own
    writes alone, in program order, and equals the full run's.
    """

    def __init__(self, *args: Any, target: tuple[str, tuple[int, ...]], **kwargs: Any
                 ) -> None:
        super().__init__(*args, **kwargs)
        self.target = target
        self._plans: dict[int, tuple[For, _Plan | None]] = {}

    def stmt(self, s: Stmt, env: dict[str, int]) -> None:
        if isinstance(s, Assign) and s.buf == self.target[0]:
            idx = self.index(s.index, env, s.buf, self.shapes[s.buf], s.span)
            if idx != self.target[1]:
                return
        if isinstance(s, For):
            plan = self._plan(s)
            if plan is not None:
                lo, hi = self.eval(s.lo, env), self.eval(s.hi, env)
                for v in range(lo, hi):  # type: ignore[arg-type]  # loop bounds are index values
                    env[s.var] = v
                    if self._may_reach(plan, env):
                        self.block(s.body, env)
                env.pop(s.var, None)
                return
        super().stmt(s, env)

    # -- skipping iterations that cannot write the element ------------------------------
    # The kernels run here have already run whole (the IEEE screening), so an index out
    # of bounds in a skipped iteration would have been reported there.
    def _plan(self, s: For) -> _Plan | None:
        """For a loop whose variable the target's write indices use: those indices in
        linear form and the constant ranges of the loops inside (None: no skipping)."""
        found = self._plans.get(id(s))
        if found is not None and found[0] is s:  # the node is kept alive with its entry
            return found[1]
        forms: list[tuple[Linear, ...]] = []
        inner: dict[str, tuple[int, int]] = {}
        plan: _Plan | None = (forms, inner)
        for node in walk(s):
            if isinstance(node, For) and node is not s:
                lo, hi = linear_form(node.lo, self.sizes), linear_form(node.hi, self.sizes)
                if lo is None or hi is None or lo.coeffs or hi.coeffs:
                    plan = None
                    break
                inner[node.var] = (lo.const, hi.const - 1)
            elif isinstance(node, Assign) and node.buf == self.target[0]:
                form = tuple(linear_form(e, self.sizes) for e in node.index)
                if any(f is None for f in form):
                    plan = None
                    break
                forms.append(form)  # type: ignore[arg-type]  # None was ruled out above
        if plan is not None and not any(s.var in f.variables for form in forms
                                        for f in form):
            plan = None  # the loop does not choose the element: nothing to skip
        self._plans[id(s)] = (s, plan)
        return plan

    def _may_reach(self, plan: _Plan, env: dict[str, int]) -> bool:
        """Whether some write of ``plan`` may hit the target, the loops outside fixed at
        ``env`` and those inside over their ranges (interval bounds of linear indices)."""
        forms, inner = plan
        for form in forms:
            hit = True
            for f, want in zip(form, self.target[1]):
                low = high = f.const
                for var, c in f.coeffs:
                    if var in env:
                        low += c * env[var]
                        high += c * env[var]
                    elif var in inner:
                        a, b = c * inner[var][0], c * inner[var][1]
                        low, high = low + min(a, b), high + max(a, b)
                    else:
                        return True
                if not low <= want <= high:
                    hit = False
                    break
            if hit:
                return True
        return False


_Plan = tuple[list[tuple[Linear, ...]], dict[str, tuple[int, int]]]
"""The target's write indices under a loop, in linear form, and its inner loops' ranges."""


def to_object_array(arr: np.ndarray) -> np.ndarray:
    """A float array as an object array of exact rationals."""
    flat = [to_real(float(v)) for v in np.asarray(arr).reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(np.asarray(arr).shape)
