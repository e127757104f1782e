"""The Z3 back end (the default) and the one module of the package that imports Z3.

Our terms (:mod:`tensorize.smt.terms`) are translated to Z3 once each (memoised per
term, without recursion), keeping every variable's name and every argument's order: Z3's
search depends on both (renaming the input elements once made an f16 refutation three
times slower). The solver has fixed seeds, a timeout and a resource limit; models come
back as plain Python values, by variable name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any

import z3

from tensorize.smt.backend import Discharged, Query, Sat, SolverBackend, Undecided, Unsat, Value
from tensorize.smt.solver import SolverConfig
from tensorize.smt.terms import FuncDecl, Sort, Term, decl_of, fp_value, walk


def make_solver(config: SolverConfig, logic: str | None = None) -> z3.Solver:
    """A fresh Z3 solver with fixed seeds, the timeout and the resource limit (0: none)."""
    solver = z3.SolverFor(logic) if logic else z3.Solver()
    solver.set("timeout", int(config.timeout_ms))
    if config.rlimit:
        solver.set("rlimit", int(config.rlimit))
    solver.set("random_seed", int(config.seed))
    return solver


def _sort(s: Sort) -> z3.SortRef:
    if s.kind == "bool":
        return z3.BoolSort()
    if s.kind == "bv":
        return z3.BitVecSort(s.width)
    if s.kind == "int":
        return z3.IntSort()
    if s.kind == "real":
        return z3.RealSort()
    if s.kind == "fp":
        return z3.FPSort(s.ebits, s.sbits)
    return z3.RNESort()


def _const(t: Term) -> z3.ExprRef:
    s = t.sort
    if s.kind == "bool":
        return z3.BoolVal(bool(t.int_value))
    if s.kind == "bv":
        return z3.BitVecVal(t.int_value, s.width)
    if s.kind == "int":
        return z3.IntVal(t.int_value)
    if s.kind == "real":
        return z3.RealVal(t.rational)
    x = fp_value(t)
    return z3.fpNaN(_sort(s)) if x != x else z3.FPVal(x, _sort(s))


Z3Op = Callable[..., Any]
_OPS: dict[str, Z3Op] = {
    "not": z3.Not, "and": z3.And, "or": z3.Or, "ite": z3.If,
    "=": lambda a, b: a == b, "distinct": lambda a, b: a != b,
    "bvadd": lambda a, b: a + b, "bvmul": lambda a, b: a * b, "bvneg": lambda a: -a,
    "bvnot": lambda a: ~a, "bvsdiv": lambda a, b: a / b, "bvudiv": z3.UDiv,
    "bvsrem": z3.SRem, "bvurem": z3.URem, "bvand": lambda a, b: a & b,
    "bvor": lambda a, b: a | b, "bvxor": lambda a, b: a ^ b, "bvshl": lambda a, b: a << b,
    "bvashr": lambda a, b: a >> b, "bvlshr": z3.LShR,
    "bvslt": lambda a, b: a < b, "bvsle": lambda a, b: a <= b,
    "bvsgt": lambda a, b: a > b, "bvsge": lambda a, b: a >= b,
    "bvult": z3.ULT, "bvule": z3.ULE, "bvugt": z3.UGT, "bvuge": z3.UGE,
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "neg": lambda a: -a, "div": lambda a, b: a / b, "/": lambda a, b: a / b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "to_real": z3.ToReal,
    "fp.add": z3.fpAdd, "fp.sub": z3.fpSub, "fp.mul": z3.fpMul, "fp.div": z3.fpDiv,
    "fp.fma": z3.fpFMA, "fp.neg": z3.fpNeg, "fp.abs": z3.fpAbs,
    "fp.roundToIntegral": z3.fpRoundToIntegral,
    "fp.eq": z3.fpEQ, "fp.lt": z3.fpLT, "fp.leq": z3.fpLEQ, "fp.gt": z3.fpGT,
    "fp.geq": z3.fpGEQ, "fp.isNaN": z3.fpIsNaN, "fp.isInfinite": z3.fpIsInf,
    "fp.isNegative": z3.fpIsNegative,
}


class Translation:
    """Our terms as Z3 terms, each translated once (the memo keeps both alive)."""

    def __init__(self) -> None:
        self._memo: dict[Term, z3.ExprRef] = {}
        self._funcs: dict[FuncDecl, z3.FuncDeclRef] = {}

    def __call__(self, t: Term) -> z3.ExprRef:
        hit = self._memo.get(t)
        if hit is not None:
            return hit
        memo = self._memo
        for node in walk(t):
            if node not in memo:
                memo[node] = self._one(node, [memo[a] for a in node.args])
        return memo[t]

    def all(self, terms: Iterable[Term]) -> list[z3.ExprRef]:
        """Several terms, in order."""
        return [self(t) for t in terms]

    def _one(self, t: Term, args: list[z3.ExprRef]) -> z3.ExprRef:
        op = t.op
        fn = _OPS.get(op)
        if fn is not None:
            return fn(*args)
        if op == "const":
            return _const(t)
        if op == "var":
            return z3.Const(t.name, _sort(t.sort))
        if op == "rm":
            return z3.RNE() if t.params[0] == "RNE" else z3.RTZ()
        if op == "apply":
            f = decl_of(t)
            decl = self._funcs.get(f)
            if decl is None:
                decl = self._funcs[f] = z3.Function(f.name, *map(_sort, f.domain),
                                                    _sort(f.range))
            return decl(*args)
        p = t.params
        if op == "extract":
            return z3.Extract(p[0], p[1], args[0])
        if op == "zero_extend":
            return z3.ZeroExt(p[0], args[0])
        if op == "sign_extend":
            return z3.SignExt(p[0], args[0])
        if op == "int2bv":
            return z3.Int2BV(args[0], p[0])
        if op == "bv2int":
            return z3.BV2Int(args[0], is_signed=bool(p[0]))
        if op == "to_fp_bits":
            return z3.fpBVToFP(args[0], _sort(t.sort))
        if op == "to_fp_signed":
            return z3.fpSignedToFP(args[0], args[1], _sort(t.sort))
        if op == "to_fp_unsigned":
            return z3.fpUnsignedToFP(args[0], args[1], _sort(t.sort))
        if op == "to_fp_fp":
            return z3.fpFPToFP(args[0], args[1], _sort(t.sort))
        if op == "fp.to_sbv":
            return z3.fpToSBV(args[0], args[1], z3.BitVecSort(t.sort.width))
        if op == "fp.to_ubv":
            return z3.fpToUBV(args[0], args[1], z3.BitVecSort(t.sort.width))
        raise AssertionError(f"no Z3 translation of {op}")


def to_z3(t: Term) -> z3.ExprRef:
    """One term in Z3 (a fresh translation: for tests and one-off uses)."""
    return Translation()(t)


def smt2(assertions: Sequence[Term]) -> str:
    """The assertions as an SMT-LIB 2 script (Z3's printer)."""
    solver = z3.Solver()
    solver.add(*Translation().all(assertions))
    return str(solver.to_smt2())


def model_values(model: z3.ModelRef) -> dict[str, Value]:
    """The values of a model's constants, by name."""
    out: dict[str, Value] = {}
    for decl in model.decls():
        if decl.arity() == 0:
            out[decl.name()] = python_value(model[decl])
    return out


def python_value(v: z3.ExprRef) -> Value:
    """A Z3 value as a plain Python value (see :data:`~backend.Value`)."""
    if z3.is_bv_value(v):
        return int(v.as_long())
    if z3.is_true(v) or z3.is_false(v):
        return bool(z3.is_true(v))
    if z3.is_rational_value(v) or z3.is_int_value(v):
        return Fraction(v.as_fraction()) if z3.is_rational_value(v) else int(v.as_long())
    if isinstance(v, z3.FPNumRef):
        return int(z3.simplify(z3.fpToIEEEBV(v)).as_long())
    return None  # an algebraic number, or a value of a sort we do not read


class Z3Backend(SolverBackend):
    """Discharges obligations with Z3. One solver is kept and reset between queries
    (making one costs some 30 times a reset), rebuilt when the configuration changes;
    one translation serves every query of the back end, so the terms the queries share
    are translated once."""

    name = "z3"

    def __init__(self) -> None:
        self._solver: z3.Solver | None = None
        self._config: SolverConfig | None = None
        self.translation = Translation()

    def solver(self, config: SolverConfig) -> z3.Solver:
        """An empty solver of ``config``."""
        if self._solver is None or self._config != config:
            self._solver, self._config = make_solver(config), config
        else:
            self._solver.reset()
        return self._solver

    def discharge(self, obligation: Query, config: SolverConfig) -> Discharged:
        """Check the obligation's assertions with Z3."""
        solver = self.solver(config)
        solver.add(*self.translation.all(obligation.assertions))
        answer = solver.check()
        if answer == z3.unsat:
            return Unsat()
        if answer == z3.sat:
            return Sat(model_values(solver.model()))
        return Undecided(str(solver.reason_unknown()))
