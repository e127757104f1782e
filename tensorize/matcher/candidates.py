"""Match mappings of a fragment onto an intrinsic.

A candidate is decided from the intrinsic's *signature*, not its loops: every dimension
of every intrinsic parameter is assigned a program loop (or a group of reduction loops
fused into one), each program buffer the fragment reads is paired with an input
parameter of the same type, and the written buffer with the intrinsic's output. The
assigned loops form the *tile*; a call computes one tile. Whether the intrinsic really
computes what the program does on a tile is then a question for the equivalence engine:
the *tile kernel* (the program's own update over one tile, with its loads renamed to
the intrinsic's parameters) must be proved equal to the intrinsic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from tensorize.ir.memo import by_identity
from tensorize.ir.nodes import (
    Assign,
    Assume,
    BufferDecl,
    Const,
    Expr,
    For,
    Function,
    Load,
    Stmt,
    Var,
)
from tensorize.ir.printer import format_expr
from tensorize.ir.reduction import FMA, MAP, REORDERABLE, SEQ, Reduction, combine
from tensorize.ir.traverse import Transformer, children, free_vars, loads, substitute, walk
from tensorize.ir.types import INDEX, DType
from tensorize.matcher.fragments import Fragment
from tensorize.matcher.unrolled import Family, Site, families, singles

MAX_CANDIDATES = 64
"""Most candidates tried per (fragment, intrinsic) pair."""


@dataclass(frozen=True)
class Group:
    """Program loops fused into one tile dimension (outer to inner), and its tile extent.

    ``dim`` names the position inside a tile (the views' dimension and the tile kernel's
    loop) and ``loop`` the rewritten loop over tiles; both are chosen by
    :func:`hygienic` so that they never collide with a name of the kernel or the
    intrinsic.
    """

    vars: tuple[str, ...]
    extent: int
    dim: str = ""
    loop: str = ""

    @property
    def name(self) -> str:
        """The loops' names joined (how the group is described to users)."""
        return "_".join(self.vars)


@dataclass(frozen=True)
class Match:
    """One way to compute a fragment with an intrinsic (before any proof): the matcher's
    answer, which the planner (:func:`tensorize.rewrite.plan.make_plan`) lays out."""

    intrinsic: str
    fragment: int
    pairing: tuple[tuple[str, str], ...]
    dims: tuple[tuple[str, tuple[Group, ...]], ...]
    """For each intrinsic parameter, the group of each of its dimensions."""
    groups: tuple[Group, ...]
    """The tile's groups, in the program's loop order."""
    tails: tuple[tuple[str, int, int], ...] = ()
    """(loop, start, stop) for each loop whose last iterations are left to scalar code."""
    calls: int = 0
    sites: tuple[tuple[str, tuple[Expr, ...]], ...] = ()
    """For each input parameter, the index at which the program reads its buffer (for
    a parameter bound to a family of reads, the index in terms of its constant
    dimension: ``A[i, 4 * kk + t]``)."""
    sizes: tuple[tuple[str, int], ...] = ()
    """The values of the intrinsic's size parameters (a library call), or empty."""
    members: tuple[tuple[str, tuple[tuple[Expr, ...], ...]], ...] = ()
    """For each input parameter bound to a family of reads (:mod:`unrolled`), the
    program's index of each member, in the order of the constant dimension."""

    def site(self, param: str) -> tuple[Expr, ...]:
        """The program's index of the read bound to input ``param``."""
        return dict(self.sites)[param]

    def describe(self) -> str:
        """The mapping in words."""
        aliased = {x for _p, x in self.pairing
                   if sum(y == x for _q, y in self.pairing) > 1}
        unrolled = {p for p, _m in self.members}
        parts = [f"{p} <- {x}" + (f"[{', '.join(map(format_expr, self.site(p)))}]"
                                  if x in aliased or p in unrolled else "")
                 for p, x in self.pairing]
        loops = [f"{g.name}:{g.extent}" for g in self.groups]
        text = f"{', '.join(parts)}; tile {' x '.join(loops)}"
        if self.tails:
            text += "; scalar tail " + ", ".join(f"{v} in {a}..{b}" for v, a, b in self.tails)
        if self.sizes:
            text += "; sizes " + ", ".join(f"{n}={v}" for n, v in self.sizes)
        return text


