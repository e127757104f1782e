"""Integer questions about index expressions, asked of a solver: the one module outside
the proof layer (``tensorize/equivalence/``) that imports Z3.

The static bounds check (``bounds.py``) and the validator (``rewrite/validate.py``) ask
whether some point of a box of loop variables and sizes satisfies constraints on index
expressions (``0 <= e < n`` broken, two tiles computing one iteration). They build the
constraints as IR expressions (``+ - * / %`` on integers with the interpreter's floor
semantics, comparisons, ``&& || !``) and call :func:`exists`; only this module turns
them into solver terms, so a second solver backend is one translation away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tensorize.ir.nodes import Binary, Const, Expr, Unary, Var
from tensorize.ir.types import BOOL, INDEX

SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"


@dataclass(frozen=True)
class Answer:
    """Whether the constraints can hold together: ``status`` is :data:`SAT` (with a
    ``model`` of every variable), :data:`UNSAT`, or :data:`UNKNOWN` (with a ``reason``:
    a timeout, or an expression outside integer arithmetic)."""

    status: str
    model: dict[str, int] = field(default_factory=dict)
    reason: str = ""


def exists(constraints: Iterable[Expr], names: Iterable[str], *, timeout_ms: int,
           rlimit: int = 0, seed: int = 0) -> Answer:
    """Is there an integer value of each of the variables ``names`` making every
    constraint true? Variables are unbounded integers (bound them with constraints); a
    constraint that uses another name, or anything but integer arithmetic, makes the
    answer :data:`UNKNOWN`."""
    import z3

    env: dict[str, Any] = {name: z3.Int(name) for name in names}
    solver = z3.Solver()
    solver.set("timeout", int(timeout_ms))
    if rlimit:
        solver.set("rlimit", int(rlimit))
    solver.set("random_seed", int(seed))
    try:
        for c in constraints:
            solver.add(_z3(c, env))
    except _Unsupported as exc:
        return Answer(UNKNOWN, reason=f"not integer arithmetic: {exc}")
    verdict = solver.check()
    if verdict == z3.unsat:
        return Answer(UNSAT)
    if verdict != z3.sat:
        return Answer(UNKNOWN, reason=solver.reason_unknown())
    model = solver.model()
    return Answer(SAT, {name: model.eval(v, model_completion=True).as_long()
                        for name, v in env.items()})


# -- building constraints ---------------------------------------------------------------
def const(value: int) -> Expr:
    """An integer constant."""
    return Const(value, INDEX)


def var(name: str) -> Expr:
    """An integer variable."""
    return Var(name, INDEX)


def compare(op: str, a: Expr | int, b: Expr | int) -> Expr:
    """``a op b`` for ``op`` in ``== != < <= > >=``."""
    return Binary(op, _expr(a), _expr(b), BOOL)


def all_of(terms: Iterable[Expr]) -> Expr:
    """The conjunction of ``terms`` (true when empty)."""
    out: Expr | None = None
    for t in terms:
        out = t if out is None else Binary("&&", out, t, BOOL)
    return Const(True, BOOL) if out is None else out


def any_of(terms: Iterable[Expr]) -> Expr:
    """The disjunction of ``terms`` (false when empty)."""
    out: Expr | None = None
    for t in terms:
        out = t if out is None else Binary("||", out, t, BOOL)
    return Const(False, BOOL) if out is None else out


def negate(term: Expr) -> Expr:
    """``!term``."""
    return Unary("!", term, BOOL)


def _expr(x: Expr | int) -> Expr:
    return x if isinstance(x, Expr) else const(x)


# -- translation ------------------------------------------------------------------------
class _Unsupported(Exception):
    """An expression outside integer arithmetic (a load, a cast, a float)."""


def _z3(e: Expr, env: dict[str, Any]) -> Any:
    import z3

    if isinstance(e, Const):
        if isinstance(e.value, bool):
            return z3.BoolVal(e.value)
        if isinstance(e.value, int):
            return z3.IntVal(e.value)
        raise _Unsupported(f"the constant {e.value!r}")
    if isinstance(e, Var):
        if e.name not in env:
            raise _Unsupported(f"the undeclared variable {e.name}")
        return env[e.name]
    if isinstance(e, Unary):
        inner = _z3(e.operand, env)
        if e.op == "-":
            return -inner
        if e.op == "!":
            return z3.Not(inner)
        raise _Unsupported(f"the operator {e.op}")
    if isinstance(e, Binary):
        a, b = _z3(e.lhs, env), _z3(e.rhs, env)
        ops = {
            "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
            "/": lambda: _div(a, b), "%": lambda: _mod(a, b),
            "<": lambda: a < b, "<=": lambda: a <= b, ">": lambda: a > b,
            ">=": lambda: a >= b, "==": lambda: a == b, "!=": lambda: a != b,
            "&&": lambda: z3.And(a, b), "||": lambda: z3.Or(a, b),
        }
        if e.op not in ops:
            raise _Unsupported(f"the operator {e.op}")
        return ops[e.op]()
    raise _Unsupported(type(e).__name__)


def _div(a: Any, b: Any) -> Any:
    """Floor division as the interpreter does it on indices (x / 0 is 0)."""
    import z3

    return z3.If(b == 0, 0, z3.If(b > 0, a / b, (-a) / (-b)))


def _mod(a: Any, b: Any) -> Any:
    """The remainder that goes with :func:`_div` (x % 0 is 0)."""
    import z3

    return z3.If(b == 0, 0, a - b * _div(a, b))
