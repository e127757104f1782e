"""Whole-rewrite validation: the emitted statements compute exactly the original's updates.

The validator reads the *emitted* statements, not the candidate they were made from, so
that a wrong loop bound, view, tail or init in the rewriter cannot slip through. Its
inputs are the original fragment (in reduction form), the statements that replace it,
the intrinsic, the tile kernel whose equality with the intrinsic was proved, and a
*witness*: for each original loop variable, an expression in the call nest's variables
(the candidate's tile origin plus position in the tile). The witness is only a hint:
every property below is checked of it, so a wrong witness makes validation fail, never
pass.

Structure (exact, on the IR):

1. the reduction is reorderable (``+``, ``min``, ``max`` on integers, or on reals in
   ``real`` mode) and its body uses loop variables only inside load indices;
2. the statements are: the original init nest, unchanged and hoistable (each element's
   init precedes its updates: :func:`tensorize.ir.reduction.init_hoistable`), if the
   original has one; then one perfect nest of constant-bound loops around one ``call``;
   then at most one perfect nest around the original update, unchanged (the scalar tail);
3. the call binds every intrinsic buffer to a view, the dimensions of each view have the
   intrinsic's extents, and the tile kernel rebuilt from the views (the program's update,
   each load of a buffer read through the view of that buffer) is the tile kernel that
   was proved equal to the intrinsic.

Then on integer arithmetic (the solver, with division and remainder by constants):

4. the witness maps every (call iteration, tile position) into the original iteration
   domain, injectively; the tail's iterations lie in that domain and are disjoint from
   the calls'; the counts add up to the domain's size (so the map is a bijection);
5. at every (call iteration, tile position) each view reads or writes exactly the element
   the original update does at the witnessed iteration;
6. within one call, the output view writes each element at most once.

With the tile proof, 1-6 give: the rewritten statements perform the same multiset of
updates as the original, in an order that the reorderable operator allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tensorize.equivalence.solver import SolverConfig
from tensorize.ir import intsolve as q
from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import (
    Assign,
    Assume,
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
from tensorize.ir.printer import format_function
from tensorize.ir.reduction import (
    MAP,
    SEQ,
    Loop,
    Reduction,
    combine,
    init_hoistable,
    injective,
)
from tensorize.ir.traverse import Transformer, free_vars, loads, substitute
from tensorize.ir.types import INDEX, DType
from tensorize.matcher.candidates import (
    Group,
    RejectReason,
    map_mode,
    reorder_refusal,
    unordered,
    value_vars,
)
from tensorize.matcher.unrolled import Site, site_key
from tensorize.rewrite.plan import Plan, group_point, tail_boxes

CHECKS = ("structure", "tile kernel", "coverage", "injectivity", "tail", "count", "views",
          "output lanes")
ORDER_CHECK = "order"
"""The check a rewrite of a reduction that may not be reordered (IEEE floats) also runs."""
"""The names of the checks a successful validation has run, as the report lists them."""


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one rewrite: empty ``failures`` means valid."""

    failures: tuple[str, ...]
    checks: tuple[str, ...] = CHECKS
    """The checks that ran (all of :data:`CHECKS` when the rewrite is valid)."""
    unknown: bool = False
    """The failures are queries the solver could not decide (not proved, not refuted)."""

    @property
    def ok(self) -> bool:
        """No check failed."""
        return not self.failures


class _Invalid(Exception):
    """A structural check failed (the message says which)."""


def _index(e: Expr, env: Mapping[str, Expr]) -> Expr:
    """``e`` at a point of a space: its variables replaced by the space's."""
    return substitute(e, dict(env))


def _same_function(a: Expr, b: Expr) -> bool:
    """Whether index expressions ``a`` and ``b`` are equal at every point: the same
    expression, or the same linear form. False means only "not shown here"."""
    if a == b:
        return True
    x, y = linear_form(a), linear_form(b)
    return x is not None and x == y


def _const(e: Expr, what: str) -> int:
    if not isinstance(e, Const) or isinstance(e.value, bool) or not isinstance(e.value, int):
        raise _Invalid(f"{what} is not a constant")
    return e.value


