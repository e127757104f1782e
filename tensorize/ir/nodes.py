"""The checked IR of the `.tz` language: what the type checker produces.

Each class is a subclass of its parsed class (:mod:`tensorize.ir.syntax`) that narrows
the types of its fields: an expression's ``dtype`` is a ``DType`` (never ``None``) and
every child is a checked node. The checker (:mod:`tensorize.ir.check`) is the one
translation from the parsed classes; every later stage builds these classes directly and
gives each expression its type (a ``Var``, always an index, defaults to ``index``). The
fields keep the parsed classes' order, so the constructors read as before:
``Const(value, dtype, span)``, ``Binary(op, lhs, rhs, dtype, span)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tensorize.ir import syntax
from tensorize.ir.syntax import (
    ARITH_OPS,
    BIT_OPS,
    BUILTIN_FUNCS,
    CMP_OPS,
    EXACT_FUNCS,
    LOGIC_OPS,
    MATH_FUNCS,
    META_KEYS,
    MODES,
    Assume,
    Comment,
    Layout,
    Meta,
    MetaKind,
    Mode,
    Node,
    SizeParam,
)
from tensorize.ir.types import INDEX, DType

__all__ = [
    "ARITH_OPS", "BIT_OPS", "BUILTIN_FUNCS", "CMP_OPS", "EXACT_FUNCS", "LOGIC_OPS",
    "MATH_FUNCS", "META_KEYS", "MODES", "Arg", "Assign", "Assume", "Binary", "BufferDecl",
    "Call", "CallStmt", "Cast", "Comment", "Const", "Expr", "For", "Function", "If",
    "Layout", "Load", "Meta", "MetaKind", "Mode", "Module", "Node", "SizeParam", "Stmt",
    "Unary", "Var", "View",
]


class Expr(syntax.ParsedExpr):
    """Base of checked expressions: ``dtype`` is the type the checker gave."""

    __slots__ = ()
    dtype: DType


@dataclass(frozen=True, slots=True)
class Const(syntax.ParsedConst, Expr):
    """A typed literal."""

    dtype: DType


@dataclass(frozen=True, slots=True)
class Var(syntax.ParsedVar, Expr):
    """A loop variable, a size parameter or a view dimension (type ``index``)."""

    dtype: DType = INDEX


@dataclass(frozen=True, slots=True)
class Load(syntax.ParsedLoad, Expr):
    """A read of one buffer element, of the buffer's element type."""

    index: tuple[Expr, ...]
    dtype: DType


@dataclass(frozen=True, slots=True)
class Unary(syntax.ParsedUnary, Expr):
    """A typed ``-x``, ``!x`` or ``~x``."""

    operand: Expr
    dtype: DType


@dataclass(frozen=True, slots=True)
class Binary(syntax.ParsedBinary, Expr):
    """A typed binary operator (a comparison is ``bool``)."""

    lhs: Expr
    rhs: Expr
    dtype: DType


@dataclass(frozen=True, slots=True)
class Cast(syntax.ParsedCast, Expr):
    """A checked conversion to ``dtype``."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class Call(syntax.ParsedCall, Expr):
    """A typed call of a built-in function."""

    args: tuple[Expr, ...]
    dtype: DType


class Stmt(syntax.ParsedStmt):
    """Base of checked statements."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Assign(syntax.ParsedAssign, Stmt):
    """A checked ``buf[index] = value``."""

    index: tuple[Expr, ...]
    value: Expr


@dataclass(frozen=True, slots=True)
class For(syntax.ParsedFor, Stmt):
    """A checked loop."""

    lo: Expr
    hi: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class If(syntax.ParsedIf, Stmt):
    """A checked branch."""

    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] = ()


@dataclass(frozen=True, slots=True)
class View(syntax.ParsedView):
    """A checked view of a buffer."""

    index: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Arg(syntax.ParsedArg):
    """A checked argument of a call: a view, or a size expression."""

    value: View | Expr


@dataclass(frozen=True, slots=True)
class CallStmt(syntax.ParsedCallStmt, Stmt):
    """A checked call of an intrinsic, every argument in its parameter's order."""

    args: tuple[Arg, ...]


@dataclass(frozen=True, slots=True)
class BufferDecl(syntax.ParsedBufferDecl):
    """A buffer declaration with a checked shape."""

    shape: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Function(syntax.ParsedFunction):
    """A checked kernel or intrinsic."""

    buffers: tuple[BufferDecl, ...]
    body: tuple[Stmt, ...]

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

    @property
    def inputs(self) -> tuple[BufferDecl, ...]:
        """Buffers whose initial contents the function reads (``in`` and ``inout``)."""
        return tuple(b for b in self.buffers if b.mode in ("in", "inout"))

    @property
    def outputs(self) -> tuple[BufferDecl, ...]:
        """Buffers that are results of the function (``out`` and ``inout``)."""
        return tuple(b for b in self.buffers if b.mode in ("out", "inout"))


@dataclass(frozen=True, slots=True)
class Module(syntax.ParsedModule):
    """The checked contents of one `.tz` file, in order."""

    functions: tuple[Function, ...]

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
