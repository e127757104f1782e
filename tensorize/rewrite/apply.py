"""Apply a candidate: split the tile loops, put a ``call`` with views in the nest, keep
the left-over iterations as a scalar tail, and move the init statement out in front.

The loop variables of the rewritten nest are the program's own for loops outside the
tile, ``<name>o`` for the tile loops (which tile), and the views' dimensions (the
position inside a tile, named after the tile loop). :func:`program_point` gives each
original loop variable as an expression of these: the map the validator checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import (
    Arg,
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
    View,
)
from tensorize.ir.reduction import Loop, Reduction
from tensorize.ir.traverse import Transformer, free_vars, substitute, walk
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import Candidate, Group
from tensorize.matcher.fragments import Fragment


def _i(value: int) -> Expr:
    return Const(value, INDEX)


def _v(name: str) -> Expr:
    return Var(name, INDEX)


def _add(a: Expr, b: Expr) -> Expr:
    if isinstance(b, Const) and b.value == 0:
        return a
    if isinstance(a, Const) and a.value == 0:
        return b
    return Binary("+", a, b, INDEX)


def _mul(k: int, a: Expr) -> Expr:
    return a if k == 1 else Binary("*", _i(k), a, INDEX)


def program_point(cand: Candidate, form: Reduction) -> dict[str, Expr]:
    """Each tile loop's program variable in terms of the tile loop and the view dims."""
    return group_point(cand.groups, form)


def group_point(groups: tuple[Group, ...], form: Reduction) -> dict[str, Expr]:
    """The mixed-radix map of :func:`program_point` for ``groups``.

    For a group of loops ``v1..vn`` (outer to inner) and tile extent ``E``, the fused
    position ``E * loop + dim`` is split into digits: ``v_m = (fused / inner_m) % ext_m +
    lo_m``, where ``inner_m`` is the product of the extents inside ``v_m`` (no ``%`` for
    ``v1``). When ``fused`` ranges over ``0..ext_1*...*ext_n`` this is a bijection onto
    the loops' box.
    """
    out: dict[str, Expr] = {}
    for g in groups:
        fused = _add(_mul(g.extent, _v(g.loop)), _v(g.dim))
        inner = 1
        for v in reversed(g.vars):
            loop = form.loop(v)
            part = fused if inner == 1 else Binary("/", fused, _i(inner), INDEX)
            if v != g.vars[0]:
                part = Binary("%", part, _i(loop.extent), INDEX)
            out[v] = _add(part, _i(loop.lo))
            inner *= loop.extent
    return out


def _view(index: tuple[Expr, ...], groups: tuple[Group, ...], buf: str,
          point: Mapping[str, Expr]) -> View:
    return View(tuple(g.dim for g in groups), buf,
                tuple(substitute(e, point) for e in index))


