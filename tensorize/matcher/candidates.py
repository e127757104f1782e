"""Candidate mappings of a fragment onto an intrinsic.

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
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

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
from tensorize.ir.reduction import REORDERABLE, Reduction, combine
from tensorize.ir.traverse import Transformer, children, free_vars, loads, walk
from tensorize.ir.types import INDEX, DType
from tensorize.matcher.fragments import Fragment

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
class Candidate:
    """One way to compute a fragment with an intrinsic (before any proof)."""

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

    def describe(self) -> str:
        """The mapping in words."""
        parts = [f"{p} <- {x}" for p, x in self.pairing]
        loops = [f"{g.name}:{g.extent}" for g in self.groups]
        text = f"{', '.join(parts)}; tile {' x '.join(loops)}"
        if self.tails:
            text += "; scalar tail " + ", ".join(f"{v} in {a}..{b}" for v, a, b in self.tails)
        return text


@dataclass(frozen=True)
class Rejection:
    """Why no candidate (or a particular one) exists."""

    kind: str
    message: str


@dataclass
class Enumeration:
    """The candidates of one (fragment, intrinsic) pair, and the reasons for the rest."""

    candidates: list[Candidate] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _output(intr: Function) -> BufferDecl | None:
    outs = [b for b in intr.buffers if b.mode in ("out", "inout")]
    return outs[0] if len(outs) == 1 else None


def _program_loads(form: Reduction) -> dict[str, tuple[Expr, ...]] | None:
    """Each buffer the body reads, with its one index tuple (None if read two ways)."""
    out: dict[str, tuple[Expr, ...]] = {}
    for x in loads(form.body):
        if x.buf in out and out[x.buf] != x.index:
            return None
        out[x.buf] = x.index
    return out


def reorder_refusal(form: Reduction, w_type: DType, fp: str) -> Rejection | None:
    """Why the reduction may not be split into tiles (reordered), or None when it may.

    Integer ``+``, ``min`` and ``max`` wrap or select, so any order gives the same
    result; float reductions only in real mode, and only at f32 or wider.
    """
    if form.op not in REORDERABLE:
        return Rejection("kind", f"'{form.op}' reductions cannot be reordered")
    if w_type.is_float and (fp != "real" or w_type.float_format[1] < 24):
        return Rejection("order", f"an IEEE {w_type} reduction cannot be reordered into "
                         "tiles; with --fp real it can (at f32 or wider)")
    return None


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
    result = Enumeration()
    form = frag.form
    reject = result.rejections.append
    if any(p.default is None for p in intr.params):
        reject(Rejection("signature", "intrinsics with size parameters are not matched yet"))
        return result
    out = _output(intr)
    if out is None or out.mode != "inout":
        reject(Rejection("signature", "the intrinsic must have exactly one inout output "
                         "to accumulate into"))
        return result
    w_type = kernel.buffer(form.buf).dtype  # type: ignore[union-attr]
    if out.dtype != w_type:
        reject(Rejection("dtype", f"the fragment accumulates {w_type} into '{form.buf}'; "
                         f"the intrinsic accumulates {out.dtype}"))
        return result
    refusal = reorder_refusal(form, w_type, fp)
    if refusal is not None:
        reject(refusal)
        return result
    reads = _program_loads(form)
    if reads is None:
        reject(Rejection("access", "the body reads one buffer at two different indices"))
        return result
    if form.buf in reads:
        reject(Rejection("access", "the body reads the buffer it accumulates into"))
        return result
    as_values = value_vars(form.body) & {x.var for x in form.loops}
    if as_values:
        reject(Rejection("access", "the body uses loop variable "
                         f"{', '.join(sorted(as_values))} as a value, not only as an index"))
        return result
    inputs = [b for b in intr.buffers if b.mode == "in"]
    prog_types = sorted(str(kernel.buffer(x).dtype) for x in reads)  # type: ignore[union-attr]
    intr_types = sorted(str(b.dtype) for b in inputs)
    if prog_types != intr_types:
        reject(Rejection("dtype", f"the intrinsic reads {', '.join(intr_types)}; the fragment "
                         f"reads {', '.join(prog_types) or 'nothing'}"))
        return result
    found = 0
    for pairing in _pairings(inputs, reads, kernel):
        for cand in _assignments(frag, intr, kernel, out, pairing, reads, result):
            result.candidates.append(cand)
            found += 1
            if found >= MAX_CANDIDATES:
                return result
    if not result.candidates and not result.rejections:
        reject(Rejection("extent", "no assignment of the intrinsic's dimensions to the "
                         "fragment's loops fits"))
    return result


def _pairings(inputs: list[BufferDecl], reads: dict[str, tuple[Expr, ...]],
              kernel: Function) -> Iterator[tuple[tuple[str, str], ...]]:
    names = list(reads)
    for perm in itertools.permutations(names):
        pairs = tuple(zip((b.name for b in inputs), perm))
        if all(kernel.buffer(x).dtype == b.dtype  # type: ignore[union-attr]
               for b, (_, x) in zip(inputs, pairs)):
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


def _assignments(frag: Fragment, intr: Function, kernel: Function, out: BufferDecl,
                 pairing: tuple[tuple[str, str], ...], reads: dict[str, tuple[Expr, ...]],
                 result: Enumeration) -> Iterator[Candidate]:
    form = frag.form
    params = [(out.name, form.buf, form.index)] + \
        [(p, x, reads[x]) for p, x in pairing]
    shapes = {b.name: tuple(_const(e) for e in b.shape) for b in intr.buffers}
    taken = (names_in(kernel), frozenset(b.name for b in intr.buffers))
    options = [_choices(index, len(shapes[p]), form) for p, _x, index in params]
    index_vars = [_vars_of(index) for _p, _x, index in params]
    for combo, extents in _consistent(options, [shapes[p] for p, _x, _i in params],
                                      index_vars, form):
        tile_vars = {v for g in extents for v in g}
        # every access's tile loops must be covered by its own dimensions
        if any((used & tile_vars) - {v for g in groups for v in g}
               for used, groups in zip(index_vars, combo)):
            continue
        groups_sorted = _in_loop_order(extents, form)
        if groups_sorted is None:
            continue
        built = _tiles(frag, intr.name, pairing, params, combo, groups_sorted, result, taken)
        if built is not None:
            yield built


def _consistent(options: list[list[tuple[tuple[str, ...], ...]]],
                shapes: list[tuple[int, ...]], index_vars: list[set[str]], form: Reduction
                ) -> Iterator[tuple[tuple, dict[tuple[str, ...], int]]]:
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
    """
    first = [c for c in options[0] if all(v in form.spatial for g in c for v in g)] \
        if options else []
    levels = [first, *options[1:]]
    chosen: list[tuple[tuple[str, ...], ...]] = []
    covered: list[set[str]] = []

    def extend(level: int, extents: dict[tuple[str, ...], int]
               ) -> Iterator[tuple[tuple, dict[tuple[str, ...], int]]]:
        if level == len(levels):
            yield tuple(chosen), dict(extents)
            return
        in_tile = set().union(*covered) if covered else set()
        for groups in levels[level]:
            own = {v for g in groups for v in g}
            if (index_vars[level] & in_tile) - own or any(
                    (index_vars[j] & own) - covered[j] for j in range(level)):
                continue
            added: list[tuple[str, ...]] = []
            ok = True
            for axis, g in enumerate(groups):
                e = shapes[level][axis]
                known = extents.get(g)
                if known is None:
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


