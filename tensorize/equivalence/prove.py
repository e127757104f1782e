"""Do two fragments compute the same thing? Refute by execution, then prove with a solver
(through the solver seam of `smt/backend.py`: Z3 by default, or cvc5)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from tensorize.equivalence.execute import (
    EXECUTION_LIMIT,
    REAL_EXECUTION_LIMIT,
    _differences,
    buffer_mode,
    plain_values,
    refute_by_execution,
    render_array,
    translate_inputs,
    work,
)
from tensorize.equivalence.memory import Memory
from tensorize.equivalence.obligation import Obligation, assumptions_used
from tensorize.equivalence.ranges import Interval, RangeSimplifier, intervals_from_constraints
from tensorize.equivalence.results import (
    Counterexample,
    FpMode,
    Proved,
    Refuted,
    Result,
    Unknown,
)
from tensorize.equivalence.unroll import Budget, SymExec, final_value
from tensorize.errors import EquivalenceError, TensorizeError, TooLarge
from tensorize.ir import interp
from tensorize.ir.nodes import Function
from tensorize.smt import terms as T
from tensorize.smt.backend import (
    Discharged,
    Sat,
    SolverBackend,
    Undecided,
    Unsat,
    Value,
    backend_for,
    verdict,
)
from tensorize.smt.fold import substitute
from tensorize.smt.solver import SolverConfig
from tensorize.smt.terms import Term


@dataclass(frozen=True)
class ProveOptions:
    """How hard to try, and what to keep. The CLI and the library build the same object."""

    fp: FpMode = FpMode.IEEE
    solver: SolverConfig = field(default_factory=SolverConfig)
    unroll_budget: int = 300_000
    execution: bool = True
    randoms: int = 4
    seed: int = 0
    smtlib_dir: str | None = None
    cross_check: bool = False
    parametric: bool = True
    shortcuts: bool = True
    """Simplify by value ranges and abstract products before the solver. False gives the
    plain Z3 proof of the unrolled obligation (the reference the shortcuts are tested
    against)."""

    @property
    def backend(self) -> str:
        """The solver back end that discharges the obligations (``solver.backend``)."""
        return self.solver.backend


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
    unproved = "not in a form proved per element"
    if opts.parametric:
        from tensorize.equivalence.parametric import prove_parametric

        per_element = prove_parametric(a, sa, b, sb, opts, start)
        if isinstance(per_element, Unknown):
            unproved = f"the per-element proof ended unknown ({per_element.reason})"
        elif per_element is not None:
            return per_element
    try:
        obligation = unrolled_obligation(a, sa, b, sb, library, opts)
    except TooLarge as exc:
        return Unknown(opts.fp, time.perf_counter() - start, f"{unproved}, and {exc}")
    return solve(obligation, a, sa, b, sb, library, opts, start)


def unrolled_obligation(a: Function, sa: Mapping[str, int], b: Function,
                        sb: Mapping[str, int], library: Mapping[str, Function],
                        opts: ProveOptions) -> Obligation:
    """Run both sides symbolically and ask for an output element that differs."""
    memory = Memory(opts.fp)
    budget = Budget(opts.unroll_budget)
    left = SymExec(a, sa, memory, library, budget, side=0).run()
    right = SymExec(b, sb, memory, library, budget, side=1).run()
    simplify: Callable[[Any], Any] = (_range_simplifier(memory) if opts.shortcuts
                                      else (lambda t: t))
    outputs = []
    for buf in a.outputs:
        t_a = buf.dtype
        t_b = b.decl(buf.name).dtype
        offsets = set(left.state.get(buf.name, {})) | set(right.state.get(buf.name, {}))
        for off in sorted(offsets):
            x = simplify(final_value(left, buf.name, off, t_a))
            y = simplify(final_value(right, buf.name, off, t_b))
            if x is not y:
                outputs.append((buf.name, off, x, y))
    differ = [_differs(x, y) for _, _, x, y in outputs]
    assertions = list(memory.constraints.values())
    assertions.append(T.or_(*differ) if differ else T.FALSE)
    return Obligation(f"{a.name}_vs_{b.name}", assertions, memory, outputs)


def _range_simplifier(memory: Memory) -> RangeSimplifier:
    """A simplifier that knows the assumed ranges of the input elements.

    The ranges are read from the constraints the solver gets, each in the signedness of
    its own comparison: a variable is the bits of an element, which one side may read as
    ``u8`` and the other as ``i8`` (or a cast may reinterpret), so a range recorded
    without its interpretation would be wrong for the other reading.
    """
    return RangeSimplifier(*intervals_from_constraints(memory.constraints.values()))


def _differs(x: Term, y: Term) -> Term:
    if x.sort.is_fp:
        # structural inequality: +0 and -0 differ, every NaN is the same NaN
        return T.not_(T.eq(x, y))
    return T.distinct(x, y)


def solve(ob: Obligation, a: Function, sa: Mapping[str, int], b: Function,
          sb: Mapping[str, int], library: Mapping[str, Function], opts: ProveOptions,
          start: float) -> Result:
    """Check an obligation; ``unsat`` is a proof, a model a counterexample."""
    if opts.smtlib_dir:
        from tensorize.equivalence.smtlib import export

        export(ob, Path(opts.smtlib_dir))
    backend = backend_for(opts.solver)
    answer: Discharged
    query = ob
    if not ob.outputs and ob.method == "unroll":
        answer = Unsat()  # every output term is identical on both sides
    elif opts.shortcuts and ob.memory is not None and _abstract_proof(ob, backend, opts):
        answer = Unsat()
    else:
        answer, query = _check_each(backend, ob, opts.solver)
    checked = ""
    if opts.cross_check and ob.outputs:
        from tensorize.equivalence.smtlib import cross_check

        checked = cross_check(ob, verdict(answer), opts.solver)
    elapsed = time.perf_counter() - start
    if isinstance(answer, Unsat):
        return Proved(opts.fp, elapsed, ob.name, ob.method, assumptions_used(a, b),
                      cross_check=checked)
    if isinstance(answer, Undecided):
        return Unknown(opts.fp, elapsed, f"solver: {answer.reason}")
    return _counterexample(ob, answer, query, backend, a, sa, b, sb, library, opts, elapsed)


def _check_each(backend: SolverBackend, ob: Obligation, config: SolverConfig
                ) -> tuple[Discharged, Obligation]:
    """Check the outputs one by one, each with only the constraints it mentions.

    Returns the answer of the first output that may differ (unsat if none may), with
    the query that gave it (its model, or its reason for unknown, is about that query).
    """
    if ob.memory is None or not ob.outputs:
        return backend.discharge(ob, config), ob
    constraints = _Constraints(list(ob.memory.constraints.values()))
    for _, _, x, y in ob.outputs:
        claim = _differs(x, y)
        query = Obligation(ob.name, [*constraints.relevant(claim), claim], ob.memory,
                           method=ob.method)
        answer = backend.discharge(query, config)
        if not isinstance(answer, Unsat):
            return answer, query
    return Unsat(), ob


def _operand_range(x: Term, signed: Mapping[Term, Interval],
                   unsigned: Mapping[Term, Interval]) -> Interval | None:
    """The exact value range of an extended operand (assumed ranges included).

    A sign extension has the *signed* value of its operand, a zero extension (by at least
    one bit) its *unsigned* value; each takes the assumed range in that interpretation.
    """
    sign = x.op == "sign_extend"
    if not (sign or x.op == "zero_extend") or x.params[0] == 0:
        return None
    inner = x.args[0]
    w = inner.width
    if sign:
        lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
    else:
        lo, hi = 0, (1 << w) - 1
    assumed = (signed if sign else unsigned).get(inner)
    if assumed is not None:
        lo, hi = max(lo, assumed[0]), min(hi, assumed[1])
    return lo, hi


def _product_bounds(fresh: Term, lo: int, hi: int) -> list[Term] | None:
    """Constraints on a product's bits that hold for every exact value in ``lo..hi``.

    The bit-vector product equals the exact product only if the exact one fits; it is
    then bounded by signed comparisons when it fits the signed range, by unsigned ones
    when it fits the unsigned range (a zero-extended ``u8 * u8`` in 16 bits reaches
    65025, which is no signed 16-bit value). None when it fits neither: it may wrap.
    """
    w = fresh.width
    if -(1 << (w - 1)) <= lo and hi < (1 << (w - 1)):
        return [T.bv_cmp("bvsge", fresh, T.bv_val(lo, w)),
                T.bv_cmp("bvsle", fresh, T.bv_val(hi, w))]
    if 0 <= lo and hi < (1 << w):
        return [T.bv_cmp("bvuge", fresh, T.bv_val(lo, w)),
                T.bv_cmp("bvule", fresh, T.bv_val(hi, w))]
    return None


def _abstract_proof(ob: Obligation, backend: SolverBackend, opts: ProveOptions) -> bool:
    """Try the proof with every product of extended values replaced by a fresh variable.

    Each product becomes an unknown constrained only to its value range, a weaker
    formula: if it cannot differ, the original cannot either (a sound shortcut that
    spares the solver its multipliers). False means "no conclusion", not a refutation.
    """
    assert ob.memory is not None
    products: dict[Term, None] = {}  # in the order the solver always saw them named
    stack = [t for _, _, x, y in ob.outputs for t in (x, y)]
    seen: set[Term] = set()
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        if t.op == "bvmul":
            products[t] = None
        stack.extend(t.args)
    if not products:
        return False
    signed, unsigned = intervals_from_constraints(ob.memory.constraints.values())
    pairs: dict[Term, Term] = {}
    side: list[Term] = []
    for k, m in enumerate(products):
        ra = _operand_range(m.args[0], signed, unsigned)
        rb = _operand_range(m.args[1], signed, unsigned)
        if ra is None or rb is None or ra[0] > ra[1] or rb[0] > rb[1]:
            continue
        corners = [p * q for p in ra for q in rb]
        fresh = T.var(f"product!{k}", m.sort)
        bounds = _product_bounds(fresh, min(corners), max(corners))
        if bounds is None:
            continue
        pairs[m] = fresh
        side += bounds
    if not pairs:
        return False
    constraints = _Constraints(list(ob.memory.constraints.values()) + side)
    for _, _, x, y in ob.outputs:  # one output element at a time: many small queries
        claim = _differs(substitute(x, pairs), substitute(y, pairs))
        query = Obligation(f"{ob.name}_abstract", [*constraints.relevant(claim), claim])
        if not isinstance(backend.discharge(query, opts.solver), Unsat):
            return False
    return True


class _Constraints:
    """Constraints, each with the variables it mentions (found once)."""

    def __init__(self, constraints: list[Term]) -> None:
        self.each = [(c, T.free_vars(c)) for c in constraints]

    def relevant(self, claim: Term) -> list[Term]:
        """The constraints that mention a variable of ``claim`` (each is over one
        variable)."""
        names = T.free_vars(claim)
        return [c for c, mentioned in self.each if not mentioned.isdisjoint(names)]


def _pin(var: Term, value: Value) -> Term | None:
    """``var == value`` (None when the value is not one to pin)."""
    if value is None:
        return None
    if var.sort.is_bv:
        return T.eq(var, T.bv_val(int(value), var.width))
    if var.sort.is_bool:
        return T.eq(var, T.bool_val(bool(value)))
    if var.sort.is_real:
        return T.eq(var, T.real_val(Fraction(value)))
    return None


def _complete(ob: Obligation, model: Sat, backend: SolverBackend, opts: ProveOptions
              ) -> Sat | None:
    """The model, extended to every input element so that all assumptions hold.

    A query holds only the constraints its claim mentions, so the model may leave other
    elements at values an ``assume`` forbids (the interpreter would then refuse the
    inputs). The claim's own values are kept; None if no completion exists.
    """
    assert ob.memory is not None
    pins = []
    for var in ob.memory.variables.values():
        name = var.name
        if name in model.values:
            pin = _pin(var, model.values[name])
            if pin is None:
                return None
            pins.append(pin)
    query = Obligation(f"{ob.name}_completion", [*ob.memory.constraints.values(), *pins])
    answer = backend.discharge(query, opts.solver)
    if not isinstance(answer, Sat):
        return None
    return Sat({**model.values, **answer.values})


def _grid_models(ob: Obligation, query: Obligation, backend: SolverBackend,
                 opts: ProveOptions) -> Iterator[Sat]:
    """Real mode: models of the same query with every real input a value of its type.

    A real variable may take a value no float of its type holds (or one that overflows
    it); the inputs the interpreter runs are then not the model's. Each grid pins the
    variables to ``n * 2**-e`` with ``|n| < 2**p`` (``p`` the type's precision), which the
    type represents exactly: first integers, then fractions of magnitude below 2.
    """
    assert ob.memory is not None
    names = T.free_vars(*query.assertions)
    reals = [(var, ob.memory.types[key]) for key, var in ob.memory.variables.items()
             if key[2].startswith("real") and var in names]
    if not reals:
        return
    for fraction in (False, True):
        grid = list(query.assertions)
        for k, (var, t) in enumerate(reals):
            precision = t.float_format[1]
            n = T.var(f"grid!{k}", T.INT)
            scale = T.real_val(Fraction(1, 2 ** (precision - 1)) if fraction else 1)
            grid += [T.eq(var, T.mul(T.to_real(n), scale)),
                     T.compare(">", n, T.int_val(-(2 ** precision))),
                     T.compare("<", n, T.int_val(2 ** precision))]
        answer = backend.discharge(Obligation(f"{ob.name}_grid", grid), opts.solver)
        if isinstance(answer, Sat):
            yield answer


def _counterexample(ob: Obligation, model: Sat, query: Obligation, backend: SolverBackend,
                    a: Function, sa: Mapping[str, int], b: Function, sb: Mapping[str, int],
                    library: Mapping[str, Function], opts: ProveOptions, elapsed: float
                    ) -> Result:
    """Turn the solver's model into concrete inputs; refuted only if the interpreter agrees.

    Both sides run on the model's inputs (the exact real-mode interpreter in real mode,
    whose results are the semantics); when they agree, or cannot be run, the model was
    an artefact of the translation (an uninterpreted rounding, say) and the answer is
    unknown, never refuted. In real mode, models with representable inputs are tried too.
    """
    result = _confirm(ob, model, backend, a, sa, b, sb, library, opts, elapsed)
    if isinstance(result, Refuted) or opts.fp != "real":
        return result
    for grid in _grid_models(ob, query, backend, opts):
        again = _confirm(ob, grid, backend, a, sa, b, sb, library, opts, elapsed)
        if isinstance(again, Refuted):
            return again
    return result


def _confirm(ob: Obligation, model: Sat, backend: SolverBackend, a: Function,
             sa: Mapping[str, int], b: Function, sb: Mapping[str, int],
             library: Mapping[str, Function], opts: ProveOptions, elapsed: float
             ) -> Refuted | Unknown:
    """Run both sides on one model's inputs: Refuted if they differ, else Unknown."""
    assert ob.memory is not None

    def unknown(why: str) -> Unknown:
        return Unknown(opts.fp, time.perf_counter() - start,
                       f"the solver's model did not reproduce in the interpreter: {why}; "
                       "not a proof")

    start = time.perf_counter() - elapsed
    completed = _complete(ob, model, backend, opts)
    if completed is None:
        return unknown("no inputs meeting every assumption extend it")
    model = completed
    values: dict[str, np.ndarray] = {}
    relevant: dict[str, list[str]] = {}
    shapes = interp.shapes_of(a, sa)
    rng = np.random.default_rng(opts.seed)
    assumes = {x.buf: x for x in a.assumes}
    for x in a.buffers:  # elements no claim reads: any value meeting the assumption
        if x.mode in ("in", "inout"):
            values[x.name] = interp.random_array(x.dtype, shapes[x.name], rng,
                                                 assumes.get(x.name))
        elif x.mode == "out":
            values[x.name] = np.zeros(shapes[x.name], dtype=x.dtype.np_dtype)
    for (buf, off, kind), var in ob.memory.variables.items():
        decl = a.buffer(buf)
        if buf not in values or decl is None:
            continue
        t = decl.dtype
        if kind not in (f"bits{t.bits}", f"real{t.name}", "bool"):
            continue  # the other side reads these bytes at another width
        # a variable the model leaves out may take any value: zero (Z3's completion)
        v = model.values.get(var.name, False if kind == "bool" else 0)
        flat = values[buf].reshape(-1)
        if v is None:
            return unknown(f"no value for {buf}[{off}]")
        if kind == "bool":
            flat[off] = bool(v)
        elif kind.startswith("real"):
            with np.errstate(over="ignore"):  # too large for the type: inf, then refused
                flat[off] = float(Fraction(v))
        else:
            bits = int(v)
            flat[off:off + 1] = np.array([bits], dtype=f"u{max(t.bits // 8, 1)}").view(
                t.np_dtype) if t.bits >= 8 else bits
        idx = np.unravel_index(off, shapes[buf])
        relevant.setdefault(buf, []).append(f"{buf}{list(map(int, idx))} = {flat[off]}")
    real = opts.fp == "real"
    if real and max(work(a, sa), work(b, sb)) > REAL_EXECUTION_LIMIT:
        return unknown("too large to run in the exact real-mode interpreter")
    mode: interp.Mode = "real" if real else "vector"
    ins_a = {k: v for k, v in values.items() if buffer_mode(a, k) in ("in", "inout")}
    outs_a = {k: v for k, v in values.items() if buffer_mode(a, k) == "out"}
    vb = translate_inputs(values, b, sb)
    ins_b = {k: v for k, v in vb.items() if buffer_mode(b, k) in ("in", "inout")}
    outs_b = {k: v for k, v in vb.items() if buffer_mode(b, k) == "out"}
    from tensorize.errors import NotReal

    try:
        out_a = interp.run(a, ins_a, sizes=sa, library=library, outputs=outs_a, mode=mode)
        out_b = interp.run(b, ins_b, sizes=sb, library=library, outputs=outs_b, mode=mode)
    except (TensorizeError, NotReal, ArithmeticError) as exc:
        return unknown(f"the inputs cannot be run ({exc})")
    diffs = _differences(a, out_a, out_b, real=real)
    if not diffs:
        return unknown("both sides give the same outputs on its inputs (a gap in the "
                       "translation, or an uninterpreted rounding)")
    cex = Counterexample({k: render_array(v) for k, v in ins_a.items()}, tuple(diffs),
                         "solver", {k: "; ".join(v[:16]) for k, v in relevant.items()},
                         plain_values(ins_a))
    return Refuted(opts.fp, time.perf_counter() - start, cex)