def rewrite_fragment(cand: Candidate, frag: Fragment, intr: Function) -> tuple[Stmt, ...]:
    """The statements that replace the fragment: init nest, call nest, scalar tail."""
    form = frag.form
    point = program_point(cand, form)
    dims = dict(cand.dims)
    out_param = next(b.name for b in intr.buffers if b.mode in ("out", "inout"))
    args = [Arg(name, _i(value)) for name, value in cand.sizes]  # a library call's sizes
    args.append(Arg(out_param, _view(form.index, dims[out_param], form.buf, point)))
    for p, x in cand.pairing:
        args.append(Arg(p, _view(cand.site(p), dims[p], x, point)))
    stmt: Stmt = CallStmt(intr.name, tuple(args))
    first_of = {g.vars[0]: g for g in cand.groups}
    in_tile = {v for g in cand.groups for v in g.vars}
    for loop in reversed(form.loops):
        if loop.var in first_of:
            g = first_of[loop.var]
            total = 1
            for v in g.vars:
                total *= form.loop(v).extent
            stmt = For(g.loop, _i(0), _i(total // g.extent), (stmt,))
        elif loop.var not in in_tile:
            stmt = For(loop.var, _i(loop.lo), _i(loop.hi), (stmt,))
    statements: list[Stmt] = []
    init = form.init_nest()
    if init is not None:
        statements.append(init)
    statements.append(stmt)
    for box in tail_boxes(form, cand.tails):
        update: Stmt = form.update_statement()
        for loop in reversed(box):
            update = For(loop.var, _i(loop.lo), _i(loop.hi), (update,))
        statements.append(update)
    return tuple(statements)


def tail_boxes(form: Reduction, tails: tuple[tuple[str, int, int], ...]
               ) -> list[tuple[Loop, ...]]:
    """The original loops over the iterations no call computes, as disjoint boxes.

    With remainders ``v_k in start_k..hi_k`` (spatial loops first, then reduction loops,
    each in loop order), box ``k`` runs ``v_k`` over its remainder, the loops of the
    earlier remainders over their full tiles only (``lo..start``), and every other loop
    over its whole range: together the complement of the full tiles, each iteration once.
    Reduction remainders come last so that, when the group of a single reduction loop has
    a tail, every output element still receives its updates in the program's order: the
    elements of a spatial remainder all in their own box, the others from the calls and
    then from the reduction's box.
    """
    boxes = []
    remainders = {v: start for v, start, _stop in tails}
    done: list[str] = []
    for x in sorted(form.loops, key=lambda x: x.var in form.reduction):
        if x.var not in remainders:
            continue
        box = []
        for y in form.loops:
            if y.var == x.var:
                box.append(Loop(y.var, remainders[y.var], y.hi))
            elif y.var in done:
                box.append(Loop(y.var, y.lo, remainders[y.var]))
            else:
                box.append(y)
        boxes.append(tuple(box))
        done.append(x.var)
    return boxes


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


def rewrite_kernel(kernel: Function,
                   chosen: Mapping[int, tuple[Candidate, Fragment, Function]]) -> Function:
    """The (size-baked) kernel with each chosen fragment, by position, replaced."""
    body: list[Stmt] = []
    for position, stmt in enumerate(kernel.body):
        if position in chosen:
            cand, frag, intr = chosen[position]
            body.extend(rewrite_fragment(cand, frag, intr))
        else:
            body.append(stmt)
    return replace(kernel, body=tuple(body))


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


def generalise_fragment(cand: Candidate, frag: Fragment, intr: Function, original: Stmt,
                        params: frozenset[str], ordered: bool) -> tuple[Stmt, ...] | None:
    """:func:`rewrite_fragment` with the loop extents written in the kernel's size
    parameters, as the user wrote them: tile counts ``(N - lo) / E`` and scalar tails
    from ``lo + (N - lo) / E * E`` to ``N``, so the rewritten kernel keeps its sizes.

    None when the rewrite would not be right at every size (the caller then keeps the
    rewrite at the bound sizes): a library call (its sizes are the proof's), a fused
    group (it must divide exactly), a loop that may run a negative number of times, a
    size parameter in an index or a value, an index component with two loop variables
    (injectivity would depend on the extents), or a reduction loop in the tile of a
    reduction that must keep its order (a tail of it at another size could reorder an
    element's updates). The caller also checks that these statements, at the bound
    sizes, are exactly the ones validated.
    """
    form = frag.form
    if cand.sizes or any(len(g.vars) > 1 for g in cand.groups):
        return None
    if ordered and any(v in form.reduction for g in cand.groups for v in g.vars):
        return None
    if not _general_enough(original, form, params):
        return None
    bounds = _loop_bounds(original)
    point = program_point(cand, form)
    dims = dict(cand.dims)
    out_param = next(b.name for b in intr.buffers if b.mode in ("out", "inout"))
    views = {out_param: _view(form.index, dims[out_param], form.buf, point)}
    for p, buf in cand.pairing:
        views[p] = _view(cand.site(p), dims[p], buf, point)
    stmt: Stmt = CallStmt(intr.name, tuple(Arg(b.name, views[b.name]) for b in intr.buffers
                                           if b.name in views))
    by_var = {g.vars[0]: g for g in cand.groups}
    starts: dict[str, Expr] = {}
    for loop in reversed(form.loops):
        lo, hi = bounds[loop.var]
        if loop.var in by_var:
            g = by_var[loop.var]
            count = Binary("/", _sub(hi, loop.lo), _i(g.extent), INDEX)
            stmt = For(g.loop, _i(0), count, (stmt,))
            starts[loop.var] = _add(_i(loop.lo), Binary("*", count, _i(g.extent), INDEX))
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