def _tiles(frag: Fragment, name: str, pairing: tuple[tuple[str, str], ...],
           params: list[tuple[str, str, tuple[Expr, ...]]], combo: tuple,
           groups: list[Group], result: Enumeration,
           taken: tuple[frozenset[str], frozenset[str]]
           ) -> Candidate | None:
    form = frag.form
    tails = []
    calls = 1
    for g in groups:
        total = 1
        for v in g.vars:
            total *= form.loop(v).extent
        if total < g.extent:
            result.rejections.append(Rejection(
                "extent", f"loop {g.name} has {total} iterations; the intrinsic needs "
                f"{g.extent}"))
            return None
        if total % g.extent:
            if len(g.vars) > 1:
                result.rejections.append(Rejection(
                    "extent", f"fused loops {g.name} ({total}) are not a multiple of "
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
    return Candidate(name, frag.position, pairing, dims_groups, tuple(groups),
                     tuple(tails), calls)


def _const(e: Expr) -> int:
    assert isinstance(e, Const) and isinstance(e.value, int), "intrinsic shapes are constants"
    return e.value


# -- the tile kernel -------------------------------------------------------------------
class _Rename(Transformer):
    def __init__(self, mapping: dict[str, tuple[str, tuple[Group, ...]]]) -> None:
        self.mapping = mapping

    def visit_Load(self, node: Load) -> Expr:
        param, groups = self.mapping[node.buf]
        return Load(param, tuple(Var(g.dim, INDEX) for g in groups), node.dtype)


def tile_kernel(cand: Candidate, frag: Fragment, intr: Function, kernel: Function) -> Function:
    """The program's update over one tile, on the intrinsic's own parameters."""
    form = frag.form
    dims = dict(cand.dims)
    out = _output(intr)
    assert out is not None
    mapping = {x: (p, dims[p]) for p, x in cand.pairing}
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
                    (stmt,))  # type: ignore[arg-type]

