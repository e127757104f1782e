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

from tensorize.ir.affine import linear_form
from tensorize.ir.memo import by_identity
from tensorize.ir.nodes import (
    Arg,
    Assign,
    Assume,
    Binary,
    BufferDecl,
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
from tensorize.ir.printer import format_expr
from tensorize.ir.reduction import map_form, reduction_form, sequential_form
from tensorize.ir.traverse import Transformer, calls, substitute, substitute_index, walk
from tensorize.ir.types import BOOL, INDEX
from tensorize.matcher.candidates import fresh, instantiate, names_in

MAX_NEST_CANDIDATES = 16
"""Most candidates tried per (nest, intrinsic) pair."""


@dataclass(frozen=True)
class NestMatch:
    """One way to compute top-level statement ``position`` with one call of ``intrinsic``
    (or a nest of such calls over tiles): match and plan in one, since the statement
    that replaces the nest is built and checked here (:func:`check_call`,
    :func:`check_tiles`)."""

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
    tiles: tuple[tuple[str, int, int, str], ...] = ()
    """A tiled nest: (band loop, tile extent, tile count, loop over tiles) for each loop of
    the nest's outer band, outer to inner; empty when one call takes whole buffers."""
    stmt: Stmt | None = None
    """What replaces the nest: the call, or the loops over tiles around it (with a scalar
    tail: ``if true { loops over tiles; the nest over the rest of its band loop }``)."""
    tail: int = 0
    """Iterations of the (single) band loop left to the scalar tail after the tiles."""

    @property
    def calls(self) -> int:
        """How many calls the rewrite makes."""
        return math.prod(n for _v, _t, n, _o in self.tiles) if self.tiles else 1

    @property
    def tail_instances(self) -> int:
        """Assignment instances left as scalar code in the tail (0 without a tail)."""
        if not self.tail or not isinstance(self.stmt, If) or len(self.stmt.then) != 2:
            return 0
        return instances(self.stmt.then[1])

    @property
    def replacement(self) -> Stmt:
        """The statement that replaces the nest."""
        return self.stmt if self.stmt is not None else self.call

    def describe(self) -> str:
        """The mapping in words."""
        text = "whole nest: " + ", ".join(f"{p} <- {x}" for p, x in self.pairing)
        if self.tiles:
            text += "; tile " + " x ".join(f"{v}:{t}" for v, t, _n, _o in self.tiles)
        if self.sizes:
            text += "; sizes " + ", ".join(f"{n}={v}" for n, v in self.sizes)
        return text


@by_identity()
def nest_intrinsic(intr: Function) -> bool:
    """Whether ``intr`` is matched as a whole nest: it has an ``out`` output and its body
    is more than one assignment (or uses a ``local``), so it is neither one update nor one
    elementwise statement (the forms of :mod:`tensorize.matcher.fragments`); or it is a
    *lane block*: only ``inout`` outputs, more than one assignment, and in none of those
    forms (``x86.avx512_fp16.vfcmaddcph``: four statements per lane ``i`` writing
    ``c[i, 0]`` and ``c[i, 1]``), which only tiles of a program's nest can match."""
    assigns = sum(isinstance(n, Assign) for s in intr.body for n in walk(s))
    if not any(b.mode == "out" for b in intr.buffers):
        return (assigns > 1 and any(b.mode == "inout" for b in intr.buffers)
                and not any(b.mode == "local" for b in intr.buffers)
                and reduction_form(intr, {}) is None and map_form(intr, {}) is None
                and sequential_form(intr, {}) is None)
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
                    ) -> tuple[list[NestMatch], str]:
    """The candidates of top-level statement ``stmt`` of ``kernel`` (sizes baked) for
    ``intr``, and why there are none (an empty string when there are some)."""
    if not isinstance(stmt, For) or calls((stmt,)):
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
    out: list[NestMatch] = []
    why = "no binding of the buffers (types, shapes) and sizes fits"
    if not names and not locals_:
        out.extend(_tiled(stmt, position, kernel, intr, outs, ins, taken_names))
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
                out.append(NestMatch(intr.name, position, both, sizes, tuple(locals_),
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


def check_call(call: Stmt, cand: NestMatch, stmt: Stmt, kernel: Function,
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


def library_work(cand: NestMatch) -> int:
    """The work a library call's sizes describe (their product; 1 without sizes)."""
    return math.prod(v for _n, v in cand.sizes) if cand.sizes else 1


# -- tiles of a nest ---------------------------------------------------------------------
def _band(stmt: Stmt, depth: int) -> list[For] | None:
    """The ``depth`` outer loops of ``stmt`` when they are perfectly nested from 0 with
    constant bounds, else None."""
    band: list[For] = []
    node = stmt
    while len(band) < depth:
        if not isinstance(node, For) or _const(node.lo) != 0 or _const(node.hi) is None:
            return None
        band.append(node)
        if len(band) < depth:
            if len(node.body) != 1:
                return None
            node = node.body[0]
    return band


def _accesses(stmt: Stmt) -> list[tuple[str, tuple[Expr, ...]]]:
    """Every (buffer, index) ``stmt`` reads or writes."""
    out = []
    for node in walk(stmt):
        if isinstance(node, (Assign, Load)):
            out.append((node.buf, node.index))
    return out


def _independent(stmt: Stmt, band: list[For]) -> str | None:
    """The buffer every band point writes only its own element of (``W[v1, ..., vm]``,
    the band's variables in order), reading ``W`` only there and writing nothing else,
    with no other statement than loops and assignments: then the band's points are
    independent and may run in any grouping. None otherwise.

    A *lane block* is accepted too: ``W[v1, ..., vm, k...]`` with integer constants ``k``
    after the band's variables (``C[i, 0]``, ``C[i, 1]``): each band point then writes
    and reads only its own slice ``W[v1, ..., vm, :]``, disjoint from every other point's,
    so the points are still independent (each point's statements keep their order)."""
    own = tuple(Var(f.var, INDEX) for f in band)
    writes = {n.buf for n in walk(stmt) if isinstance(n, Assign)}
    if len(writes) != 1 or any(not isinstance(n, (For, Assign)) for n in walk(stmt)
                               if isinstance(n, Stmt)):
        return None
    (w,) = writes
    ranks = {len(i) for b, i in _accesses(stmt) if b == w}
    if len(ranks) != 1:
        return None
    for b, i in _accesses(stmt):
        if b != w:
            continue
        got = _strip(i)
        if tuple(got[:len(own)]) != own or any(
                not (isinstance(e, Const) and isinstance(e.value, int)
                     and not isinstance(e.value, bool)) for e in got[len(own):]):
            return None
    return w


def _strip(index: tuple[Expr, ...]) -> list[Expr]:
    """An index with its variables' types made the index type (for comparison)."""
    return [Var(e.name, INDEX) if isinstance(e, Var) else e for e in index]


def _ranges(stmt: Stmt, tiles: dict[str, int]) -> dict[str, tuple[int, int]] | None:
    """The (lowest, highest) value of every loop variable of ``stmt`` with the band
    loops cut to their tiles (``tiles``); None if an inner bound is not constant."""
    out = {}
    for node in walk(stmt):
        if isinstance(node, For):
            if node.var in tiles:
                out[node.var] = (0, tiles[node.var] - 1)
                continue
            lo, hi = linear_form(node.lo), linear_form(node.hi)
            if lo is None or hi is None or lo.coeffs or hi.coeffs:
                return None
            out[node.var] = (lo.const, hi.const - 1)
    return out


def _interval(e: Expr, ranges: dict[str, tuple[int, int]]) -> tuple[int, int] | None:
    form = linear_form(e)
    if form is None:
        return None
    low = high = form.const
    for v, c in form.coeffs:
        if v not in ranges:
            return None
        a, b = c * ranges[v][0], c * ranges[v][1]
        low, high = low + min(a, b), high + max(a, b)
    return low, high


def _inside(index: tuple[Expr, ...], shape: tuple[int, ...],
            ranges: dict[str, tuple[int, int]]) -> bool:
    if len(index) != len(shape):
        return False
    for e, n in zip(index, shape):
        got = _interval(e, ranges)
        if got is None or got[0] < 0 or got[1] >= n:
            return False
    return True


def tile_view(buf: str, accesses: list[tuple[Expr, ...]], dims: tuple[str, ...],
              tiles: tuple[tuple[str, int, int, str], ...]) -> View | None:
    """The view of ``buf`` for one tile: dimension ``q`` of the parameter is element
    ``q + offset`` of the buffer, the offset the band variables' share of the index at
    the tile's origin (``sum coeff * extent * tile loop``); None when the accesses do not
    all move with the band alike."""
    index: list[Expr] = []
    for axis, d in enumerate(dims):
        offsets = set()
        for acc in accesses:
            form = linear_form(acc[axis]) if axis < len(acc) else None
            if form is None:
                return None
            offsets.add(tuple(form.coeff(v) * t for v, t, _n, _o in tiles))
        if len(offsets) != 1:
            return None
        (steps,) = offsets
        e: Expr = Var(d, INDEX)
        for step, (_v, _t, _n, loop) in zip(steps, tiles):
            if step:
                e = Binary("+", e, Binary("*", Const(step, INDEX), Var(loop, INDEX), INDEX),
                           INDEX)
        index.append(e)
    return View(dims, buf, tuple(index))


def _tiled(stmt: Stmt, position: int, kernel: Function, intr: Function, outs: list[str],
           ins: list[str], taken_names: set[str]) -> list[NestMatch]:
    """Candidates that tile the nest's outer band by a fixed-size intrinsic whose single
    output is written at its band's own element (``c[i, j]`` under ``for i``, ``for j``):
    one call per tile, the band's points being independent (:func:`_independent`)."""
    outputs = [b for b in intr.buffers if b.mode in ("out", "inout")]
    if len(outputs) != 1 or len(outs) != 1:
        return []
    full = tuple(_const(e) for e in outputs[0].shape)
    if not full or any(n is None for n in full):
        return []
    band = None
    for depth in range(len(full), 0, -1):  # the whole shape, else a lane block's band
        band = _band(stmt, depth)
        if band is not None and _independent(stmt, band) == outs[0]:
            break
        band = None
    if band is None:
        return []
    shape = full[:len(band)]
    tiles = []
    tail = 0
    taken = set(taken_names)
    for f, t in zip(band, shape):
        extent = _const(f.hi)
        assert extent is not None and t is not None
        if extent < t:
            return []
        if extent % t:
            if len(band) != 1:
                return []  # a scalar tail only for a band of one loop
            tail = extent % t
        loop = fresh(f"{f.var}o", taken)
        taken.add(loop)
        tiles.append((f.var, t, extent // t, loop))
    if all(n == 1 for _v, _t, n, _o in tiles) and not tail:
        return []  # one tile: the whole-buffer candidates cover it
    cut = {v: t for v, t, _n, _o in tiles}
    inner = _cut(stmt, cut)
    ranges = _ranges(inner, cut)
    if ranges is None:
        return []
    by_buf: dict[str, list[tuple[Expr, ...]]] = {}
    for b, index in _accesses(stmt):
        by_buf.setdefault(b, []).append(index)
    out = []
    for pairing in _pairings_by_type(outputs, outs, kernel):
        for more in _pairings_by_type([b for b in intr.buffers if b.mode == "in"], ins,
                                      kernel):
            both = pairing + more
            shapes = {b.name: tuple(_const(e) for e in b.shape) for b in intr.buffers}
            if any(not _inside(i, shapes[p], ranges)  # type: ignore[arg-type]  # constant shapes
                   for p, x in both for i in by_buf[x]):
                continue  # the tile would read or write outside the parameter
            args = []
            for p, x in both:
                dims = []
                for axis in range(len(shapes[p])):
                    dims.append(fresh(f"{p}{axis}", taken))
                    taken.add(dims[-1])
                view = tile_view(x, by_buf[x], tuple(dims), tuple(tiles))
                if view is None:
                    break
                args.append(Arg(p, view))
            else:
                call = CallStmt(intr.name, tuple(args))
                loops: Stmt = call
                for _v, _t, n, loop in reversed(tiles):
                    loops = For(loop, Const(0, INDEX), Const(n, INDEX), (loops,))
                if tail:
                    loops = If(Const(True, BOOL), (loops, tail_nest(stmt, tiles[0])))
                tile = build_tile(inner, kernel, intr, both, ())
                out.append(NestMatch(intr.name, position, both, (), (), tile, call,
                                         instances(stmt), tuple(tiles), loops, tail))
    return out


def tail_nest(stmt: Stmt, tile: tuple[str, int, int, str]) -> Stmt:
    """The scalar tail of a band of one loop: the nest ``stmt`` (its outer loop that band
    loop, from 0) with that loop started after the last full tile (``t * n``)."""
    var, t, n, _loop = tile
    assert isinstance(stmt, For) and stmt.var == var
    return replace(stmt, lo=Const(t * n, INDEX))


def _cut(stmt: Stmt, tiles: dict[str, int]) -> Stmt:
    """``stmt`` with each band loop in ``tiles`` running over one tile from 0."""

    class _Cut(Transformer):
        def visit_For(self, node: For) -> Stmt:
            node = self.generic(node)
            if node.var in tiles:
                return replace(node, hi=Const(tiles[node.var], INDEX))
            return node

    return _Cut()(stmt)


def _pairings_by_type(params: list[BufferDecl], bufs: list[str], kernel: Function
                      ) -> Iterator[tuple[tuple[str, str], ...]]:
    for perm in itertools.permutations(bufs):
        if all(kernel.decl(x).dtype == b.dtype and len(kernel.decl(x).shape) == len(b.shape)
               for b, x in zip(params, perm)):
            yield tuple((b.name, x) for b, x in zip(params, perm))


def check_tiles(cand: NestMatch, stmt: Stmt, kernel: Function, intr: Function
                ) -> list[str]:
    """Why the emitted loops over tiles are not the tiled candidate proved (empty: they
    are), checked on the emitted statement: loops over tiles of the recorded counts
    around one call of the intrinsic; the band's points independent; the tile kernel
    rebuilt from the call's bindings is the proved one; each view maps every access of
    the nest at its tile's origin onto the access at the tile (a linear identity,
    ``view[index at origin] == buffer[index]`` for every band point of the tile), and
    every view stays inside its buffer."""
    failures: list[str] = []
    node = cand.replacement
    tail = 0
    if isinstance(node, If):  # loops over tiles, then the scalar tail of a one-loop band
        band1 = _band(stmt, 1)
        if not (isinstance(node.cond, Const) and node.cond.value is True and not node.orelse
                and len(node.then) == 2 and len(cand.tiles) == 1 and band1 is not None):
            return ["the statement is neither loops over tiles nor loops over tiles then "
                    "a tail of a one-loop band"]
        v, t, n, _o = cand.tiles[0]
        if band1[0].var != v:
            return [f"the nest's outer loop is not {v}"]
        extent = _const(band1[0].hi)
        if extent is None or not 0 < extent - t * n < t:
            return [f"the tail of loop {v} is not what remains after {n} tiles of {t}"]
        if node.then[1] != tail_nest(stmt, cand.tiles[0]):
            return [f"the tail is not the nest over {v} in {t * n}..{extent}"]
        tail = extent - t * n
        node = node.then[0]
    ranges: dict[str, tuple[int, int]] = {}
    for v, _t, n, loop in cand.tiles:
        if not (isinstance(node, For) and node.var == loop and _const(node.lo) == 0
                and _const(node.hi) == n and len(node.body) == 1):
            return [f"the loop over tiles of {v} is not 0..{n}"]
        ranges[loop] = (0, n - 1)
        node = node.body[0]
    if not isinstance(node, CallStmt) or node.name != cand.intrinsic:
        return ["the loops over tiles do not hold one call of the intrinsic"]
    band = _band(stmt, len(cand.tiles))
    if band is None or [f.var for f in band] != [v for v, _t, _n, _o in cand.tiles] \
            or _independent(stmt, band) is None:
        return ["the nest's band points are not independent"]
    for f, (_v, t, n, _o) in zip(band, cand.tiles):
        if _const(f.hi) != t * n + tail:
            failures.append(f"loop {f.var} is not {n} tiles of {t}"
                            + (f" and a tail of {tail}" if tail else ""))
    args = {a.name: a.value for a in node.args}
    pairing = []
    accesses = _accesses(stmt)
    for b in intr.buffers:
        if b.mode == "local":
            continue
        view = args.get(b.name)
        if not isinstance(view, View):
            return [f"parameter {b.name} has no view"]
        decl = kernel.buffer(view.buf)
        if decl is None or decl.dtype != b.dtype:
            failures.append(f"{b.name} is bound to a buffer of another type")
            continue
        pairing.append((b.name, view.buf))
        shape = _shape(decl)
        env = dict(ranges) | {d: (0, _const(e) - 1)  # type: ignore[operator]  # constant shapes
                              for d, e in zip(view.dims, b.shape)}
        if shape is None or not _inside(view.index, shape, env):
            failures.append(f"the view of {b.name} leaves {view.buf}")
        for buf, index in accesses:
            if buf != view.buf:
                continue
            origin = {f.var: Binary("+", Var(f.var, INDEX), Binary(
                "*", Const(t, INDEX), Var(loop, INDEX), INDEX), INDEX)
                for f, (_v, t, _n, loop) in zip(band, cand.tiles)}
            moved = [linear_form(substitute(e, origin)) for e in index]
            got = [linear_form(e) for e in substitute_index(view.index, view.dims, index)]
            if None in moved or None in got or moved != got:
                failures.append(f"the view of {b.name} does not map the nest's accesses of "
                                f"{buf} at a tile's origin to the tile")
                break
    if len({x for _p, x in pairing}) != len(pairing):
        failures.append("a buffer is bound to two parameters")
    cut = _cut(stmt, {v: t for v, t, _n, _o in cand.tiles})
    inner = _ranges(cut, {v: t for v, t, _n, _o in cand.tiles})
    params = {b.name: tuple(_const(e) for e in b.shape) for b in intr.buffers}
    names = dict((x, p) for p, x in pairing)
    if inner is None or any(
            buf in names and not _inside(index, params[names[buf]], inner)  # type: ignore[arg-type]  # constant shapes
            for buf, index in accesses):
        failures.append("a tile reads or writes outside its parameters")
    if not failures:
        if build_tile(cut, kernel, intr, tuple(pairing), ()) != cand.tile:
            failures.append("the tile rebuilt from the call is not the one proved")
    return failures
