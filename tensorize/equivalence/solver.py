"""The one place that makes Z3 solvers: fixed seeds, a timeout and a resource limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import z3


@dataclass(frozen=True)
class SolverConfig:
    """How long a proof may take. ``rlimit`` is Z3's deterministic resource budget."""

    timeout_ms: int = 10_000
    rlimit: int = 50_000_000
    seed: int = 0


def make_solver(config: SolverConfig, logic: str | None = None) -> z3.Solver:
    """A fresh solver with fixed seeds, the timeout and the resource limit."""
    import z3  # here: building a pass (which holds a config) needs no solver

    solver = z3.SolverFor(logic) if logic else z3.Solver()
    solver.set("timeout", int(config.timeout_ms))
    solver.set("rlimit", int(config.rlimit))
    solver.set("random_seed", int(config.seed))
    return solver
