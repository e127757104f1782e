"""Per-element proofs with symbolic indices: the cost does not grow with tensor sizes.

Both sides must be in reduction normal form (:mod:`tensorize.ir.reduction`) with the
same reorderable operator, or both maps (every element written once by one statement).
The prover solves the index equations of the written buffer for a map ``sigma`` from the
left's spatial points to the right's, and those of the loads for a map ``pi`` between
reduction points; checks with linear integer arithmetic that both are bijections between
the iteration domains; and asks Z3 whether, at a symbolic point, the per-iteration terms
(and the init values) can differ, with memory as uninterpreted functions of element
offsets. ``unsat`` proves every output element equal. A map's terms are compared bit for
bit (``+0`` and ``-0`` differ), so it is proved in IEEE mode too: nothing is reordered.
The inits are compared at every spatial point whatever the reduction extents, since an
empty reduction (``K = 0``, or a bound below the start) leaves the inits as the result.

A term-by-term difference does not prove the sums differ, so a failed attempt returns
None (not applicable), and the caller goes on to the exact unrolled proof.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import Any

from tensorize.equivalence.obligation import Obligation, assumptions_used
from tensorize.equivalence.results import Proved, Result, Unknown
from tensorize.equivalence.smt import Translator, index_term
from tensorize.equivalence.unroll import strides
from tensorize.ir.affine import Linear, linear_form
from tensorize.ir.interp import shapes_of
from tensorize.ir.nodes import Expr, Function, Load
from tensorize.ir.reduction import MAP, Loop, Reduction, map_form, reduction_form
from tensorize.ir.traverse import loads
from tensorize.smt import terms as T
from tensorize.smt.backend import Undecided, Unsat, backend_for, verdict
from tensorize.smt.fold import linear_terms, simplify
from tensorize.smt.terms import Term

MAX_PAIRINGS = 64

Affine = tuple[dict[str, Fraction], Fraction]  # coefficients over left variables, constant


def _flat(index: tuple[Expr, ...], shape: tuple[int, ...], sizes: Mapping[str, int]
          ) -> Linear | None:
    forms = [linear_form(e, sizes) for e in index]
    if any(f is None for f in forms):
        return None
    coeffs: dict[str, int] = {}
    const = 0
    for f, s in zip(forms, strides(shape)):
        assert f is not None
        for v, c in f.coeffs:
            coeffs[v] = coeffs.get(v, 0) + c * s
        const += f.const * s
    return Linear(tuple(sorted((v, c) for v, c in coeffs.items() if c)), const)


def _equations(idx_a: tuple[Expr, ...], shape_a: tuple[int, ...], sa: Mapping[str, int],
               idx_b: tuple[Expr, ...], shape_b: tuple[int, ...], sb: Mapping[str, int]
               ) -> list[tuple[Linear, Linear]] | None:
    """Equations left = right: per dimension when the shapes agree, else flat offsets."""
    if shape_a == shape_b:
        pairs = []
        for ea, eb in zip(idx_a, idx_b):
            fa, fb = linear_form(ea, sa), linear_form(eb, sb)
            if fa is None or fb is None:
                return None
            pairs.append((fa, fb))
        return pairs
    fa, fb = _flat(idx_a, shape_a, sa), _flat(idx_b, shape_b, sb)
    if fa is None or fb is None:
        return None
    return [(fa, fb)]


def _solve(equations: list[tuple[Linear, Linear]], unknowns: tuple[str, ...],
           known: Mapping[str, Affine]) -> dict[str, Affine] | None:
    """Solve ``left(x) = right(u)`` for the unknowns ``u`` as affine functions of ``x``.

    ``known`` gives right-side variables already expressed in left variables.
    """
    rows: list[tuple[list[Fraction], Affine]] = []
    for left, right in equations:
        coeffs = [Fraction(right.coeff(u)) for u in unknowns]
        rhs: dict[str, Fraction] = {v: Fraction(c) for v, c in left.coeffs}
        const = Fraction(left.const - right.const)
        for v, c in right.coeffs:
            if v in unknowns:
                continue
            if v not in known:
                return None
            kc, kconst = known[v]
            for w, cw in kc.items():
                rhs[w] = rhs.get(w, Fraction(0)) - c * cw
            const -= c * kconst
        rows.append((coeffs, (rhs, const)))
    n = len(unknowns)
    pivots: dict[int, int] = {}
    pivot_row = 0
    for col in range(n):
        pivot = next((r for r in range(pivot_row, len(rows)) if rows[r][0][col] != 0), None)
        if pivot is None:
            return None  # this unknown is not determined
        rows[pivot_row], rows[pivot] = rows[pivot], rows[pivot_row]
        coeffs, (rhs, const) = rows[pivot_row]
        p = coeffs[col]
        coeffs = [c / p for c in coeffs]
        rhs = {v: c / p for v, c in rhs.items()}
        const = const / p
        rows[pivot_row] = (coeffs, (rhs, const))
        for r in range(len(rows)):
            if r == pivot_row or rows[r][0][col] == 0:
                continue
            f = rows[r][0][col]
            rc, (rr, rk) = rows[r]
            rc = [a - f * b for a, b in zip(rc, coeffs)]
            rr = dict(rr)
            for v, cv in rhs.items():
                rr[v] = rr.get(v, Fraction(0)) - f * cv
            rows[r] = (rc, (rr, rk - f * const))
        pivots[col] = pivot_row
        pivot_row += 1
    for _coeffs, (rhs, const) in rows[pivot_row:]:  # leftover rows must hold identically
        if any(rhs.get(v, 0) for v in rhs) or const != 0:
            return None
    out = {}
    for col, row in pivots.items():
        _coeffs, (rhs, const) = rows[row]
        if any(c.denominator != 1 for c in rhs.values()) or const.denominator != 1:
            return None
        out[unknowns[col]] = ({v: c for v, c in rhs.items() if c}, const)
    return out


def _det(matrix: list[list[Fraction]]) -> Fraction:
    m = [row[:] for row in matrix]
    n = len(m)
    det = Fraction(1)
    for c in range(n):
        p = next((r for r in range(c, n) if m[r][c] != 0), None)
        if p is None:
            return Fraction(0)
        if p != c:
            m[c], m[p] = m[p], m[c]
            det = -det
        det *= m[c][c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            m[r] = [a - f * b for a, b in zip(m[r], m[c])]
    return det


def _bijective(mapping: Mapping[str, Affine], src: tuple[str, ...], dst: tuple[str, ...]
               ) -> bool:
    if len(src) != len(dst):
        return False
    if not src:
        return True
    matrix = [[mapping[d][0].get(s, Fraction(0)) for s in src] for d in dst]
    return _det(matrix) != 0


def _affine_term(a: Affine, env: Mapping[str, Term]) -> Term:
    coeffs, const = a
    term = T.int_val(int(const))
    for v, c in coeffs.items():
        term = T.add(term, T.mul(T.int_val(int(c)), env[v]))
    return term


def _in_box(value: Term, lo: int, hi: int) -> Term:
    return T.and_(T.compare(">=", value, T.int_val(lo)), T.compare("<", value, T.int_val(hi)))


class _SymbolicMemory:
    """Buffers as uninterpreted functions of the element offset."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.funcs: dict[tuple[str, str], T.FuncDecl] = {}
        self.assumed: list[Term] = []

    def load(self, buf: str, offset: Term, fn: Function) -> Term:
        decl = fn.buffer(buf)
        assert decl is not None
        t = decl.dtype
        rng: T.Sort
        if t.is_float and self.mode == "real":
            kind, rng = f"real{t}", T.REAL
        elif t.is_bool:
            kind, rng = "bool", T.BOOL
        else:
            kind, rng = f"bits{t.bits}", T.bv_sort(t.bits)
        f = self.funcs.get((buf, kind))
        if f is None:
            f = T.func(f"mem_{buf}_{kind}", [T.INT], rng)
            self.funcs[(buf, kind)] = f
        value = T.apply(f, offset)
        if t.is_float and self.mode == "ieee":
            value = T.fp_from_bv(value, T.fp_sort(*t.float_format))
        for a in fn.assumes:
            if a.buf == buf:
                from tensorize.equivalence.memory import Memory

                tmp = Memory(self.mode)
                tmp.assume(a, 0, value, t, 0)
                self.assumed.extend(tmp.constraints.values())
        return value


