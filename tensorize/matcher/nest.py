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
initial contents of its ``out`` buffers, which a call starts at zero.

A :class:`NestMatch` is the matcher's answer only (which intrinsic, where, the pairing,
the sizes, the nest kernel, the tiling); the planner
(:func:`tensorize.rewrite.plan.make_nest_plan`) lays out the call and its loops, the
rewriter (:func:`tensorize.rewrite.apply.apply_nest_plan`) makes the statements and the
validator (:mod:`tensorize.rewrite.validate_nest`) checks those statements against the
nest, with the helpers below (:func:`perfect_band`, :func:`independent_output`, ...).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from tensorize.ir.affine import linear_form
from tensorize.ir.memo import by_identity
from tensorize.ir.nodes import (
    Assign,
    Assume,
    Binary,
    BufferDecl,
    Const,
    Expr,
    For,
    Function,
    Load,
    Stmt,
    Var,
    View,
)
from tensorize.ir.reduction import map_form, reduction_form, sequential_form
from tensorize.ir.traverse import Transformer, calls, loop_band, walk
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import fresh, instantiate, names_in

MAX_NEST_CANDIDATES = 16
"""Most candidates tried per (nest, intrinsic) pair."""


@dataclass(frozen=True)
class NestMatch:
    """One way to compute top-level statement ``position`` with one call of ``intrinsic``
    (or a nest of such calls over tiles), before any proof: the matcher's answer, with no
    statement in it. The planner (:func:`tensorize.rewrite.plan.make_nest_plan`) lays it
    out as loops over tiles, the call's arguments and a scalar tail."""

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
    instances: int
    """Assignment instances of the nest (the scalar work the call replaces)."""
    dims: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """For each parameter of :attr:`pairing`, the names of its view's dimensions (fresh:
    they collide with no name of the kernel or the intrinsic)."""
    tiles: tuple[tuple[str, int, int, str], ...] = ()
    """A tiled nest: (band loop, tile extent, tile count, loop over tiles) for each loop of
    the nest's outer band, outer to inner; empty when one call takes whole buffers."""
    tail: int = 0
    """Iterations of the (single) band loop left to the scalar tail after the tiles."""
    tail_instances: int = 0
    """Assignment instances left as scalar code in the tail (0 without a tail)."""

    @property
    def calls(self) -> int:
        """How many calls the rewrite makes."""
        return math.prod(n for _v, _t, n, _o in self.tiles) if self.tiles else 1

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


def const_int(e: Expr) -> int | None:
    """The value of an integer constant, else None."""
    return e.value if isinstance(e, Const) and isinstance(e.value, int) else None


def instances(stmt: Stmt) -> int:
    """Assignment instances of ``stmt`` (constant loop bounds; 0 if a bound is not)."""
    if isinstance(stmt, Assign):
        return 1
    if isinstance(stmt, For):
        lo, hi = const_int(stmt.lo), const_int(stmt.hi)
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
            lo, hi = const_int(node.lo), const_int(node.hi)
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


def _fresh_dims(param: str, rank: int, taken: set[str]) -> tuple[str, ...]:
    """Names for the ``rank`` dimensions of ``param``'s view, none in ``taken`` (each
    added to it)."""
    dims = []
    for axis in range(rank):
        dims.append(fresh(f"{param}{axis}", taken))
        taken.add(dims[-1])
    return tuple(dims)


def const_shape(decl: BufferDecl) -> tuple[int, ...] | None:
    """The shape of ``decl`` when every extent is a constant, else None."""
    dims = tuple(const_int(e) for e in decl.shape)
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
        shapes = {b.name: const_shape(b) for b in inst.buffers}
        if any(s is None for s in shapes.values()):
            continue
        for pairing in _pairings(p_outs, outs, kernel, shapes) :
            for more in _pairings(p_ins, ins, kernel, shapes):
                both = pairing + more
                tile = build_tile(stmt, kernel, inst, both, tuple(locals_))
                taken = set(taken_names)
                dims = tuple((p, _fresh_dims(p, len(shapes[p] or ()), taken))
                             for p, _x in both)
                out.append(NestMatch(intr.name, position, both, sizes, tuple(locals_),
                                     tile, instances(stmt), dims))
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
            if decl.dtype != b.dtype or const_shape(decl) != shapes[b.name]:
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
        shape = tuple(const_int(e) for e in b.shape)
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
            lo, hi = const_int(s.lo), const_int(s.hi)
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


def library_work(cand: NestMatch) -> int:
    """The work a library call's sizes describe (their product; 1 without sizes)."""
    return math.prod(v for _n, v in cand.sizes) if cand.sizes else 1


