"""Whole-nest matching: one top-level loop nest of a kernel computed by one call.

Some intrinsics are not one update or one elementwise statement but a whole nest of
their own: ``gemmini.matmul_preload`` (``c = d`` then ``c += a b``: an init read from
another buffer), ``onednn.sgemm_bias_relu`` (a local accumulator started from the bias,
then ``C = max(acc, 0)``). Such an intrinsic has an ``out`` output and more than one
assignment (or a ``local``). A top-level nest of the kernel matches it as a whole: each
buffer the nest uses is bound to one parameter (written buffers to outputs, read-only
buffers to inputs, element types equal), a library call's sizes are bound to the nest's
loop extents, and every view is a whole buffer of exactly the parameter's shape, so one
call replaces the nest.

The *nest kernel* of a candidate is the program's nest itself with its buffers renamed to
the intrinsic's parameters (the kernel's own ``local`` buffers that only this nest uses
become its locals). Whether the call computes what the nest does is then the equivalence
engine's question, asked by the engine: the nest kernel must equal the intrinsic (for every
initial content of every buffer), and the intrinsic's result must not depend on the
initial contents of its ``out`` buffers, which a call starts at zero. :func:`check_call`
re-derives the nest kernel from an emitted call (whole-buffer views, the proved sizes,
no output bound twice) so that the rewrite checked is the one proved.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from tensorize.ir.nodes import (
    Arg,
    Assign,
    Assume,
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
from tensorize.ir.printer import format_expr
from tensorize.ir.reduction import reduction_form
from tensorize.ir.traverse import Transformer, walk
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import fresh, instantiate, names_in

MAX_NEST_CANDIDATES = 16
"""Most candidates tried per (nest, intrinsic) pair."""


@dataclass(frozen=True)
class NestCandidate:
    """One way to compute top-level statement ``position`` with one call of ``intrinsic``."""

    intrinsic: str
    position: int
    pairing: tuple[tuple[str, str], ...]
    """(parameter, program buffer) for every non-local parameter of the intrinsic."""
    sizes: tuple[tuple[str, int], ...]
    """The values of a library call's size parameters (empty for a fixed-size one)."""
    locals_: tuple[tuple[str, str], ...]
    """(program local, its name in the nest kernel) for the locals only this nest uses."""
    tile: Function
    """The nest on the intrinsic's parameters (what is proved equal to the intrinsic)."""
    call: CallStmt
    instances: int
    """Assignment instances of the nest (the scalar work the call replaces)."""

    def describe(self) -> str:
        """The mapping in words."""
        text = "whole nest: " + ", ".join(f"{p} <- {x}" for p, x in self.pairing)
        if self.sizes:
            text += "; sizes " + ", ".join(f"{n}={v}" for n, v in self.sizes)
        return text


def nest_intrinsic(intr: Function) -> bool:
    """Whether ``intr`` is matched as a whole nest: it has an ``out`` output and its body
    is more than one assignment (or uses a ``local``), so it is neither one update nor one
    elementwise statement (the forms of :mod:`tensorize.matcher.fragments`)."""
    if not any(b.mode == "out" for b in intr.buffers):
        return False
    assigns = sum(isinstance(n, Assign) for s in intr.body for n in walk(s))
    return assigns > 1 or any(b.mode == "local" for b in intr.buffers)


def _const(e: Expr) -> int | None:
    return e.value if isinstance(e, Const) and isinstance(e.value, int) else None


def instances(stmt: Stmt) -> int:
    """Assignment instances of ``stmt`` (constant loop bounds; 0 if a bound is not)."""
    if isinstance(stmt, Assign):
        return 1
    if isinstance(stmt, For):
        lo, hi = _const(stmt.lo), _const(stmt.hi)
        if lo is None or hi is None:
            return 0
        return max(hi - lo, 0) * sum(instances(s) for s in stmt.body)
    return sum(instances(s) for s in getattr(stmt, "then", ())) + \
        sum(instances(s) for s in getattr(stmt, "orelse", ()))


