"""The rewriter: a plan (:mod:`tensorize.rewrite.plan`) made into statements.

:func:`apply_plan` emits the init nest moved in front, the loops over tiles around one
``call`` with a view per parameter, and the scalar tails; the loop variables are the
program's own for loops outside the tile, the tile loops (which tile) and the views'
dimensions (the position inside a tile). :func:`apply_nest_plan` does the same for a
whole nest's plan. :func:`generalise_fragment` writes the same
statements with their loop bounds in the kernel's size parameters; :func:`bake_sizes`
does the opposite for a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import (
    Assign,
    Binary,
    CallStmt,
    Const,
    Expr,
    For,
    Function,
    If,
    Load,
    Stmt,
    Var,
)
from tensorize.ir.reduction import Reduction
from tensorize.ir.traverse import Transformer, free_vars, walk
from tensorize.ir.types import BOOL, INDEX
from tensorize.matcher.fragments import Fragment
from tensorize.matcher.window import widen
from tensorize.rewrite.plan import NestPlan, Plan, index_add


def _i(value: int) -> Expr:
    return Const(value, INDEX)


def apply_plan(plan: Plan, form: Reduction, *, widened: bool = True) -> tuple[Stmt, ...]:
    """The statements ``plan`` makes of the fragment ``form``: the init nest moved in
    front, the call nest, the scalar tails. ``widened``: each windowed parameter passed
    whole to the real intrinsic (what the kernel gets); else the calls as the tile proof
    sees them, of the narrowed intrinsic (what the validator checks)."""
    stmt: Stmt = CallStmt(plan.match.intrinsic, plan.args)
    for loop in reversed(plan.loops):
        stmt = For(loop.var, _i(loop.lo), _i(loop.hi), (stmt,))
    statements: list[Stmt] = []
    if plan.init is not None:
        statements.append(plan.init)
    statements.append(stmt)
    for box in plan.tails:
        update: Stmt = form.update_statement()
        for x in reversed(box):
            update = For(x.var, _i(x.lo), _i(x.hi), (update,))
        statements.append(update)
    if widened and plan.windows:
        return widen(tuple(statements), plan.match.intrinsic, plan.windows)
    return tuple(statements)


def apply_nest_plan(plan: NestPlan, nest: For) -> tuple[Stmt, ...]:
    """The statement ``plan`` makes of the top-level nest ``nest``: the loops over tiles
    around one call and, with a scalar tail, ``if true { loops over tiles; the nest over
    the tail of its band loop }`` (one statement in the nest's place)."""
    stmt: Stmt = CallStmt(plan.match.intrinsic, plan.args)
    for loop in reversed(plan.loops):
        stmt = For(loop.var, _i(loop.lo), _i(loop.hi), (stmt,))
    if plan.tail is not None:
        tail = replace(nest, lo=_i(plan.tail.lo), hi=_i(plan.tail.hi))
        stmt = If(Const(True, BOOL), (stmt, tail))
    return (stmt,)


class _Bake(Transformer):
    def __init__(self, sizes: Mapping[str, int]) -> None:
        self.sizes = sizes

    def visit_Var(self, node: Var) -> Expr:
        if node.name in self.sizes:
            return Const(self.sizes[node.name], INDEX, span=node.span)
        return node

    def visit_Binary(self, node: Binary) -> Expr:
        node = self.generic(node)
        if node.dtype == INDEX:  # fold what became constant: 18 - 3 + 1 -> 16
            form = linear_form(node)
            if form is not None and not form.coeffs:
                return Const(form.const, INDEX, span=node.span)
        return node


def bake_sizes(kernel: Function, sizes: Mapping[str, int]) -> Function:
    """``kernel`` with its size parameters replaced by their values (and dropped)."""
    return _Bake(sizes)(replace(kernel, params=()))


# -- the rewrite in terms of the kernel's size parameters -------------------------------
def _loop_bounds(stmt: Stmt) -> dict[str, tuple[Expr, Expr]]:
    """The bounds of every loop of ``stmt``, as written (in size parameters)."""
    return {s.var: (s.lo, s.hi) for s in walk(stmt) if isinstance(s, For)}


def _sub(a: Expr, lo: int) -> Expr:
    return a if lo == 0 else Binary("-", a, _i(lo), INDEX)


def _general_enough(original: Stmt, form: Reduction, params: frozenset[str]) -> bool:
    """Whether ``original`` (the fragment as written) depends on its size parameters only
    through loop extents that are never negative, with constant lower bounds, and every
    index component uses at most one loop variable (so that each fact the rewrite
    relies on, checked at the bound sizes, holds at every size)."""
    bounds = _loop_bounds(original)
    loop_vars = {x.var for x in form.loops}
    if set(bounds) != loop_vars or any(
            isinstance(s, For) and (s.lo, s.hi) != bounds[s.var] for s in walk(original)):
        return False  # another loop, or one name bound twice with other bounds
    for lo, hi in bounds.values():
        low = linear_form(lo)
        extent = linear_form(Binary("-", hi, lo, INDEX))
        if low is None or low.coeffs or extent is None or extent.const < 0 or any(
                v not in params or c < 0 for v, c in extent.coeffs):
            return False
    for node in walk(original):
        if isinstance(node, If):
            return False
        if isinstance(node, Assign):
            if free_vars(node.value) & params:
                return False
            index = node.index
        elif isinstance(node, Load):
            index = node.index
        else:
            continue
        for e in index:
            used = free_vars(e)
            if used & params or len(used & loop_vars) > 1:
                return False
    return True


def generalise_fragment(plan: Plan, frag: Fragment, original: Stmt,
                        params: frozenset[str], ordered: bool) -> tuple[Stmt, ...] | None:
    """:func:`apply_plan` with the loop extents written in the kernel's size
    parameters, as the user wrote them: tile counts ``(N - lo) / E`` and scalar tails
    from ``lo + (N - lo) / E * E`` to ``N``, so the rewritten kernel keeps its sizes.

    None when the rewrite would not be right at every size (the caller then keeps the
    rewrite at the bound sizes): a library call (its sizes are the proof's), a fused
    group (it must divide exactly), a loop that may run a negative number of times, a
    size parameter in an index or a value, an index component with two loop variables
    (injectivity would depend on the extents), or a reduction loop in the tile of a
    reduction that must keep its order (a tail of it at another size could reorder an
    element's updates). The caller also checks that these statements, at the bound
    sizes, are exactly the ones validated (and widened, :func:`apply_plan`).
    """
    form = frag.form
    cand = plan.match
    if cand.sizes or any(len(g.vars) > 1 for g in cand.groups):
        return None
    if ordered and any(v in form.reduction for g in cand.groups for v in g.vars):
        return None
    if not _general_enough(original, form, params):
        return None
    bounds = _loop_bounds(original)
    stmt: Stmt = CallStmt(cand.intrinsic, plan.args)
    by_var = {g.vars[0]: g for g in cand.groups}
    starts: dict[str, Expr] = {}
    for loop in reversed(form.loops):
        lo, hi = bounds[loop.var]
        if loop.var in by_var:
            g = by_var[loop.var]
            count = Binary("/", _sub(hi, loop.lo), _i(g.extent), INDEX)
            stmt = For(g.loop, _i(0), count, (stmt,))
            starts[loop.var] = index_add(_i(loop.lo), Binary("*", count, _i(g.extent), INDEX))
        else:
            stmt = For(loop.var, lo, hi, (stmt,))
    statements: list[Stmt] = []
    if form.init is not None:
        init: Stmt = Assign(form.buf, form.init_index or form.index, form.init)
        for x in reversed(form.init_loops):
            init = For(x.var, *bounds[x.var], (init,))
        statements.append(init)
    statements.append(stmt)
    done: list[str] = []
    for x in sorted(form.loops, key=lambda x: x.var in form.reduction):
        if x.var not in starts:
            continue
        update: Stmt = form.update_statement()
        for y in reversed(form.loops):
            lo, hi = bounds[y.var]
            if y.var == x.var:
                update = For(y.var, starts[y.var], hi, (update,))
            elif y.var in done:
                update = For(y.var, lo, starts[y.var], (update,))
            else:
                update = For(y.var, lo, hi, (update,))
        statements.append(update)
        done.append(x.var)
    if plan.windows:
        return widen(tuple(statements), cand.intrinsic, plan.windows)
    return tuple(statements)


def without_empty_loops(stmts: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
    """``stmts`` without the perfect loop nests that run nothing: one of their loops has
    constant bounds and no iteration."""
    def empty(s: Stmt) -> bool:
        while isinstance(s, For):
            if isinstance(s.lo, Const) and isinstance(s.hi, Const) \
                    and s.lo.value >= s.hi.value:
                return True
            if len(s.body) != 1:
                return False
            s = s.body[0]
        return False
    return tuple(s for s in stmts if not empty(s))
