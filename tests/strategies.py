"""Hypothesis strategies that generate well-typed kernels as IR."""

from __future__ import annotations

from hypothesis import strategies as st

from tensorize.ir.nodes import (
    Assign,
    Binary,
    BufferDecl,
    Call,
    Cast,
    Const,
    Expr,
    For,
    Function,
    Load,
    Module,
    SizeParam,
    Unary,
    Var,
)
from tensorize.ir.types import SCALAR_TYPES, DType

NUMERIC = [t for t in SCALAR_TYPES.values() if t.is_numeric]


def _leaf(t: DType, other: DType) -> st.SearchStrategy[Expr]:
    loads = st.sampled_from([
        Load("X", (Var("i"), Var("k"))),
        Load("Y", (Var("k"),)),
    ])
    consts = st.integers(0, 3).map(lambda v: Const(v)) if not t.is_float else \
        st.sampled_from([Const(0), Const(1), Const(0.5), Const(-2.25)])
    casted = st.just(Cast(Load("W", (Var("k"),)), t))
    return st.one_of(loads, consts, casted)


def value_exprs(t: DType, other: DType, depth: int = 3) -> st.SearchStrategy[Expr]:
    """Expressions of type ``t`` over X[i, k], Y[k] (type t) and W[k] (type ``other``)."""
    ops = ["+", "-", "*"] + (["&", "|", "^"] if t.is_int else [])

    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        binary = st.tuples(st.sampled_from(ops), children, children).map(
            lambda x: Binary(x[0], x[1], x[2]))
        calls = st.tuples(st.sampled_from(["min", "max"]), children, children).map(
            lambda x: Call(x[0], (x[1], x[2])))
        neg = children.map(lambda c: Unary("-", c))
        sel = st.tuples(children, children, children).map(
            lambda x: Call("select", (Binary("<", Load("Y", (Var("k"),)), x[0]), x[1], x[2])))
        return st.one_of(binary, calls, neg, sel)

    return st.recursive(_leaf(t, other), extend, max_leaves=2 ** depth)


@st.composite
def kernels(draw: st.DrawFn) -> Function:
    """A kernel: Z[i] = init, then a reduction or an update over k, in either loop order."""
    t = draw(st.sampled_from(NUMERIC))
    other = draw(st.sampled_from(NUMERIC))
    m = draw(st.integers(1, 5))
    n = draw(st.integers(1, 6))
    body = draw(value_exprs(t, other))
    op = draw(st.sampled_from(["+", "max", "min", "="]))
    z = Load("Z", (Var("i"),))
    if op == "=":
        update = Assign("Z", (Var("i"),), Binary("+", z, body))
    elif op == "+":
        update = Assign("Z", (Var("i"),), Binary("+", z, body))
    else:
        update = Assign("Z", (Var("i"),), Call(op, (z, body)))
    init = Assign("Z", (Var("i"),), draw(st.sampled_from([Const(0), Load("Y", (Const(0),))])))
    i_outer = draw(st.booleans())
    if i_outer:
        nest = For("i", Const(0), Var("M"), (init, For("k", Const(0), Var("N"), (update,))))
        stmts = (nest,)
    else:
        inits = For("i", Const(0), Var("M"), (init,))
        nest = For("k", Const(0), Var("N"), (For("i", Const(0), Var("M"), (update,)),))
        stmts = (inits, nest)
    buffers = (
        BufferDecl("X", "in", t, (Var("M"), Var("N"))),
        BufferDecl("Y", "in", t, (Var("N"),)),
        BufferDecl("W", "in", other, (Var("N"),)),
        BufferDecl("Z", "out", t, (Var("M"),)),
    )
    return Function("kernel", "gen", (SizeParam("M", m), SizeParam("N", n)), buffers, (), (),
                    stmts)


def modules() -> st.SearchStrategy[Module]:
    """A module holding one generated kernel."""
    return kernels().map(lambda k: Module((k,)))
