"""The reduction normal form of a kernel: ``W[I] = init; for r: W[I] = W[I] op body``.

A kernel is in this form when its only writes are an optional init statement and one
update statement of the same element ``W[I]``, the update combining the old value with
a term that does not read ``W``. Loop variables that appear in ``I`` are *spatial*; the
others are *reduction* variables. Used by the per-element prover and by the matcher.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import Assign, Binary, Call, Expr, For, Function, Load, Stmt, Unary
from tensorize.ir.traverse import free_vars, loads

REORDERABLE = ("+", "min", "max")


@dataclass(frozen=True)
class Loop:
    """A loop of the nest with constant bounds (after size parameters are bound)."""

    var: str
    lo: int
    hi: int

    @property
    def extent(self) -> int:
        """Number of iterations."""
        return max(self.hi - self.lo, 0)


@dataclass(frozen=True)
class Reduction:
    """A kernel seen as one reduction per output element."""

    buf: str
    index: tuple[Expr, ...]
    op: str
    body: Expr
    loops: tuple[Loop, ...]
    spatial: tuple[str, ...]
    reduction: tuple[str, ...]
    init: Expr | None
    init_index: tuple[Expr, ...] | None
    init_loops: tuple[Loop, ...]

    def loop(self, var: str) -> Loop:
        """The loop of variable ``var``."""
        return next(x for x in self.loops if x.var == var)


def _assigns(stmts: tuple[Stmt, ...], sizes: Mapping[str, int], outer: tuple[Loop, ...],
             out: list[tuple[Assign, tuple[Loop, ...]]]) -> bool:
    for s in stmts:
        if isinstance(s, Assign):
            out.append((s, outer))
        elif isinstance(s, For):
            lo, hi = linear_form(s.lo, sizes), linear_form(s.hi, sizes)
            if lo is None or hi is None or lo.coeffs or hi.coeffs:
                return False
            if not _assigns(s.body, sizes, outer + (Loop(s.var, lo.const, hi.const),), out):
                return False
        else:
            return False  # if / call: not this form
    return True


def _split_update(a: Assign) -> tuple[str, Expr] | None:
    """(op, term) when ``a`` is ``W[I] = W[I] op term`` with term not reading W."""
    v = a.value
    current = Load(a.buf, a.index, v.dtype)
    if isinstance(v, Binary) and v.op in ("+", "-"):
        if v.lhs == current:
            term = v.rhs if v.op == "+" else Unary("-", v.rhs, v.rhs.dtype)
        elif v.rhs == current and v.op == "+":
            term = v.lhs
        else:
            return None
        op = "+"
    elif isinstance(v, Call) and v.fn in ("min", "max") and current in v.args:
        op, term = v.fn, v.args[1] if v.args[0] == current else v.args[0]
    else:
        return None
    if any(x.buf == a.buf for x in loads(term)):
        return None
    return op, term


def reduction_form(fn: Function, sizes: Mapping[str, int]) -> Reduction | None:
    """The reduction normal form of ``fn`` under ``sizes``, or None."""
    found: list[tuple[Assign, tuple[Loop, ...]]] = []
    if not _assigns(fn.body, sizes, (), found) or not 1 <= len(found) <= 2:
        return None
    update, loops = found[-1]
    split = _split_update(update)
    if split is None:
        return None
    op, body = split
    if len({x.var for x in loops}) != len(loops):
        return None
    spatial = tuple(x.var for x in loops if any(x.var in free_vars(e) for e in update.index))
    reduction = tuple(x.var for x in loops if x.var not in spatial)
    init = init_index = None
    init_loops: tuple[Loop, ...] = ()
    if len(found) == 2:
        first, init_loops = found[0]
        if first.buf != update.buf or any(x.buf == first.buf for x in loads(first.value)):
            return None
        init, init_index = first.value, first.index
        if {x.var for x in init_loops} != set().union(*(free_vars(e) for e in first.index)) \
                - set(sizes):
            return None
    return Reduction(update.buf, update.index, op, body, loops, spatial, reduction, init,
                     init_index, init_loops)
