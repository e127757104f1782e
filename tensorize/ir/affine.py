"""Affine index expressions: recognising them and putting them in linear form.

An index expression is *affine* in a set of variables when it is a sum of terms, each a
constant (an expression in size parameters) times at most one of the variables. ``e / c``
and ``e % c`` by a positive integer constant are accepted too (quasi-affine), for
flattened and tiled layouts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from tensorize.ir.memo import by_identity
from tensorize.ir.nodes import Binary, Const, Expr, Unary, Var
from tensorize.ir.traverse import preorder


def is_affine(expr: Expr, variables: Collection[str]) -> bool:
    """Whether ``expr`` is (quasi-)affine in ``variables``; other names are parameters."""
    return _degree(expr, variables) is not None


def _degree(expr: Expr, variables: Collection[str]) -> int | None:
    """0 for a parametric constant, 1 for affine, None for anything else."""
    if isinstance(expr, Const):
        return 0 if isinstance(expr.value, int) and not isinstance(expr.value, bool) else None
    if isinstance(expr, Var):
        return 1 if expr.name in variables else 0
    if isinstance(expr, Unary) and expr.op == "-":
        return _degree(expr.operand, variables)
    if isinstance(expr, Binary):
        lhs, rhs = _degree(expr.lhs, variables), _degree(expr.rhs, variables)
        if lhs is None or rhs is None:
            return None
        if expr.op in ("+", "-"):
            return max(lhs, rhs)
        if expr.op == "*":
            return None if lhs + rhs > 1 else lhs + rhs
        if expr.op in ("/", "%"):
            if rhs != 0:
                return None
            if lhs == 0:
                return 0
            return 1 if isinstance(expr.rhs, Const) and expr.rhs.value > 0 else None
    return None


@dataclass(frozen=True, slots=True)
class Linear:
    """``const + sum(coeffs[v] * v)`` with integer coefficients."""

    coeffs: tuple[tuple[str, int], ...]
    const: int

    def coeff(self, name: str) -> int:
        """The coefficient of variable ``name`` (0 if absent)."""
        return dict(self.coeffs).get(name, 0)

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables with a non-zero coefficient."""
        return tuple(v for v, _ in self.coeffs)


def linear_form(expr: Expr, consts: Mapping[str, int] | None = None) -> Linear | None:
    """The linear form of a purely affine expression (no ``/`` or ``%`` on variables).

    Names in ``consts`` are replaced by their values; every other name is a variable.
    Returns None when the expression is not linear. Memoised: the result depends only on
    the (immutable) expression and the values in ``consts`` of the names it mentions.
    """
    cls = type(expr)
    if cls is Var:  # the commonest case, cheaper than the memo
        name = expr.name  # type: ignore[attr-defined]  # a Var
        if consts and name in consts:
            return Linear((), consts[name])
        return Linear(((name, 1),), 0)
    if cls is Const:
        value = expr.value  # type: ignore[attr-defined]  # a Const
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return Linear((), value)
    names = _names(expr)
    if consts:
        values = tuple([consts.get(n) for n in names])
        if not all(type(v) is int or v is None for v in values):
            return _linear_form(expr, consts)  # odd values (numpy ints): not memoised
    else:
        values = (None,) * len(names)
    key = (id(expr), values)
    found = _FORMS.get(key)
    if found is not None and found[0] is expr:
        return found[1]
    result = _linear_form(expr, consts or {})
    if len(_FORMS) >= _MEMO_LIMIT:
        _FORMS.clear()
    _FORMS[key] = (expr, result)
    return result


_MEMO_LIMIT = 1 << 16
_FORMS: dict[tuple[int, tuple[int | None, ...]], tuple[Expr, Linear | None]] = {}
"""Linear forms by expression (its identity: the entry keeps it alive) and the values of
the names it mentions."""

@by_identity(_MEMO_LIMIT)
def _names(expr: Expr) -> tuple[str, ...]:
    """The names ``expr`` mentions, in first-mention order (memoised by identity)."""
    return tuple(dict.fromkeys(n.name for n in preorder(expr) if isinstance(n, Var)))


def _linear_form(expr: Expr, consts: Mapping[str, int]) -> Linear | None:
    """:func:`linear_form`, computed."""
    result = _linear(expr, consts)
    if result is None:
        return None
    coeffs, const = result
    return Linear(tuple(sorted((v, c) for v, c in coeffs.items() if c != 0)), const)


def _linear(expr: Expr, consts: Mapping[str, int]) -> tuple[dict[str, int], int] | None:
    if isinstance(expr, Const):
        if isinstance(expr.value, bool) or not isinstance(expr.value, int):
            return None
        return {}, expr.value
    if isinstance(expr, Var):
        if expr.name in consts:
            return {}, consts[expr.name]
        return {expr.name: 1}, 0
    if isinstance(expr, Unary) and expr.op == "-":
        inner = _linear(expr.operand, consts)
        if inner is None:
            return None
        return {v: -c for v, c in inner[0].items()}, -inner[1]
    if isinstance(expr, Binary):
        lhs, rhs = _linear(expr.lhs, consts), _linear(expr.rhs, consts)
        if lhs is None or rhs is None:
            return None
        if expr.op in ("+", "-"):
            sign = 1 if expr.op == "+" else -1
            coeffs = dict(lhs[0])
            for v, c in rhs[0].items():
                coeffs[v] = coeffs.get(v, 0) + sign * c
            return coeffs, lhs[1] + sign * rhs[1]
        if expr.op == "*":
            if not lhs[0]:
                k, (coeffs, const) = lhs[1], rhs
            elif not rhs[0]:
                k, (coeffs, const) = rhs[1], lhs
            else:
                return None
            return {v: k * c for v, c in coeffs.items()}, k * const
        if expr.op in ("/", "%") and not lhs[0] and not rhs[0] and rhs[1] > 0:
            return {}, (lhs[1] // rhs[1] if expr.op == "/" else lhs[1] % rhs[1])
    return None
