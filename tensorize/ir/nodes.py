"""Immutable IR nodes of the `.tz` language.

Every node is a frozen dataclass with tuple children. Its source span is excluded from
equality, so a printed-and-reparsed program compares equal to the original. Expression
``dtype`` fields are ``None`` after parsing and filled in by the type checker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tensorize.errors import Span
from tensorize.ir.types import DType


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


class Node:
    """Base of all IR nodes."""

    __slots__ = ()
    span: Span | None


class Expr(Node):
    """Base of expressions. ``dtype`` is the type the checker gave the expression."""

    __slots__ = ()
    dtype: DType | None


@dataclass(frozen=True, slots=True)
class Const(Expr):
    """A literal: an int, a float or a bool."""

    value: int | float | bool
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Var(Expr):
    """A loop variable, a size parameter or a view dimension (type ``index``)."""

    name: str
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Load(Expr):
    """A read of one buffer element; a rank-0 buffer has an empty index."""

    buf: str
    index: tuple[Expr, ...]
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    """``-x``, ``!x`` (bool) or ``~x`` (bitwise)."""

    op: str
    operand: Expr
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    """Arithmetic, bitwise, logical or comparison operator on two operands."""

    op: str
    lhs: Expr
    rhs: Expr
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Cast(Expr):
    """``T(x)`` (wrapping / rounding) or ``sat_T(x)`` (clamping) conversion to ``dtype``."""

    operand: Expr
    dtype: DType | None
    saturate: bool = False
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """A built-in function: ``min max abs select`` or a math function on floats."""

    fn: str
    args: tuple[Expr, ...]
    dtype: DType | None = None
    span: Span | None = _span()


ARITH_OPS = ("+", "-", "*", "/", "%")
BIT_OPS = ("&", "|", "^", "<<", ">>")
LOGIC_OPS = ("&&", "||")
CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")
MATH_FUNCS = ("exp", "exp2", "log", "log2", "sqrt", "tanh", "sin", "cos", "floor", "ceil")
EXACT_FUNCS = ("fma", "rint")
"""Float functions with exact IEEE semantics: fused multiply-add, round to nearest even."""
BUILTIN_FUNCS = ("min", "max", "abs", "select") + EXACT_FUNCS + MATH_FUNCS


class Stmt(Node):
    """Base of statements."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Assign(Stmt):
    """``buf[index] = value``; ``+=`` and friends are desugared by the parser."""

    buf: str
    index: tuple[Expr, ...]
    value: Expr
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class For(Stmt):
    """``for var in lo..hi { body }``: ``lo`` inclusive, ``hi`` exclusive."""

    var: str
    lo: Expr
    hi: Expr
    body: tuple[Stmt, ...]
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class If(Stmt):
    """``if cond { then } else { orelse }`` with an affine condition."""

    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class View(Node):
    """``(d0, d1, ...) -> buf[index]``: an affine view of a buffer."""

    dims: tuple[str, ...]
    buf: str
    index: tuple[Expr, ...]
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Arg(Node):
    """One ``name = value`` argument of a call: a view, or a size for a size parameter."""

    name: str
    value: View | Expr
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class CallStmt(Stmt):
    """``call name(arg = view, ...)``: run an intrinsic on views of buffers."""

    name: str
    args: tuple[Arg, ...]
    span: Span | None = _span()


Mode = Literal["in", "out", "inout", "local"]
MODES: tuple[str, ...] = ("in", "out", "inout", "local")


@dataclass(frozen=True, slots=True)
class SizeParam(Node):
    """A size parameter ``M = 128``; ``default`` is ``None`` when none was given."""

    name: str
    default: int | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class BufferDecl(Node):
    """``mode name: dtype[shape]``."""

    name: str
    mode: str
    dtype: DType
    shape: tuple[Expr, ...]
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Assume(Node):
    """``assume buf in lo..hi`` (``inclusive`` for ``..=``): a range of an input's values."""

    buf: str
    lo: int | float
    hi: int | float
    inclusive: bool
    span: Span | None = _span()

    def contains(self, lo: int | float, hi: int | float) -> bool:
        """Whether every value in [lo, hi] satisfies this assumption."""
        return self.lo <= lo and (hi <= self.hi if self.inclusive else hi < self.hi)


