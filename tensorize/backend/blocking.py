"""Register blocking: unroll-and-jam of the outermost loop of a call nest.

A rewritten nest ``for i { for jo { for ko { call(c = C[i, ...]) } } }`` becomes
``for io { for jo { for ko { call(i = f*io); ...; call(i = f*io + f-1) } } }`` plus a tail
loop over the rows left: the ``f`` calls of one step share their inputs (the packed
operand is loaded and widened once) and keep ``f`` accumulator tiles live across the
reduction loop.

The rewrite only reorders calls, so it is valid when the iterations of the unrolled loop
are independent: the same test as for threads (:func:`tensorize.backend.parallel.
parallel_loop`: every buffer written in the nest is partitioned by the loop variable),
checked on the nest before it is transformed. The factor comes from a small register
model (:func:`block_factor`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from tensorize.backend.parallel import parallel_loop
from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import Arg, Binary, CallStmt, Const, Expr, For, Function, Stmt, Var, View
from tensorize.ir.traverse import bound_names, substitute
from tensorize.ir.types import INDEX

VECTOR_REGISTERS = 16
"""Architectural vector registers (x86-64 AVX2: 16 ymm; AVX-512 has 32, used as 16 here)."""

VECTOR_BYTES = 32
"""Bytes of one vector register the accumulators are counted in (ymm)."""


def block_factor(callee: Function) -> int:
    """How many calls to jam: the largest of 6, 4, 2 whose accumulators (the intrinsic's
    ``inout`` views, in vector registers) plus 4 registers for operands fit in
    :data:`VECTOR_REGISTERS`; 1 when none does."""
    acc_bytes = 0
    for b in callee.buffers:
        if b.mode in ("inout", "out"):
            n = 1
            for e in b.shape:
                form = linear_form(e, {p.name: p.default for p in callee.params
                                       if p.default is not None})
                if form is None or form.coeffs:
                    return 1
                n *= form.const
            acc_bytes += n * max(b.dtype.bits // 8, 1)
    regs = max(1, -(-acc_bytes // VECTOR_BYTES))
    for f in (6, 4, 2):
        if f * regs + 4 <= VECTOR_REGISTERS:
            return f
    return 1


def _subst_call(call: CallStmt, var: str, value: Expr) -> CallStmt:
    args = []
    for a in call.args:
        v = a.value
        if isinstance(v, View):
            v = replace(v, index=tuple(substitute(e, {var: value}) for e in v.index))
        else:
            v = substitute(v, {var: value})
        args.append(Arg(a.name, v, a.span))
    return replace(call, args=tuple(args))


def unroll_and_jam(fn: Function, library: Mapping[str, Function]) -> tuple[Function, int]:
    """``fn`` with each call nest's outermost loop unrolled and jammed; how many nests."""
    taken = bound_names(fn)
    body: list[Stmt] = []
    count = 0
    for stmt in fn.body:
        loops: list[For] = []
        s: Stmt = stmt
        while isinstance(s, For) and len(s.body) == 1:
            loops.append(s)
            s = s.body[0]
        callee = library.get(s.name) if isinstance(s, CallStmt) else None
        if callee is None or len(loops) < 2 or not isinstance(s, CallStmt):
            body.append(stmt)
            continue
        outer = loops[0]
        lo, hi = linear_form(outer.lo, {}), linear_form(outer.hi, {})
        factor = block_factor(callee)
        if lo is None or hi is None or lo.coeffs or hi.coeffs or factor == 1 or \
                hi.const - lo.const < factor or not parallel_loop(outer, fn, {}, library):
            body.append(stmt)
            continue
        blocks = (hi.const - lo.const) // factor
        vo = outer.var + "_b"
        while vo in taken:
            vo += "_"
        taken.add(vo)
        calls: list[Stmt] = []
        for u in range(factor):
            value = Binary("+", Binary("*", Const(factor, INDEX), Var(vo, INDEX), INDEX),
                           Const(lo.const + u, INDEX), INDEX)
            calls.append(_subst_call(s, outer.var, value))
        inner: tuple[Stmt, ...] = tuple(calls)
        for f in reversed(loops[1:]):
            inner = (replace(f, body=inner),)
        body.append(For(vo, Const(0, INDEX), Const(blocks, INDEX), inner, outer.span))
        if blocks * factor < hi.const - lo.const:
            body.append(replace(outer, lo=Const(lo.const + blocks * factor, INDEX)))
        count += 1
    if not count:
        return fn, 0
    return replace(fn, body=tuple(body)), count