def _nest(stmt: Stmt) -> tuple[list[Loop], Stmt]:
    """The loops of a perfect nest with constant bounds, and its innermost statement."""
    loops: list[Loop] = []
    while isinstance(stmt, For):
        if len(stmt.body) != 1:
            raise _Invalid(f"loop {stmt.var} of the rewrite is not a perfect nest")
        loops.append(Loop(stmt.var, _const(stmt.lo, f"the bound of loop {stmt.var}"),
                          _const(stmt.hi, f"the bound of loop {stmt.var}")))
        stmt = stmt.body[0]
    names = [x.var for x in loops]
    if len(set(names)) != len(names):
        raise _Invalid("a loop variable of the rewrite is bound twice")
    return loops, stmt


def _count(loops: list[Loop] | tuple[Loop, ...]) -> int:
    n = 1
    for x in loops:
        n *= x.extent
    return n


class _ThroughViews(Transformer):
    """The program's loads, read through the call's views: ``X[...] -> p[dims]`` (with the
    member's constant at a view's constant dimension)."""

    def __init__(self, by_site: Mapping[Site, tuple[str, tuple[Expr, ...]]]) -> None:
        self.by_site = by_site

    def visit_Load(self, node: Load) -> Expr:
        site = (node.buf, node.index)
        if site not in self.by_site:
            raise _Invalid(f"the call has no view of '{node.buf}', which the program reads")
        param, index = self.by_site[site]
        return Load(param, index, node.dtype)


def _dims_index(view: View, const: tuple[str, int] | None = None) -> tuple[Expr, ...]:
    """A view's dims as an index, with ``const = (dim, c)`` put at that dimension."""
    return tuple(Const(const[1], INDEX) if const is not None and d == const[0]
                 else Var(d, INDEX) for d in view.dims)