class RejectReason(StrEnum):
    """The kinds of reason a (fragment, intrinsic) pair has no candidate."""

    KIND = "kind"
    """The fragment's operator cannot be reordered at all (not ``+``, ``min``, ``max``)."""
    ORDER = "order"
    """A float reduction that the float mode forbids to reorder into tiles."""
    SIGNATURE = "signature"
    """The intrinsic's parameters do not have the fragment's shape (outputs, elementwise)."""
    DTYPE = "dtype"
    """Element types differ (what is read, or what is accumulated)."""
    ACCESS = "access"
    """The body reads what it accumulates into, or uses a loop variable as a value."""
    EXTENT = "extent"
    """No assignment of the intrinsic's dimensions (or a call's sizes) fits the loops."""


@dataclass(frozen=True)
class Rejection:
    """Why no candidate (or a particular one) exists."""

    kind: RejectReason
    message: str


@dataclass
class Enumeration:
    """The candidates of one (fragment, intrinsic) pair, and the reasons for the rest."""

    candidates: list[Match] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _output(intr: Function) -> BufferDecl | None:
    outs = [b for b in intr.buffers if b.mode in ("out", "inout")]
    return outs[0] if len(outs) == 1 else None


def program_sites(form: Reduction) -> list[Site]:
    """Each distinct (buffer, index) the body reads, in order of appearance.

    One buffer read at two indices (``A[i, k] * A[j, k]``, syrk) is two sites, each bound
    to its own intrinsic parameter: inputs are only read, so two views of one buffer
    are as good as two buffers.
    """
    out: dict[Site, None] = {}
    for x in loads(form.body):
        out[(x.buf, x.index)] = None
    return list(out)


@by_identity()
def _reads(form: Reduction) -> tuple[list[Site], frozenset[str], list[list[Family]]]:
    """What the matcher needs of a fragment's reads, whatever the intrinsic (asked once
    per fragment, not once per intrinsic): the sites it reads (for an in-place form, not
    the element it updates), the loop variables its body uses as values, and the ways to
    bind its reads to parameters (each read alone; its families of unrolled reads, if
    any). Callers only read them."""
    reads = program_sites(form)
    if form.in_place:  # the element it reads is the output's own: bound to the output
        reads = [(x, i) for x, i in reads if (x, i) != (form.buf, form.index)]
    as_values = frozenset(value_vars(form.body) & {x.var for x in form.loops})
    ways = [singles(reads)]
    grouped = families(reads)
    if any(f.unrolled for f in grouped):
        ways.append(grouped)  # the unrolled reads bound to one parameter each
    return reads, as_values, ways


def map_mode(form: Reduction) -> str:
    """The mode of the output an intrinsic needs for the map ``form``: ``inout`` when the
    map reads the element it writes (in place), else ``out``."""
    return "inout" if form.in_place else "out"


def reorder_refusal(form: Reduction, w_type: DType, fp: str) -> Rejection | None:
    """Why the reduction may not be split into tiles (reordered), or None when it may.

    Integer ``+``, ``min`` and ``max`` wrap or select, so any order gives the same
    result; float reductions only in real mode, and only at f32 or wider. A map writes
    each element once (its form says so), so its iterations may run in any order. An
    ``fma`` accumulation (floats only) is a ``+`` of exact products in real mode, and
    like a float ``+`` it keeps its order in IEEE mode.
    """
    if form.op in (MAP, SEQ):
        return None  # a SEQ form's sequential loops are never in a tile (the matcher)
    if form.op not in REORDERABLE and form.op != FMA:
        return Rejection(RejectReason.KIND, f"'{form.op}' reductions cannot be reordered")
    if w_type.is_float and (fp != "real" or w_type.float_format[1] < 24):
        return Rejection(RejectReason.ORDER, f"an IEEE {w_type} reduction cannot be reordered into "
                         "tiles; with --fp real it can (at f32 or wider)")
    return None


def unordered(intr: Function) -> bool:
    """Whether ``intr`` declares ``order unordered``: its reductions are summed in an
    unspecified order, so its body is not the order of its arithmetic."""
    return intr.meta_value("order") == "unordered"


