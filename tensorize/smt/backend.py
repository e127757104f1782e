"""The solver seam: a back end discharges an obligation, answering unsat, a model, or
unknown; the prover never talks to a solver another way.

One base class, each back end a subclass (the shape of pysmt's ``Solver``):
:class:`~tensorize.smt.z3_backend.Z3Backend` (the default) and
:class:`~tensorize.smt.cvc5_backend.Cvc5Backend`. :func:`backend_for` picks one
by the name in :class:`SolverConfig`. A model is the values of the obligation's free
variables as plain Python values: the prover turns it into inputs and runs both sides
on them; only a difference the interpreter confirms becomes a refutation, and
``unknown`` is never a proof.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import ClassVar, Protocol

from tensorize.smt.solver import SolverConfig, check_solver
from tensorize.smt.terms import Term


class Query(Protocol):
    """What a back end discharges: Boolean terms whose conjunction is asked about (the
    prover's ``Obligation`` is one; so is :class:`Assertions`)."""

    @property
    def name(self) -> str:
        """A name for messages and exported files."""

    @property
    def assertions(self) -> Sequence[Term]:
        """The formulas, all to hold together."""


@dataclass(frozen=True)
class Assertions:
    """A plain query: a name and its assertions."""

    name: str
    assertions: tuple[Term, ...]

Value = int | bool | Fraction | None
"""A free variable's value in a model: a bit-vector's bits (unsigned), a float's IEEE bit
pattern, a real as a fraction, a Boolean; None when the back end has a value it cannot
give exactly (an irrational real, say), which the prover must not invent."""


@dataclass(frozen=True)
class Unsat:
    """No assignment satisfies the obligation: the two sides cannot differ (a proof)."""


@dataclass(frozen=True)
class Sat:
    """A model: ``values`` maps each free constant's name to its value. A constant the
    model leaves out may take any value (it is read as zero / false)."""

    values: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Undecided:
    """No answer (timeout, resource limit, a construct the solver does not read)."""

    reason: str


Discharged = Unsat | Sat | Undecided


def verdict(answer: Discharged) -> str:
    """``"unsat"``, ``"sat"`` or ``"unknown"`` (the SMT-LIB words)."""
    return {Unsat: "unsat", Sat: "sat"}.get(type(answer), "unknown")


class SolverBackend(ABC):
    """Discharges proof obligations with one solver; subclasses name the solver."""

    name: ClassVar[str]

    @abstractmethod
    def discharge(self, obligation: Query, config: SolverConfig) -> Discharged:
        """Is the conjunction of ``obligation.assertions`` satisfiable, within
        ``config``'s timeout (and resource limit, for Z3)?"""


def backend_for(config: SolverConfig) -> SolverBackend:
    """A fresh back end for ``config.backend`` (a back end may keep a solver between
    queries, so each proof takes its own)."""
    name = check_solver(config.backend)
    if name == "cvc5":
        from tensorize.smt.cvc5_backend import Cvc5Backend

        return Cvc5Backend()
    from tensorize.smt.z3_backend import Z3Backend

    return Z3Backend()
