"""Hypothesis strategies that generate well-typed kernels as parsed IR (check them)."""

from __future__ import annotations

from hypothesis import strategies as st

from tensorize.ir.syntax import (
    ParsedAssign,
    ParsedBinary,
    ParsedBufferDecl,
    ParsedCall,
    ParsedCast,
    ParsedConst,
    ParsedExpr,
    ParsedFor,
    ParsedFunction,
    ParsedLoad,
    ParsedModule,
    ParsedUnary,
    ParsedVar,
    SizeParam,
)
from tensorize.ir.types import SCALAR_TYPES, DType

NUMERIC = [t for t in SCALAR_TYPES.values() if t.is_numeric]


def _leaf(t: DType, other: DType) -> st.SearchStrategy[ParsedExpr]:
    loads = st.sampled_from([
        ParsedLoad("X", (ParsedVar("i"), ParsedVar("k"))),
        ParsedLoad("Y", (ParsedVar("k"),)),
    ])
    consts = st.integers(0, 3).map(lambda v: ParsedConst(v)) if not t.is_float else \
        st.sampled_from([ParsedConst(0), ParsedConst(1), ParsedConst(0.5), ParsedConst(-2.25)])
    casted = st.just(ParsedCast(ParsedLoad("W", (ParsedVar("k"),)), t))
    return st.one_of(loads, consts, casted)


def value_exprs(t: DType, other: DType, depth: int = 3) -> st.SearchStrategy[ParsedExpr]:
    """Expressions of type ``t`` over X[i, k], Y[k] (type t) and W[k] (type ``other``)."""
    ops = ["+", "-", "*"] + (["&", "|", "^"] if t.is_int else [])

    def extend(children: st.SearchStrategy[ParsedExpr]) -> st.SearchStrategy[ParsedExpr]:
        binary = st.tuples(st.sampled_from(ops), children, children).map(
            lambda x: ParsedBinary(x[0], x[1], x[2]))
        calls = st.tuples(st.sampled_from(["min", "max"]), children, children).map(
            lambda x: ParsedCall(x[0], (x[1], x[2])))
        neg = children.map(lambda c: ParsedUnary("-", c))
        sel = st.tuples(children, children, children).map(
            lambda x: ParsedCall("select", (ParsedBinary("<", ParsedLoad("Y", (ParsedVar("k"),)),
                                                         x[0]), x[1], x[2])))
        return st.one_of(binary, calls, neg, sel)

    return st.recursive(_leaf(t, other), extend, max_leaves=2 ** depth)


@st.composite
def kernels(draw: st.DrawFn) -> ParsedFunction:
    """A kernel: Z[i] = init, then a reduction or an update over k, in either loop order."""
    t = draw(st.sampled_from(NUMERIC))
    other = draw(st.sampled_from(NUMERIC))
    m = draw(st.integers(1, 5))
    n = draw(st.integers(1, 6))
    body = draw(value_exprs(t, other))
    op = draw(st.sampled_from(["+", "max", "min", "="]))
    z = ParsedLoad("Z", (ParsedVar("i"),))
    if op == "=":
        update = ParsedAssign("Z", (ParsedVar("i"),), ParsedBinary("+", z, body))
    elif op == "+":
        update = ParsedAssign("Z", (ParsedVar("i"),), ParsedBinary("+", z, body))
    else:
        update = ParsedAssign("Z", (ParsedVar("i"),), ParsedCall(op, (z, body)))
    zero = ParsedConst(0)
    init = ParsedAssign("Z", (ParsedVar("i"),),
                        draw(st.sampled_from([zero, ParsedLoad("Y", (zero,))])))
    i_outer = draw(st.booleans())
    if i_outer:
        nest = ParsedFor("i", zero, ParsedVar("M"),
                         (init, ParsedFor("k", zero, ParsedVar("N"), (update,))))
        stmts = (nest,)
    else:
        inits = ParsedFor("i", zero, ParsedVar("M"), (init,))
        nest = ParsedFor("k", zero, ParsedVar("N"),
                         (ParsedFor("i", zero, ParsedVar("M"), (update,)),))
        stmts = (inits, nest)
    buffers = (
        ParsedBufferDecl("X", "in", t, (ParsedVar("M"), ParsedVar("N"))),
        ParsedBufferDecl("Y", "in", t, (ParsedVar("N"),)),
        ParsedBufferDecl("W", "in", other, (ParsedVar("N"),)),
        ParsedBufferDecl("Z", "out", t, (ParsedVar("M"),)),
    )
    return ParsedFunction("kernel", "gen", (SizeParam("M", m), SizeParam("N", n)), buffers, (), (),
                    stmts)


def modules() -> st.SearchStrategy[ParsedModule]:
    """A module holding one generated kernel."""
    return kernels().map(lambda k: ParsedModule((k,)))