def _rebuilt_tile(form: Reduction, call: CallStmt, intr: Function, tile: Function,
                  assumes: tuple[Assume, ...], sites: Mapping[str, tuple[Expr, ...]] | None,
                  sizes: Mapping[str, int] | None = None
                  ) -> tuple[dict[str, View], dict[str, int], list[str],
                             dict[str, tuple[Expr, ...]], dict[str, int]]:
    """Check the call against the proved tile kernel: the views, the tile dims' extents,
    the proved tile's loop order, for each parameter the program index its view stands
    for (``sites``, the candidate's, is only a hint: each is checked to be a read of the
    program, bound to one parameter, and then by the view check), and the extents of the
    constant dimensions.

    A view dimension that is not a loop of the proved tile is a *constant dimension*
    (:mod:`tensorize.matcher.unrolled`): at most one per input view, none in the output;
    its parameter's site must use it, and the site at each constant ``c`` in its range
    must be (as a linear form) a read of the program, each read once; that read is then
    read through the view with ``c`` at that dimension."""
    if call.name != intr.name:
        raise _Invalid(f"the call is of '{call.name}', the proof of '{intr.name}'")
    views: dict[str, View] = {}
    passed: dict[str, int] = {}
    for arg in call.args:
        if arg.name in (sizes or {}) and not isinstance(arg.value, View):
            passed[arg.name] = _const(arg.value, f"size {arg.name} of the call")
            continue
        if not isinstance(arg.value, View) or arg.name in views:
            raise _Invalid(f"argument '{arg.name}' is not one view")
        views[arg.name] = arg.value
    if passed != dict(sizes or {}):
        raise _Invalid("the call does not pass the sizes the intrinsic was proved at")
    params = [b for b in intr.buffers if b.mode != "local"]
    if set(views) != {b.name for b in params}:
        raise _Invalid("the call does not bind exactly the intrinsic's buffers")
    extents: dict[str, int] = {}
    for b in params:
        view = views[b.name]
        if len(view.dims) != len(b.shape) or len(set(view.dims)) != len(view.dims):
            raise _Invalid(f"the view for '{b.name}' does not have the intrinsic's rank")
        for dim, size in zip(view.dims, b.shape):
            if extents.setdefault(dim, _const(size, "a shape")) != _const(size, "a shape"):
                raise _Invalid(f"dimension '{dim}' has two extents")
    outs = [b for b in params if b.mode in ("out", "inout")]
    mode = map_mode(form) if form.op == MAP else "inout"
    if len(outs) != 1 or outs[0].mode != mode or views[outs[0].name].buf != form.buf:
        raise _Invalid(f"the intrinsic's output is not a view of '{form.buf}'")
    out = outs[0]
    order = []
    stmt: Stmt = tile.body[0]
    while isinstance(stmt, For) and stmt.body:
        order.append(stmt.var)
        stmt = stmt.body[0]
    if not set(order) <= set(extents):
        raise _Invalid("the views' dimensions are not the proved tile's loops")
    consts = {d: e for d, e in extents.items() if d not in order}
    const_of: dict[str, str] = {}
    for name, view in views.items():
        mine = [d for d in view.dims if d in consts]
        if len(mine) > 1 or (mine and name == out.name):
            raise _Invalid(f"the view for '{name}' has dimensions that are not the proved "
                           "tile's loops")
        if mine:
            const_of[name] = mine[0]
    if len(consts) != len(const_of):
        raise _Invalid("a constant dimension is shared by two views")
    if set(consts) & {x.var for x in form.loops}:
        raise _Invalid("a constant dimension is named like a loop of the program")
    reads = list(dict.fromkeys((x.buf, x.index) for x in loads(form.body)))
    by_site: dict[Site, tuple[str, tuple[Expr, ...]]] = {}
    if form.in_place:  # the element read in place is read through the output's view
        reads.remove((form.buf, form.index))
    keyed: dict[object, Site] = {}
    for r in reads:
        key = site_key(r[1])
        if key is not None:
            keyed[(r[0], key)] = r
    index_of = {out.name: form.index}
    for b in params:
        if b is out:
            continue
        view = views[b.name]
        if view.buf == form.buf:
            raise _Invalid(f"'{view.buf}' is the output and is bound to input '{b.name}'")
        if b.name in const_of:  # a family of reads: one per value of the constant dim
            if sites is None or b.name not in sites:
                raise _Invalid(f"the view for '{b.name}' has a constant dimension and no site")
            dim = const_of[b.name]
            pattern = tuple(sites[b.name])
            if not any(dim in free_vars(e) for e in pattern):
                raise _Invalid(f"the site of '{b.name}' does not use its constant dimension")
            members: list[tuple[Site, tuple[Expr, ...]]] = []
            for c in range(consts[dim]):
                key = site_key(tuple(substitute(e, {dim: Const(c, INDEX)})
                                     for e in pattern))
                member = keyed.get((view.buf, key)) if key is not None else None
                if member is None:
                    raise _Invalid(f"the view for '{b.name}' at {dim} = {c} is not a read "
                                   "of the program")
                members.append((member, _dims_index(view, (dim, c))))
        else:
            if sites is not None and b.name in sites:
                site = (view.buf, tuple(sites[b.name]))
            else:  # no hint: the buffer must be read at one index
                of_buf = [r for r in reads if r[0] == view.buf]
                if len(of_buf) != 1:
                    raise _Invalid(f"the program reads '{view.buf}' at {len(of_buf)} "
                                   f"indices; which one '{b.name}' stands for is not given")
                site = of_buf[0]
            pattern = site[1]
            members = [(site, _dims_index(view))]
        for site, through_index in members:
            if site not in reads:
                raise _Invalid(f"the view for '{b.name}' is not of a read of the program")
            if site in by_site:
                raise _Invalid(f"one read of '{view.buf}' is bound to two parameters")
            by_site[site] = (b.name, through_index)
        index_of[b.name] = pattern
    if set(reads) != set(by_site):
        raise _Invalid("the call's input views are not of the reads of the program")
    through = dict(by_site)
    if form.in_place:
        through[(form.buf, form.index)] = (out.name, _dims_index(views[out.name]))
    body = _ThroughViews(through)(form.body)
    target = tuple(Var(d, INDEX) for d in views[out.name].dims)
    current = Load(out.name, target, out.dtype)
    value = combine(form.op, current, body)
    rebuilt: Stmt = Assign(out.name, target, value)
    for dim in reversed(order):
        rebuilt = For(dim, Const(0, INDEX), Const(extents[dim], INDEX), (rebuilt,))
    tile_assumes = []
    for b in params:
        if b is not out:
            for a in assumes:
                if a.buf == views[b.name].buf:
                    tile_assumes.append(Assume(b.name, a.lo, a.hi, a.inclusive))
    expected = Function("kernel", "tile", (), tuple(params), tuple(tile_assumes), (),
                        (rebuilt,))
    if format_function(expected) != format_function(tile):
        raise _Invalid("the call's views do not compute the tile that was proved")
    return views, {d: e for d, e in extents.items() if d in order}, order, index_of, consts


