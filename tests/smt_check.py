"""Z3 as the referee of our terms in tests: does it prove two terms equal?"""

from __future__ import annotations

import z3

from tensorize.smt.terms import Term
from tensorize.smt.z3_backend import Translation


def check_equal(a: Term, b: Term, timeout_ms: int = 10_000) -> bool:
    """Does Z3 prove ``a = b`` for every value of their variables? False also when Z3
    cannot decide (a test then fails rather than passes)."""
    tr = Translation()
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(z3.Not(tr(a) == tr(b)))
    return bool(solver.check() == z3.unsat)
