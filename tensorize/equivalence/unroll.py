"""Symbolic execution with every loop unrolled: exact, for fragments within a budget.

Both sides run on the same symbolic memory; each output element ends as one term. Used
for tiles (an intrinsic's body is small) and for fragments that are not in the
single-reduction form the parametric prover handles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tensorize.equivalence.memory import Memory
from tensorize.equivalence.smt import Translator
from tensorize.errors import EquivalenceError, TooLarge
from tensorize.ir.interp import bind_sizes, shapes_of
from tensorize.ir.nodes import (
    Assign,
    Assume,
    CallStmt,
    Expr,
    For,
    Function,
    If,
    Load,
    Stmt,
    View,
)
from tensorize.ir.types import DType
from tensorize.smt.fold import simplify
from tensorize.smt.terms import FALSE, TRUE, Term


def strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major strides of a shape."""
    out = []
    acc = 1
    for n in reversed(shape):
        out.append(acc)
        acc *= n
    return tuple(reversed(out))


class Budget:
    """A countdown of statement instances shared by both sides."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.limit = limit

    def spend(self, n: int = 1) -> None:
        self.left -= n
        if self.left < 0:
            raise TooLarge(f"more than {self.limit} statement instances to unroll")


class SymExec:
    """Runs one function symbolically; ``state`` holds the terms written per buffer."""

    def __init__(self, fn: Function, sizes: Mapping[str, int], memory: Memory,
                 library: Mapping[str, Function], budget: Budget, side: int,
                 parent: tuple[SymExec, dict[str, tuple[View, dict[str, int]]]] | None = None,
                 ) -> None:
        self.fn, self.memory, self.library, self.budget, self.side = \
            fn, memory, library, budget, side
        self.sizes = bind_sizes(fn, sizes)
        self.shapes = shapes_of(fn, self.sizes)
        self.strides = {b: strides(s) for b, s in self.shapes.items()}
        self.types = {b.name: b.dtype for b in fn.buffers}
        self.modes = {b.name: b.mode for b in fn.buffers}
        self.assumes: dict[str, list[Assume]] = {}  # every assume: they intersect
        for a in fn.assumes:
            self.assumes.setdefault(a.buf, []).append(a)
        self.state: dict[str, dict[int, Term]] = {}
        self.parent = parent
        self.tr = Translator(memory.mode, self._read)

    # -- memory -----------------------------------------------------------------------
    def offset(self, buf: str, idx: tuple[int, ...]) -> int:
        shape = self.shapes[buf]
        for axis, (i, n) in enumerate(zip(idx, shape)):
            if not 0 <= i < n:
                raise EquivalenceError(f"index {i} out of bounds for dimension {axis} of "
                                       f"'{buf}' (size {n})")
        return sum(i * s for i, s in zip(idx, self.strides[buf]))

    def _via_parent(self, buf: str, idx: tuple[int, ...]) -> tuple[SymExec, str, tuple[int, ...]]:
        assert self.parent is not None
        parent, views = self.parent
        view, env = views[buf]
        local = dict(env)
        local.update(zip(view.dims, idx))
        pidx = tuple(int(parent.tr(e, local)) for e in view.index)
        return parent, view.buf, pidx

    def read_at(self, buf: str, idx: tuple[int, ...]) -> Term:
        """The current value of one element."""
        self.offset(buf, idx)  # bounds
        if self.parent is not None and buf in self.parent[1]:
            parent, pbuf, pidx = self._via_parent(buf, idx)
            return parent.read_at(pbuf, pidx)
        off = self.offset(buf, idx)
        written = self.state.get(buf)
        if written is not None and off in written:
            return written[off]
        if self.modes[buf] == "local":
            zero: Term = self.tr(_zero(self.types[buf]), {})
            return zero
        t = self.types[buf]
        value = self.memory.initial(buf, off, t)
        for a in self.assumes.get(buf, ()):
            self.memory.assume(a, off, value, t, self.side)
        return value

    def write_at(self, buf: str, idx: tuple[int, ...], value: Term) -> None:
        """Store one element."""
        if self.parent is not None and buf in self.parent[1]:
            parent, pbuf, pidx = self._via_parent(buf, idx)
            parent.write_at(pbuf, pidx, value)
            return
        self.state.setdefault(buf, {})[self.offset(buf, idx)] = value

    def _read(self, load: Load, idx: tuple[Any, ...]) -> Term:
        return self.read_at(load.buf, tuple(int(i) for i in idx))

    # -- statements -------------------------------------------------------------------
    def run(self) -> SymExec:
        """Execute the whole body; returns self."""
        self.block(self.fn.body, dict(self.sizes))
        return self

    def block(self, stmts: tuple[Stmt, ...], env: dict[str, int]) -> None:
        for s in stmts:
            self.stmt(s, env)

    def stmt(self, s: Stmt, env: dict[str, int]) -> None:
        self.budget.spend()
        if isinstance(s, Assign):
            idx = tuple(int(self.tr(e, env)) for e in s.index)
            self.write_at(s.buf, idx, self.tr(s.value, env))
        elif isinstance(s, For):
            lo, hi = int(self.tr(s.lo, env)), int(self.tr(s.hi, env))
            for v in range(lo, hi):
                env[s.var] = v
                self.block(s.body, env)
            env.pop(s.var, None)
        elif isinstance(s, If):
            self.block(s.then if self.condition(s, env) else s.orelse, env)
        elif isinstance(s, CallStmt):
            self.call(s, env)
        else:
            raise EquivalenceError(f"cannot execute {type(s).__name__}")

    def condition(self, s: If, env: dict[str, int]) -> bool:
        """An ``if`` condition's value: its indices are all concrete here (conditions
        are affine in indices), so it folds to a literal."""
        cond = self.tr(s.cond, env)
        if not isinstance(cond, Term):
            return bool(cond)
        folded = simplify(cond)
        if folded is not TRUE and folded is not FALSE:
            raise EquivalenceError("an 'if' condition that is not constant when unrolled",
                                   s.span)
        return folded is TRUE

    def call(self, s: CallStmt, env: dict[str, int]) -> None:
        callee = self.library.get(s.name)
        if callee is None:
            raise EquivalenceError(f"unknown intrinsic '{s.name}'", s.span)
        args = {a.name: a.value for a in s.args}
        sizes = {p.name: int(self.tr(args[p.name], env)) for p in callee.params  # type: ignore[arg-type]  # a size argument is an expression, not a view
                 if p.name in args}
        views = {name: (v, dict(env)) for name, v in args.items() if isinstance(v, View)}
        child = SymExec(callee, sizes, self.memory, self.library, self.budget, self.side,
                        parent=(self, views))
        child.run()


def _zero(t: DType) -> Expr:
    from tensorize.ir.nodes import Const

    return Const(0 if not t.is_float else 0.0, t)


def final_value(ex: SymExec, buf: str, offset: int, t: DType) -> Term:
    """What element ``offset`` of ``buf`` holds after ``ex`` ran."""
    written = ex.state.get(buf, {})
    if offset in written:
        return written[offset]
    return ex.memory.initial(buf, offset, t)