def prove_parametric(a: Function, sa: Mapping[str, int], b: Function, sb: Mapping[str, int],
                     opts: Any, start: float) -> Result | None:
    """A per-element proof when both sides are single reductions, or both single maps
    (each element written once, :data:`~tensorize.ir.reduction.MAP`); None when not
    applicable."""
    ra = reduction_form(a, sa) or map_form(a, sa)
    rb = reduction_form(b, sb) or map_form(b, sb)
    if ra is None or rb is None or ra.buf != rb.buf or ra.op != rb.op:
        return None
    if (ra.init is None) != (rb.init is None):
        return None
    t = a.decl(ra.buf).dtype
    if t != b.decl(rb.buf).dtype:
        return None
    if t.is_float and ra.op != MAP and (opts.fp == "ieee" or t.float_format[1] < 24):
        return None  # IEEE sums (and f16/bf16 accumulators) may not be reordered;
        # a map combines nothing, so each element is one term in either mode
    if t.is_bool:
        return None
    for r in (ra, rb):
        if r.init is not None:
            init_bounds = {x.var: (x.lo, x.hi) for x in r.init_loops}
            if r.init_index != r.index or any(
                    init_bounds.get(v) != (r.loop(v).lo, r.loop(v).hi) for v in r.spatial):
                return None
    shapes_a, shapes_b = shapes_of(a, sa), shapes_of(b, sb)
    # sigma: the right's spatial variables in terms of the left's
    eqs = _equations(ra.index, shapes_a[ra.buf], sa, rb.index, shapes_b[rb.buf], sb)
    if eqs is None:
        return None
    sigma = _solve(eqs, rb.spatial, {})
    if sigma is None or not _bijective(sigma, ra.spatial, rb.spatial):
        return None
    count = _count(ra.loops, ra.spatial), _count(rb.loops, rb.spatial)
    rcount = _count(ra.loops, ra.reduction), _count(rb.loops, rb.reduction)
    if count[0] != count[1] or rcount[0] != rcount[1]:
        return None
    for pi in _reduction_maps(ra, rb, sigma, a, sa, b, sb, shapes_a, shapes_b):
        result = _check(ra, rb, sigma, pi, a, sa, b, sb, shapes_a, shapes_b, opts, start)
        if result is not None:
            return result
    return None


