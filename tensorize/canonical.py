"""A canonical form of a kernel for "is this the same program?" questions.

Sizes are baked in, constant index arithmetic is folded, loop variables and view
dimensions are renamed by position (``v0``, ``v1``, ... in order of appearance), and the
kernel's own name is dropped. Two kernels with the same canonical text are the same
program up to the names of bound variables.
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
    If,
    Stmt,
    Var,
    View,
)
from tensorize.ir.printer import format_function
from tensorize.ir.sizes import bind_sizes
from tensorize.ir.traverse import Transformer, substitute
from tensorize.ir.types import INDEX


class _Fold(Transformer):
    """Fold index arithmetic whose operands are non-negative constants."""

    def visit_Binary(self, node: Binary) -> Expr:
        node = self.generic(node)
        lhs, rhs = node.lhs, node.rhs
        if node.dtype != INDEX or not (isinstance(lhs, Const) and isinstance(rhs, Const)):
            return node
        x, y = lhs.value, rhs.value
        if not (isinstance(x, int) and isinstance(y, int)) or x < 0 or y < 0:
            return node
        ops = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y}
        if y > 0:
            ops.update({"/": lambda: x // y, "%": lambda: x % y})
        if node.op not in ops:
            return node
        return Const(ops[node.op](), INDEX, span=node.span)


class _Renamer:
    """Scoped renaming of bound variables, in order of appearance."""

    def __init__(self) -> None:
        self.count = 0

    def fresh(self) -> str:
        self.count += 1
        return f"v{self.count - 1}"

    def stmts(self, body: tuple[Stmt, ...], env: Mapping[str, Expr]) -> tuple[Stmt, ...]:
        return tuple(self.stmt(s, env) for s in body)

    def stmt(self, s: Stmt, env: Mapping[str, Expr]) -> Stmt:
        if isinstance(s, For):
            new = self.fresh()
            inner = {**env, s.var: Var(new, INDEX)}
            return replace(s, var=new, lo=substitute(s.lo, env), hi=substitute(s.hi, env),
                           body=self.stmts(s.body, inner))
        if isinstance(s, If):
            return replace(s, cond=substitute(s.cond, env), then=self.stmts(s.then, env),
                           orelse=self.stmts(s.orelse, env))
        if isinstance(s, CallStmt):
            args = []
            for a in s.args:
                value = a.value
                if isinstance(value, View):
                    dims = tuple(self.fresh() for _ in value.dims)
                    inner = {**env, **{d: Var(n, INDEX) for d, n in zip(value.dims, dims)}}
                    value = replace(value, dims=dims,
                                    index=tuple(substitute(e, inner) for e in value.index))
                else:
                    value = substitute(value, env)
                args.append(Arg(a.name, value, a.span))
            return replace(s, args=tuple(args))
        return substitute(s, env)


def canonical(fn: Function, sizes: Mapping[str, int] | None = None) -> Function:
    """``fn`` with sizes baked in, constants folded and bound variables renamed."""
    from tensorize.rewrite.apply import bake_sizes

    baked = bake_sizes(fn, bind_sizes(fn, sizes))
    folded = _Fold()(baked)
    return replace(folded, name="_", body=_Renamer().stmts(folded.body, {}))


def canonical_text(fn: Function, sizes: Mapping[str, int] | None = None) -> str:
    """The printed canonical form (see :func:`canonical`)."""
    return format_function(canonical(fn, sizes))