def keeps_order(cand: Match, form: Reduction) -> bool:
    """Whether the rewrite of ``cand`` performs each output element's updates in the
    program's order (needed where the reduction may not be reordered: IEEE floats).

    A sufficient condition, checked again exactly on the emitted code by the validator:
    the tile holds at most one group of reduction loops, those of its loops that run more
    than once are the innermost reduction loops that do (a suffix), and a scalar tail of
    that group is allowed only when it is the only reduction loop that runs more than
    once (the tail boxes of reduction loops come last, see
    :func:`tensorize.rewrite.apply.tail_boxes`). The tile loop over the group then walks
    its loops' iterations in order, and the intrinsic (proved equal to the program's
    update over the tile, in order) continues in order inside each call.
    """
    live = [x.var for x in form.loops if x.var in form.reduction and x.extent > 1]
    groups = [g for g in cand.groups if set(g.vars) & set(form.reduction)]
    if not groups:
        return True
    if len(groups) > 1:
        return False
    mine = [v for v in groups[0].vars if v in live]
    if mine and live[len(live) - len(mine):] != mine:
        return False
    tail_vars = {v for v, _a, _b in cand.tails}
    return not (tail_vars & set(groups[0].vars)) or live == mine


def value_vars(expr: Expr) -> set[str]:
    """Variables ``expr`` uses as values: anywhere except inside the index of a load."""
    out: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Var):
            out.add(node.name)
        elif not isinstance(node, Load):
            stack.extend(x for x in children(node) if isinstance(x, Expr))
    return out


def _vars_of(index: tuple[Expr, ...]) -> set[str]:
    return set().union(*(free_vars(e) for e in index)) if index else set()


def enumerate_candidates(frag: Fragment, intr: Function, kernel: Function, fp: str
                         ) -> Enumeration:
    """Every candidate mapping of ``frag`` onto ``intr``, cheap filters first."""
    if any(p.default is None for p in intr.params):
        return _library_call(frag, intr, kernel, fp)
    result = Enumeration()
    form = frag.form
    reject = result.rejections.append
    out = _output(intr)
    if form.op in (MAP, SEQ) and (out is None or out.mode != map_mode(form)):
        reject(Rejection(RejectReason.SIGNATURE, "an elementwise fragment needs an intrinsic with "
                         f"exactly one {map_mode(form)} output"
                         + (" (it reads the element it writes)" if form.in_place else
                            " (and no inout)")))
        return result
    if form.op not in (MAP, SEQ) and (out is None or out.mode != "inout"):
        reject(Rejection(RejectReason.SIGNATURE, "the intrinsic must have exactly one inout output "
                         "to accumulate into"))
        return result
    assert out is not None
    w_type = kernel.decl(form.buf).dtype
    if out.dtype != w_type:
        reject(Rejection(RejectReason.DTYPE, f"the fragment accumulates {w_type} into "
                         f"'{form.buf}'; the intrinsic accumulates {out.dtype}"))
        return result
    refusal = reorder_refusal(form, w_type, fp)
    ordered = False
    if refusal is not None:
        if refusal.kind != RejectReason.ORDER or unordered(intr):
            if refusal.kind == RejectReason.ORDER:
                refusal = Rejection(RejectReason.ORDER, refusal.message + "; the intrinsic "
                                    "declares 'order unordered', so it cannot keep the "
                                    "program's order either")
            reject(refusal)
            return result
        ordered = True  # only candidates that keep each element's order of updates
    reads, as_values, ways = _reads(form)
    if any(x == form.buf for x, _i in reads):
        reject(Rejection(RejectReason.ACCESS, "the body reads the buffer it accumulates into"))
        return result
    if as_values:
        reject(Rejection(RejectReason.ACCESS, "the body uses loop variable "
                         f"{', '.join(sorted(as_values))} as a value, not only as an index"))
        return result
    inputs = [b for b in intr.buffers if b.mode == "in"]
    intr_types = sorted(str(b.dtype) for b in inputs)
    fitting = [w for w in ways
               if sorted(str(kernel.decl(f.buf).dtype) for f in w) == intr_types]
    if not fitting:
        prog_types = sorted(str(kernel.decl(x).dtype) for x, _i in reads)
        reject(Rejection(RejectReason.DTYPE, f"the intrinsic reads {', '.join(intr_types)}; "
                         f"the fragment reads {', '.join(prog_types) or 'nothing'}"))
        return result
    found = 0
    for way in fitting:
        for pairing in _pairings(inputs, way, kernel):
            for cand in _assignments(frag, intr, kernel, out, pairing, result):
                if ordered and not keeps_order(cand, form):
                    continue
                if form.op == SEQ and any(v in form.reduction for g in cand.groups
                                          for v in g.vars):
                    continue  # the sequential loops stay around the calls, in order
                result.candidates.append(cand)
                found += 1
                if found >= MAX_CANDIDATES:
                    return result
    if not result.candidates and not result.rejections:
        if ordered:
            reject(Rejection(RejectReason.ORDER, refusal.message + " (reordered), and no "  # type: ignore[union-attr]  # a refusal is present on this path
                             "assignment keeps each element's order of updates"))
        else:
            reject(Rejection(RejectReason.EXTENT, "no assignment of the intrinsic's dimensions to "
                             "the fragment's loops fits"))
    return result