def by_construction(form: Reduction, call_loops: list[Loop], extents: Mapping[str, int],
                    tails: list[list[Loop]], witness: Mapping[str, Expr],
                    groups: tuple[Group, ...]) -> bool:
    """Whether checks 4 (coverage, injectivity, tail, count) hold by construction.

    They do when the emitted loops are exactly the planner's construction for ``groups``:
    the call nest is the original loops outside the tile (same names and bounds) plus one
    loop ``0..total/E`` per group of total extent ``total`` and tile extent ``E``, the
    views' dimensions are the groups' with extents ``E``, the witness is the mixed-radix
    map of :func:`tensorize.rewrite.plan.group_point`, ``E`` divides ``total`` for every
    fused group, and the tails are exactly :func:`tensorize.rewrite.plan.tail_boxes` of
    the single-loop groups that ``E`` does not divide. Then ``E * loop + dim`` ranges over
    ``0..total`` (or its full-tile prefix) once each, the mixed-radix map is a bijection
    onto the full tiles, and the tail boxes are a partition of the rest. Anything else:
    False, and the solver decides.
    """
    tile_vars = [v for g in groups for v in g.vars]
    loops = {x.var: x for x in form.loops}
    if len(set(tile_vars)) != len(tile_vars) or not set(tile_vars) <= set(loops):
        return False
    if dict(extents) != {g.dim: g.extent for g in groups} or len(groups) != len(extents):
        return False
    expected = [x for x in form.loops if x.var not in set(tile_vars)]
    remainders: list[tuple[str, int, int]] = []
    for g in groups:
        total = 1
        for v in g.vars:
            total *= loops[v].extent
        if g.extent <= 0 or total < g.extent:
            return False
        if total % g.extent:
            if len(g.vars) > 1:
                return False
            x = loops[g.vars[0]]
            remainders.append((x.var, x.lo + total // g.extent * g.extent, x.hi))
        expected.append(Loop(g.loop, 0, total // g.extent))
    order = [x.var for x in form.loops]
    remainders.sort(key=lambda r: order.index(r[0]))
    if sorted(call_loops, key=lambda x: x.var) != sorted(expected, key=lambda x: x.var):
        return False
    names = [x.var for x in call_loops] + list(extents)
    if len(set(names)) != len(names) or set(names) & (set(tile_vars) - set(extents)):
        return False
    if dict(witness) != group_point(groups, form):
        return False
    return tails == [list(box) for box in tail_boxes(form, tuple(remainders))]


class _Checker:
    """Runs the validation queries: each either holds, fails, or is undecided (unknown)."""

    def __init__(self, config: SolverConfig) -> None:
        self.config = config
        self.failures: list[str] = []
        self.unknown: list[str] = []

    def require(self, counterexample: list[Expr], what: str, failure: str) -> None:
        """Record ``failure`` if ``counterexample`` (the negated property, integer
        constraints) is satisfiable."""
        names = sorted(set().union(*(free_vars(c) for c in counterexample)))
        answer = q.exists(counterexample, names, timeout_ms=self.config.timeout_ms,
                          rlimit=self.config.rlimit, seed=self.config.seed)
        if answer.status == q.SAT:
            self.failures.append(failure)
        elif answer.status == q.UNKNOWN:
            self.unknown.append(f"could not check {what} ({answer.reason})")


class _Space:
    """One copy of a set of bounded integer variables (tagged so copies do not clash)."""

    def __init__(self, loops: list[tuple[str, int, int]], tag: str) -> None:
        self.vars: dict[str, Expr] = {name: q.var(f"{name}!{tag}") for name, _lo, _hi in loops}
        self.bounds = [c for name, lo, hi in loops
                       for c in (q.compare(">=", self.vars[name], lo),
                                 q.compare("<", self.vars[name], hi))]


def validate(form: Reduction, stmts: tuple[Stmt, ...], intr: Function, tile: Function,
             plan: Plan, *, w_type: DType, assumes: tuple[Assume, ...] = (),
             fp: str = "ieee", config: SolverConfig | None = None,
             construction: bool = True) -> Validation:
    """Validate the statements ``stmts`` that replace ``form`` (see the module docstring).

    ``plan`` is what the statements were made from; the validator reads from it only
    hints that it checks: the witness (each program loop in the call nest's variables),
    the read each input parameter stands for (for a buffer read at several indices), a
    library call's sizes (``intr`` is then the intrinsic instantiated at them, and the
    call must pass exactly them), and the groups that let :func:`by_construction` settle
    the coverage checks without the solver when the statements are exactly that
    construction (``construction=False``: always ask the solver).

    ``w_type`` is the type of the buffer the reduction writes; ``assumes`` are the
    program's (the tile kernel carries those of the buffers it reads).
    """
    try:
        return _validate(form, stmts, intr, tile, dict(plan.witness), assumes, w_type, fp,
                         config or SolverConfig(timeout_ms=5000),
                         plan.groups if construction else None, dict(plan.match.sites),
                         dict(plan.sizes))
    except _Invalid as exc:
        return Validation((str(exc),), ("structure",))


def _validate(form: Reduction, stmts: tuple[Stmt, ...], intr: Function, tile: Function,
              witness: Mapping[str, Expr], assumes: tuple[Assume, ...], w_type: DType,
              fp: str, config: SolverConfig,
              groups: tuple[Group, ...] | None,
              sites: Mapping[str, tuple[Expr, ...]] | None,
              sizes: Mapping[str, int] | None) -> Validation:
    # 1. the reduction may be tiled, or the rewrite must keep each element's order (7.)
    refusal = reorder_refusal(form, w_type, fp)
    # a sequential in-place map (SEQ) is not reorderable either: its order is checked (7.)
    in_order = refusal is not None or form.op == SEQ
    if refusal is not None and (refusal.kind != RejectReason.ORDER or unordered(intr)):
        raise _Invalid(refusal.message)
    if value_vars(form.body) & {x.var for x in form.loops}:
        raise _Invalid("the body uses a loop variable as a value")
    if form.op == MAP and (form.init is not None or any(
            x.buf == form.buf and x.index != form.index for x in loads(form.body))
            or not injective(form.index, form.loops, {})):
        raise _Invalid("an elementwise fragment must write each element once, from values "
                       "that read no other element of it")
    if form.op == SEQ and (form.init is not None or not form.in_place or any(
            x.buf == form.buf and x.index != form.index for x in loads(form.body))
            or not injective(form.index, tuple(x for x in form.loops
                                               if x.var in form.spatial), {})
            or any(v in form.spatial for v in form.reduction)):
        raise _Invalid("a sequential in-place update must read and write only its own "
                       "element, and distinct spatial points must write distinct elements")
    # 2. init nest, call nest, tail nest
    rest = list(stmts)
    init = form.init_nest()
    if init is not None:
        if not rest or rest[0] != init:
            raise _Invalid("the rewrite does not keep the original init in front")
        if not init_hoistable(form.init_index or form.index, form.init_loops, form.index,
                              form.loops, {}):
            raise _Invalid("the init cannot be moved in front of the reduction")
        rest.pop(0)
    if not rest:
        raise _Invalid("the rewrite has no call")
    call_loops, call = _nest(rest.pop(0))
    if not isinstance(call, CallStmt):
        raise _Invalid("the rewrite's main nest does not end in a call")
    tails: list[list[Loop]] = []
    while rest:
        loops, update = _nest(rest.pop(0))
        if update != form.update_statement() or [x.var for x in loops] != \
                [x.var for x in form.loops]:
            raise _Invalid("a statement after the calls is not the original update over "
                           "its loops (a scalar tail)")
        tails.append(loops)
    # 3. the call computes the proved tile
    views, extents, tile_order, index_of, consts = _rebuilt_tile(
        form, call, intr, tile, assumes, sites, sizes)
    clash = {x.var for x in call_loops} & (set(extents) | set(consts))
    if clash:
        raise _Invalid(f"view dimension {sorted(clash)[0]} shadows a loop of the call nest")
    bound_names = {x.var for x in call_loops} | set(extents) | set(consts)
    for name, view in views.items():
        unbound = set().union(*(free_vars(e) for e in view.index)) - bound_names
        if unbound:
            raise _Invalid(f"the view for '{name}' uses {sorted(unbound)[0]}, which no loop "
                           "of the call nest binds")
    # 4-6 on integers
    check = _Checker(config)
    space = [(x.var, x.lo, x.hi) for x in call_loops] + [(d, 0, e) for d, e in extents.items()]
    one, two = _Space(space, "1"), _Space(space, "2")
    known = set(one.vars)
    for x in form.loops:
        if x.var not in witness and x.var not in known:
            raise _Invalid(f"the witness does not give loop {x.var}")
    for e in witness.values():
        if free_vars(e) - known:
            raise _Invalid("the witness uses a variable the call nest does not bind")

    p1, p2 = witnessed(form, witness, one), witnessed(form, witness, two)
    constructed = groups is not None and by_construction(
        form, call_loops, extents, tails, witness, groups)
    if constructed:
        coverage = ("coverage (by construction)", "injectivity (by construction)",
                    "tail (by construction)", "count (by construction)")
    else:
        coverage = ("coverage", "injectivity", "tail", "count")
        _coverage(check, form, one, two, p1, p2, call_loops, extents, tails)
    # 5. views (a constant dimension ranges over its extent, the same in both)
    cspace = _Space([(d, 0, e) for d, e in consts.items()], "1")
    at_witness = {x.var: witness.get(x.var, Var(x.var, INDEX)) for x in form.loops}
    for name, view in views.items():
        wrong = f"the view for '{name}' does not read what the program reads"
        if len(view.index) == len(index_of[name]) and all(
                _same_function(e, substitute(f, at_witness))
                for e, f in zip(view.index, index_of[name])):
            continue  # the same linear function of the call nest's (and constant) variables
        got = [_index(e, {**one.vars, **cspace.vars}) for e in view.index]
        want = [_index(e, {**p1, **cspace.vars}) for e in index_of[name]]
        if len(got) != len(want):
            check.failures.append(wrong)
        else:
            check.require(one.bounds + cspace.bounds
                          + [q.any_of(q.compare("!=", a, b) for a, b in zip(got, want))],
                          f"the view for '{name}'", wrong)
    # 6. output lanes
    out = next(b.name for b in intr.buffers if b.mode in ("out", "inout"))
    out_view = views[out]
    env2 = {**one.vars, **{d: two.vars[d] for d in out_view.dims}}
    first = [_index(e, one.vars) for e in out_view.index]
    second = [_index(e, env2) for e in out_view.index]
    dims_differ = [q.compare("!=", one.vars[d], two.vars[d]) for d in out_view.dims]
    lanes = tuple(Loop(d, 0, extents[d]) for d in out_view.dims if d in extents)
    if dims_differ and not (len(lanes) == len(out_view.dims)
                            and injective(out_view.index, lanes, {})):
        check.require(one.bounds + two.bounds
                      + [q.compare("==", a, b) for a, b in zip(first, second)]
                      + [q.any_of(dims_differ)], "the output view",
                      "the output view writes one element twice in a call")
    ran: tuple[str, ...] = ("structure", "tile kernel") + coverage + ("views", "output lanes")
    # 7. order, where the reduction may not be reordered
    if in_order:
        _order(check, form, witness, call_loops, extents, tile_order, tails)
        ran += (ORDER_CHECK,)
    if check.failures:
        return Validation(tuple(check.failures), ())
    if check.unknown:  # say why, instead of a failure that did not happen
        return Validation(tuple(dict.fromkeys(check.unknown)), (), unknown=True)
    return Validation((), ran)


def _lex_less(a: list[Expr], b: list[Expr]) -> Expr:
    """``a < b`` in lexicographic order (same length)."""
    return q.any_of(q.all_of([*(q.compare("==", x, y) for x, y in zip(a[:n], b[:n])),
                              q.compare("<", a[n], b[n])]) for n in range(len(a)))


def _order(check: _Checker, form: Reduction, witness: Mapping[str, Expr],
           call_loops: list[Loop], extents: Mapping[str, int], tile_order: list[str],
           tails: list[list[Loop]]) -> None:
    """Check 7: every output element receives its updates in the program's order.

    The program applies the updates of one element in the lexicographic order of its
    loops. The rewrite runs the call nest, then each tail nest in turn; within the call
    nest, in the lexicographic order of (the call nest's loops, then the tile's loops in
    the order of the proved tile kernel, which the intrinsic was proved to follow);
    within a tail, in the order of its loops. For every two instances that update one
    element, the one the program runs first must run first in the rewrite.
    """
    regions: list[tuple[list[tuple[str, int, int]], list[str]]] = [
        ([(x.var, x.lo, x.hi) for x in call_loops] + [(d, 0, extents[d]) for d in extents],
         [x.var for x in call_loops] + tile_order)]
    for loops in tails:
        regions.append(([(x.var, x.lo, x.hi) for x in loops], [x.var for x in loops]))
    points = []
    for n, (space_loops, time) in enumerate(regions):
        for tag in ("x", "y"):
            space = _Space(space_loops, f"o{n}{tag}")
            point = witnessed(form, witness, space) if n == 0 else \
                {x.var: space.vars[x.var] for x in form.loops}
            points.append((n, tag, space, point, [space.vars[v] for v in time]))
    for n1, tag1, s1, p1, t1 in points:
        if tag1 != "x":
            continue
        for n2, tag2, s2, p2, t2 in points:
            if tag2 != "y" or n1 < n2:
                continue  # a later region runs after an earlier one entirely
            same = [q.compare("==", _index(e, p1), _index(e, p2)) for e in form.index]
            first = _lex_less([p1[x.var] for x in form.loops], [p2[x.var] for x in form.loops])
            wrong = q.negate(_lex_less(t1, t2)) if n1 == n2 else q.all_of(())
            check.require(s1.bounds + s2.bounds + same + [first, wrong],
                          "the order of updates", "the rewrite changes the order in which "
                          "an output element is updated, and the reduction may not be "
                          "reordered")


def witnessed(form: Reduction, witness: Mapping[str, Expr], space: _Space
              ) -> dict[str, Expr]:
    """Each original loop variable at a point of ``space`` (the call nest), per the witness."""
    return {x.var: _index(witness[x.var], space.vars) if x.var in witness
            else space.vars[x.var] for x in form.loops}


def _coverage(check: _Checker, form: Reduction, one: _Space, two: _Space,
              p1: Mapping[str, Expr], p2: Mapping[str, Expr],
              call_loops: list[Loop], extents: Mapping[str, int],
              tails: list[list[Loop]]) -> None:
    """Checks 4 with the solver: containment, injectivity, the tails, the counts."""
    inside = [q.all_of([q.compare(">=", p1[x.var], x.lo), q.compare("<", p1[x.var], x.hi)])
              for x in form.loops]
    check.require(one.bounds + [q.negate(q.all_of(inside))], "the tile bounds",
                  "a tile reaches outside the original loop bounds")
    same = [q.compare("==", p1[x.var], p2[x.var]) for x in form.loops]
    differ = [q.compare("!=", one.vars[k], two.vars[k]) for k in one.vars]
    check.require(one.bounds + two.bounds + same + [q.any_of(differ)],
                  "that tiles do not overlap",
                  "two tile positions compute the same original iteration")
    spaces = [_Space([(x.var, x.lo, x.hi) for x in loops], f"t{n}")
              for n, loops in enumerate(tails)]
    for n, tail in enumerate(spaces):
        outside = [q.negate(q.all_of([q.compare(">=", tail.vars[x.var], x.lo),
                                      q.compare("<", tail.vars[x.var], x.hi)]))
                   for x in form.loops]
        check.require(tail.bounds + [q.any_of(outside)], "the tail bounds",
                      "a scalar tail reaches outside the original loop bounds")
        meet = [q.compare("==", p1[x.var], tail.vars[x.var]) for x in form.loops]
        check.require(one.bounds + tail.bounds + meet, "the tail",
                      "a scalar tail repeats iterations the calls compute")
        for other in spaces[:n]:
            meet = [q.compare("==", other.vars[x.var], tail.vars[x.var])
                    for x in form.loops]
            check.require(other.bounds + tail.bounds + meet, "that tails do not overlap",
                          "two scalar tails compute the same iteration")
    calls = _count(call_loops) * _count([Loop(d, 0, e) for d, e in extents.items()])
    total = _count(form.loops)
    tail_count = sum(_count(loops) for loops in tails)
    if calls + tail_count != total:
        check.failures.append(f"the calls and the tail cover {calls + tail_count} "
                              f"iterations, the original has {total}")
