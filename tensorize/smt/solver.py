"""How long a proof may take, and which solver back end discharges it."""

from __future__ import annotations

from dataclasses import dataclass

from tensorize.errors import UsageError

SOLVERS: tuple[str, ...] = ("z3", "cvc5")
"""The solver back ends (:mod:`tensorize.smt.backend`): Z3 is the default."""


def check_solver(name: object) -> str:
    """``name`` is a solver back end the engine knows."""
    if not isinstance(name, str) or name not in SOLVERS:
        raise UsageError(f"unknown solver {name!r} (valid: {', '.join(SOLVERS)})")
    return name


@dataclass(frozen=True)
class SolverConfig:
    """How long a proof may take. ``rlimit`` is Z3's deterministic resource budget (cvc5
    has no equivalent: the timeout alone bounds it); ``backend`` names the solver that
    discharges the obligations (``"z3"`` or ``"cvc5"``)."""

    timeout_ms: int = 10_000
    rlimit: int = 50_000_000
    seed: int = 0
    backend: str = "z3"
