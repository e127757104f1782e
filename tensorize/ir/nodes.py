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

from dataclasses import dataclass, fields
from typing import TypeVar, dataclass_transform

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


_C = TypeVar("_C", bound=type)


@dataclass_transform(frozen_default=True)
def _narrowed(cls: _C) -> _C:
    """A checked class whose fields are its parsed class's, in the same order and with the
    same defaults, only their types narrowed. To the type checker it is a frozen dataclass
    with the narrowed fields; at run time the parsed class's generated ``__init__``,
    ``__eq__``, ``__hash__`` and ``__repr__`` serve it unchanged (a second dataclass pass
    would make the same methods again, ~1 ms a class of every command). The class body
    must declare ``__slots__ = ()``, no field of its own, and no default but the parsed
    class's."""
    inherited = {f.name: f for f in fields(cls.__mro__[1])}
    own = cls.__dict__.get("__annotations__", {})
    if cls.__dict__.get("__slots__") != () or not set(own) <= set(inherited):
        raise TypeError(f"{cls.__name__} is not its parsed class with narrowed types")
    for name in own:
        if name in cls.__dict__:  # a default, written for the type checker: the parsed
            if cls.__dict__[name] != inherited[name].default:  # class's, whose slot must
                raise TypeError(f"{cls.__name__}.{name} changes its default")  # not be
            delattr(cls, name)  # hidden by a class attribute
    return cls


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


@_narrowed
class Cast(syntax.ParsedCast, Expr):
    """A checked conversion to ``dtype``."""

    __slots__ = ()

    operand: Expr


@dataclass(frozen=True, slots=True)
class Call(syntax.ParsedCall, Expr):
    """A typed call of a built-in function."""

    args: tuple[Expr, ...]
    dtype: DType


class Stmt(syntax.ParsedStmt):
    """Base of checked statements."""

    __slots__ = ()


@_narrowed
class Assign(syntax.ParsedAssign, Stmt):
    """A checked ``buf[index] = value``."""

    __slots__ = ()

    index: tuple[Expr, ...]
    value: Expr


@_narrowed
class For(syntax.ParsedFor, Stmt):
    """A checked loop."""

    __slots__ = ()

    lo: Expr
    hi: Expr
    body: tuple[Stmt, ...]


@_narrowed
class If(syntax.ParsedIf, Stmt):
    """A checked branch."""

    __slots__ = ()

    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] = ()


@_narrowed
class View(syntax.ParsedView):
    """A checked view of a buffer."""

    __slots__ = ()

    index: tuple[Expr, ...]


@_narrowed
class Arg(syntax.ParsedArg):
    """A checked argument of a call: a view, or a size expression."""

    __slots__ = ()

    value: View | Expr


@_narrowed
class CallStmt(syntax.ParsedCallStmt, Stmt):
    """A checked call of an intrinsic, every argument in its parameter's order."""

    __slots__ = ()

    args: tuple[Arg, ...]


@_narrowed
class BufferDecl(syntax.ParsedBufferDecl):
    """A buffer declaration with a checked shape."""

    __slots__ = ()

    shape: tuple[Expr, ...]


@_narrowed
class Function(syntax.ParsedFunction):
    """A checked kernel or intrinsic."""

    __slots__ = ()

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
