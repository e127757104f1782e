"""Calls replaced by the callee's body over their views, for the engine's execution check.

The interpreter runs a call by copying its views into buffers of the callee, running the
callee, and copying the outputs back: for a rewrite of thousands of calls that is most
of the execution check (each call is a separate batch of numpy work). Substituting the
callee's body, its parameters read and written through the views, gives loops the
vectorising interpreter runs as one.

The substitution computes what the call does exactly when copying in and out changes
nothing, which this module requires of every call it inlines (else it inlines none):

- every output view is injective over its dimensions (no element written through two
  lanes) and shares its buffer with no other view of the call (no read of an element
  the call writes, except through the same lane);
- the callee has no ``local`` buffer and no ``assume`` (which a call would check), makes
  no call itself, its sizes are constants, and each view's buffer has the type of its
  parameter (no reinterpretation);
- an ``out`` parameter is zeroed first, as the interpreter does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import (
    Assign,
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
from tensorize.ir.reduction import Loop, injective
from tensorize.ir.traverse import (
    Transformer,
    bound_names,
    calls,
    free_vars,
    substitute_index,
    walk,
)
from tensorize.ir.types import INDEX


class NotInlined(Exception):
    """A call that this module does not inline (the message says why)."""


def inline_calls(fn: Function, library: Mapping[str, Function]) -> Function:
    """``fn`` with every call replaced by its callee's body; raises :class:`NotInlined`
    when a call does not meet the conditions of the module docstring."""
    taken = bound_names(fn) | {v for s in fn.body for v in free_vars(s)}
    inliner = _Inliner(fn, library, taken)
    return replace(fn, body=inliner.block(fn.body))


class _Inliner:
    def __init__(self, fn: Function, library: Mapping[str, Function], taken: set[str]
                 ) -> None:
        self.fn, self.library, self.taken = fn, library, taken
        self.count = 0

    def fresh(self, base: str) -> str:
        while True:
            self.count += 1
            name = f"{base}_{self.count}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def block(self, stmts: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for s in stmts:
            if isinstance(s, For):
                out.append(replace(s, body=self.block(s.body)))
            elif isinstance(s, If):
                out.append(replace(s, then=self.block(s.then), orelse=self.block(s.orelse)))
            elif isinstance(s, CallStmt):
                out.extend(self.call(s))
            else:
                out.append(s)
        return tuple(out)

    def call(self, s: CallStmt) -> tuple[Stmt, ...]:
        callee = self.library.get(s.name)
        if callee is None:
            raise NotInlined(f"no intrinsic '{s.name}'")
        if callee.assumes or any(b.mode == "local" for b in callee.buffers):
            raise NotInlined(f"'{s.name}' has a local buffer or an assumption")
        if calls(callee.body):
            raise NotInlined(f"'{s.name}' makes a call")
        args = {a.name: a.value for a in s.args}
        sizes: dict[str, int] = {}
        for p in callee.params:
            value = args.get(p.name)
            if value is None:
                if p.default is None:
                    raise NotInlined(f"size '{p.name}' of '{s.name}' is not given")
                sizes[p.name] = p.default
                continue
            form = None if isinstance(value, View) else linear_form(value, {})
            if form is None or form.coeffs:
                raise NotInlined(f"size '{p.name}' of '{s.name}' is not a constant")
            sizes[p.name] = form.const
        views: dict[str, tuple[View, tuple[int, ...]]] = {}
        for b in callee.buffers:
            view = args.get(b.name)
            parent = self.fn.buffer(view.buf) if isinstance(view, View) else None
            if not isinstance(view, View) or parent is None or len(view.dims) != len(b.shape):
                raise NotInlined(f"no view of the right rank for '{b.name}'")
            if parent.dtype != b.dtype:
                raise NotInlined(f"the view for '{b.name}' reinterprets its buffer")
            shape = []
            for e in b.shape:
                form = linear_form(e, sizes)
                if form is None or form.coeffs:
                    raise NotInlined(f"the shape of '{b.name}' is not constant")
                shape.append(form.const)
            views[b.name] = (view, tuple(shape))
        for b in callee.outputs:
            view, extents = views[b.name]
            if any(other.buf == view.buf for name, (other, _e) in views.items()
                   if name != b.name):
                raise NotInlined(f"the view for '{b.name}' shares its buffer with another")
            lanes = tuple(Loop(d, 0, n) for d, n in zip(view.dims, extents))
            if not injective(view.index, lanes, {}):
                raise NotInlined(f"the view for '{b.name}' may repeat an element")
        out: list[Stmt] = []
        for b in callee.buffers:
            if b.mode == "out":
                view, extents = views[b.name]
                names = [self.fresh(d) for d in view.dims]
                index = substitute_index(view.index, view.dims,
                                         tuple(Var(n, INDEX) for n in names))
                zero = Const(0.0 if b.dtype.is_float else 0, b.dtype)
                stmt: Stmt = Assign(view.buf, tuple(index), zero, s.span)
                for n, extent in reversed(list(zip(names, extents))):
                    stmt = For(n, Const(0, INDEX), Const(extent, INDEX), (stmt,), s.span)
                out.append(stmt)
        renames = {n.var: self.fresh(n.var) for st in callee.body for n in walk(st)
                   if isinstance(n, For)}
        body = _Body(views, sizes, renames)
        out.extend(body(st) for st in callee.body)
        return tuple(out)


class _Body(Transformer):
    """A callee's statements with its parameters read and written through the views,
    its sizes constant and its loop variables renamed."""

    def __init__(self, views: Mapping[str, tuple[View, tuple[int, ...]]],
                 sizes: Mapping[str, int], renames: Mapping[str, str]) -> None:
        self.views, self.sizes, self.renames = views, sizes, renames

    def visit_Var(self, node: Var) -> Expr:
        if node.name in self.renames:
            return Var(self.renames[node.name], node.dtype, node.span)
        if node.name in self.sizes:
            return Const(self.sizes[node.name], node.dtype, node.span)
        return node

    def visit_For(self, node: For) -> For:
        new = self.generic(node)
        return replace(new, var=self.renames.get(new.var, new.var))

    def _through(self, buf: str, index: tuple[Expr, ...]) -> tuple[str, tuple[Expr, ...]]:
        view, _extents = self.views[buf]
        return view.buf, substitute_index(view.index, view.dims, index)

    def visit_Load(self, node: Load) -> Expr:
        new = self.generic(node)
        buf, index = self._through(new.buf, new.index)
        return replace(new, buf=buf, index=index)

    def visit_Assign(self, node: Assign) -> Assign:
        new = self.generic(node)
        buf, index = self._through(new.buf, new.index)
        return replace(new, buf=buf, index=index)
