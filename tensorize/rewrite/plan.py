"""The planner: a match made into a plan of its rewrite, as pure data.

The pipeline has one object per step, shared by everything after it:

* the matcher's :class:`~tensorize.matcher.candidates.Match` says *what* computes the
  fragment: which intrinsic, which program loops tile which of its dimensions, which
  buffer each parameter takes and at which read, the sizes of a library call;
* the planner (:func:`make_plan`) says *how* the rewrite is laid out: the loops of the
  call nest (over tiles, or the program's own loops outside the tile), the call's
  arguments (a view per parameter), the witness (each program loop variable in terms of
  the call nest's variables), the init nest moved in front, the scalar tails, the
  windowed parameters widened back to the real intrinsic (:mod:`tensorize.matcher.window`);
* the rewriter (:func:`tensorize.rewrite.apply.apply_plan`) turns a plan into statements;
* the validator (:func:`tensorize.rewrite.validate.validate`) checks the statements the
  plan became against the original fragment, taking the plan's witness and groups as
  hints it verifies (never as facts);
* a :class:`Rewrite` is a plan that was proved, validated and chosen, with the statements
  the kernel gets: the engine puts exactly those statements in the kernel.

A plan prints itself (:meth:`Plan.describe`, :meth:`Plan.to_json`): ``explain`` and the
``--report`` JSON show it.

A whole nest one call computes (:mod:`tensorize.matcher.nest`) goes the same way with
its own plan, :class:`NestPlan` (:func:`make_nest_plan`): the loops over the tiles of
the nest's band, the call's arguments (a whole buffer, or a tile's view, per
parameter) and the scalar tail of a band of one loop; the rewriter
(:func:`tensorize.rewrite.apply.apply_nest_plan`) makes its statement, the validator
(:func:`tensorize.rewrite.validate_nest.validate_nest`) checks that statement against
the nest, and a :class:`NestRewrite` is what the kernel gets. It is a class of its own,
not a :class:`Plan`: a fragment's plan is about a reduction's tile map (groups, witness,
init moved in front, tail boxes of the reduction's loops, windows), none of which a
whole nest has; the two share :class:`CallLoop` and print alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tensorize.ir.nodes import Arg, Binary, Const, Expr, For, Function, Stmt, Var, View
from tensorize.ir.printer import format_expr, format_stmt
from tensorize.ir.reduction import Loop, Reduction
from tensorize.ir.traverse import substitute
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import Group, Match
from tensorize.matcher.fragments import Fragment
from tensorize.matcher.nest import NestMatch, accesses, tile_view
from tensorize.matcher.window import Window


@dataclass(frozen=True)
class CallLoop:
    """One loop of the call nest, outer to inner: over the tiles of group ``tiles``, or
    (``tiles`` empty) a program loop that no tile dimension covers, kept as written."""

    var: str
    lo: int
    hi: int
    tiles: str = ""


@dataclass(frozen=True)
class Plan:
    """How a match becomes statements (see the module docstring)."""

    match: Match
    loops: tuple[CallLoop, ...]
    """The call nest, outer to inner."""
    args: tuple[Arg, ...]
    """The call's arguments in the intrinsic's order: a library call's sizes, then a view
    per parameter (as proved: against the narrowed intrinsic, if windowed)."""
    witness: tuple[tuple[str, Expr], ...]
    """Each program loop of the tile, in terms of its tile loop and view dimension."""
    init: Stmt | None
    """The original init nest, moved in front of the calls (None: no init)."""
    tails: tuple[tuple[Loop, ...], ...]
    """The scalar tails: boxes of original iterations no call computes, each run by the
    original update over its loops."""
    windows: tuple[Window, ...] = ()
    """Parameters the calls pass whole although the intrinsic reads only a window."""

    @property
    def groups(self) -> tuple[Group, ...]:
        """The tile's groups (the match's), in the program's loop order."""
        return self.match.groups

    @property
    def sizes(self) -> tuple[tuple[str, int], ...]:
        """A library call's sizes as bound (empty for a fixed-size intrinsic)."""
        return self.match.sizes

    def describe(self) -> str:
        """The plan in words: the call nest, the call, the init and the tails."""
        lines = _call_lines(self.loops, self.match.intrinsic, self.args)
        if self.init is not None:
            lines.append("init moved in front: " + " ".join(format_stmt(self.init).split()))
        for box in self.tails:
            lines.append("scalar tail: " + ", ".join(f"{x.var} in {x.lo}..{x.hi}"
                                                     for x in box))
        if self.windows:
            lines.append("widened: " + ", ".join(
                f"{w.param} axis {w.axis} (window {w.offset}..{w.offset + w.size} of "
                f"{w.extent})" for w in self.windows))
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "intrinsic": self.match.intrinsic,
            "loops": _loops_json(self.loops),
            "args": {a.name: _arg_text(a) for a in self.args},
            "witness": {v: format_expr(e) for v, e in self.witness},
            "init": " ".join(format_stmt(self.init).split()) if self.init is not None
            else None,
            "tails": [[{"var": x.var, "lo": x.lo, "hi": x.hi} for x in box]
                      for box in self.tails],
            "widened": [w.param for w in self.windows],
        }