def instantiate(intr: Function, sizes: tuple[tuple[str, int], ...] | dict[str, int]
                ) -> Function:
    """``intr`` with its size parameters replaced by the values ``sizes`` (and dropped)."""
    values = dict(sizes)
    mapping = {p.name: Const(values[p.name], INDEX) for p in intr.params}
    return replace(substitute(intr, mapping), params=())


def _library_call(frag: Fragment, intr: Function, kernel: Function, fp: str) -> Enumeration:
    """Candidates of an intrinsic with size parameters (a library call).

    Each size parameter is bound to the extent of a loop of the fragment (or of a fused
    suffix of its reduction loops), and the intrinsic instantiated at those sizes is
    matched like a fixed-size one, keeping only candidates whose tile is the whole of
    each loop it covers: one call computes whole loops, with the sizes passed to it.
    """
    result = Enumeration()
    form = frag.form
    extents = [x.extent for x in form.loops]
    red = [x.extent for x in form.loops if x.var in form.reduction]
    for n in range(2, len(red) + 1):
        extents.append(math.prod(red[-n:]))
    values = sorted({e for e in extents if e > 0})
    names = [p.name for p in intr.params]
    found = 0
    for combo in itertools.product(values, repeat=len(names)):
        sizes = tuple(zip(names, combo))
        inst = instantiate(intr, sizes)
        if any(not isinstance(e, Const) for b in inst.buffers for e in b.shape):
            continue
        sub = enumerate_candidates(frag, inst, kernel, fp)
        if not sub.candidates and sub.rejections and sub.rejections[0].kind != "extent":
            return sub  # a type, operator or order refusal: no size changes it
        if not result.rejections and sub.rejections:
            result.rejections.append(sub.rejections[0])
        for cand in sub.candidates:
            if cand.members:
                continue  # unrolled reads: fixed-size intrinsics only
            whole = all(g.extent == math.prod(form.loop(v).extent for v in g.vars)
                        for g in cand.groups)
            if whole:
                result.candidates.append(replace(cand, sizes=sizes))
                found += 1
                if found >= MAX_CANDIDATES:
                    return result
    if result.candidates:
        result.rejections.clear()
    elif not result.rejections:
        result.rejections.append(Rejection(RejectReason.EXTENT, "no binding of the call's "
                                           "sizes to the fragment's loop extents fits"))
    return result


def _pairings(inputs: list[BufferDecl], reads: list[Family], kernel: Function
              ) -> Iterator[tuple[tuple[str, Family], ...]]:
    """Each pairing of the input parameters with the reads (or families of reads) of the
    same element type; a family needs a parameter with a dimension of its extent."""
    for perm in itertools.permutations(reads):
        pairs = tuple(zip((b.name for b in inputs), perm))
        if all(kernel.decl(f.buf).dtype == b.dtype and (
                not f.unrolled or any(_const(e) == f.extent for e in b.shape))
               for b, (_, f) in zip(inputs, pairs)):
            yield pairs