def _used(stmt: Stmt) -> tuple[list[str], set[str]]:
    """(buffers in order of first use, buffers written) of ``stmt``."""
    order: dict[str, None] = {}
    written: set[str] = set()
    for node in walk(stmt):
        if isinstance(node, Assign):
            order[node.buf] = None
            written.add(node.buf)
        elif isinstance(node, Load):
            order[node.buf] = None
    return list(order), written


def _extents(stmt: Stmt) -> list[int]:
    out = []
    for node in walk(stmt):
        if isinstance(node, For):
            lo, hi = _const(node.lo), _const(node.hi)
            if lo is not None and hi is not None and hi > lo:
                out.append(hi - lo)
    return sorted(set(out))


class _Rename(Transformer):
    """Buffer names replaced (loads and assignment targets)."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Load(self, node: Load) -> Expr:
        return replace(node, buf=self.names[node.buf])

    def visit_Assign(self, node: Assign) -> Stmt:
        node = self.generic(node)
        return replace(node, buf=self.names[node.buf])


def build_tile(stmt: Stmt, kernel: Function, inst: Function,
               pairing: tuple[tuple[str, str], ...],
               locals_: tuple[tuple[str, str], ...]) -> Function:
    """The nest kernel: ``stmt`` with each program buffer renamed to its parameter (the
    locals to their names in ``locals_``), the intrinsic's non-local buffers (modes,
    types and shapes of ``inst``), the program's locals, and the program's ``assume``s
    of the buffers bound to inputs."""
    names = {x: p for p, x in pairing} | dict(locals_)
    body = _Rename(names)(stmt)
    buffers = [b for b in inst.buffers if b.mode != "local"]
    for x, name in locals_:
        decl = kernel.decl(x)
        buffers.append(BufferDecl(name, "local", decl.dtype, decl.shape))
    assumes = tuple(Assume(names[a.buf], a.lo, a.hi, a.inclusive) for a in kernel.assumes
                    if a.buf in names and a.buf not in dict(locals_))
    return Function("kernel", "nest", (), tuple(buffers), assumes, (), (body,))


def _whole_view(param: str, buf: str, rank: int, taken: set[str]) -> View:
    dims = []
    for axis in range(rank):
        dims.append(fresh(f"{param}{axis}", taken))
        taken.add(dims[-1])
    return View(tuple(dims), buf, tuple(Var(d, INDEX) for d in dims))


def _shape(decl: BufferDecl) -> tuple[int, ...] | None:
    dims = tuple(_const(e) for e in decl.shape)
    return None if any(d is None for d in dims) else dims  # type: ignore[return-value]  # None checked


def nest_candidates(stmt: Stmt, position: int, kernel: Function, intr: Function
                    ) -> tuple[list[NestCandidate], str]:
    """The candidates of top-level statement ``stmt`` of ``kernel`` (sizes baked) for
    ``intr``, and why there are none (an empty string when there are some)."""
    if not isinstance(stmt, For) or any(isinstance(n, CallStmt) for n in walk(stmt)):
        return [], "not a loop nest without calls"
    used, written = _used(stmt)
    program_locals = [x for x in used if kernel.decl(x).mode == "local"]
    others = [s for n, s in enumerate(kernel.body) if n != position]
    elsewhere = {n.buf for s in others for n in walk(s) if isinstance(n, (Assign, Load))}
    if set(program_locals) & elsewhere:
        return [], "a local of the nest is used by another statement"
    bufs = [x for x in used if x not in program_locals]
    outs = [x for x in bufs if x in written]
    ins = [x for x in bufs if x not in written]
    p_outs = [b for b in intr.buffers if b.mode in ("out", "inout")]
    p_ins = [b for b in intr.buffers if b.mode == "in"]
    if len(outs) != len(p_outs) or len(ins) != len(p_ins):
        return [], (f"the nest writes {len(outs)} and reads {len(ins)} other buffers; the "
                    f"intrinsic has {len(p_outs)} outputs and {len(p_ins)} inputs")
    taken_names = set(names_in(kernel)) | {b.name for b in intr.buffers} | \
        {p.name for p in intr.params}
    locals_ = []
    for x in program_locals:
        name = fresh(x, taken_names)
        taken_names.add(name)
        locals_.append((x, name))
    names = [p.name for p in intr.params]
    values = _extents(stmt)
    out: list[NestCandidate] = []
    why = "no binding of the buffers (types, shapes) and sizes fits"
    for combo in itertools.product(values, repeat=len(names)):
        sizes = tuple(zip(names, combo))
        inst = instantiate(intr, sizes) if names else intr
        shapes = {b.name: _shape(b) for b in inst.buffers}
        if any(s is None for s in shapes.values()):
            continue
        for pairing in _pairings(p_outs, outs, kernel, shapes) :
            for more in _pairings(p_ins, ins, kernel, shapes):
                both = pairing + more
                tile = build_tile(stmt, kernel, inst, both, tuple(locals_))
                taken = set(taken_names)
                args = [Arg(n, Const(v, INDEX)) for n, v in sizes]
                for p, x in both:
                    rank = len(shapes[p] or ())
                    args.append(Arg(p, _whole_view(p, x, rank, taken)))
                call = CallStmt(intr.name, tuple(args))
                out.append(NestCandidate(intr.name, position, both, sizes, tuple(locals_),
                                         tile, call, instances(stmt)))
                if len(out) >= MAX_NEST_CANDIDATES:
                    return out, ""
    return out, "" if out else why


def _pairings(params: list[BufferDecl], bufs: list[str], kernel: Function,
              shapes: dict[str, tuple[int, ...] | None]
              ) -> Iterator[tuple[tuple[str, str], ...]]:
    for perm in itertools.permutations(bufs):
        ok = True
        for b, x in zip(params, perm):
            decl = kernel.decl(x)
            if decl.dtype != b.dtype or _shape(decl) != shapes[b.name]:
                ok = False
                break
        if ok:
            yield tuple((b.name, x) for b, x in zip(params, perm))


def overwrites_outputs(inst: Function) -> bool:
    """Whether every ``out`` buffer of ``inst`` (sizes bound) is, by its form, written
    whole before it is read, so that its initial contents never matter. A sufficient
    condition, checked on the IR: the buffer is never read and one assignment outside any
    ``if`` writes ``buf[v0, v1, ...]`` under loops ``v0 in 0..n0``, ``v1 in 0..n1``, ...
    covering its shape; or the body is in reduction form (``ir/reduction.py``) on that
    buffer with an init under such loops (an init may be hoisted only when each element's
    init precedes its updates)."""
    outs = [b for b in inst.buffers if b.mode == "out"]
    form = reduction_form(inst, {})
    for b in outs:
        shape = tuple(_const(e) for e in b.shape)
        read = any(isinstance(n, Load) and n.buf == b.name for s in inst.body
                   for n in walk(s))
        if form is not None and form.buf == b.name and form.init is not None:
            if _covers(form.init_index or form.index,
                       [(x.var, x.lo, x.hi) for x in form.init_loops], shape):
                continue
            return False
        if read or not any(_covers(a.index, loops, shape)
                           for a, loops in _plain_assigns(inst.body, [])
                           if a.buf == b.name):
            return False
    return True


def _plain_assigns(stmts: tuple[Stmt, ...], outer: list[tuple[str, int, int]]
                   ) -> Iterator[tuple[Assign, list[tuple[str, int, int]]]]:
    """The assignments of ``stmts`` outside any ``if``, with their constant loops."""
    for s in stmts:
        if isinstance(s, Assign):
            yield s, outer
        elif isinstance(s, For):
            lo, hi = _const(s.lo), _const(s.hi)
            if lo is not None and hi is not None:
                yield from _plain_assigns(s.body, outer + [(s.var, lo, hi)])


def _covers(index: tuple[Expr, ...], loops: list[tuple[str, int, int]],
            shape: tuple[int | None, ...]) -> bool:
    """``index`` is one distinct loop variable per dimension, each loop running over the
    whole dimension from 0."""
    ranges = {v: (lo, hi) for v, lo, hi in loops}
    names = [e.name for e in index if isinstance(e, Var)]
    if len(names) != len(index) or len(set(names)) != len(names) or len(index) != len(shape):
        return False
    return all(ranges.get(v) == (0, n) for v, n in zip(names, shape))


def zero_outputs(inst: Function) -> Function:
    """``inst`` with its ``out`` buffers set to zero first: what a call does (it starts
    every ``out`` view at zero), written out for the prover."""
    zeros: list[Stmt] = []
    for b in inst.buffers:
        if b.mode != "out":
            continue
        dims = [f"z{n}" for n in range(len(b.shape))]
        stmt: Stmt = Assign(b.name, tuple(Var(d, INDEX) for d in dims),
                            Const(0.0 if b.dtype.is_float else 0, b.dtype))
        for d, extent in reversed(list(zip(dims, b.shape))):
            stmt = For(d, Const(0, INDEX), extent, (stmt,))
        zeros.append(stmt)
    return replace(inst, body=tuple(zeros) + inst.body)


def check_call(call: Stmt, cand: NestCandidate, stmt: Stmt, kernel: Function,
               inst: Function) -> list[str]:
    """Why the emitted ``call`` is not the candidate that was proved (empty: it is).

    Re-derived from the call itself: it names the intrinsic, passes exactly the proved
    sizes, binds every non-local parameter to a view that is a whole buffer of the
    parameter's type and shape (identity index, fresh distinct dimensions), binds no
    buffer twice, and the nest kernel rebuilt from those bindings is the proved one.
    """
    failures = []
    if not isinstance(call, CallStmt) or call.name != cand.intrinsic:
        return ["the statement is not a call of the intrinsic"]
    args = {a.name: a.value for a in call.args}
    if len(args) != len(call.args):
        failures.append("an argument is given twice")
    for n, v in cand.sizes:
        got = args.get(n)
        if not (isinstance(got, Const) and got.value == v):
            failures.append(f"size {n} is not the proved {v}")
    pairing = []
    for b in inst.buffers:
        if b.mode == "local":
            continue
        view = args.get(b.name)
        if not isinstance(view, View):
            failures.append(f"parameter {b.name} has no view")
            continue
        decl = kernel.buffer(view.buf)
        shape = tuple(_const(e) for e in b.shape)
        if decl is None or decl.dtype != b.dtype or _shape(decl) != shape:
            failures.append(f"{b.name} is bound to {view.buf}, not a buffer of its type "
                            "and shape")
            continue
        if (len(set(view.dims)) != len(view.dims) or len(view.dims) != len(shape)
                or view.index != tuple(Var(d, INDEX) for d in view.dims)):
            failures.append(f"the view of {b.name} is not the whole of {view.buf}: "
                            + ", ".join(format_expr(e) for e in view.index))
        pairing.append((b.name, view.buf))
    bound = [x for _p, x in pairing]
    if len(set(bound)) != len(bound):
        failures.append("a buffer is bound to two parameters")
    if extra := set(args) - {p for p, _x in pairing} - {n for n, _v in cand.sizes}:
        failures.append(f"unexpected arguments {', '.join(sorted(extra))}")
    if not failures and build_tile(stmt, kernel, inst, tuple(pairing),
                                   cand.locals_) != cand.tile:
        failures.append("the nest rebuilt from the call is not the one proved")
    return failures


def library_work(cand: NestCandidate) -> int:
    """The work a library call's sizes describe (their product; 1 without sizes)."""
    return math.prod(v for _n, v in cand.sizes) if cand.sizes else 1