# -- tiles of a nest ---------------------------------------------------------------------
def perfect_band(stmt: Stmt, depth: int) -> list[For] | None:
    """The ``depth`` outer loops of ``stmt`` when they are perfectly nested from 0 with
    constant bounds, else None."""
    band = loop_band(stmt)[:depth]
    if len(band) != depth or any(const_int(f.lo) != 0 or const_int(f.hi) is None
                                 for f in band):
        return None
    return band


def accesses(stmt: Stmt) -> list[tuple[str, tuple[Expr, ...]]]:
    """Every (buffer, index) ``stmt`` reads or writes."""
    out = []
    for node in walk(stmt):
        if isinstance(node, (Assign, Load)):
            out.append((node.buf, node.index))
    return out


def independent_output(stmt: Stmt, band: list[For]) -> str | None:
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
    ranks = {len(i) for b, i in accesses(stmt) if b == w}
    if len(ranks) != 1:
        return None
    for b, i in accesses(stmt):
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


def loop_ranges(stmt: Stmt, tiles: dict[str, int]) -> dict[str, tuple[int, int]] | None:
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


def inside(index: tuple[Expr, ...], shape: tuple[int, ...],
           ranges: dict[str, tuple[int, int]]) -> bool:
    """Whether ``index`` stays inside ``shape`` for every value of its variables in
    ``ranges`` (each linear, its bounds known)."""
    if len(index) != len(shape):
        return False
    for e, n in zip(index, shape):
        got = _interval(e, ranges)
        if got is None or got[0] < 0 or got[1] >= n:
            return False
    return True


def tile_view(buf: str, indices: list[tuple[Expr, ...]], dims: tuple[str, ...],
              tiles: tuple[tuple[str, int, int, str], ...]) -> View | None:
    """The view of ``buf`` for one tile: dimension ``q`` of the parameter is element
    ``q + offset`` of the buffer, the offset the band variables' share of the index at
    the tile's origin (``sum coeff * extent * tile loop``); None when the accesses do not
    all move with the band alike."""
    index: list[Expr] = []
    for axis, d in enumerate(dims):
        offsets = set()
        for acc in indices:
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
    one call per tile, the band's points being independent (:func:`independent_output`)."""
    outputs = [b for b in intr.buffers if b.mode in ("out", "inout")]
    if len(outputs) != 1 or len(outs) != 1:
        return []
    full = tuple(const_int(e) for e in outputs[0].shape)
    if not full or any(n is None for n in full):
        return []
    band = None
    for depth in range(len(full), 0, -1):  # the whole shape, else a lane block's band
        band = perfect_band(stmt, depth)
        if band is not None and independent_output(stmt, band) == outs[0]:
            break
        band = None
    if band is None:
        return []
    shape = full[:len(band)]
    tiles = []
    tail = 0
    taken = set(taken_names)
    for f, t in zip(band, shape):
        extent = const_int(f.hi)
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
    inner = cut_band(stmt, cut)
    ranges = loop_ranges(inner, cut)
    if ranges is None:
        return []
    by_buf: dict[str, list[tuple[Expr, ...]]] = {}
    for b, index in accesses(stmt):
        by_buf.setdefault(b, []).append(index)
    out = []
    for pairing in _pairings_by_type(outputs, outs, kernel):
        for more in _pairings_by_type([b for b in intr.buffers if b.mode == "in"], ins,
                                      kernel):
            both = pairing + more
            shapes = {b.name: tuple(const_int(e) for e in b.shape) for b in intr.buffers}
            if any(not inside(i, shapes[p], ranges)  # type: ignore[arg-type]  # constant shapes
                   for p, x in both for i in by_buf[x]):
                continue  # the tile would read or write outside the parameter
            dims = []
            for p, x in both:
                names = []
                for axis in range(len(shapes[p])):
                    names.append(fresh(f"{p}{axis}", taken))
                    taken.add(names[-1])
                if tile_view(x, by_buf[x], tuple(names), tuple(tiles)) is None:
                    break
                dims.append((p, tuple(names)))
            else:
                tail_instances = instances(tail_nest(stmt, tiles[0])) if tail else 0
                tile = build_tile(inner, kernel, intr, both, ())
                out.append(NestMatch(intr.name, position, both, (), (), tile,
                                     instances(stmt), tuple(dims), tuple(tiles), tail,
                                     tail_instances))
    return out


def tail_nest(stmt: Stmt, tile: tuple[str, int, int, str]) -> Stmt:
    """The scalar tail of a band of one loop: the nest ``stmt`` (its outer loop that band
    loop, from 0) with that loop started after the last full tile (``t * n``)."""
    var, t, n, _loop = tile
    assert isinstance(stmt, For) and stmt.var == var
    return replace(stmt, lo=Const(t * n, INDEX))


def cut_band(stmt: Stmt, tiles: dict[str, int]) -> Stmt:
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
