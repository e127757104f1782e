"""Executors that compute one element of one buffer alone, in exact or real semantics.

What confirms a difference cheaply: instead of running a kernel whole, the element's own
writes are run, in program order, and every loop iteration that cannot write it is
skipped (decided from the range of the linear write indices over the inner loops).
"""

from __future__ import annotations

from typing import Any

from tensorize.ir.affine import Linear, linear_form
from tensorize.ir.nodes import Assign, For, Stmt
from tensorize.ir.real_exec import RealExec
from tensorize.ir.scalar_exec import ScalarExec
from tensorize.ir.traverse import walk


class OneElement(ScalarExec):
    """An executor that computes one element of one buffer: it skips every other write
    to that buffer (its value is never evaluated) and every loop iteration that cannot
    write the element (its indices are not evaluated either: the kernels run this way
    have run whole first, which reports an index out of bounds).

    Only for a kernel whose writes are all to that buffer, each statement reading at most
    the element it writes (the reduction and map normal forms of
    :mod:`tensorize.ir.reduction`): then the element's final value depends on its own
    writes alone, in program order, and equals the full run's.
    """

    def __init__(self, *args: Any, target: tuple[str, tuple[int, ...]], **kwargs: Any
                 ) -> None:
        super().__init__(*args, **kwargs)
        self.target = target
        self._key = (target[0], tuple(sorted(self.sizes.items())))

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
        key = (id(s), *self._key)
        found = _PLANS.get(key)
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
        if len(_PLANS) >= 4096:
            _PLANS.clear()
        _PLANS[key] = (s, plan)
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

_PLANS: dict[tuple[int, str, tuple[tuple[str, int], ...]], tuple[For, _Plan | None]] = {}
"""Plans by loop node, target buffer and sizes (the node is kept alive with its entry):
the same tile kernels and intrinsics are run element by element many times."""


class OneElementExec(OneElement):
    """:class:`OneElement` in the exact semantics of :class:`ScalarExec` (IEEE floats,
    wrapping integers): the value a whole run would leave in the element."""


class OneElementRealExec(OneElement, RealExec):
    """:class:`OneElement` in real mode (floats as exact rationals)."""