def _choices(index: tuple[Expr, ...], rank: int, form: Reduction
             ) -> list[tuple[tuple[str, ...], ...]]:
    """Ways to give each of ``rank`` dimensions a group of the loops ``index`` uses."""
    in_index = _vars_of(index)
    used = [x.var for x in form.loops if x.var in in_index]
    groups: list[tuple[str, ...]] = [(v,) for v in used]
    red = [v for v in used if v in form.reduction]
    for size in range(2, len(red) + 1):  # fused suffixes of the reduction loops
        groups.append(tuple(red[-size:]))
    out = []
    for combo in itertools.permutations(groups, rank):
        flat = [v for g in combo for v in g]
        if len(flat) == len(set(flat)):
            out.append(combo)
    return out


def _const_axes(pairing: tuple[tuple[str, Family], ...], shapes: dict[str, tuple[int, ...]]
                ) -> Iterator[dict[str, int]]:
    """Each choice of a constant dimension (an axis of the family's extent) for every
    parameter bound to a family of reads."""
    names = [p for p, f in pairing if f.unrolled]
    extent = {p: f.extent for p, f in pairing}
    axes = [[a for a, e in enumerate(shapes[p]) if e == extent[p]] for p in names]
    for combo in itertools.product(*axes):
        yield dict(zip(names, combo))


def _assignments(frag: Fragment, intr: Function, kernel: Function, out: BufferDecl,
                 pairing: tuple[tuple[str, Family], ...],
                 result: Enumeration) -> Iterator[Match]:
    form = frag.form
    params = [(out.name, form.buf, form.index)] + \
        [(p, f.buf, f.base) for p, f in pairing]
    shapes = {b.name: tuple(_const(e) for e in b.shape) for b in intr.buffers}
    taken = (names_in(kernel), frozenset(b.name for b in intr.buffers))
    index_vars = [_vars_of(index) for _p, _x, index in params]
    for axes in _const_axes(pairing, shapes):
        # the loop dimensions of each parameter: its shape without the constant axis
        loop_shapes = [tuple(e for a, e in enumerate(shapes[p]) if a != axes.get(p))
                       for p, _x, _i in params]
        options = [_choices(index, len(shape), form)
                   for (_p, _x, index), shape in zip(params, loop_shapes)]
        for combo, extents in _consistent(options, loop_shapes, index_vars, form,
                                          lambda: bool(result.rejections)):
            tile_vars = {v for g in extents for v in g}
            # every access's tile loops must be covered by its own dimensions
            if any((used & tile_vars) - {v for g in groups for v in g}
                   for used, groups in zip(index_vars, combo)):
                continue
            groups_sorted = _in_loop_order(extents, form)
            if groups_sorted is None:
                continue
            built = _tiles(frag, intr.name, params, combo, groups_sorted, result, taken)
            if built is not None:
                yield _with_families(built, pairing, axes, shapes, taken)


def _consistent(options: list[list[tuple[tuple[str, ...], ...]]],
                shapes: list[tuple[int, ...]], index_vars: list[set[str]], form: Reduction,
                rejected: Callable[[], bool] = lambda: False,
                ) -> Iterator[tuple[tuple[Any, ...], dict[tuple[str, ...], int]]]:
    """The combinations of ``itertools.product(*options)`` (in its order) that give every
    group one extent, whose output groups (``options[0]``) are spatial, and that may
    still cover each access's tile loops by its own dimensions; with each group's extent.

    A prefilter before the enumeration of loop assignments: a choice for one parameter
    that already contradicts an extent given to the same group by an earlier parameter,
    an output group that is not spatial, or a choice that puts into the tile a loop an
    earlier parameter's access uses without having it among its dimensions (or leaves
    out of its own dimensions a loop already in the tile that its access uses) is cut
    with everything that would follow it, instead of being generated and dropped: the
    cost no longer multiplies with the depth of the nest. Each cut is a necessary
    condition of the checks the caller makes on every complete combination.

    Once ``rejected()`` (a rejection is on record, and only the first is ever read), a
    group given more iterations than its loops have is cut too: :func:`_tiles` refuses
    every combination holding it, so only rejections after the first are not made.
    """
    first = [c for c in options[0] if all(v in form.spatial for g in c for v in g)] \
        if options else []
    # each choice with the set of loops it puts in its parameter's dimensions
    levels = [[(groups, {v for g in groups for v in g}) for groups in level]
              for level in (first, *options[1:])]
    chosen: list[tuple[tuple[str, ...], ...]] = []
    covered: list[set[str]] = []

    def extend(level: int, extents: dict[tuple[str, ...], int]
               ) -> Iterator[tuple[tuple[Any, ...], dict[tuple[str, ...], int]]]:
        if level == len(levels):
            yield tuple(chosen), dict(extents)
            return
        in_tile = set().union(*covered) if covered else set()
        for groups, own in levels[level]:
            if (index_vars[level] & in_tile) - own or any(
                    (index_vars[j] & own) - covered[j] for j in range(level)):
                continue
            added: list[tuple[str, ...]] = []
            ok = True
            for axis, g in enumerate(groups):
                e = shapes[level][axis]
                known = extents.get(g)
                if known is None:
                    if e > _iterations(g, form) and rejected():
                        ok = False
                        break
                    extents[g] = e
                    added.append(g)
                elif known != e:
                    ok = False
                    break
            if ok:
                chosen.append(groups)
                covered.append(own)
                yield from extend(level + 1, extents)
                covered.pop()
                chosen.pop()
            for g in added:
                del extents[g]

    yield from extend(0, {})


