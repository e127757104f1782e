"""Window parameters: an intrinsic that reads only a constant-offset window of a
parameter's dimension.

``nvidia.dp2a.hi_s32`` takes a whole 32-bit register ``b: i8[4]`` but reads only its
high bytes, ``b[k + 2]`` for ``k in 0..2``. The matcher gives every dimension of every
parameter a program loop of the dimension's extent, so such a parameter fits no loop of
a program that reads two bytes per step. :func:`narrow` rewrites the intrinsic with the
window as the parameter (``b: i8[2]`` read at ``b[k]``): the candidates, the tile proof
and the validation are made against that narrowed intrinsic; :func:`widen` then turns
each emitted call back into a call of the real intrinsic, the view of the parameter
shifted so that its window is the narrowed view (``(d) -> B[w, 2 + d]`` becomes
``(d) -> B[w, 2 + (d - 2)]``, the whole word ``B[w, 0..4]``). The two calls compute the
same: :func:`narrow` checks that substituting the window back gives exactly the
intrinsic's body, and the widened view agrees with the narrowed one on the window. The
wider view reads elements the program does not; :func:`views_in_bounds` keeps it inside
its buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import (
    Binary,
    BufferDecl,
    CallStmt,
    Const,
    Expr,
    For,
    Function,
    Load,
    Stmt,
    Var,
    View,
)
from tensorize.ir.traverse import Transformer, substitute, walk
from tensorize.ir.types import INDEX


@dataclass(frozen=True)
class Window:
    """Axis ``axis`` of parameter ``param`` is read only at ``offset .. offset + size``
    (of its ``extent``)."""

    param: str
    axis: int
    offset: int
    size: int
    extent: int


def _loop_ranges(fn: Function) -> dict[str, tuple[int, int]]:
    out = {}
    for s in fn.body:
        for n in walk(s):
            if isinstance(n, For) and isinstance(n.lo, Const) and isinstance(n.hi, Const):
                out[n.var] = (int(n.lo.value), int(n.hi.value))
    return out


class _Shift(Transformer):
    """Loads of ``param`` with ``delta`` added to the index on ``axis``."""

    def __init__(self, param: str, axis: int, delta: int) -> None:
        self.param, self.axis, self.delta = param, axis, delta

    def visit_Load(self, node: Load) -> Expr:
        node = self.generic(node)
        if node.buf != self.param:
            return node
        index = list(node.index)
        e = index[self.axis]
        form = linear_form(e)
        if form is not None and not form.coeffs:
            index[self.axis] = Const(form.const + self.delta, INDEX)
        elif isinstance(e, Binary) and e.op == "+" and isinstance(e.rhs, Const) \
                and e.rhs.value == -self.delta:
            index[self.axis] = e.lhs
        elif self.delta > 0:
            index[self.axis] = Binary("+", e, Const(self.delta, INDEX), INDEX)
        else:
            return node
        return replace(node, index=tuple(index))


def _window_of(fn: Function, param: BufferDecl, axis: int,
               ranges: dict[str, tuple[int, int]]) -> Window | None:
    """The window of ``param``'s ``axis`` when every read there is ``v + c`` (one constant
    ``c > 0``, ``v`` a loop of ``0..n``) and ``c + n`` fits the axis."""
    extent = param.shape[axis]
    if not isinstance(extent, Const):
        return None
    offsets, sizes = set(), set()
    for s in fn.body:
        for n in walk(s):
            if isinstance(n, Load) and n.buf == param.name:
                form = linear_form(n.index[axis])
                if form is None or len(form.coeffs) != 1:
                    return None
                (v, coeff), = form.coeffs
                if coeff != 1 or v not in ranges or ranges[v][0] != 0:
                    return None
                offsets.add(form.const)
                sizes.add(ranges[v][1])
    if len(offsets) != 1 or len(sizes) != 1:
        return None
    offset, size = offsets.pop(), sizes.pop()
    if offset <= 0 or offset + size > int(extent.value):
        return None
    return Window(param.name, axis, offset, size, int(extent.value))


def narrow(intr: Function) -> tuple[Function, tuple[Window, ...]] | None:
    """``intr`` with each windowed input parameter cut down to its window (None when it
    has none, or has size parameters): the narrowed intrinsic keeps the name."""
    if intr.params:
        return None
    ranges = _loop_ranges(intr)
    windows = []
    for b in intr.buffers:
        if b.mode != "in":
            continue
        for axis in range(len(b.shape)):
            w = _window_of(intr, b, axis, ranges)
            if w is not None:
                windows.append(w)
    if not windows:
        return None
    body: tuple[Stmt, ...] = intr.body
    buffers = list(intr.buffers)
    for w in windows:
        body = tuple(_Shift(w.param, w.axis, -w.offset)(s) for s in body)
        buffers = [replace(b, shape=tuple(Const(w.size, INDEX) if n == w.axis else e
                                           for n, e in enumerate(b.shape)))
                   if b.name == w.param else b for b in buffers]
    narrowed = replace(intr, buffers=tuple(buffers), body=body)
    back: tuple[Stmt, ...] = narrowed.body
    for w in windows:  # substituting the window back must give the intrinsic exactly
        back = tuple(_Shift(w.param, w.axis, w.offset)(s) for s in back)
    if back != intr.body:
        return None
    return narrowed, tuple(windows)


def widen(stmts: tuple[Stmt, ...], name: str, windows: tuple[Window, ...]
          ) -> tuple[Stmt, ...]:
    """``stmts`` with every call of ``name`` (made against the narrowed intrinsic) a call
    of the real one: each windowed view shifted by its offset on its axis."""
    by_param = {w.param: w for w in windows}

    class _Widen(Transformer):
        def visit_CallStmt(self, node: CallStmt) -> Stmt:
            if node.name != name:
                return node
            args = []
            for a in node.args:
                w = by_param.get(a.name)
                if w is not None and isinstance(a.value, View):
                    d = a.value.dims[w.axis]
                    shifted = Binary("-", Var(d, INDEX), Const(w.offset, INDEX), INDEX)
                    a = replace(a, value=replace(a.value, index=tuple(
                        substitute(e, {d: shifted}) for e in a.value.index)))
                args.append(a)
            return replace(node, args=tuple(args))

    return tuple(_Widen()(s) for s in stmts)


def views_in_bounds(stmts: tuple[Stmt, ...], intr: Function, kernel: Function) -> bool:
    """Whether every view of every call of ``intr`` among ``stmts`` (constant loops)
    stays inside its buffer over the loops around the call and the view's dimensions."""
    shapes = {b.name: b.shape for b in intr.buffers}

    def visit(s: Stmt, ranges: dict[str, tuple[int, int]]) -> bool:
        if isinstance(s, For):
            lo, hi = linear_form(s.lo), linear_form(s.hi)
            if lo is None or hi is None or lo.coeffs or hi.coeffs:
                return False
            if hi.const <= lo.const:
                return True
            inner = dict(ranges) | {s.var: (lo.const, hi.const - 1)}
            return all(visit(x, inner) for x in s.body)
        if isinstance(s, CallStmt) and s.name == intr.name:
            for a in s.args:
                if not isinstance(a.value, View) or a.name not in shapes:
                    continue
                extents = [linear_form(e) for e in shapes[a.name]]
                env = dict(ranges)
                for d, ext in zip(a.value.dims, extents):
                    if ext is None or ext.coeffs:
                        return False
                    env[d] = (0, ext.const - 1)
                decl = kernel.buffer(a.value.buf)
                if decl is None:
                    return False
                for index, size in zip(a.value.index, decl.shape):
                    form, limit = linear_form(index), linear_form(size)
                    if form is None or limit is None or limit.coeffs:
                        return False
                    low = high = form.const
                    for v, c in form.coeffs:
                        if v not in env:
                            return False
                        a_, b_ = c * env[v][0], c * env[v][1]
                        low, high = low + min(a_, b_), high + max(a_, b_)
                    if low < 0 or high >= limit.const:
                        return False
            return True
        return True

    return all(visit(s, {}) for s in stmts)
