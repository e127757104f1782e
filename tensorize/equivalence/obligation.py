"""A proof obligation: one solver query, with what is needed to read a model back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tensorize.ir.nodes import Function
from tensorize.smt.terms import Term

if TYPE_CHECKING:
    from tensorize.equivalence.memory import Memory


@dataclass
class Obligation:
    """Assertions whose satisfiability means "the two sides differ"."""

    name: str
    assertions: list[Term]
    memory: Memory | None = None
    outputs: list[tuple[str, int, Term, Term]] = field(default_factory=list)
    method: str = "unroll"

    def smt2(self) -> str:
        """The obligation as an SMT-LIB 2 script (translated to Z3, Z3's printer)."""
        from tensorize.smt.z3_backend import smt2

        return smt2(self.assertions)


def assumptions_used(*fns: Function) -> tuple[str, ...]:
    """The ``assume`` statements of the functions, as text, for a proof's record."""
    return tuple(f"assume {x.buf} in {x.lo}..{'=' if x.inclusive else ''}{x.hi}"
                 for fn in fns for x in fn.assumes)