@by_identity()
def names_in(fn: Function) -> frozenset[str]:
    """Every name ``fn`` declares: size parameters, buffers and loop variables."""
    out = {p.name for p in fn.params} | {b.name for b in fn.buffers}
    for stmt in fn.body:
        out |= {n.var for n in walk(stmt) if isinstance(n, For)}
    return frozenset(out)


def fresh(base: str, taken: set[str] | frozenset[str]) -> str:
    """``base``, or ``base_1``, ``base_2``, ... : the first not in ``taken``."""
    if base not in taken:
        return base
    n = 1
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def hygienic(groups: list[Group], kernel_names: frozenset[str], intr_names: frozenset[str]
             ) -> list[Group]:
    """``groups`` with tile-dimension and tile-loop names that collide with nothing.

    A group of one loop keeps that loop's name as its dimension (the loop it replaces is
    the only one so named in the nest) unless the intrinsic uses the name; every other
    name is made fresh against the kernel's and the intrinsic's names and the names
    already given.
    """
    used = set(kernel_names | intr_names)
    given: set[str] = set()
    out = []
    for g in groups:
        if len(g.vars) == 1 and g.name not in intr_names and g.name not in given:
            dim = g.name
        else:
            dim = fresh(g.name, used)
        loop = fresh(f"{g.name}o", used | {dim})
        used |= {dim, loop}
        given |= {dim, loop}
        out.append(replace(g, dim=dim, loop=loop))
    return out


def _in_loop_order(extents: dict[tuple[str, ...], int], form: Reduction) -> list[Group] | None:
    order = [x.var for x in form.loops]
    groups = [Group(g, e) for g, e in extents.items()]
    for g in groups:
        positions = [order.index(v) for v in g.vars]
        if positions != sorted(positions):
            return None
    return sorted(groups, key=lambda g: order.index(g.vars[0]))


def _iterations(loops: tuple[str, ...], form: Reduction) -> int:
    """The iterations of a group of (fused) loops: the product of their extents."""
    return math.prod(form.loop(v).extent for v in loops)