def _count(loops: tuple[Loop, ...], names: tuple[str, ...]) -> int:
    n = 1
    for x in loops:
        if x.var in names:
            n *= x.extent
    return n


def _reduction_maps(ra: Reduction, rb: Reduction, sigma: dict[str, Affine], a: Function,
                    sa: Mapping[str, int], b: Function, sb: Mapping[str, int],
                    shapes_a: Mapping[str, tuple[int, ...]],
                    shapes_b: Mapping[str, tuple[int, ...]]) -> Iterator[dict[str, Affine]]:
    """Candidate maps pi, from pairings of the loads of the two bodies."""
    loads_a: dict[str, list[Load]] = {}
    loads_b: dict[str, list[Load]] = {}
    for x in loads(ra.body):
        loads_a.setdefault(x.buf, []).append(x)
    for x in loads(rb.body):
        loads_b.setdefault(x.buf, []).append(x)
    if {k: len(v) for k, v in loads_a.items()} != {k: len(v) for k, v in loads_b.items()}:
        return
    names = sorted(loads_a)
    choices = [list(itertools.permutations(loads_b[n])) for n in names]
    seen = 0
    for combo in itertools.product(*choices):
        seen += 1
        if seen > MAX_PAIRINGS:
            return
        eqs: list[tuple[Linear, Linear]] = []
        ok = True
        for name, perm in zip(names, combo):
            for la, lb in zip(loads_a[name], perm):
                e = _equations(la.index, shapes_a[name], sa, lb.index, shapes_b[name], sb)
                if e is None:
                    ok = False
                    break
                eqs.extend(e)
        if not ok:
            continue
        pi = _solve(eqs, rb.reduction, sigma)
        if pi is not None and _bijective(pi, ra.reduction, rb.reduction):
            yield pi



