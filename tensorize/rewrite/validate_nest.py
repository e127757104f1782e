"""Validation of a whole-nest rewrite: the emitted statement is the nest that was proved.

A whole-nest plan (:class:`tensorize.rewrite.plan.NestPlan`) becomes one statement in
the nest's place (:func:`tensorize.rewrite.apply.apply_nest_plan`). :func:`validate_nest`
reads that *statement*, not the plan, and checks it against the original nest and the
nest kernel proved equal to the intrinsic, taking the match's tiling (tile extents and
counts, the tail, the sizes, the locals) as hints it verifies against the nest:

* one call taking whole buffers (:func:`check_call`): it names the intrinsic, passes
  exactly the proved sizes, binds every non-local parameter to a whole buffer of its
  type and shape, binds no buffer twice, and the nest kernel rebuilt from those bindings
  is the proved one;
* loops over tiles (:func:`check_tiles`): loops of the recorded counts around one call,
  then (for a band of one loop) the nest as written over the rest of its band loop; the
  band's points are independent; each view maps the nest's accesses at a tile's origin
  to the tile and stays in its buffer; the tile rebuilt from the call is the proved one.

With the nest proof (the nest kernel equals the intrinsic) and the intrinsic's ``out``
buffers overwritten whole, these give: the statement computes what the nest does.
"""

from __future__ import annotations

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import Binary, CallStmt, Const, For, Function, If, Stmt, Var, View
from tensorize.ir.printer import format_expr
from tensorize.ir.traverse import substitute, substitute_index
from tensorize.ir.types import INDEX
from tensorize.matcher.nest import (
    NestMatch,
    accesses,
    build_tile,
    const_int,
    const_shape,
    cut_band,
    independent_output,
    inside,
    loop_ranges,
    perfect_band,
    tail_nest,
)
from tensorize.rewrite.plan import NestPlan
from tensorize.rewrite.validate import Validation

WHOLE_CHECKS = ("the call passes whole buffers and the proved sizes, and the nest rebuilt "
                "from it is the one proved",)
"""The checks of a one-call rewrite, as the report lists them."""
TILE_CHECKS = ("loops over tiles around one call, independent band points, each view maps "
               "the nest's accesses at a tile's origin to the tile and stays in its "
               "buffer, the tile rebuilt from the call is the one proved",)
"""The checks of a rewrite over tiles, as the report lists them."""


def validate_nest(plan: NestPlan, stmts: tuple[Stmt, ...], nest: Stmt, kernel: Function,
                  inst: Function) -> Validation:
    """Whether ``stmts`` (what ``plan`` became) validly replace the top-level ``nest`` of
    ``kernel`` (sizes baked), ``inst`` the intrinsic as proved (at the match's sizes)."""
    cand = plan.match
    checks = TILE_CHECKS if cand.tiles else WHOLE_CHECKS
    if len(stmts) != 1:
        return Validation(("a whole nest is replaced by one statement, not "
                           f"{len(stmts)}",), checks)
    failures = (check_tiles(stmts[0], cand, nest, kernel, inst) if cand.tiles
                else check_call(stmts[0], cand, nest, kernel, inst))
    return Validation(tuple(failures), checks)


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
        shape = tuple(const_int(e) for e in b.shape)
        if decl is None or decl.dtype != b.dtype or const_shape(decl) != shape:
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


def check_tiles(emitted: Stmt, cand: NestMatch, stmt: Stmt, kernel: Function,
                intr: Function) -> list[str]:
    """Why the emitted loops over tiles are not the tiled candidate proved (empty: they
    are), checked on the emitted statement: loops over tiles of the recorded counts
    around one call of the intrinsic; the band's points independent; the tile kernel
    rebuilt from the call's bindings is the proved one; each view maps every access of
    the nest at its tile's origin onto the access at the tile (a linear identity,
    ``view[index at origin] == buffer[index]`` for every band point of the tile), and
    every view stays inside its buffer."""
    failures: list[str] = []
    node = emitted
    tail = 0
    if isinstance(node, If):  # loops over tiles, then the scalar tail of a one-loop band
        band1 = perfect_band(stmt, 1)
        if not (isinstance(node.cond, Const) and node.cond.value is True and not node.orelse
                and len(node.then) == 2 and len(cand.tiles) == 1 and band1 is not None):
            return ["the statement is neither loops over tiles nor loops over tiles then "
                    "a tail of a one-loop band"]
        v, t, n, _o = cand.tiles[0]
        if band1[0].var != v:
            return [f"the nest's outer loop is not {v}"]
        extent = const_int(band1[0].hi)
        if extent is None or not 0 < extent - t * n < t:
            return [f"the tail of loop {v} is not what remains after {n} tiles of {t}"]
        if node.then[1] != tail_nest(stmt, cand.tiles[0]):
            return [f"the tail is not the nest over {v} in {t * n}..{extent}"]
        tail = extent - t * n
        node = node.then[0]
    ranges: dict[str, tuple[int, int]] = {}
    for v, _t, n, loop in cand.tiles:
        if not (isinstance(node, For) and node.var == loop and const_int(node.lo) == 0
                and const_int(node.hi) == n and len(node.body) == 1):
            return [f"the loop over tiles of {v} is not 0..{n}"]
        ranges[loop] = (0, n - 1)
        node = node.body[0]
    if not isinstance(node, CallStmt) or node.name != cand.intrinsic:
        return ["the loops over tiles do not hold one call of the intrinsic"]
    band = perfect_band(stmt, len(cand.tiles))
    if band is None or [f.var for f in band] != [v for v, _t, _n, _o in cand.tiles] \
            or independent_output(stmt, band) is None:
        return ["the nest's band points are not independent"]
    for f, (_v, t, n, _o) in zip(band, cand.tiles):
        if const_int(f.hi) != t * n + tail:
            failures.append(f"loop {f.var} is not {n} tiles of {t}"
                            + (f" and a tail of {tail}" if tail else ""))
    args = {a.name: a.value for a in node.args}
    pairing = []
    seen = accesses(stmt)
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
        shape = const_shape(decl)
        env = dict(ranges) | {d: (0, const_int(e) - 1)  # type: ignore[operator]  # constant shapes
                              for d, e in zip(view.dims, b.shape)}
        if shape is None or not inside(view.index, shape, env):
            failures.append(f"the view of {b.name} leaves {view.buf}")
        for buf, index in seen:
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
    cut = cut_band(stmt, {v: t for v, t, _n, _o in cand.tiles})
    inner = loop_ranges(cut, {v: t for v, t, _n, _o in cand.tiles})
    params = {b.name: tuple(const_int(e) for e in b.shape) for b in intr.buffers}
    names = dict((x, p) for p, x in pairing)
    if inner is None or any(
            buf in names and not inside(index, params[names[buf]], inner)  # type: ignore[arg-type]  # constant shapes
            for buf, index in seen):
        failures.append("a tile reads or writes outside its parameters")
    if not failures:
        if build_tile(cut, kernel, intr, tuple(pairing), ()) != cand.tile:
            failures.append("the tile rebuilt from the call is not the one proved")
    return failures
