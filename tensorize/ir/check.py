"""The type checker: translates parsed IR (:mod:`tensorize.ir.syntax`) into checked IR
(:mod:`tensorize.ir.nodes`), or reports every error it finds.

Rules (DESIGN.md): no implicit conversions; a literal takes the type its context needs;
loop bounds, buffer indices and ``if`` conditions are affine; buffer ranks and modes are
respected (an ``in`` buffer is never written). Errors are collected, and an ill-typed
expression gets the poison type ``ERROR`` so that one mistake is reported once. A literal
expression that no context has typed yet carries ``UNTYPED`` until its context retypes
it; the output has neither (a function with an error raises instead), which makes the
checked classes' ``dtype: DType`` true.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from tensorize.errors import CheckError, Span
from tensorize.ir.affine import is_affine
from tensorize.ir.bounds import bounds_errors
from tensorize.ir.nodes import (
    ARITH_OPS,
    BIT_OPS,
    BUILTIN_FUNCS,
    CMP_OPS,
    LOGIC_OPS,
    META_KEYS,
    Arg,
    Assign,
    Assume,
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
    Meta,
    Module,
    Stmt,
    Unary,
    Var,
    View,
)
from tensorize.ir.numeric import round_to_float
from tensorize.ir.syntax import (
    ParsedArg,
    ParsedAssign,
    ParsedBinary,
    ParsedBufferDecl,
    ParsedCall,
    ParsedCallStmt,
    ParsedCast,
    ParsedConst,
    ParsedExpr,
    ParsedFor,
    ParsedFunction,
    ParsedIf,
    ParsedLoad,
    ParsedModule,
    ParsedStmt,
    ParsedUnary,
    ParsedVar,
    ParsedView,
)
from tensorize.ir.types import BOOL, INDEX, DType

ERROR = DType("<error>", "index", 0)
"""The poison type of an expression that already produced an error."""
UNTYPED = DType("<untyped>", "index", 0)
"""The type of a literal expression no context has typed yet (the checker's own)."""


def _kept(e: ParsedExpr) -> DType:
    """The type ``e`` already has (re-checking a checked node), else ``UNTYPED``."""
    return UNTYPED if e.dtype is None else e.dtype


def _poison(span: Span | None) -> Expr:
    """A placeholder for a part that has an error (the checker's output is then
    discarded)."""
    return Const(0, ERROR, span)


@dataclass
class _Scope:
    """Names visible at one point of a function."""

    params: set[str]
    buffers: dict[str, BufferDecl]
    loops: list[str] = field(default_factory=list)
    dims: list[str] = field(default_factory=list)

    @property
    def index_names(self) -> set[str]:
        return set(self.params) | set(self.loops) | set(self.dims)

    @property
    def variables(self) -> set[str]:
        return set(self.loops) | set(self.dims)

    def bound(self, name: str) -> bool:
        return name in self.params or name in self.buffers or name in self.loops \
            or name in self.dims


class _Checker:
    """Checks one function; ``errors`` collects (message, span) pairs."""

    def __init__(self, fn: ParsedFunction, callees: Mapping[str, Function]) -> None:
        self.fn = fn
        self.callees = callees
        self.errors: list[tuple[str, Span | None]] = []

    def error(self, message: str, span: Span | None) -> None:
        self.errors.append((message, span))

    # -- declarations ---------------------------------------------------------------
    def check(self) -> Function:
        fn = self.fn
        params: set[str] = set()
        for p in fn.params:
            if p.name in params:
                self.error(f"duplicate size parameter '{p.name}'", p.span)
            if p.default is not None and p.default < 0:
                self.error(f"size parameter '{p.name}' must not be negative", p.span)
            params.add(p.name)
        scope = _Scope(params, {})
        buffers = []
        for b in fn.buffers:
            if b.name in params or b.name in scope.buffers:
                self.error(f"duplicate name '{b.name}'", b.span)
            shape = tuple(self.index_expr(e, scope, variables=set(), what="a buffer extent")
                          for e in b.shape)
            decl = BufferDecl(b.name, b.mode, b.dtype, shape, b.span)
            scope.buffers[b.name] = decl
            buffers.append(decl)
        for a in fn.assumes:
            self.check_assume(a, scope)
        self.check_meta(fn.meta)
        body = self.block(fn.body, scope)
        return Function(fn.kind, fn.name, fn.params, tuple(buffers), fn.assumes, fn.meta, body,
                        fn.span)

    def check_assume(self, a: Assume, scope: _Scope) -> None:
        decl = scope.buffers.get(a.buf)
        if decl is None:
            self.error(f"unknown buffer '{a.buf}'", a.span)
            return
        if decl.mode not in ("in", "inout"):
            self.error(f"'assume' applies to inputs; '{a.buf}' is an '{decl.mode}' buffer",
                       a.span)
        t = decl.dtype
        if t.is_int:
            for v in (a.lo, a.hi):
                if not isinstance(v, int):
                    self.error(f"the range of '{a.buf}' ({t}) must have integer bounds", a.span)
                    return
            hi = a.hi if a.inclusive else a.hi - 1
            if a.lo < t.min or hi > t.max:
                self.error(f"range {a.lo}..{'=' if a.inclusive else ''}{a.hi} does not fit "
                           f"in {t} ({t.min}..={t.max})", a.span)
        elif t.is_bool:
            self.error("'assume' ranges apply to numbers, not bool", a.span)
        if a.lo > a.hi or (a.lo == a.hi and not a.inclusive):
            self.error(f"empty range for '{a.buf}'", a.span)

    def check_meta(self, meta: tuple[Meta, ...]) -> None:
        seen: set[str] = set()
        for m in meta:
            if self.fn.kind == "kernel":
                self.error(f"metadata '{m.key}' is only allowed in an intrinsic", m.span)
                continue
            if m.key not in META_KEYS:
                self.error(f"unknown metadata '{m.key}'; expected one of "
                           f"{', '.join(META_KEYS)}", m.span)
            elif m.key in seen:
                self.error(f"metadata '{m.key}' given twice", m.span)
            seen.add(m.key)
            expected = {"cost": "number", "target": "name", "order": "name"}.get(m.key, "string")
            if m.key in META_KEYS and m.kind != expected:
                self.error(f"metadata '{m.key}' takes a {expected}", m.span)
            if m.key == "cost" and isinstance(m.value, (int, float)) and \
                    (m.value < 0 or not math.isfinite(m.value)):
                self.error("cost must be a finite number >= 0", m.span)
            if m.key == "order" and m.value not in ("ordered", "unordered"):
                self.error("order must be 'ordered' or 'unordered'", m.span)

    # -- statements -----------------------------------------------------------------
    def block(self, stmts: tuple[ParsedStmt, ...], scope: _Scope) -> tuple[Stmt, ...]:
        return tuple(self.stmt(s, scope) for s in stmts)

    def stmt(self, s: ParsedStmt, scope: _Scope) -> Stmt:
        if isinstance(s, ParsedAssign):
            return self.assign(s, scope)
        if isinstance(s, ParsedFor):
            lo = self.index_expr(s.lo, scope, scope.variables, "a loop bound")
            hi = self.index_expr(s.hi, scope, scope.variables, "a loop bound")
            if scope.bound(s.var):
                self.error(f"loop variable '{s.var}' shadows a name already in scope", s.span)
            scope.loops.append(s.var)
            body = self.block(s.body, scope)
            scope.loops.pop()
            return For(s.var, lo, hi, body, s.span)
        if isinstance(s, ParsedIf):
            cond = self.condition(s.cond, scope)
            return If(cond, self.block(s.then, scope), self.block(s.orelse, scope), s.span)
        if isinstance(s, ParsedCallStmt):
            return self.call_stmt(s, scope)
        raise AssertionError(f"unknown statement {type(s).__name__}")

    def assign(self, s: ParsedAssign, scope: _Scope) -> Stmt:
        decl = scope.buffers.get(s.buf)
        if decl is None:
            what = "a loop variable" if s.buf in scope.index_names else "unknown buffer"
            self.error(f"cannot assign to '{s.buf}': {what}"
                       if what != "unknown buffer" else f"unknown buffer '{s.buf}'", s.span)
            return Assign(s.buf, (), _poison(s.span), s.span)
        if decl.mode == "in":
            self.error(f"cannot write to '{s.buf}': it is an 'in' buffer", s.span)
        index = self.indices(s.index, decl, scope, s.span)
        value = self.expr(s.value, scope, decl.dtype)
        if value.dtype == INDEX:
            self.error(f"cannot assign an index value to '{s.buf}' of type {decl.dtype}; "
                       f"cast it, as in {decl.dtype}(...)", value.span or s.span)
        elif value.dtype not in (decl.dtype, ERROR):
            self.error(f"cannot assign {_a(value.dtype)} value to '{s.buf}' of type "
                       f"{decl.dtype}; add a cast", value.span or s.span)
        return Assign(s.buf, index, value, s.span)

    def call_stmt(self, s: ParsedCallStmt, scope: _Scope) -> Stmt:
        callee = self.callees.get(s.name)
        if callee is None:
            self.error(f"unknown intrinsic '{s.name}'", s.span)
            return CallStmt(s.name, (), s.span)
        given = {a.name: a for a in s.args}
        args: list[Arg] = []
        for p in callee.params:
            arg = given.pop(p.name, None)
            if arg is None:
                if p.default is None:
                    self.error(f"missing size argument '{p.name}' of '{s.name}'", s.span)
                continue
            if isinstance(arg.value, ParsedView):
                self.error(f"'{p.name}' is a size parameter; give it a number", arg.span)
                continue
            value = self.index_expr(arg.value, scope, set(), "a size argument")
            args.append(Arg(arg.name, value, arg.span))
        for b in callee.buffers:
            if b.mode == "local":
                continue
            arg = given.pop(b.name, None)
            if arg is None:
                self.error(f"missing argument '{b.name}' of '{s.name}'", s.span)
                continue
            args.append(self.view_arg(arg, b, scope))
        for name, arg in given.items():
            self.error(f"'{s.name}' has no parameter '{name}'", arg.span)
        return CallStmt(s.name, tuple(args), s.span)

    def view_arg(self, arg: ParsedArg, param: ParsedBufferDecl, scope: _Scope) -> Arg:
        value = arg.value
        if isinstance(value, ParsedVar) and value.name in scope.buffers:  # `a = A`: identity
            decl = scope.buffers[value.name]
            dims = tuple(f"_d{i}" for i in range(len(decl.shape)))
            value = ParsedView(dims, value.name, tuple(ParsedVar(d) for d in dims),
                               span=value.span)
        if not isinstance(value, ParsedView):
            self.error(f"argument '{arg.name}' must be a view such as (i) -> A[i]", arg.span)
            return Arg(arg.name, _poison(arg.span), arg.span)
        found = scope.buffers.get(value.buf)
        if found is None:
            self.error(f"unknown buffer '{value.buf}'", value.span)
            return Arg(arg.name, _poison(arg.span), arg.span)
        decl = found
        if len(value.dims) != len(param.shape):
            self.error(f"'{arg.name}' has rank {len(param.shape)}; the view has "
                       f"{len(value.dims)} dimensions", value.span)
        if decl.dtype != param.dtype:
            self.error(f"'{arg.name}' is {param.dtype}; '{value.buf}' is {decl.dtype}",
                       value.span)
        if param.mode in ("out", "inout") and decl.mode == "in":
            self.error(f"'{arg.name}' is written by the intrinsic; '{value.buf}' is an 'in' "
                       "buffer", value.span)
        for d in value.dims:
            if scope.bound(d):
                self.error(f"view dimension '{d}' shadows a name already in scope", value.span)
        scope.dims.extend(value.dims)
        index = self.indices(value.index, decl, scope, value.span)
        del scope.dims[len(scope.dims) - len(value.dims):]
        return Arg(arg.name, View(value.dims, value.buf, index, value.span), arg.span)

    def indices(self, index: tuple[ParsedExpr, ...], decl: BufferDecl, scope: _Scope,
                span: Span | None) -> tuple[Expr, ...]:
        if len(index) != len(decl.shape):
            self.error(f"'{decl.name}' has rank {len(decl.shape)} but is indexed with "
                       f"{len(index)} {'index' if len(index) == 1 else 'indices'}", span)
        return tuple(self.index_expr(e, scope, scope.variables, "an index") for e in index)

    def index_expr(self, e: ParsedExpr, scope: _Scope, variables: set[str], what: str
                   ) -> Expr:
        typed = self.expr(e, scope, INDEX)
        if typed.dtype == ERROR:
            return typed
        if typed.dtype != INDEX:
            self.error(f"{what} must be an affine integer expression, not {_a(typed.dtype)} "
                       "value", typed.span or e.span)
        elif not is_affine(typed, variables):
            self.error(f"{what} must be affine in the loop variables", typed.span or e.span)
        return typed

    def condition(self, e: ParsedExpr, scope: _Scope) -> Expr:
        typed = self.expr(e, scope, BOOL)
        if typed.dtype == ERROR:
            return typed
        if typed.dtype != BOOL:
            self.error(f"a condition must be bool, not {typed.dtype}", typed.span)
            return typed
        bad = _non_affine_condition(typed, scope.variables)
        if bad is not None:
            self.error("an 'if' condition must compare affine index expressions; use "
                       "select(...) for data-dependent choices", bad.span or typed.span)
        return typed

    # -- expressions ----------------------------------------------------------------
    def expr(self, e: ParsedExpr, scope: _Scope, expected: DType | None) -> Expr:
        """Type ``e``; ``expected`` is the type its context needs (for literals)."""
        if isinstance(e, ParsedConst):
            return self.const(e, expected)
        if isinstance(e, ParsedVar):
            if e.name in scope.index_names:
                return Var(e.name, INDEX, e.span)
            decl = scope.buffers.get(e.name)
            if decl is not None:
                if decl.shape:
                    self.error(f"'{e.name}' has rank {len(decl.shape)}; index it", e.span)
                    return Var(e.name, ERROR, e.span)
                return Load(e.name, (), decl.dtype, e.span)
            self.error(f"unknown name '{e.name}'", e.span)
            return Var(e.name, ERROR, e.span)
        if isinstance(e, ParsedLoad):
            decl = scope.buffers.get(e.buf)
            if decl is None:
                self.error(f"unknown buffer '{e.buf}'", e.span)
                return Load(e.buf, (), ERROR, e.span)
            index = self.indices(e.index, decl, scope, e.span)
            return Load(e.buf, index, decl.dtype, e.span)
        if isinstance(e, ParsedCast):
            return self.cast(e, scope)
        if isinstance(e, ParsedUnary):
            return self.unary(e, scope, expected)
        if isinstance(e, ParsedBinary):
            return self.binary(e, scope, expected)
        if isinstance(e, ParsedCall):
            return self.call(e, scope, expected)
        self.error(f"unexpected expression {type(e).__name__}", e.span)
        return _poison(e.span)

    def const(self, e: ParsedConst, expected: DType | None) -> Expr:
        v = e.value
        if isinstance(v, bool):
            if expected not in (None, BOOL):
                self.error(f"a bool literal cannot be {_a(expected)} value", e.span)
                return Const(v, ERROR, e.span)
            return Const(v, BOOL, e.span)
        if expected is None:
            return Const(v, _kept(e), e.span)  # untyped; the caller decides
        if expected == ERROR:
            return Const(v, ERROR, e.span)
        if expected.is_bool:
            self.error(f"expected a bool, found the number {v}", e.span)
            return Const(v, ERROR, e.span)
        if isinstance(v, float) and not expected.is_float:
            self.error(f"the float literal {v} cannot be {_a(expected)} value", e.span)
            return Const(v, ERROR, e.span)
        if expected.is_float:
            if math.isfinite(v) and math.isinf(round_to_float(v, expected)):
                self.error(f"literal {v} does not fit in {expected} (largest finite value "
                           f"{_max_finite(expected):g}); write inf for infinity", e.span)
                return Const(v, ERROR, e.span)
            return Const(v, expected, e.span)
        if expected.is_int and not expected.min <= v <= expected.max:
            self.error(f"literal {v} does not fit in {expected} ({expected.min}..="
                       f"{expected.max})", e.span)
            return Const(v, ERROR, e.span)
        return Const(v, expected, e.span)

    def cast(self, e: ParsedCast, scope: _Scope) -> Expr:
        target = e.dtype
        operand = self.expr(e.operand, scope, None)
        if operand.dtype is UNTYPED:  # a literal: it simply takes the target type
            operand = self.expr(e.operand, scope, target)
        source = operand.dtype
        if source is UNTYPED or source == ERROR:
            return Cast(operand, target, e.saturate, e.span)
        if e.saturate and not target.is_int:
            self.error(f"sat_{target} is not a cast: saturating casts go to integer types",
                       e.span)
        if e.saturate and not source.is_numeric:
            self.error(f"cannot saturate a {source} value", e.span)
        if target.is_bool and not (source.is_int or source.is_bool):
            self.error(f"cannot cast {source} to bool; compare instead", e.span)
        return Cast(operand, target, e.saturate, e.span)

    def unary(self, e: ParsedUnary, scope: _Scope, expected: DType | None) -> Expr:
        operand = self.expr(e.operand, scope, expected)
        t = operand.dtype
        if t is UNTYPED:
            return Unary(e.op, operand, _kept(e), e.span)
        if t == ERROR:
            return Unary(e.op, operand, ERROR, e.span)
        ok = {"-": t.is_numeric or t.is_index, "!": t.is_bool, "~": t.is_int}[e.op]
        if not ok:
            self.error(f"operator '{e.op}' does not apply to {t}", e.span)
            return Unary(e.op, operand, ERROR, e.span)
        return Unary(e.op, operand, t, e.span)

    def _pair(self, lhs: ParsedExpr, rhs: ParsedExpr, scope: _Scope, expected: DType | None,
              span: Span | None, op: str) -> tuple[Expr, Expr, DType | None]:
        """Type two operands that must share a type; literals follow the other side.
        The type is None when both are literals and no context gives one."""
        a = self.expr(lhs, scope, None)
        b = self.expr(rhs, scope, None)
        if a.dtype is UNTYPED and b.dtype is UNTYPED:
            if expected is None:
                return a, b, None
            a, b = self.expr(lhs, scope, expected), self.expr(rhs, scope, expected)
        elif a.dtype is UNTYPED:
            a = self.expr(lhs, scope, b.dtype)
        elif b.dtype is UNTYPED:
            b = self.expr(rhs, scope, a.dtype)
        if ERROR in (a.dtype, b.dtype):
            return a, b, ERROR
        if a.dtype != b.dtype:
            self.error(f"mixed types {a.dtype} and {b.dtype} in '{op}'; add a cast", span)
            return a, b, ERROR
        return a, b, a.dtype

    def binary(self, e: ParsedBinary, scope: _Scope, expected: DType | None) -> Expr:
        op = e.op
        operand_expected = expected if op in ARITH_OPS + BIT_OPS else None
        if op in LOGIC_OPS:
            operand_expected = BOOL
        a, b, t = self._pair(e.lhs, e.rhs, scope, operand_expected, e.span, op)
        if t is None:
            if op in CMP_OPS:
                self.error("cannot infer the type of a comparison of literals", e.span)
                return Binary(op, a, b, ERROR, e.span)
            return Binary(op, a, b, _kept(e), e.span)
        if t == ERROR:
            return Binary(op, a, b, ERROR, e.span)
        if op in CMP_OPS:
            if t.is_bool and op not in ("==", "!="):
                self.error(f"operator '{op}' does not apply to bool", e.span)
                return Binary(op, a, b, ERROR, e.span)
            return Binary(op, a, b, BOOL, e.span)
        if op in LOGIC_OPS:
            ok = t.is_bool
        elif op in BIT_OPS:
            ok = t.is_int
        elif op == "%":
            ok = t.is_int or t.is_index
        else:
            ok = t.is_numeric or t.is_index
        if not ok:
            self.error(f"operator '{op}' does not apply to {t}", e.span)
            return Binary(op, a, b, ERROR, e.span)
        return Binary(op, a, b, t, e.span)

    def call(self, e: ParsedCall, scope: _Scope, expected: DType | None) -> Expr:
        fn, args = e.fn, e.args
        arity = {"min": 2, "max": 2, "abs": 1, "select": 3, "fma": 3}.get(fn, 1)
        if fn not in BUILTIN_FUNCS:
            self.error(f"unknown function '{fn}'", e.span)
            return Call(fn, (), ERROR, e.span)
        if len(args) != arity:
            self.error(f"'{fn}' takes {arity} argument{'s' if arity > 1 else ''}, "
                       f"not {len(args)}", e.span)
            return Call(fn, (), ERROR, e.span)
        if fn == "select":
            cond = self.expr(args[0], scope, BOOL)
            a, b, t = self._pair(args[1], args[2], scope, expected, e.span, fn)
            if cond.dtype not in (BOOL, ERROR):
                self.error(f"the condition of select must be bool, not {cond.dtype}",
                           cond.span or e.span)
                t = ERROR
            return Call(fn, (cond, a, b), _kept(e) if t is None else t, e.span)
        if fn == "fma":
            a, b, t = self._pair(args[0], args[1], scope, expected, e.span, fn)
            c = self.expr(args[2], scope, t)
            if t is not None and t != ERROR and c.dtype not in (t, ERROR):
                self.error(f"mixed types {t} and {c.dtype} in 'fma'; add a cast", e.span)
                t = ERROR
            if t is not None and t != ERROR and not t.is_float:
                self.error(f"'fma' applies to floats, not {t}", e.span)
                t = ERROR
            return Call(fn, (a, b, c), _kept(e) if t is None else t, e.span)
        if fn in ("min", "max"):
            a, b, t = self._pair(args[0], args[1], scope, expected, e.span, fn)
            if t is not None and t not in (ERROR,) and not t.is_numeric:
                self.error(f"'{fn}' does not apply to {t}", e.span)
                t = ERROR
            return Call(fn, (a, b), _kept(e) if t is None else t, e.span)
        a = self.expr(args[0], scope, expected)
        t = a.dtype
        if t is UNTYPED:
            return Call(fn, (a,), _kept(e), e.span)
        if t != ERROR:
            if fn == "abs" and not t.is_numeric:
                self.error(f"'abs' does not apply to {t}", e.span)
                t = ERROR
            elif fn != "abs" and not t.is_float:
                self.error(f"'{fn}' applies to floats, not {t}; add a cast", e.span)
                t = ERROR
        return Call(fn, (a,), t, e.span)


def _max_finite(t: DType) -> float:
    """The largest finite value of float type ``t``."""
    ebits, sbits = t.float_format
    emax = (1 << (ebits - 1)) - 1
    return float((2 - Fraction(2) ** (1 - sbits)) * Fraction(2) ** emax)


def _a(t: DType | None) -> str:
    """The type name with its indefinite article: 'an i32', 'a u8'."""
    name = str(t)
    return ("an " if name[:1] in "aeiou" else "a ") + name


def _non_affine_condition(e: Expr, variables: set[str]) -> Expr | None:
    """The first part of a condition that is not an affine comparison, or None."""
    if isinstance(e, Const) and isinstance(e.value, bool):
        return None
    if isinstance(e, Unary) and e.op == "!":
        return _non_affine_condition(e.operand, variables)
    if isinstance(e, Binary) and e.op in LOGIC_OPS:
        return _non_affine_condition(e.lhs, variables) or \
            _non_affine_condition(e.rhs, variables)
    if isinstance(e, Binary) and e.op in CMP_OPS and e.lhs.dtype == INDEX:
        for side in (e.lhs, e.rhs):
            if not is_affine(side, variables):
                return side
        return None
    return e


def _finish_untyped(fn: Function, errors: list[tuple[str, Span | None]]) -> None:
    """Report literal expressions that no context gave a type."""
    from tensorize.ir.traverse import walk

    for node in walk(fn):
        if isinstance(node, Expr) and node.dtype is UNTYPED:
            errors.append(("cannot infer the type of this literal expression; add a cast",
                           node.span))
            return


def check_function(fn: ParsedFunction, callees: Mapping[str, Function]) -> Function:
    """Type-check one kernel or intrinsic (parsed, or checked before and rewritten) into
    checked IR; raise :class:`CheckError` with every error."""
    typed, errors = _checked(fn, callees)
    if errors:
        raise CheckError(errors)
    return typed


def _checked(fn: ParsedFunction, callees: Mapping[str, Function]
             ) -> tuple[Function, list[tuple[str, Span | None]]]:
    """The checked function and every error found (with errors, the function holds
    poison where they are, and only serves as the callee of later calls)."""
    checker = _Checker(fn, callees)
    typed = checker.check()
    if not checker.errors:
        _finish_untyped(typed, checker.errors)
    if not checker.errors:
        checker.errors.extend(bounds_errors(typed, callees))
    return typed, checker.errors


def check_module(module: ParsedModule, library: Mapping[str, Function] | None = None
                 ) -> Module:
    """Type-check every function of a module, in order: the checked module.

    A function may call the intrinsics of ``library`` and those defined earlier in the
    module (one that has errors too: its declarations are checked for the calls). Every
    error of every function is collected before raising.
    """
    callees: dict[str, Function] = dict(library or {})
    errors: list[tuple[str, Span | None]] = []
    checked = []
    for fn in module.functions:
        typed, found = _checked(fn, callees)
        errors.extend(found)
        checked.append(typed)
        if fn.kind == "intrinsic":
            callees[fn.name] = typed
    if errors:
        raise CheckError(errors)
    return Module(tuple(checked), module.span, module.layout)