@dataclass(frozen=True)
class Rewrite:
    """A plan that was proved, validated and chosen, and the statements it became: what
    replaces its fragment in the kernel."""

    plan: Plan
    fragment: Fragment
    intrinsic: Function
    """The intrinsic the plan was proved against (narrowed or instantiated as matched)."""
    statements: tuple[Stmt, ...]


def make_plan(match: Match, form: Reduction, intr: Function,
              windows: tuple[Window, ...] = ()) -> Plan:
    """The plan of ``match`` (a candidate of ``intr`` for the fragment ``form``).

    The call nest keeps the program's loops in their order: the first loop of each group
    becomes the loop over that group's tiles (the fused extent over the tile extent), the
    other loops of a group disappear into the tile, and a loop no group covers stays as
    written. ``windows``: ``intr`` is the narrowed form of an intrinsic (same name),
    whose windowed parameters the rewriter widens back.
    """
    point = group_point(match.groups, form)
    dims = dict(match.dims)
    out_param = next(b.name for b in intr.buffers if b.mode in ("out", "inout"))
    values: dict[str, Expr | View] = {n: Const(v, INDEX) for n, v in match.sizes}
    values[out_param] = _view(form.index, dims[out_param], form.buf, point)
    for p, x in match.pairing:
        values[p] = _view(match.site(p), dims[p], x, point)
    # in the intrinsic's own order (as the checker puts them): sizes, then buffers
    # (``intr`` may be instantiated, its size parameters gone: the match keeps their order)
    args = [Arg(name, values[name]) for name, _v in match.sizes]
    args += [Arg(b.name, values[b.name]) for b in intr.buffers if b.name in values]
    first_of = {g.vars[0]: g for g in match.groups}
    in_tile = {v for g in match.groups for v in g.vars}
    loops = []
    for loop in form.loops:
        if loop.var in first_of:
            g = first_of[loop.var]
            total = 1
            for v in g.vars:
                total *= form.loop(v).extent
            loops.append(CallLoop(g.loop, 0, total // g.extent, g.name))
        elif loop.var not in in_tile:
            loops.append(CallLoop(loop.var, loop.lo, loop.hi))
    return Plan(match, tuple(loops), tuple(args),
                tuple(point.items()), form.init_nest(),
                tuple(tail_boxes(form, match.tails)), windows)


@dataclass(frozen=True)
class NestPlan:
    """How a whole-nest match becomes its statement: loops over the tiles of the nest's
    band around one call, and the scalar tail of a band of one loop (see the module
    docstring)."""

    match: NestMatch
    loops: tuple[CallLoop, ...]
    """The loops over tiles, outer to inner (empty: one call takes whole buffers)."""
    args: tuple[Arg, ...]
    """The call's arguments: a library call's sizes, then a view per parameter."""
    tail: Loop | None = None
    """The iterations of the band loop no call computes, run by the nest as written."""

    @property
    def intrinsic(self) -> str:
        """The name of the intrinsic called."""
        return self.match.intrinsic

    def describe(self) -> str:
        """The plan in words: the loops over tiles, the call and the tail."""
        lines = ["whole nest", *_call_lines(self.loops, self.match.intrinsic, self.args)]
        if self.tail is not None:
            lines.append(f"scalar tail: the nest over {self.tail.var} in "
                         f"{self.tail.lo}..{self.tail.hi}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the keys of :meth:`Plan.to_json` (a nest has no witness,
        no init moved in front, no widened parameter) and ``whole_nest``."""
        return {
            "intrinsic": self.match.intrinsic,
            "whole_nest": True,
            "loops": _loops_json(self.loops),
            "args": {a.name: _arg_text(a) for a in self.args},
            "witness": {},
            "init": None,
            "tails": [] if self.tail is None else [[{"var": self.tail.var,
                                                     "lo": self.tail.lo,
                                                     "hi": self.tail.hi}]],
            "widened": [],
        }


@dataclass(frozen=True)
class NestRewrite:
    """A whole-nest plan and the statements it became: what replaces the nest at
    ``plan.match.position`` in the kernel when it is proved, validated and chosen."""

    plan: NestPlan
    intrinsic: Function
    """The intrinsic the nest was proved against (instantiated at a call's sizes)."""
    statements: tuple[Stmt, ...]


def make_nest_plan(match: NestMatch, nest: For, intr: Function) -> NestPlan:
    """The plan of ``match`` (a match of ``intr``) for the top-level nest ``nest`` (sizes
    baked). The call's arguments are in the intrinsic's order, as the checker puts them:
    sizes, then buffers.

    One call takes whole buffers (each view the identity on its dimensions) unless the
    match tiles the nest's band: then one loop over the tiles of each band loop, each view
    the buffer at the tile's origin (:func:`tensorize.matcher.nest.tile_view`), and, when
    the band loop's extent is no multiple of its tile, the rest of its iterations left to
    the nest as written.
    """
    dims = dict(match.dims)
    by_buf: dict[str, list[tuple[Expr, ...]]] = {}
    for buf, index in accesses(nest):
        by_buf.setdefault(buf, []).append(index)
    args = [Arg(n, Const(v, INDEX)) for n, v in match.sizes]
    bound = dict(match.pairing)
    for p in [b.name for b in intr.buffers if b.name in bound]:
        x = bound[p]
        if match.tiles:
            view = tile_view(x, by_buf.get(x, []), dims[p], match.tiles)
            assert view is not None, "the matcher keeps only tiles whose views exist"
        else:
            view = View(dims[p], x, tuple(Var(d, INDEX) for d in dims[p]))
        args.append(Arg(p, view))
    loops = tuple(CallLoop(loop, 0, n, v) for v, _t, n, loop in match.tiles)
    tail = None
    if match.tail:
        v, t, n, _loop = match.tiles[0]
        tail = Loop(v, t * n, t * n + match.tail)
    return NestPlan(match, loops, tuple(args), tail)


def group_point(groups: tuple[Group, ...], form: Reduction) -> dict[str, Expr]:
    """Each tile loop's program variable in terms of the tile loop and the view dims.

    For a group of loops ``v1..vn`` (outer to inner) and tile extent ``E``, the fused
    position ``E * loop + dim`` is split into digits: ``v_m = (fused / inner_m) % ext_m +
    lo_m``, where ``inner_m`` is the product of the extents inside ``v_m`` (no ``%`` for
    ``v1``). When ``fused`` ranges over ``0..ext_1*...*ext_n`` this is a bijection onto
    the loops' box.
    """
    out: dict[str, Expr] = {}
    for g in groups:
        fused = index_add(_mul(g.extent, Var(g.loop, INDEX)), Var(g.dim, INDEX))
        inner = 1
        for v in reversed(g.vars):
            loop = form.loop(v)
            part = fused if inner == 1 else Binary("/", fused, Const(inner, INDEX), INDEX)
            if v != g.vars[0]:
                part = Binary("%", part, Const(loop.extent, INDEX), INDEX)
            out[v] = index_add(part, Const(loop.lo, INDEX))
            inner *= loop.extent
    return out


def tail_boxes(form: Reduction, tails: tuple[tuple[str, int, int], ...]
               ) -> list[tuple[Loop, ...]]:
    """The original loops over the iterations no call computes, as disjoint boxes.

    With remainders ``v_k in start_k..hi_k`` (spatial loops first, then reduction loops,
    each in loop order), box ``k`` runs ``v_k`` over its remainder, the loops of the
    earlier remainders over their full tiles only (``lo..start``), and every other loop
    over its whole range: together the complement of the full tiles, each iteration once.
    Reduction remainders come last so that, when the group of a single reduction loop has
    a tail, every output element still receives its updates in the program's order: the
    elements of a spatial remainder all in their own box, the others from the calls and
    then from the reduction's box.
    """
    boxes = []
    remainders = {v: start for v, start, _stop in tails}
    done: list[str] = []
    for x in sorted(form.loops, key=lambda x: x.var in form.reduction):
        if x.var not in remainders:
            continue
        box = []
        for y in form.loops:
            if y.var == x.var:
                box.append(Loop(y.var, remainders[y.var], y.hi))
            elif y.var in done:
                box.append(Loop(y.var, y.lo, remainders[y.var]))
            else:
                box.append(y)
        boxes.append(tuple(box))
        done.append(x.var)
    return boxes


def _view(index: tuple[Expr, ...], groups: tuple[Group, ...], buf: str,
          point: dict[str, Expr]) -> View:
    return View(tuple(g.dim for g in groups), buf,
                tuple(substitute(e, point) for e in index))


def index_add(a: Expr, b: Expr) -> Expr:
    """``a + b`` as an index expression, a zero on either side dropped."""
    if isinstance(b, Const) and b.value == 0:
        return a
    if isinstance(a, Const) and a.value == 0:
        return b
    return Binary("+", a, b, INDEX)


def _mul(k: int, a: Expr) -> Expr:
    return a if k == 1 else Binary("*", Const(k, INDEX), a, INDEX)


def _call_lines(loops: tuple[CallLoop, ...], intrinsic: str, args: tuple[Arg, ...]
                ) -> list[str]:
    """The call nest and the call, as :meth:`Plan.describe` and :meth:`NestPlan.describe`
    print them."""
    text = " ".join(f"for {x.var} in {x.lo}..{x.hi}" + (f" (tiles of {x.tiles})"
                                                        if x.tiles else "")
                    for x in loops)
    call = ", ".join(f"{a.name} = {_arg_text(a)}" for a in args)
    return [f"call nest: {text or '(none)'}", f"call: {intrinsic}({call})"]


def _loops_json(loops: tuple[CallLoop, ...]) -> list[dict[str, Any]]:
    return [{"var": x.var, "lo": x.lo, "hi": x.hi, "tiles": x.tiles} for x in loops]


def _arg_text(a: Arg) -> str:
    v = a.value
    if isinstance(v, View):
        return f"({', '.join(v.dims)}) -> {v.buf}[{', '.join(map(format_expr, v.index))}]"
    return format_expr(v)
