"""Static bounds check: every buffer access stays inside its buffer, for every size.

Each access (a load, the target of an assignment, the index of a call's view) is checked
axis by axis over its iteration domain: the enclosing loops, the ``if`` guards that hold
there, the dimensions of a view, and every size-parameter value >= 1 (>= 0 for a size
whose default is 0).

Two exact-where-it-answers steps:

1. A quick symbolic bound: the index is linear in the loop variables (with coefficients
   polynomial in the sizes), so its maximum (minimum) over the enclosing loops is found
   by substituting, innermost first, each loop variable by its last (first) value, as
   the sign of its coefficient says. ``/`` and ``%`` by positive constants (tiles,
   tails, fused loops) are first replaced by names with known ranges (``N / 32`` by
   ``q`` with ``N = 32 q + r``, ``0 <= r < 32``; ``(4 a + b) / 9`` by a name bounded by
   its value range over the loops), and the sign tests are made at the corners of those
   ranges. This over-approximates the range (it ignores guards and empty loops), so it
   only ever answers "safe".
2. Otherwise an integer solver decides exactly, with the guards, triangular loops and
   ``/``, ``%`` by constants. An integer (Presburger) question needs one; Z3 is imported
   lazily, only for the accesses step 1 cannot settle. A violation is reported with a
   witness: at the default sizes when they break it, else at sizes that do. When the
   solver cannot answer (say, products of sizes), the check falls back to the default sizes;
   when that fails too the access is left to the interpreter's run-time check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tensorize.errors import Span
from tensorize.ir.affine import linear_form
from tensorize.ir.memo import by_identity
from tensorize.ir.nodes import (
    Assign,
    Binary,
    BufferDecl,
    Call,
    CallStmt,
    Cast,
    Const,
    Expr,
    For,
    Function,
    If,
    Load,
    Stmt,
    Unary,
    Var,
    View,
)
from tensorize.ir.printer import format_expr
from tensorize.ir.traverse import substitute, walk
from tensorize.ir.types import INDEX

SOLVER_TIMEOUT_MS = 2000
"""Time the integer solver gets for one access (it answers in milliseconds in practice)."""

Diagnostic = tuple[str, Span | None]


@dataclass
class _Context:
    """What holds at one point of the body: loops (var, lo, hi exclusive) and guards."""

    loops: list[tuple[str, Expr, Expr]] = field(default_factory=list)
    guards: list[tuple[Expr, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class _Access:
    buf: BufferDecl
    index: tuple[Expr, ...]
    span: Span | None
    loops: tuple[tuple[str, Expr, Expr], ...]
    guards: tuple[tuple[Expr, bool], ...]


def bounds_errors(fn: Function, callees: Mapping[str, Function]) -> list[Diagnostic]:
    """The out-of-bounds accesses of a type-checked function, as positioned errors."""
    checker = _Bounds(fn, callees)
    checker.block(fn.body, _Context())
    errors: list[Diagnostic] = []
    for access in checker.accesses:
        for axis, (e, extent) in enumerate(zip(access.index, access.buf.shape)):
            message = checker.check_axis(access, axis, e, extent)
            if message is not None:
                errors.append((message, access.span or e.span))
                break  # one error per access
    return errors


class _Bounds:
    def __init__(self, fn: Function, callees: Mapping[str, Function]) -> None:
        self.fn = fn
        self.callees = callees
        self.buffers = {b.name: b for b in fn.buffers}
        self.params = [p.name for p in fn.params]
        self.defaults = {p.name: p.default for p in fn.params if p.default is not None}
        # sizes range over 1, 2, ...; a size whose default is 0 over 0, 1, ... too
        self.zero = frozenset(p for p, v in self.defaults.items() if v == 0)
        self.accesses: list[_Access] = []

    # -- collecting accesses ------------------------------------------------------------
    def add(self, buf: str, index: tuple[Expr, ...], span: Span | None, ctx: _Context,
            extra: tuple[tuple[str, Expr, Expr], ...] = ()) -> None:
        decl = self.buffers.get(buf)
        if decl is None or not index or len(index) != len(decl.shape):
            return
        self.accesses.append(_Access(decl, index, span, tuple(ctx.loops) + extra,
                                     tuple(ctx.guards)))

    def loads(self, e: Expr, ctx: _Context) -> None:
        stack = [e]
        while stack:  # expressions only: faster than the generic walk
            node = stack.pop()
            if isinstance(node, Load):
                self.add(node.buf, node.index, node.span, ctx)
            elif isinstance(node, Binary):
                stack += (node.lhs, node.rhs)
            elif isinstance(node, (Unary, Cast)):
                stack.append(node.operand)
            elif isinstance(node, Call):
                stack.extend(node.args)

    def block(self, stmts: tuple[Stmt, ...], ctx: _Context) -> None:
        for s in stmts:
            self.stmt(s, ctx)

    def stmt(self, s: Stmt, ctx: _Context) -> None:
        if isinstance(s, Assign):
            self.add(s.buf, s.index, s.span, ctx)
            self.loads(s.value, ctx)
        elif isinstance(s, For):
            ctx.loops.append((s.var, s.lo, s.hi))
            self.block(s.body, ctx)
            ctx.loops.pop()
        elif isinstance(s, If):
            ctx.guards.append((s.cond, True))
            self.block(s.then, ctx)
            ctx.guards[-1] = (s.cond, False)
            self.block(s.orelse, ctx)
            ctx.guards.pop()
        elif isinstance(s, CallStmt):
            self.call(s, ctx)

    def call(self, s: CallStmt, ctx: _Context) -> None:
        callee = self.callees.get(s.name)
        if callee is None:
            return
        sizes: dict[str, Expr] = {}
        for p in callee.params:
            if p.default is not None:
                sizes[p.name] = Const(p.default, INDEX)
        params = {p.name for p in callee.params}
        views: dict[str, View] = {}
        for a in s.args:
            if isinstance(a.value, View):
                views[a.name] = a.value
            elif a.name in params:
                sizes[a.name] = a.value
        for b in callee.buffers:
            view = views.get(b.name)
            if view is None or len(view.dims) != len(b.shape):
                continue
            extents = tuple(substitute(x, sizes) for x in b.shape)
            dims = tuple((d, Const(0, INDEX), x) for d, x in zip(view.dims, extents))
            self.add(view.buf, view.index, view.span, ctx, dims)

    # -- checking one axis --------------------------------------------------------------
    def check_axis(self, a: _Access, axis: int, e: Expr, extent: Expr) -> str | None:
        """An error message if index ``e`` can leave ``0..extent``, else None."""
        if _constant_safe(e, extent, a.loops) or _quick_safe(e, extent, a.loops, self.zero):
            return None
        answer = _solve(self.params, a, e, extent, None, self.zero)
        if answer is _UNKNOWN and self.defaults.keys() == set(self.params):
            answer = _solve(self.params, a, e, extent, self.defaults, self.zero)
        if answer is _UNKNOWN or answer is _SAFE:
            return None
        assert isinstance(answer, dict)
        if self.defaults.keys() == set(self.params) and \
                any(answer[p] != self.defaults[p] for p in self.params):
            at_defaults = _solve(self.params, a, e, extent, self.defaults, self.zero)
            if isinstance(at_defaults, dict):
                answer = at_defaults
        return self.describe(a, axis, e, extent, answer)

    def describe(self, a: _Access, axis: int, e: Expr, extent: Expr,
                 model: dict[str, int]) -> str:
        value = _eval(e, model)
        size = _eval(extent, model)
        loops = [name for name, _lo, _hi in a.loops if name in _names(e)]
        where = ", ".join(f"{v} = {model[v]}" for v in loops if v in model)
        used = _names(e) | _names(extent) | {
            n for _v, lo, hi in a.loops for n in _names(lo) | _names(hi)}
        sizes = {p: model[p] for p in self.params if p in used}
        shown_sizes = ", ".join(f"{p} = {v}" for p, v in sizes.items())
        head = f"index {format_expr(e)} of '{a.buf.name}'"
        box = _box_extremes(e, a)
        if box is not None:
            low, high = (_eval_poly(f, model) for f in box)
            reaches = f"ranges over {low}..={high}" if low != high else f"is {low}"
        else:
            reaches = f"reaches {value}{f' at {where}' if where else ''}"
        if not sizes:
            return f"{head} {reaches} but dimension {axis} has size {size}"
        defaults = all(self.defaults.get(p) == v for p, v in sizes.items())
        if defaults:
            return (f"{head} {reaches} but dimension {axis} has size "
                    f"{format_expr(extent)} = {size} (default sizes {shown_sizes})")
        reach = _symbolic_reach(e, a, value < 0)
        safe = " (the default sizes are safe)" if self.defaults.keys() == \
            set(self.params) else ""
        if reach is not None:
            return (f"{head} can reach {reach} but dimension {axis} has size "
                    f"{format_expr(extent)}: out of bounds when {shown_sizes}, for "
                    f"example{safe}")
        return (f"{head} reaches {value}{f' at {where}' if where else ''} but dimension "
                f"{axis} has size {format_expr(extent)} = {size} when {shown_sizes}: out "
                f"of bounds for such sizes{safe}")


def _box_extremes(e: Expr, a: _Access) -> tuple[_Poly, _Poly] | None:
    """The exact bounds of ``e`` (linear in the sizes) when its domain is a plain box."""
    if a.guards:
        return None
    loop_vars = {v for v, _lo, _hi in a.loops}
    for _v, lo, hi in a.loops:
        if (_names(lo) | _names(hi)) & loop_vars:
            return None
    return _extremes(e, a.loops)


def _symbolic_reach(e: Expr, a: _Access, low: bool) -> str | None:
    """The exact minimum (``low``) or maximum of ``e`` in the sizes, for a plain box nest."""
    bounds = _box_extremes(e, a)
    if bounds is None:
        return None
    return _format_poly(bounds[0] if low else bounds[1])


def _eval_poly(p: _Poly, env: Mapping[str, int]) -> int:
    total = 0
    for m, c in p.items():
        for name in m:
            c *= env[name]
        total += c
    return total


def _format_poly(p: _Poly) -> str:
    terms = []
    for m, c in sorted(p.items(), key=lambda mc: (-len(mc[0]), mc[0])):
        if not m:
            continue
        names = " * ".join(m)
        terms.append(names if c == 1 else f"-{names}" if c == -1 else f"{c} * {names}")
    if p.get(()) or not terms:
        terms.append(str(p.get((), 0)))
    return " + ".join(terms).replace("+ -", "- ")


def _names(e: Expr) -> set[str]:
    return {n.name for n in walk(e) if isinstance(n, Var)}


def _eval(e: Expr, env: Mapping[str, int]) -> int:
    form = linear_form(substitute(e, {k: Const(v, INDEX) for k, v in env.items()}))
    if form is not None and not form.coeffs:
        return form.const
    return _eval_any(e, env)


def _eval_any(e: Expr, env: Mapping[str, int]) -> int:
    if isinstance(e, Const):
        return int(e.value)
    if isinstance(e, Var):
        return env[e.name]
    if isinstance(e, Unary) and e.op == "-":
        return -_eval_any(e.operand, env)
    if isinstance(e, Binary):
        a, b = _eval_any(e.lhs, env), _eval_any(e.rhs, env)
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "*":
            return a * b
        if e.op == "/":
            return a // b if b else 0
        if e.op == "%":
            return a % b if b else 0
    raise ValueError(f"not an index expression: {format_expr(e)}")


# -- step 1: the quick symbolic bound ------------------------------------------------------
Monomial = tuple[str, ...]
"""A product of names, sorted (a name repeats for a power); () is the constant 1."""

_Poly = dict[Monomial, int]
"""A polynomial with integer coefficients in the sizes and loop variables."""

@by_identity(100_000)
def _poly(e: Expr) -> _Poly | None:
    """``e`` as a polynomial, or None (``/``, ``%``, anything but + - * of integers);
    memoised by expression identity (callers do not change it)."""
    return _poly_of(e)


def _poly_of(e: Expr) -> _Poly | None:
    if isinstance(e, Const):
        if isinstance(e.value, bool) or not isinstance(e.value, int):
            return None
        return {(): e.value} if e.value else {}
    if isinstance(e, Var):
        return {(e.name,): 1}
    if isinstance(e, Unary) and e.op == "-":
        inner = _poly(e.operand)
        return None if inner is None else _scale(inner, -1)
    if isinstance(e, Binary) and e.op in ("+", "-", "*"):
        a, b = _poly(e.lhs), _poly(e.rhs)
        if a is None or b is None:
            return None
        if e.op == "*":
            return _mul(a, b)
        return _plus(a, b, 1 if e.op == "+" else -1)
    return None


def _plus(a: _Poly, b: _Poly, k: int) -> _Poly:
    out = dict(a)
    for m, c in b.items():
        out[m] = out.get(m, 0) + k * c
    return {m: c for m, c in out.items() if c}


def _scale(a: _Poly, k: int) -> _Poly:
    return {m: k * c for m, c in a.items() if k * c}


def _mul(a: _Poly, b: _Poly) -> _Poly:
    out: _Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = tuple(sorted(ma + mb))
            out[m] = out.get(m, 0) + ca * cb
    return {m: c for m, c in out.items() if c}


def _sign(p: _Poly, zero: frozenset[str] = frozenset()) -> int:
    """1 if ``p >= 0`` for every value >= 1 of its names (>= 0 for those in ``zero``),
    -1 if ``p <= 0``, else 0.

    Writing each name as ``1 + q`` with ``q >= 0``, nonnegative coefficients prove
    ``p >= 0`` (a sufficient test, exact for linear polynomials).
    """
    shifted: _Poly = {}
    for m, c in p.items():
        terms: _Poly = {(): c}
        for name in m:
            terms = _mul(terms, {(name,): 1} if name in zero else {(): 1, (name,): 1})
        shifted = _plus(shifted, terms, 1)
    if all(c >= 0 for c in shifted.values()):
        return 1
    if all(c <= 0 for c in shifted.values()):
        return -1
    return 0


def _quick_safe(e: Expr, extent: Expr, loops: tuple[tuple[str, Expr, Expr], ...],
                zero: frozenset[str] = frozenset()) -> bool:
    """Whether ``0 <= e < extent`` holds for every size >= 1 (sizes in ``zero``: >= 0)
    by bound substitution (with ``/`` and ``%`` by constants, :func:`_quick_safe_div`)."""
    bounds, size = _extremes(e, loops, zero), _poly(extent)
    if bounds is None or size is None:
        return _quick_safe_div(e, extent, loops, zero)
    low, high = bounds
    room = _plus(_plus(size, {(): 1}, -1), high, -1)
    return _sign(low, zero) == 1 and _sign(room, zero) == 1


def _constant_safe(e: Expr, extent: Expr, loops: tuple[tuple[str, Expr, Expr], ...]
                   ) -> bool:
    """Whether ``0 <= e < extent`` holds when the extent and every loop's bounds are
    constants (a kernel with its sizes baked in: a rewrite's tiles, fused groups and
    tails), by interval arithmetic: each loop variable ranges over ``lo..hi-1`` (its
    bounds' intervals, for bounds in outer loop variables), and the interval of ``e``
    contains every value ``e`` takes. True proves safety; False only means "not shown
    this way" (an empty loop, a negative numerator of ``/`` or ``%``, a name without a
    range)."""
    if not isinstance(extent, Const) or not isinstance(extent.value, int):
        return False
    ranges: dict[str, tuple[int, int]] = {}
    for var, lo, hi in loops:
        low, high = _interval(lo, ranges), _interval(hi, ranges)
        if low is None or high is None or high[1] - 1 < low[0]:
            return False
        ranges[var] = (low[0], high[1] - 1)
    got = _interval(e, ranges)
    return got is not None and got[0] >= 0 and got[1] < extent.value


def _interval(e: Expr, ranges: Mapping[str, tuple[int, int]]) -> tuple[int, int] | None:
    """An interval holding every value of ``e`` with its variables in ``ranges`` (None:
    not bounded this way)."""
    if isinstance(e, Const):
        return (e.value, e.value) if isinstance(e.value, int) and \
            not isinstance(e.value, bool) else None
    if isinstance(e, Var):
        return ranges.get(e.name)
    if not isinstance(e, Binary) or e.op not in ("+", "-", "*", "/", "%"):
        return None
    a = _interval(e.lhs, ranges)
    b = _interval(e.rhs, ranges)
    if a is None or b is None:
        return None
    if e.op == "+":
        return a[0] + b[0], a[1] + b[1]
    if e.op == "-":
        return a[0] - b[1], a[1] - b[0]
    if e.op == "*":
        products = [x * y for x in a for y in b]
        return min(products), max(products)
    if b[0] != b[1] or b[0] <= 0 or a[0] < 0:  # by a positive constant, of naturals only
        return None
    c = b[0]
    if e.op == "/":
        return a[0] // c, a[1] // c
    if a[1] - a[0] < c and a[0] % c <= a[1] % c:
        return a[0] % c, a[1] % c
    return 0, c - 1


_MAX_CORNERS = 64
"""At most this many corners of the bounded names' box are tried (else: the solver)."""