def _tiles(frag: Fragment, name: str,
           params: list[tuple[str, str, tuple[Expr, ...]]], combo: tuple[Any, ...],
           groups: list[Group], result: Enumeration,
           taken: tuple[frozenset[str], frozenset[str]]
           ) -> Match | None:
    form = frag.form
    tails = []
    calls = 1
    for g in groups:
        total = _iterations(g.vars, form)
        if total < g.extent:
            result.rejections.append(Rejection(
                RejectReason.EXTENT, f"loop {g.name} has {total} iterations; the intrinsic needs "
                f"{g.extent}"))
            return None
        if total % g.extent:
            if len(g.vars) > 1:
                result.rejections.append(Rejection(
                    RejectReason.EXTENT, f"fused loops {g.name} ({total}) are not a multiple of "
                    f"{g.extent}"))
                return None
            loop = form.loop(g.vars[0])
            start = loop.lo + (total // g.extent) * g.extent
            tails.append((g.vars[0], start, loop.hi))
        calls *= total // g.extent
    tile_vars = {v for g in groups for v in g.vars}
    for x in form.loops:
        if x.var not in tile_vars:
            calls *= x.extent
    groups = hygienic(groups, *taken)
    dims = tuple((p, groups_) for (p, _x, _i), groups_ in zip(params, combo))
    dims_groups = tuple((p, tuple(next(g for g in groups if g.vars == gv) for gv in gs))
                        for p, gs in dims)
    pairing = tuple((p, x) for p, x, _i in params[1:])
    sites = tuple((p, i) for p, _x, i in params[1:])
    return Match(name, frag.position, pairing, dims_groups, tuple(groups),
                     tuple(tails), calls, sites)


def _with_families(cand: Match, pairing: tuple[tuple[str, Family], ...],
                   axes: dict[str, int], shapes: dict[str, tuple[int, ...]],
                   taken: tuple[frozenset[str], frozenset[str]]) -> Match:
    """``cand`` with a constant dimension inserted, at its axis, into the dimensions of
    each parameter bound to a family of reads, its site the family's index in terms of
    that dimension, and the family's members recorded. The dimension's name is fresh
    against the kernel's, the intrinsic's and the candidate's names."""
    if not axes:
        return cand
    used = set(taken[0] | taken[1]) | {n for g in cand.groups for n in (g.dim, g.loop)}
    family = dict(pairing)
    dims = dict(cand.dims)
    sites = dict(cand.sites)
    members = []
    for p, axis in axes.items():
        dim = fresh("t", used)
        used.add(dim)
        groups = list(dims[p])
        groups.insert(axis, Group((), shapes[p][axis], dim=dim))
        dims[p] = tuple(groups)
        sites[p] = family[p].pattern(dim)
        members.append((p, family[p].members))
    return replace(cand, dims=tuple(dims.items()), sites=tuple(sites.items()),
                   members=tuple(members))


def _const(e: Expr) -> int:
    assert isinstance(e, Const) and isinstance(e.value, int), "intrinsic shapes are constants"
    return e.value


# -- the tile kernel -------------------------------------------------------------------
class _Rename(Transformer):
    def __init__(self, mapping: dict[Site, tuple[str, tuple[Expr, ...]]]) -> None:
        self.mapping = mapping

    def visit_Load(self, node: Load) -> Expr:
        param, index = self.mapping[(node.buf, node.index)]
        return Load(param, index, node.dtype)


def _tile_index(groups: tuple[Group, ...], const: int | None = None) -> tuple[Expr, ...]:
    """The tile kernel's index of a parameter: its dims' variables, and ``const`` at its
    constant dimension (a member of a family of reads)."""
    return tuple(Var(g.dim, INDEX) if g.vars or const is None else Const(const, INDEX)
                 for g in groups)


def tile_kernel(cand: Match, frag: Fragment, intr: Function, kernel: Function) -> Function:
    """The program's update over one tile, on the intrinsic's own parameters."""
    form = frag.form
    dims = dict(cand.dims)
    out = _output(intr)
    assert out is not None
    members = dict(cand.members)
    mapping: dict[Site, tuple[str, tuple[Expr, ...]]] = {}
    for p, x in cand.pairing:
        if p in members:
            for c, index in enumerate(members[p]):
                mapping[(x, index)] = (p, _tile_index(dims[p], c))
        else:
            mapping[(x, cand.site(p))] = (p, _tile_index(dims[p]))
    if form.in_place:  # the element read in place is the output's
        mapping[(form.buf, form.index)] = (out.name, _tile_index(dims[out.name]))
    body = _Rename(mapping)(form.body)
    target = tuple(Var(g.dim, INDEX) for g in dims[out.name])
    current = Load(out.name, target, out.dtype)
    stmt: Stmt = Assign(out.name, target, combine(form.op, current, body))
    for g in reversed(cand.groups):
        stmt = For(g.dim, Const(0, INDEX), Const(g.extent, INDEX), (stmt,))
    assumes = []
    for p, x in cand.pairing:
        for a in kernel.assumes:
            if a.buf == x:
                assumes.append(Assume(p, a.lo, a.hi, a.inclusive))
    buffers = tuple(b for b in intr.buffers if b.mode != "local")
    return Function("kernel", "tile", (), buffers, tuple(assumes), (),
                    (stmt,))

