"""Integer questions about index expressions, asked of a solver through the solver seam
(:mod:`tensorize.smt`: the constraints become our terms, the Z3 back end answers).

The static bounds check (``bounds.py``) and the validator (``rewrite/validate.py``) ask
whether some point of a box of loop variables and sizes satisfies constraints on index
expressions (``0 <= e < n`` broken, two tiles computing one iteration). They build the
constraints as IR expressions (``+ - * / %`` on integers with the interpreter's floor
semantics, comparisons, ``&& || !``) and call :func:`exists`; only this module turns
them into solver terms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tensorize.ir.nodes import Binary, Const, Expr, Unary, Var
from tensorize.ir.types import BOOL, INDEX
from tensorize.smt import terms as T
from tensorize.smt.backend import Assertions, Sat, Unsat
from tensorize.smt.solver import SolverConfig

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
    env = {name: T.var(name, T.INT) for name in names}
    try:
        assertions = tuple(_term(c, env) for c in constraints)
    except _Unsupported as exc:
        return Answer(UNKNOWN, reason=f"not integer arithmetic: {exc}")
    from tensorize.smt.z3_backend import Z3Backend

    config = SolverConfig(timeout_ms=int(timeout_ms), rlimit=int(rlimit), seed=int(seed))
    answer = Z3Backend().discharge(Assertions("exists", assertions), config)
    if isinstance(answer, Unsat):
        return Answer(UNSAT)
    if not isinstance(answer, Sat):
        return Answer(UNKNOWN, reason=answer.reason)
    # a variable the model leaves out may take any value: zero (Z3's completion)
    return Answer(SAT, {name: int(answer.values.get(name) or 0) for name in env})


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


def _term(e: Expr, env: dict[str, T.Term]) -> T.Term:
    if isinstance(e, Const):
        if isinstance(e.value, bool):
            return T.bool_val(e.value)
        if isinstance(e.value, int):
            return T.int_val(e.value)
        raise _Unsupported(f"the constant {e.value!r}")
    if isinstance(e, Var):
        if e.name not in env:
            raise _Unsupported(f"the undeclared variable {e.name}")
        return env[e.name]
    if isinstance(e, Unary):
        inner = _term(e.operand, env)
        if e.op == "-" and inner.sort is T.INT:
            return T.neg(inner)
        if e.op == "!" and inner.sort is T.BOOL:
            return T.not_(inner)
        raise _Unsupported(f"the operator {e.op}")
    if isinstance(e, Binary):
        a, b = _term(e.lhs, env), _term(e.rhs, env)
        if e.op in ("&&", "||"):
            if a.sort is not T.BOOL or b.sort is not T.BOOL:
                raise _Unsupported(f"the operator {e.op} on integers")
            return T.and_(a, b) if e.op == "&&" else T.or_(a, b)
        if a.sort is not T.INT or b.sort is not T.INT:
            raise _Unsupported(f"the operator {e.op} on Booleans")
        if e.op in ("==", "!="):
            return T.eq(a, b) if e.op == "==" else T.distinct(a, b)
        if e.op in T.ARITH_COMPARE:
            return T.compare(e.op, a, b)
        arith = {"+": T.add, "-": T.sub, "*": T.mul, "/": _div, "%": _mod}.get(e.op)
        if arith is None:
            raise _Unsupported(f"the operator {e.op}")
        return arith(a, b)
    raise _Unsupported(type(e).__name__)


_ZERO = T.int_val(0)


def _div(a: T.Term, b: T.Term) -> T.Term:
    """Floor division as the interpreter does it on indices (x / 0 is 0)."""
    return T.ite(T.eq(b, _ZERO), _ZERO,
                 T.ite(T.compare(">", b, _ZERO), T.int_div(a, b),
                       T.int_div(T.neg(a), T.neg(b))))


def _mod(a: T.Term, b: T.Term) -> T.Term:
    """The remainder that goes with :func:`_div` (x % 0 is 0)."""
    return T.ite(T.eq(b, _ZERO), _ZERO, T.sub(a, T.mul(b, _div(a, b))))
