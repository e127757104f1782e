"""The reduction normal form of a kernel: ``W[I] = init; for r: W[I] = W[I] op body``.

A kernel is in this form when its only writes are an optional init statement and one
update statement of the same element ``W[I]``, the update combining the old value with
a term that does not read ``W``. Loop variables that appear in ``I`` are *spatial*; the
others are *reduction* variables. Used by the per-element prover and by the matcher.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import (
    Assign,
    Binary,
    Call,
    Const,
    Expr,
    For,
    Function,
    If,
    Load,
    Stmt,
    Unary,
)
from tensorize.ir.traverse import free_vars, loads, walk
from tensorize.ir.types import INDEX

REORDERABLE = ("+", "min", "max")
MAP = "="
"""The operator of a *map* (elementwise) form: ``W[I] = body``, each element written once."""
FMA = "fma"
"""The operator of a fused multiply-add accumulation ``W[I] = fma(x, y, W[I])``: the form's
body is the product ``x * y`` (a :class:`Binary`), which :func:`combine` puts back into
the ``fma``. Exact ``W[I] + x * y`` in real arithmetic, one rounding per update in IEEE."""
SEQ = "seq"
"""The operator of a *sequential in-place map* ``W[I] = f(W[I], ...)`` (:func:`sequential_form`):
like a :data:`MAP` in place, but under loops not in ``I`` that run more than once (the
form's ``reduction`` loops), so each element is updated once per iteration of those
loops, in their order, by a function ``f`` that need not be associative (a saturating
add). Those loops stay sequential around the calls; a tile covers only loops in ``I``."""


@dataclass(frozen=True)
class Loop:
    """A loop of the nest with constant bounds (after size parameters are bound)."""

    var: str
    lo: int
    hi: int

    @property
    def extent(self) -> int:
        """Number of iterations."""
        return max(self.hi - self.lo, 0)


@dataclass(frozen=True)
class Reduction:
    """A kernel seen as one reduction per output element."""

    buf: str
    index: tuple[Expr, ...]
    op: str
    body: Expr
    loops: tuple[Loop, ...]
    spatial: tuple[str, ...]
    reduction: tuple[str, ...]
    init: Expr | None
    init_index: tuple[Expr, ...] | None
    init_loops: tuple[Loop, ...]

    @property
    def in_place(self) -> bool:
        """A map whose body reads the element it writes (``x[i] = alpha * x[i]``): each
        iteration reads its own element, then writes it; no other reads ``W``."""
        return self.op in (MAP, SEQ) and any(x.buf == self.buf for x in loads(self.body))

    def loop(self, var: str) -> Loop:
        """The loop of variable ``var``."""
        return next(x for x in self.loops if x.var == var)

    def update_statement(self) -> Assign:
        """The update ``W[I] = W[I] op body``."""
        current = Load(self.buf, self.index, self.body.dtype)
        return Assign(self.buf, self.index, combine(self.op, current, self.body))

    def init_nest(self) -> Stmt | None:
        """The init statement under its loops, or None."""
        if self.init is None:
            return None
        stmt: Stmt = Assign(self.buf, self.init_index or self.index, self.init)
        for loop in reversed(self.init_loops):
            stmt = For(loop.var, Const(loop.lo, INDEX), Const(loop.hi, INDEX), (stmt,))
        return stmt


def combine(op: str, current: Expr, term: Expr) -> Expr:
    """``current op term`` for a reduction operator (``+``, ``min``, ``max``); for a map
    (:data:`MAP`, :data:`SEQ`), the new value ``term`` alone."""
    if op in (MAP, SEQ):
        return term
    if op == FMA:
        assert isinstance(term, Binary) and term.op == "*", "an fma form's body is a product"
        return Call("fma", (term.lhs, term.rhs, current), current.dtype)
    if op == "+":
        return Binary("+", current, term, current.dtype)
    return Call(op, (current, term), current.dtype)


def _assigns(stmts: tuple[Stmt, ...], sizes: Mapping[str, int], outer: tuple[Loop, ...],
             out: list[tuple[Assign, tuple[Loop, ...]]]) -> bool:
    for s in stmts:
        if isinstance(s, Assign):
            out.append((s, outer))
        elif isinstance(s, For):
            lo, hi = linear_form(s.lo, sizes), linear_form(s.hi, sizes)
            if lo is None or hi is None or lo.coeffs or hi.coeffs:
                return False
            if not _assigns(s.body, sizes, outer + (Loop(s.var, lo.const, hi.const),), out):
                return False
        elif isinstance(s, If) and always(s.cond, outer, sizes) is True:
            # a guard that holds at every iteration of its loops is no guard
            if not _assigns(s.then, sizes, outer, out):
                return False
        else:
            return False  # another if, a call: not this form
    return True


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def always(cond: Expr, loops: tuple[Loop, ...], sizes: Mapping[str, int]) -> bool | None:
    """True when ``cond`` holds at every point of the box ``loops``, False when it holds
    at none, None when it may do either (or is not a condition this understands).

    Comparisons of linear index expressions are decided exactly from the extreme values
    of their difference over the box; ``&&``, ``||`` and ``!`` combine the answers
    (soundly: a disjunction of two undecided comparisons stays undecided). An empty box
    makes every condition vacuously true.
    """
    if any(x.extent == 0 for x in loops):
        return True
    if isinstance(cond, Const) and isinstance(cond.value, bool):
        return cond.value
    if isinstance(cond, Unary) and cond.op == "!":
        inner = always(cond.operand, loops, sizes)
        return None if inner is None else not inner
    if not isinstance(cond, Binary):
        return None
    if cond.op in ("&&", "||"):
        a, b = always(cond.lhs, loops, sizes), always(cond.rhs, loops, sizes)
        if cond.op == "&&":
            return False if False in (a, b) else True if (a, b) == (True, True) else None
        return True if True in (a, b) else False if (a, b) == (False, False) else None
    if cond.op not in _FLIP:
        return None
    diff = linear_form(Binary("-", cond.lhs, cond.rhs, cond.lhs.dtype), sizes)
    if diff is None:
        return None
    box = {x.var: x for x in loops}
    lo = hi = diff.const
    for v, c in diff.coeffs:
        if v not in box:
            return None
        first, last = c * box[v].lo, c * (box[v].hi - 1)
        lo, hi = lo + min(first, last), hi + max(first, last)

    def holds(op: str) -> bool:  # d op 0 for every d in lo..=hi
        return {"<": hi < 0, "<=": hi <= 0, ">": lo > 0, ">=": lo >= 0,
                "==": lo == hi == 0, "!=": hi < 0 or lo > 0}[op]
    if holds(cond.op):
        return True
    if holds(_NEGATE[cond.op]):
        return False
    return None


def _split_update(a: Assign) -> tuple[str, Expr] | None:
    """(op, term) when ``a`` is ``W[I] = W[I] op term`` (or ``W[I] = fma(x, y, W[I])``,
    term ``x * y``) with term not reading W."""
    v = a.value
    current = Load(a.buf, a.index, v.dtype)
    if isinstance(v, Binary) and v.op in ("+", "-"):
        if v.lhs == current:
            term = v.rhs if v.op == "+" else Unary("-", v.rhs, v.rhs.dtype)
        elif v.rhs == current and v.op == "+":
            term = v.lhs
        else:
            return None
        op = "+"
    elif isinstance(v, Call) and v.fn in ("min", "max") and current in v.args:
        op, term = v.fn, v.args[1] if v.args[0] == current else v.args[0]
    elif isinstance(v, Call) and v.fn == FMA and v.args[2] == current:
        op, term = FMA, Binary("*", v.args[0], v.args[1], v.dtype)
    else:
        return None
    if any(x.buf == a.buf for x in loads(term)):
        return None
    return op, term


def _top_level(body: tuple[Stmt, ...], target: Stmt) -> int:
    """The position of the top-level statement of ``body`` that holds ``target``."""
    return next(n for n, s in enumerate(body) if any(x is target for x in walk(s)))


def init_hoistable(init_index: tuple[Expr, ...], init_loops: tuple[Loop, ...],
                   index: tuple[Expr, ...], loops: tuple[Loop, ...],
                   sizes: Mapping[str, int], *, apart: bool = False) -> bool:
    """Whether an init may run, all of it, before every update of the reduction.

    That is so when each element's init precedes each update of that element in the
    original order. A sufficient condition, checked here exactly: the init writes the
    same index expression as the update, under loops that are the update's outer loops
    (same variables and bounds, in order); every one of those loops appears in the
    index; and the index is injective over those loops, so that each element has one
    init, run before its own updates (which are nested deeper). ``C[M-1-i] = 0`` before
    ``C[i] += ...``, or ``Y[i+j] = 0`` with ``Y[i+j] += ...``, fail it.

    ``apart``: the init is in an earlier top-level statement than the update, so every
    init runs before every update; its loops must then be the update's loops of the same
    names (same bounds), in any position.
    """
    if init_index != index:
        return False
    if apart:
        by_name = {x.var: x for x in loops}
        if any(by_name.get(x.var) != x for x in init_loops):
            return False
    elif tuple(init_loops) != tuple(loops[:len(init_loops)]):
        return False
    index_vars = set().union(*(free_vars(e) for e in index)) - set(sizes) if index else set()
    if index_vars != {x.var for x in init_loops}:
        return False
    return injective(index, init_loops, sizes)


def injective(index: tuple[Expr, ...], loops: tuple[Loop, ...],
              sizes: Mapping[str, int]) -> bool:
    """Whether ``index`` maps distinct iterations of ``loops`` to distinct elements.

    A sufficient condition, exact on the usual shapes (``C[i, j]``, ``C[i*N + j]``,
    ``C[2*i]``): each index component is linear, each loop variable appears in at most one
    component, and within a component the terms, sorted by coefficient size, form a mixed
    radix (each coefficient exceeds the span of the smaller terms). Loops with one
    iteration or none are irrelevant. False when the condition does not hold.
    """
    live = {x.var: x.extent for x in loops if x.extent > 1}
    if any(x.extent == 0 for x in loops):
        return True
    seen: set[str] = set()
    for e in index:
        form = linear_form(e, sizes)
        if form is None:
            return False
        terms = sorted((abs(c), live[v]) for v, c in form.coeffs if v in live)
        names = {v for v, _ in form.coeffs if v in live}
        if names & seen:
            return False
        seen |= names
        span = 0
        for coeff, extent in terms:
            if coeff <= span:
                return False
            span += coeff * (extent - 1)
    return seen == set(live)


def reduction_form(fn: Function, sizes: Mapping[str, int]) -> Reduction | None:
    """The reduction normal form of ``fn`` under ``sizes``, or None."""
    found: list[tuple[Assign, tuple[Loop, ...]]] = []
    if not _assigns(fn.body, sizes, (), found) or not 1 <= len(found) <= 2:
        return None
    update, loops = found[-1]
    split = _split_update(update)
    if split is None:
        return None
    op, body = split
    if len({x.var for x in loops}) != len(loops):
        return None
    spatial = tuple(x.var for x in loops if any(x.var in free_vars(e) for e in update.index))
    reduction = tuple(x.var for x in loops if x.var not in spatial)
    init = init_index = None
    init_loops: tuple[Loop, ...] = ()
    if len(found) == 2:
        first, init_loops = found[0]
        if first.buf != update.buf or any(x.buf == first.buf for x in loads(first.value)):
            return None
        apart = _top_level(fn.body, first) < _top_level(fn.body, update)
        if not init_hoistable(first.index, init_loops, update.index, loops, sizes,
                              apart=apart):
            return None
        init, init_index = first.value, first.index
    return Reduction(update.buf, update.index, op, body, loops, spatial, reduction, init,
                     init_index, init_loops)


def map_form(fn: Function, sizes: Mapping[str, int]) -> Reduction | None:
    """The map (elementwise) form of ``fn``: one statement ``W[I] = body`` under its
    loops, ``body`` reading ``W`` at ``I`` only (in place, :attr:`Reduction.in_place`) or
    not at all, and ``I`` injective over the loops, so that every element is written
    exactly once, from values read before any write that could change them, and the
    order of the iterations does not matter.
    The form's operator is :data:`MAP`; loops not in ``I`` (which run at most once) are
    its ``reduction`` loops. None when ``fn`` is not of that form.
    """
    found: list[tuple[Assign, tuple[Loop, ...]]] = []
    if not _assigns(fn.body, sizes, (), found) or len(found) != 1:
        return None
    stmt, loops = found[0]
    if any(x.buf == stmt.buf and x.index != stmt.index for x in loads(stmt.value)):
        return None
    if len({x.var for x in loops}) != len(loops) or not injective(stmt.index, loops, sizes):
        return None
    spatial = tuple(x.var for x in loops if any(x.var in free_vars(e) for e in stmt.index))
    rest = tuple(x.var for x in loops if x.var not in spatial)
    return Reduction(stmt.buf, stmt.index, MAP, stmt.value, loops, spatial, rest, None,
                     None, ())


def sequential_form(fn: Function, sizes: Mapping[str, int]) -> Reduction | None:
    """The sequential in-place map form of ``fn`` (operator :data:`SEQ`), or None.

    One statement ``W[I] = body`` under its loops, where ``body`` reads ``W`` at ``I``
    (and nowhere else), some loop not in ``I`` runs more than once (else it is a plain
    :func:`map_form`), and ``I`` is injective over the loops it uses (the *spatial*
    loops). Then the instances that touch one element are exactly those of one spatial
    point, one per iteration of the other loops (the form's ``reduction`` loops), and
    instances of different spatial points touch disjoint elements of ``W`` and write
    nothing else: any schedule that keeps, for each spatial point, its instances in the
    program's order computes the same. The matcher keeps the non-spatial loops out of
    the tile (sequential, around the calls); the validator checks the order on the
    emitted code.
    """
    found: list[tuple[Assign, tuple[Loop, ...]]] = []
    if not _assigns(fn.body, sizes, (), found) or len(found) != 1:
        return None
    stmt, loops = found[0]
    reads = [x for x in loads(stmt.value) if x.buf == stmt.buf]
    if not reads or any(x.index != stmt.index for x in reads):
        return None
    if len({x.var for x in loops}) != len(loops):
        return None
    spatial = tuple(x.var for x in loops if any(x.var in free_vars(e) for e in stmt.index))
    rest = tuple(x.var for x in loops if x.var not in spatial)
    if not any(x.extent > 1 for x in loops if x.var in rest):
        return None
    if not injective(stmt.index, tuple(x for x in loops if x.var in spatial), sizes):
        return None
    return Reduction(stmt.buf, stmt.index, SEQ, stmt.value, loops, spatial, rest, None,
                     None, ())
