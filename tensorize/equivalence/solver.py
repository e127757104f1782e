"""How long a proof may take, and which solver back end discharges it: the names of
:mod:`tensorize.smt.solver`, re-exported for the layers above the proof layer (the
rewriter, the API), which configure proofs without reaching below it."""

from __future__ import annotations

from tensorize.smt.solver import SOLVERS, SolverConfig, check_solver

__all__ = ["SOLVERS", "SolverConfig", "check_solver"]