MetaKind = Literal["string", "number", "name"]


@dataclass(frozen=True, slots=True)
class Meta(Node):
    """An intrinsic metadata entry such as ``summary "..."`` or ``cost 1.0``."""

    key: str
    value: str | int | float
    kind: MetaKind
    span: Span | None = _span()


META_KEYS = ("summary", "target", "cost", "cost_source", "manual", "emit", "note",
             "c_header", "c_features", "c_code", "order")
"""Metadata an intrinsic may carry. ``cost_source`` cites where ``cost`` comes from;
``c_header``, ``c_features`` and ``c_code`` are its C emission (the native back end);
``order`` (a name: ``ordered`` or ``unordered``) says whether its reductions keep the
program's order of operations (``unordered``: a float match only in ``real`` mode)."""


@dataclass(frozen=True, slots=True)
class Function(Node):
    """A kernel or an intrinsic: size parameters, buffers, assumptions and a body."""

    kind: Literal["kernel", "intrinsic"]
    name: str
    params: tuple[SizeParam, ...]
    buffers: tuple[BufferDecl, ...]
    assumes: tuple[Assume, ...]
    meta: tuple[Meta, ...]
    body: tuple[Stmt, ...]
    span: Span | None = _span()

    def buffer(self, name: str) -> BufferDecl | None:
        """The buffer declared as ``name``, or None."""
        for b in self.buffers:
            if b.name == name:
                return b
        return None

    def decl(self, name: str) -> BufferDecl:
        """The buffer declared as ``name``; a KeyError names it if there is none
        (for names a checked function is known to declare)."""
        found = self.buffer(name)
        if found is None:
            raise KeyError(f"{self.name} declares no buffer '{name}'")
        return found

    def meta_value(self, key: str) -> str | int | float | None:
        """The value of metadata entry ``key``, or None."""
        for m in self.meta:
            if m.key == key:
                return m.value
        return None

    @property
    def target(self) -> str:
        """The target an intrinsic belongs to ('' for kernels)."""
        return str(self.meta_value("target") or "")

    @property
    def cost(self) -> float:
        """The relative cost of one call of an intrinsic (1.0 if not given)."""
        value = self.meta_value("cost")
        return float(value) if value is not None else 1.0

    @property
    def summary(self) -> str:
        """The one-line summary of an intrinsic."""
        return str(self.meta_value("summary") or "")

    @property
    def inputs(self) -> tuple[BufferDecl, ...]:
        """Buffers whose initial contents the function reads (``in`` and ``inout``)."""
        return tuple(b for b in self.buffers if b.mode in ("in", "inout"))

    @property
    def outputs(self) -> tuple[BufferDecl, ...]:
        """Buffers that are results of the function (``out`` and ``inout``)."""
        return tuple(b for b in self.buffers if b.mode in ("out", "inout"))


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``#`` comment of the source, kept so that ``fmt`` can print it back."""

    line: int
    col: int
    text: str
    trailing: bool
    """Whether code precedes the comment on its line."""


@dataclass(frozen=True, slots=True)
class Layout:
    """What the parser saw besides the IR: comments and the pairs of braces.

    ``braces`` holds ``(open_line, open_col, close_line, close_col)`` for every ``{ }``.
    """

    comments: tuple[Comment, ...] = ()
    braces: tuple[tuple[int, int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Module(Node):
    """The contents of one `.tz` file: kernels and intrinsics, in order.

    ``layout`` (comments and brace positions) is not part of the program: it is excluded
    from equality, and only the printer reads it.
    """

    functions: tuple[Function, ...]
    span: Span | None = _span()
    layout: Layout = field(default=Layout(), compare=False, repr=False)

    @property
    def kernels(self) -> tuple[Function, ...]:
        """The kernels of the file."""
        return tuple(f for f in self.functions if f.kind == "kernel")

    @property
    def intrinsics(self) -> tuple[Function, ...]:
        """The intrinsics of the file."""
        return tuple(f for f in self.functions if f.kind == "intrinsic")

    def get(self, name: str) -> Function | None:
        """The function called ``name``, or None."""
        for f in self.functions:
            if f.name == name:
                return f
        return None