def _check(ra: Reduction, rb: Reduction, sigma: dict[str, Affine], pi: dict[str, Affine],
           a: Function, sa: Mapping[str, int], b: Function, sb: Mapping[str, int],
           shapes_a: Mapping[str, tuple[int, ...]], shapes_b: Mapping[str, tuple[int, ...]],
           opts: Any, start: float) -> Result | None:
    env_a = {x.var: T.var(f"L_{x.var}", T.INT) for x in ra.loops}
    env_b = {v: _affine_term(sigma[v], env_a) for v in rb.spatial}
    env_b.update({v: _affine_term(pi[v], env_a) for v in rb.reduction})
    # Two claims, each over its own domain: the inits at every spatial point (whatever
    # the reduction extents: with an empty reduction the inits alone are the result),
    # and the per-iteration terms at every point of the whole nest.
    spatial_a = set(ra.spatial)
    domain_all = [_in_box(env_a[x.var], x.lo, x.hi) for x in ra.loops]
    domain_spatial = [_in_box(env_a[x.var], x.lo, x.hi) for x in ra.loops
                      if x.var in spatial_a]
    # what must stay inside a box: (value, lo, hi), over the spatial points of the left
    # (the inits) and over all its points (the per-iteration terms)
    within_spatial = [(env_b[x.var], x.lo, x.hi) for x in rb.loops if x.var in rb.spatial]
    within_all = within_spatial + [(env_b[x.var], x.lo, x.hi) for x in rb.loops
                                   if x.var in rb.reduction]
    memory = _SymbolicMemory(opts.fp)

    def reader(fn: Function, shapes: Mapping[str, tuple[int, ...]]
               ) -> Callable[[Load, tuple[Any, ...]], Term]:
        def read(load: Load, idx: tuple[Any, ...]) -> Term:
            offset = T.int_val(0)
            for i, s in zip(idx, strides(shapes[load.buf])):
                offset = T.add(offset, T.mul(index_term(i), T.int_val(s)))
            # in normal form, the two sides' reads of one element are one term, so the
            # canonical operand order of a product (by term identity) is the same on both
            return memory.load(load.buf, simplify(offset), fn)
        return read

    for fn, shapes, r, env in ((a, shapes_a, ra, env_a), (b, shapes_b, rb, env_b)):
        full = {**(sa if fn is a else sb), **env}
        for expr, where in ((r.body, within_all), (r.init, within_spatial)):
            if expr is None:
                continue
            for x in loads(expr):  # every load stays in bounds
                for e, n in zip(x.index, shapes[x.buf]):
                    value = index_term(Translator(opts.fp, _no_loads)(e, full))
                    where.append((value, 0, n))
    outside_spatial = [T.not_(_in_box(v, lo, hi)) for v, lo, hi in within_spatial]
    outside_all = [T.not_(_in_box(v, lo, hi)) for v, lo, hi in within_all]
    tr_a = Translator(opts.fp, reader(a, shapes_a))
    tr_b = Translator(opts.fp, reader(b, shapes_b))
    full_a = {**{k: v for k, v in sa.items()}, **env_a}
    full_b = {**{k: v for k, v in sb.items()}, **env_b}
    body_a, body_b = tr_a(ra.body, full_a), tr_b(rb.body, full_b)
    claims = [T.and_(*domain_all, T.or_(*outside_all, T.distinct(body_a, body_b)))]
    same_init = True  # no inits on either side (prove_parametric refuses one alone)
    if ra.init is not None and rb.init is not None:
        init_a, init_b = tr_a(ra.init, full_a), tr_b(rb.init, full_b)
        same_init = init_a is init_b
        claims.append(T.and_(*domain_spatial,
                             T.or_(*outside_spatial, T.distinct(init_a, init_b))))
    maps = {**sigma, **pi}
    desc = ", ".join(f"{v}' = {_show(maps[v])}" for v in rb.spatial + rb.reduction)
    if opts.shortcuts and not opts.cross_check and not opts.smtlib_dir:
        box_all = {env_a[x.var]: (x.lo, x.hi) for x in ra.loops}
        box_spatial = {env_a[x.var]: (x.lo, x.hi) for x in ra.loops if x.var in spatial_a}
        if body_a is body_b and same_init and all(
                _bounded(v, lo, hi, box_all) for v, lo, hi in within_all) and all(
                _bounded(v, lo, hi, box_spatial) for v, lo, hi in within_spatial):
            # each claim is false at every point of its box: no query is needed
            return Proved(opts.fp, time.perf_counter() - start,
                          f"per element of {ra.buf}: {desc} (one term on both sides, "
                          "indices in bounds by interval arithmetic)", "per-element",
                          assumptions_used(a, b))
    assertions = [*memory.assumed, T.or_(*claims)]
    ob = Obligation(f"{a.name}_vs_{b.name}_per_element", assertions, method="per-element")
    if opts.smtlib_dir:
        from pathlib import Path

        from tensorize.equivalence.smtlib import export

        export(ob, Path(opts.smtlib_dir))
    answer = backend_for(opts.solver).discharge(ob, opts.solver)
    checked = ""
    if opts.cross_check:
        from tensorize.equivalence.smtlib import cross_check

        checked = cross_check(ob, verdict(answer), opts.solver)
    if isinstance(answer, Unsat):
        return Proved(opts.fp, time.perf_counter() - start,
                      f"per element of {ra.buf}: {desc}", "per-element", assumptions_used(a, b),
                      cross_check=checked)
    if isinstance(answer, Undecided):
        return Unknown(opts.fp, time.perf_counter() - start, f"solver: {answer.reason}")
    return None


def _bounded(value: Term, lo: int, hi: int, box: Mapping[Term, tuple[int, int]]) -> bool:
    """Whether ``lo <= value < hi`` at every point of ``box`` (each variable ``x`` in
    ``[box[x][0], box[x][1])``): exact for a value linear in the box's variables, whose
    extremes over a box are at its corners; False for any other value (the solver then
    decides). An empty box holds no point: any answer is right there."""
    coeffs, low = linear_terms(value)
    high = low
    for atom, c in coeffs.items():
        bounds = box.get(atom)
        if bounds is None:
            return False
        first, last = bounds[0], bounds[1] - 1
        low += min(c * first, c * last)
        high += max(c * first, c * last)
    return lo <= low and high < hi


def _no_loads(load: Load, idx: tuple[Any, ...]) -> Term:
    raise AssertionError(f"an index expression loads from {load.buf}")


def _show(a: Affine) -> str:
    coeffs, const = a
    parts = [f"{'' if c == 1 else ('-' if c == -1 else str(c) + '*')}{v}"
             for v, c in sorted(coeffs.items())]
    if const or not parts:
        parts.append(str(const))
    return " + ".join(parts).replace("+ -", "- ")

