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

from tensorize.ir.nodes import (
    Arg,
    Binary,
    CallStmt,
    Const,
    Expr,
    For,
    Function,
    Stmt,
    Var,
    View,
)
from tensorize.ir.reduction import Loop, Reduction
from tensorize.ir.traverse import Transformer, substitute
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
            from tensorize.ir.affine import linear_form

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
