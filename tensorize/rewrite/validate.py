"""Whole-rewrite validation: the new loop nest computes exactly the original's instances.

Checked with the equivalence engine's solver on linear integer arithmetic (with the
division and remainder by constants that fused tiles use), so the cost does not depend on
the sizes:

1. every (tile, position in tile) maps into the original iteration domain, and no two map
   to the same original iteration; the scalar tail maps to the rest; the counts add up;
2. each view reads or writes exactly the element the original update does there;
3. within one call the output view writes each element at most once.

Together with the tile proof (the intrinsic equals the program on a tile) and the
reduction operator being reorderable, the rewritten kernel equals the original. It is
also run against the original in the interpreter when the sizes allow.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from tensorize.equivalence.smt import Translator
from tensorize.equivalence.solver import SolverConfig, make_solver
from tensorize.ir.nodes import Expr, Function, View
from tensorize.ir.reduction import Reduction
from tensorize.ir.traverse import loads
from tensorize.matcher.candidates import Candidate
from tensorize.matcher.fragments import Fragment
from tensorize.rewrite.apply import program_point, tile_loop


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one rewrite: empty ``failures`` means valid."""

    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """No check failed."""
        return not self.failures


def _index(e: Expr, env: dict[str, z3.ArithRef]) -> z3.ArithRef:
    value = Translator("ieee", lambda *_: None)(e, env)
    return value if z3.is_expr(value) else z3.IntVal(int(value))


class _Domain:
    """The iteration domain of the main call nest, as Z3 integers (one copy per tag)."""

    def __init__(self, cand: Candidate, form: Reduction, tag: str) -> None:
        self.vars: dict[str, z3.ArithRef] = {}
        self.constraints: list[z3.BoolRef] = []
        in_tile = {v for g in cand.groups for v in g.vars}
        for loop in form.loops:
            if loop.var not in in_tile:
                self._add(loop.var, loop.lo, loop.hi, tag)
        for g in cand.groups:
            total = 1
            for v in g.vars:
                total *= form.loop(v).extent
            self._add(tile_loop(g), 0, total // g.extent, tag)
            self._add(g.name, 0, g.extent, tag)
        point = program_point(cand, form)
        self.program = {loop.var: (_index(point[loop.var], self.vars) if loop.var in point
                                   else self.vars[loop.var]) for loop in form.loops}

    def _add(self, name: str, lo: int, hi: int, tag: str) -> None:
        v = z3.Int(f"{name}!{tag}")
        self.vars[name] = v
        self.constraints += [v >= lo, v < hi]


class _Checker:
    """Runs the validation queries; an unknown answer is a failure, said as such."""

    def __init__(self, config: SolverConfig) -> None:
        self.config = config
        self.unknown: list[str] = []

    def holds(self, assertions: list[z3.BoolRef], what: str) -> bool:
        """Whether the negated property ``assertions`` is unsatisfiable."""
        solver = make_solver(self.config)
        solver.add(*assertions)
        verdict = solver.check()
        if verdict == z3.unknown:
            self.unknown.append(f"could not check {what} ({solver.reason_unknown()})")
        return verdict == z3.unsat


def validate(cand: Candidate, frag: Fragment, call_views: dict[str, View],
             config: SolverConfig | None = None) -> Validation:
    """Check the loop structure and views of a rewrite (see the module docstring)."""
    config = config or SolverConfig(timeout_ms=5000)
    form = frag.form
    failures: list[str] = []
    one, two = _Domain(cand, form, "1"), _Domain(cand, form, "2")
    inside = [z3.And(one.program[x.var] >= x.lo, one.program[x.var] < x.hi)
              for x in form.loops]
    check = _Checker(config)
    if not check.holds(one.constraints + [z3.Not(z3.And(*inside))], "the tile bounds"):
        failures.append("a tile reaches outside the original loop bounds")
    same = [one.program[x.var] == two.program[x.var] for x in form.loops]
    differ = [one.vars[k] != two.vars[k] for k in one.vars]
    if not check.holds(one.constraints + two.constraints + same + [z3.Or(*differ)],
                       "that tiles do not overlap"):
        failures.append("two tile positions compute the same original iteration")
    main = 1
    for loop in form.loops:
        main *= loop.extent
    tail_count = 0
    if cand.tail is not None:
        var, start, stop = cand.tail
        tail_count = main // form.loop(var).extent * (stop - start)
        hits_tail = [one.program[var] >= start, one.program[var] < stop]
        if not check.holds(one.constraints + hits_tail, "the tail"):
            failures.append("the scalar tail repeats iterations the calls compute")
    calls_count = 1
    for g in cand.groups:
        calls_count *= g.extent
    calls_count *= cand.calls
    if calls_count + tail_count != main:
        failures.append(f"the calls and the tail cover {calls_count + tail_count} iterations, "
                        f"the original has {main}")
    # views: each reads or writes what the original update does at that iteration
    reads = {x.buf: x.index for x in loads(form.body)}
    accesses = {form.buf: form.index, **reads}
    for name, view in call_views.items():
        expected = accesses[view.buf]
        env = dict(one.vars)
        got = [_index(e, env) for e in view.index]
        want = [_index(e, one.program) for e in expected]
        if not check.holds(one.constraints + [z3.Or(*[a != b for a, b in zip(got, want)])],
                           f"the view for '{name}'"):
            failures.append(f"the view for '{name}' does not read what the program reads")
    out_view = call_views[next(iter(call_views))]
    env2 = {**one.vars, **{d: two.vars[d] for d in out_view.dims}}
    first = [_index(e, one.vars) for e in out_view.index]
    second = [_index(e, env2) for e in out_view.index]
    dims_differ = [one.vars[d] != two.vars[d] for d in out_view.dims]
    if dims_differ and not check.holds(
            one.constraints + two.constraints + [a == b for a, b in zip(first, second)]
            + [z3.Or(*dims_differ)], "the output view"):
        failures.append("the output view writes one element twice in a call")
    if check.unknown:  # say why, instead of a failure that did not happen
        failures = list(dict.fromkeys(check.unknown))
    return Validation(tuple(failures))


def views_of(stmts: tuple, intr: Function) -> dict[str, View]:
    """The views of the (single) call among rewritten statements, output first."""
    from tensorize.ir.nodes import CallStmt
    from tensorize.ir.traverse import walk

    for s in stmts:
        for node in walk(s):
            if isinstance(node, CallStmt):
                views = {a.name: a.value for a in node.args if isinstance(a.value, View)}
                out = next(b.name for b in intr.buffers if b.mode in ("out", "inout"))
                return {out: views[out], **{k: v for k, v in views.items() if k != out}}
    return {}
