"""The Z3 back end (the default): fixed seeds, a timeout and a resource limit; models
read back as plain Python values."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

import z3

from tensorize.equivalence.backend import Discharged, Sat, SolverBackend, Undecided, Unsat, Value
from tensorize.equivalence.solver import SolverConfig

if TYPE_CHECKING:
    from tensorize.equivalence.obligation import Obligation


def make_solver(config: SolverConfig, logic: str | None = None) -> z3.Solver:
    """A fresh Z3 solver with fixed seeds, the timeout and the resource limit."""
    solver = z3.SolverFor(logic) if logic else z3.Solver()
    solver.set("timeout", int(config.timeout_ms))
    solver.set("rlimit", int(config.rlimit))
    solver.set("random_seed", int(config.seed))
    return solver


def smt2(assertions: list[z3.BoolRef]) -> str:
    """The assertions as an SMT-LIB 2 script (Z3's printer)."""
    solver = z3.Solver()
    solver.add(*assertions)
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
    (making one costs some 30 times a reset), rebuilt when the configuration changes."""

    name = "z3"

    def __init__(self) -> None:
        self._solver: z3.Solver | None = None
        self._config: SolverConfig | None = None

    def solver(self, config: SolverConfig) -> z3.Solver:
        """An empty solver of ``config``."""
        if self._solver is None or self._config != config:
            self._solver, self._config = make_solver(config), config
        else:
            self._solver.reset()
        return self._solver

    def discharge(self, obligation: Obligation, config: SolverConfig) -> Discharged:
        """Check the obligation's assertions with Z3."""
        solver = self.solver(config)
        solver.add(*obligation.assertions)
        answer = solver.check()
        if answer == z3.unsat:
            return Unsat()
        if answer == z3.sat:
            return Sat(model_values(solver.model()))
        return Undecided(str(solver.reason_unknown()))
