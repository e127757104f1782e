"""Do two fragments compute the same thing? Refute by execution, then prove with Z3."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import z3

from tensorize.equivalence.execute import (
    EXECUTION_LIMIT,
    _differences,
    plain_values,
    refute_by_execution,
    render_array,
    translate_inputs,
    work,
)
from tensorize.equivalence.memory import Memory
from tensorize.equivalence.obligation import Obligation, assumptions_used
from tensorize.equivalence.ranges import RangeSimplifier
from tensorize.equivalence.results import (
    Counterexample,
    FpMode,
    Proved,
    Refuted,
    Result,
    Unknown,
)
from tensorize.equivalence.solver import SolverConfig, make_solver
from tensorize.equivalence.unroll import Budget, SymExec, TooLarge, final_value
from tensorize.errors import EquivalenceError
from tensorize.ir import interp
from tensorize.ir.nodes import Function


@dataclass(frozen=True)
class ProveOptions:
    """How hard to try, and what to keep. The CLI and the library build the same object."""

    fp: FpMode = "ieee"
    solver: SolverConfig = field(default_factory=SolverConfig)
    unroll_budget: int = 300_000
    execution: bool = True
    randoms: int = 4
    seed: int = 0
    smtlib_dir: str | None = None
    cross_check: bool = False
    parametric: bool = True


def check_signatures(a: Function, sa: Mapping[str, int], b: Function,
                     sb: Mapping[str, int]) -> None:
    """Both sides must name the same buffers, each of the same size in bytes."""
    shapes_a, shapes_b = interp.shapes_of(a, sa), interp.shapes_of(b, sb)
    bufs_a = {x.name: x for x in a.buffers if x.mode != "local"}
    bufs_b = {x.name: x for x in b.buffers if x.mode != "local"}
    if set(bufs_a) != set(bufs_b):
        only = sorted(set(bufs_a) ^ set(bufs_b))
        raise EquivalenceError(f"'{a.name}' and '{b.name}' do not have the same buffers "
                               f"(only one has {', '.join(only)})", b.span)
    for name, x in bufs_a.items():
        y = bufs_b[name]
        size_a = int(np.prod(shapes_a[name], dtype=np.int64)) * max(x.dtype.bits, 8)
        size_b = int(np.prod(shapes_b[name], dtype=np.int64)) * max(y.dtype.bits, 8)
        if size_a != size_b:
            raise EquivalenceError(f"buffer '{name}' is {x.dtype}{list(shapes_a[name])} in "
                                   f"'{a.name}' but {y.dtype}{list(shapes_b[name])} in "
                                   f"'{b.name}'", y.span)
        if (x.mode == "in") != (y.mode == "in"):
            raise EquivalenceError(f"buffer '{name}' is an input on one side and an output "
                                   "on the other", y.span)
        if x.dtype.is_float != y.dtype.is_float:
            raise EquivalenceError(f"buffer '{name}' is {x.dtype} on one side and {y.dtype} "
                                   "on the other", y.span)


def prove(a: Function, b: Function, *, sizes_a: Mapping[str, int] | None = None,
          sizes_b: Mapping[str, int] | None = None,
          library: Mapping[str, Function] | None = None,
          options: ProveOptions | None = None) -> Result:
    """Prove or refute that ``a`` and ``b`` leave every buffer with the same contents."""
    opts = options or ProveOptions()
    library = library or {}
    sa = interp.bind_sizes(a, sizes_a)
    sb = interp.bind_sizes(b, sizes_b)
    start = time.perf_counter()
    check_signatures(a, sa, b, sb)
    if opts.execution and max(work(a, sa), work(b, sb)) <= EXECUTION_LIMIT:
        cex = refute_by_execution(a, sa, b, sb, library, opts.fp, opts.seed, opts.randoms)
        if cex is not None:
            return Refuted(opts.fp, time.perf_counter() - start, cex)
    if opts.parametric:
        from tensorize.equivalence.parametric import prove_parametric

        result = prove_parametric(a, sa, b, sb, opts, start)
        if result is not None:
            return result
    try:
        obligation = unrolled_obligation(a, sa, b, sb, library, opts)
    except TooLarge as exc:
        return Unknown(opts.fp, time.perf_counter() - start,
                       f"not in a form proved per element, and {exc}")
    return solve(obligation, a, sa, b, sb, library, opts, start)


def unrolled_obligation(a: Function, sa: Mapping[str, int], b: Function,
                        sb: Mapping[str, int], library: Mapping[str, Function],
                        opts: ProveOptions) -> Obligation:
    """Run both sides symbolically and ask for an output element that differs."""
    memory = Memory(opts.fp)
    budget = Budget(opts.unroll_budget)
    left = SymExec(a, sa, memory, library, budget, side=0).run()
    right = SymExec(b, sb, memory, library, budget, side=1).run()
    simplify = _range_simplifier(memory)
    outputs = []
    for buf in a.outputs:
        t_a = buf.dtype
        t_b = b.buffer(buf.name).dtype  # type: ignore[union-attr]
        offsets = set(left.state.get(buf.name, {})) | set(right.state.get(buf.name, {}))
        for off in sorted(offsets):
            x = simplify(final_value(left, buf.name, off, t_a))
            y = simplify(final_value(right, buf.name, off, t_b))
            if not x.eq(y):
                outputs.append((buf.name, off, x, y))
    differ = [_differs(x, y) for _, _, x, y in outputs]
    assertions = list(memory.constraints.values())
    assertions.append(z3.Or(*differ) if differ else z3.BoolVal(False))
    return Obligation(f"{a.name}_vs_{b.name}", assertions, memory, outputs)


def _range_simplifier(memory: Memory) -> RangeSimplifier:
    """A simplifier that knows the assumed ranges of the input elements."""
    signed, unsigned = {}, {}
    for key, var in memory.variables.items():
        t = memory.types[key]
        r = memory.ranges.get(var.get_id())
        if r is None or not t.is_int:
            continue
        (signed if t.is_signed else unsigned)[var.get_id()] = r
    return RangeSimplifier(signed, unsigned)


def _differs(x: z3.ExprRef, y: z3.ExprRef) -> z3.BoolRef:
    if z3.is_fp(x):
        # structural inequality: +0 and -0 differ, every NaN is the same NaN
        return z3.Not(x == y)
    return x != y


def solve(ob: Obligation, a: Function, sa: Mapping[str, int], b: Function,
          sb: Mapping[str, int], library: Mapping[str, Function], opts: ProveOptions,
          start: float) -> Result:
    """Check an obligation; ``unsat`` is a proof, a model a counterexample."""
    if opts.smtlib_dir:
        from tensorize.equivalence.smtlib import export

        export(ob, Path(opts.smtlib_dir))
    solver = make_solver(opts.solver)
    if not ob.outputs and ob.method == "unroll":
        verdict = z3.unsat  # every output term is identical on both sides
    elif ob.memory is not None and _abstract_proof(ob, opts):
        verdict = z3.unsat
    else:
        verdict = _check_each(solver, ob)
    if opts.cross_check and ob.outputs:
        from tensorize.equivalence.smtlib import cross_check

        cross_check(ob, verdict, opts.solver)
    elapsed = time.perf_counter() - start
    if verdict == z3.unsat:
        return Proved(opts.fp, elapsed, ob.name, ob.method, assumptions_used(a, b))
    if verdict == z3.unknown:
        return Unknown(opts.fp, elapsed, f"solver: {solver.reason_unknown()}")
    return _counterexample(ob, solver.model(), a, sa, b, sb, library, opts, elapsed)


def _check_each(solver: z3.Solver, ob: Obligation) -> z3.CheckSatResult:
    """Check the outputs one by one, each with only the constraints it mentions.

    ``solver`` ends holding the query of the first output that may differ, so its model
    (or its reason for unknown) can be read.
    """
    if ob.memory is None or not ob.outputs:
        solver.add(*ob.assertions)
        return solver.check()
    constraints = list(ob.memory.constraints.values())
    for _, _, x, y in ob.outputs:
        claim = _differs(x, y)
        solver.reset()
        solver.add(*_relevant(constraints, claim), claim)
        verdict = solver.check()
        if verdict != z3.unsat:
            return verdict
    return z3.unsat


def _operand_range(x: z3.ExprRef, memory: Memory) -> tuple[int, int] | None:
    """The signed value range of an extended operand (assumed ranges included)."""
    if not (z3.is_app_of(x, z3.Z3_OP_SIGN_EXT) or z3.is_app_of(x, z3.Z3_OP_ZERO_EXT)):
        return None
    inner = x.arg(0)
    w = inner.size()
    if z3.is_app_of(x, z3.Z3_OP_SIGN_EXT):
        lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
    else:
        lo, hi = 0, (1 << w) - 1
    assumed = memory.ranges.get(inner.get_id())
    if assumed is not None:
        lo, hi = max(lo, assumed[0]), min(hi, assumed[1])
    return lo, hi


def _abstract_proof(ob: Obligation, opts: ProveOptions) -> bool:
    """Try the proof with every product of extended values replaced by a fresh variable.

    Each product becomes an unknown constrained only to its value range, a weaker
    formula: if it cannot differ, the original cannot either (a sound shortcut that
    spares the solver its multipliers). False means "no conclusion", not a refutation.
    """
    assert ob.memory is not None
    products: dict[int, z3.ExprRef] = {}
    stack = [t for _, _, x, y in ob.outputs for t in (x, y)]
    seen: set[int] = set()
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_app_of(t, z3.Z3_OP_BMUL) and t.num_args() == 2:
            products[t.get_id()] = t
        stack.extend(t.children())
    if not products:
        return False
    pairs, side = [], []
    for k, m in enumerate(products.values()):
        ra, rb = _operand_range(m.arg(0), ob.memory), _operand_range(m.arg(1), ob.memory)
        if ra is None or rb is None:
            continue
        corners = [p * q for p in ra for q in rb]
        fresh = z3.BitVec(f"product!{k}", m.size())
        pairs.append((m, fresh))
        side += [fresh >= z3.BitVecVal(min(corners), m.size()),
                 fresh <= z3.BitVecVal(max(corners), m.size())]
    if not pairs:
        return False
    constraints = list(ob.memory.constraints.values()) + side
    for _, _, x, y in ob.outputs:  # one output element at a time: many small queries
        claim = _differs(z3.substitute(x, *pairs), z3.substitute(y, *pairs))
        solver = make_solver(opts.solver)
        solver.add(*_relevant(constraints, claim), claim)
        if solver.check() != z3.unsat:
            return False
    return True


def _constants(term: z3.ExprRef) -> set[int]:
    """Ids of the uninterpreted constants (the input variables) in a term."""
    out: set[int] = set()
    stack, seen = [term], set()
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.add(t.get_id())
        stack.extend(t.children())
    return out


def _relevant(constraints: list[z3.BoolRef], claim: z3.ExprRef) -> list[z3.BoolRef]:
    """The constraints that mention a variable of ``claim`` (each is over one variable)."""
    names = _constants(claim)
    return [c for c in constraints if _constants(c) & names]


def _counterexample(ob: Obligation, model: z3.ModelRef, a: Function, sa: Mapping[str, int],
                    b: Function, sb: Mapping[str, int], library: Mapping[str, Function],
                    opts: ProveOptions, elapsed: float) -> Result:
    """Turn a model into concrete inputs, and confirm it with the interpreter."""
    assert ob.memory is not None
    values: dict[str, np.ndarray] = {}
    relevant: dict[str, list[str]] = {}
    shapes = interp.shapes_of(a, sa)
    for x in a.buffers:
        if x.mode != "local":
            values[x.name] = np.zeros(shapes[x.name], dtype=x.dtype.np_dtype)
    for (buf, off, _kind), var in ob.memory.variables.items():
        if buf not in values:
            continue
        t = a.buffer(buf).dtype  # type: ignore[union-attr]
        v = model.eval(var, model_completion=True)
        flat = values[buf].reshape(-1)
        if z3.is_bv_value(v):
            bits = v.as_long()
            flat[off:off + 1] = np.array([bits], dtype=f"u{max(t.bits // 8, 1)}").view(
                t.np_dtype) if t.bits >= 8 else bits
        elif z3.is_rational_value(v):
            flat[off] = float(v.as_fraction())
        elif z3.is_true(v) or z3.is_false(v):
            flat[off] = z3.is_true(v)
        idx = np.unravel_index(off, shapes[buf])
        relevant.setdefault(buf, []).append(f"{buf}{list(map(int, idx))} = {flat[off]}")
    ins_a = {k: v for k, v in values.items() if a.buffer(k).mode in ("in", "inout")}
    outs_a = {k: v for k, v in values.items() if a.buffer(k).mode == "out"}
    vb = translate_inputs(values, b, sb)
    ins_b = {k: v for k, v in vb.items() if b.buffer(k).mode in ("in", "inout")}
    outs_b = {k: v for k, v in vb.items() if b.buffer(k).mode == "out"}
    out_a = interp.run(a, ins_a, sizes=sa, library=library, outputs=outs_a)
    out_b = interp.run(b, ins_b, sizes=sb, library=library, outputs=outs_b)
    diffs = _differences(a, out_a, out_b, real=opts.fp == "real")
    if not diffs and opts.fp == "ieee":
        return Unknown(opts.fp, elapsed, "the solver's counterexample does not reproduce in "
                       "the interpreter (a translation gap); not a proof")
    if not diffs:  # real mode: the difference lives in the uninterpreted roundings
        from tensorize.equivalence.results import Difference

        buf, off, x, y = next(
            (o for o in ob.outputs if not z3.is_true(model.eval(o[2] == o[3],
                                                               model_completion=True))),
            ob.outputs[0])
        idx = tuple(int(i) for i in np.unravel_index(off, shapes[buf]))
        diffs = [Difference(buf, idx, str(model.eval(x, model_completion=True)),
                            str(model.eval(y, model_completion=True)))]
    cex = Counterexample({k: render_array(v) for k, v in ins_a.items()}, tuple(diffs),
                         "solver", {k: "; ".join(v[:16]) for k, v in relevant.items()},
                         plain_values(ins_a))
    return Refuted(opts.fp, elapsed, cex)
