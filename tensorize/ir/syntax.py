"""The parsed IR of the `.tz` language: what the parser builds, before type checking.

Every node is a frozen dataclass with tuple children. Its source span is excluded from
equality, so a printed-and-reparsed program compares equal to the original.

Two phases share these shapes. The parser builds the ``Parsed*`` classes here, whose
expressions carry no type (``dtype`` is ``None``, except a cast's target type); the type
checker (:mod:`tensorize.ir.check`) translates them into the checked classes of
:mod:`tensorize.ir.nodes`, each a subclass of its parsed class whose ``dtype`` is a
``DType`` and whose children are checked nodes. So a checked tree is also a parsed one
(the printer prints both, the checker re-checks a rewritten kernel), but a parsed tree is
never accepted, statically, where a checked one is required. The nodes without
expressions (size parameters, assumptions, metadata) serve both phases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tensorize.errors import Span
from tensorize.ir.types import DType


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


class Node:
    """Base of all IR nodes, parsed or checked."""

    __slots__ = ()
    span: Span | None


class ParsedExpr(Node):
    """Base of expressions of either phase; ``dtype`` is ``None`` until checked."""

    __slots__ = ()
    dtype: DType | None


@dataclass(frozen=True, slots=True)
class ParsedConst(ParsedExpr):
    """A literal: an int, a float or a bool."""

    value: int | float | bool
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedVar(ParsedExpr):
    """A loop variable, a size parameter, a view dimension or a rank-0 buffer's name."""

    name: str
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedLoad(ParsedExpr):
    """A read of one buffer element; a rank-0 buffer has an empty index."""

    buf: str
    index: tuple[ParsedExpr, ...]
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedUnary(ParsedExpr):
    """``-x``, ``!x`` (bool) or ``~x`` (bitwise)."""

    op: str
    operand: ParsedExpr
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedBinary(ParsedExpr):
    """Arithmetic, bitwise, logical or comparison operator on two operands."""

    op: str
    lhs: ParsedExpr
    rhs: ParsedExpr
    dtype: DType | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedCast(ParsedExpr):
    """``T(x)`` (wrapping / rounding) or ``sat_T(x)`` (clamping) conversion to ``dtype``
    (known from the syntax)."""

    operand: ParsedExpr
    dtype: DType
    saturate: bool = False
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedCall(ParsedExpr):
    """A built-in function: ``min max abs select`` or a math function on floats."""

    fn: str
    args: tuple[ParsedExpr, ...]
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


class ParsedStmt(Node):
    """Base of statements of either phase."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class ParsedAssign(ParsedStmt):
    """``buf[index] = value``; ``+=`` and friends are desugared by the parser."""

    buf: str
    index: tuple[ParsedExpr, ...]
    value: ParsedExpr
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedFor(ParsedStmt):
    """``for var in lo..hi { body }``: ``lo`` inclusive, ``hi`` exclusive."""

    var: str
    lo: ParsedExpr
    hi: ParsedExpr
    body: tuple[ParsedStmt, ...]
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedIf(ParsedStmt):
    """``if cond { then } else { orelse }`` with an affine condition."""

    cond: ParsedExpr
    then: tuple[ParsedStmt, ...]
    orelse: tuple[ParsedStmt, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedView(Node):
    """``(d0, d1, ...) -> buf[index]``: an affine view of a buffer."""

    dims: tuple[str, ...]
    buf: str
    index: tuple[ParsedExpr, ...]
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedArg(Node):
    """One ``name = value`` argument of a call: a view, or a size for a size parameter
    (``a = A`` is parsed as a name: the checker makes it the identity view)."""

    name: str
    value: ParsedView | ParsedExpr
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ParsedCallStmt(ParsedStmt):
    """``call name(arg = view, ...)``: run an intrinsic on views of buffers."""

    name: str
    args: tuple[ParsedArg, ...]
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
class ParsedBufferDecl(Node):
    """``mode name: dtype[shape]``."""

    name: str
    mode: str
    dtype: DType
    shape: tuple[ParsedExpr, ...]
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
class ParsedFunction(Node):
    """A kernel or an intrinsic: size parameters, buffers, assumptions and a body."""

    kind: Literal["kernel", "intrinsic"]
    name: str
    params: tuple[SizeParam, ...]
    buffers: tuple[ParsedBufferDecl, ...]
    assumes: tuple[Assume, ...]
    meta: tuple[Meta, ...]
    body: tuple[ParsedStmt, ...]
    span: Span | None = _span()

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
class ParsedModule(Node):
    """The contents of one `.tz` file: kernels and intrinsics, in order.

    ``layout`` (comments and brace positions) is not part of the program: it is excluded
    from equality, and only the printer reads it.
    """

    functions: tuple[ParsedFunction, ...]
    span: Span | None = _span()
    layout: Layout = field(default=Layout(), compare=False, repr=False)