class _Abstraction:
    """Division and remainder by positive constants, replaced by fresh names.

    ``N / c`` and ``N % c`` of a size ``N`` become the names ``N/c`` and ``N%c``, with
    ``N = c * (N/c) + (N%c)``, ``N/c >= 0`` and ``0 <= N%c < c`` (one divisor per size);
    a division or remainder of an expression in the loop variables becomes a name bounded
    by the constant range of its value over the loops (floor division is monotone; a
    remainder by ``c > 0`` lies in ``0..c-1``). Every range kept is a superset of the
    values the replaced expression takes, so a bound proved on the abstraction holds.
    """

    def __init__(self, loops: tuple[tuple[str, Expr, Expr], ...], zero: frozenset[str]
                 ) -> None:
        self.loop_vars = {v for v, _lo, _hi in loops}
        self.zero = zero
        self.loops: tuple[tuple[str, Expr, Expr], ...] = ()
        self.bounded: dict[str, tuple[int, int]] = {}
        self.divisor: dict[str, int] = {}  # size -> its one divisor
        self.names: dict[Expr, str] = {}
        self.loops = tuple((v, self.expr(lo), self.expr(hi)) for v, lo, hi in loops)

    def expr(self, e: Expr) -> Expr:
        """``e`` with each ``/`` and ``%`` by a positive constant replaced by a name;
        raises :class:`_Unsupported` for one it cannot bound."""
        if isinstance(e, Binary):
            lhs, rhs = self.expr(e.lhs), self.expr(e.rhs)
            if e.op in ("/", "%"):
                return self.division(e.op, lhs, rhs, e)
            return Binary(e.op, lhs, rhs, e.dtype)
        if isinstance(e, Unary):
            return Unary(e.op, self.expr(e.operand), e.dtype)
        return e

    def division(self, op: str, lhs: Expr, rhs: Expr, e: Expr) -> Expr:
        if not isinstance(rhs, Const) or isinstance(rhs.value, bool) or \
                not isinstance(rhs.value, int) or rhs.value <= 0:
            raise _Unsupported
        c = rhs.value
        form = _poly(lhs)
        if form is not None and set(form) <= {()}:
            value = form.get((), 0)
            return Const(value // c if op == "/" else value % c, e.dtype)
        if isinstance(lhs, Var) and lhs.name not in self.loop_vars:
            if self.divisor.setdefault(lhs.name, c) != c:
                raise _Unsupported
            return Var(f"{lhs.name}{op}{c}", e.dtype)
        bounds = _extremes(lhs, self.loops, self.zero, self.sign)
        if bounds is None or not all(set(p) <= {()} for p in bounds):
            raise _Unsupported
        lo, hi = (p.get((), 0) for p in bounds)
        if op == "/":
            rng = (lo // c, hi // c)
        else:
            rng = (lo % c, hi % c) if lo // c == hi // c else (0, c - 1)
        key = Binary(op, lhs, rhs, e.dtype)
        name = self.names.setdefault(key, f"%t{len(self.names)}")
        self.bounded[name] = rng
        return Var(name, e.dtype)

    def expand(self, p: _Poly) -> _Poly:
        """``p`` with each divided size ``N`` written ``c * (N/c) + (N%c)``."""
        for size, c in self.divisor.items():
            parts: _Poly = {(f"{size}/{c}",): c, (f"{size}%{c}",): 1}
            out: _Poly = {}
            for m, coeff in p.items():
                term: _Poly = {(): coeff}
                for name in m:
                    term = _mul(term, parts if name == size else {(name,): 1})
                out = _plus(out, term, 1)
            p = out
        return p

    def box(self) -> dict[str, tuple[int, int]]:
        """Every bounded name with its range (the remainders of sizes included)."""
        out = dict(self.bounded)
        for size, c in self.divisor.items():
            out[f"{size}%{c}"] = (0, c - 1)
        return out

    def sign(self, p: _Poly, zero: frozenset[str] = frozenset()) -> int:
        """:func:`_sign` of ``p`` at every corner of the bounded names' box (``p`` is
        multilinear in them, so its extremes over the box are at corners), the quotients
        of sizes being >= 0; 0 when that cannot be decided."""
        p = self.expand(p)
        box = self.box()
        present = sorted({n for m in p for n in m if n in box})
        if any(m.count(n) > 1 for m in p for n in present) or \
                2 ** len(present) > _MAX_CORNERS:
            return 0
        free = zero | {f"{s}/{c}" for s, c in self.divisor.items()}
        signs = set()
        for corner in range(2 ** len(present)):
            values = {n: box[n][(corner >> k) & 1] for k, n in enumerate(present)}
            fixed: _Poly = {}
            for m, coeff in p.items():
                rest = tuple(n for n in m if n not in values)
                for n in m:
                    if n in values:
                        coeff *= values[n]
                fixed = _plus(fixed, {rest: coeff}, 1)
            signs.add(_sign(fixed, free))
            if 0 in signs or len(signs) > 1:
                return 0
        return signs.pop() if signs else 1


def _quick_safe_div(e: Expr, extent: Expr, loops: tuple[tuple[str, Expr, Expr], ...],
                    zero: frozenset[str]) -> bool:
    """:func:`_quick_safe` for indices, extents and loop bounds with ``/`` and ``%`` by
    positive constants (tiles and their tails: ``32 * jo + j`` under ``jo in 0..N / 32``,
    fused ``(4 * a + b) / 9``), through :class:`_Abstraction`."""
    try:
        ab = _Abstraction(loops, zero)
        index, size_expr = ab.expr(e), ab.expr(extent)
    except _Unsupported:
        return False
    bounds, size = _extremes(index, ab.loops, zero, ab.sign), _poly(size_expr)
    if bounds is None or size is None:
        return False
    low, high = bounds
    room = _plus(_plus(size, {(): 1}, -1), high, -1)
    return ab.sign(low, zero) == 1 and ab.sign(room, zero) == 1


def _extremes(e: Expr, loops: tuple[tuple[str, Expr, Expr], ...],
              zero: frozenset[str] = frozenset(),
              sign: Callable[[_Poly, frozenset[str]], int] | None = None
              ) -> tuple[_Poly, _Poly] | None:
    """Lower and upper bounds of ``e`` over the loops, polynomials in the sizes (or None).

    Innermost first, each loop variable is replaced by its first or last value, as the
    sign of its coefficient says. The bounds hold for every point of the loops.
    """
    form = _poly(e)
    if form is None:
        return None
    low, high = form, form
    for var, lo, hi in reversed(loops):
        lo_p, hi_p = _poly(lo), _poly(hi)
        if lo_p is None or hi_p is None:
            return None
        last = _plus(hi_p, {(): 1}, -1)
        for which in ("low", "high"):
            p = low if which == "low" else high
            coeff: _Poly = {}
            rest: _Poly = {}
            for m, c in p.items():
                if m.count(var) > 1:
                    return None
                if var in m:
                    reduced = list(m)
                    reduced.remove(var)
                    coeff[tuple(reduced)] = c
                else:
                    rest[m] = c
            if not coeff:
                continue
            direction = (sign or _sign)(coeff, zero)
            if direction == 0:
                return None
            pick = lo_p if (direction > 0) == (which == "low") else last
            p = _plus(rest, _mul(coeff, pick), 1)
            if which == "low":
                low = p
            else:
                high = p
    loop_vars = {v for v, _lo, _hi in loops}
    if any(set(m) & loop_vars for m in (*low, *high)):
        return None
    return low, high


# -- step 2: the integer solver -------------------------------------------------------------
_SAFE = "safe"
_UNKNOWN = "unknown"


def _solve(params: list[str], a: _Access, e: Expr, extent: Expr,
           fixed: Mapping[str, int] | None,
           zero: frozenset[str] = frozenset()) -> dict[str, int] | str:
    """A model (sizes and loop variables) where ``e`` leaves ``0..extent``, else
    ``_SAFE`` when there is none or ``_UNKNOWN`` when the solver cannot tell."""
    from tensorize.ir import intsolve as q

    constraints = [q.compare("==", q.var(p), fixed[p]) if fixed is not None
                   else q.compare(">=", q.var(p), 0 if p in zero else 1) for p in params]
    for var, lo, hi in a.loops:
        constraints += [q.compare("<=", lo, q.var(var)), q.compare("<", q.var(var), hi)]
    constraints += [cond if holds else q.negate(cond) for cond, holds in a.guards]
    constraints.append(q.any_of([q.compare("<", e, 0), q.compare(">=", e, extent)]))
    names = list(dict.fromkeys([*params, *(var for var, _lo, _hi in a.loops)]))
    answer = q.exists(constraints, names, timeout_ms=SOLVER_TIMEOUT_MS)
    if answer.status == q.UNSAT:
        return _SAFE
    if answer.status != q.SAT:
        return _UNKNOWN
    return answer.model


class _Unsupported(Exception):
    """An expression the quick bound does not cover (left to the solver)."""
