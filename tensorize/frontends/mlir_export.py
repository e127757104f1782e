"""MLIR out: a checked `.tz` kernel (plain or rewritten) as ``func``/``affine``/``arith``
/``math``/``memref``/``scf`` MLIR text.

Sizes are fixed first (defaults, or the values given), so every memref is static. Loops
become ``affine.for``, loads and stores ``affine.load`` / ``affine.store``, ``if`` an
``scf.if`` on index comparisons, and each expression a sequence of ``arith`` / ``math``
operations computing exactly the `.tz` value. Where MLIR leaves a result undefined and
`.tz` defines it (division by zero and ``MIN / -1``, shifts by the width or more,
float-to-integer conversion out of range or of NaN), the exported code computes the `.tz`
value with ``arith.select`` around a safe operation, so the MLIR means what the kernel
means.

A ``call`` of an intrinsic becomes ``func.call @<intrinsic name>`` (the spec's dotted
name, verbatim: ``@x86.avx512_vnni.vpdpbusd_bcast``), one argument per buffer parameter
of the intrinsic in its declaration order: a ``memref.subview`` of the program's buffer
when the view is a strided slice in dimension order, else a ``memref.reinterpret_cast``
of it (transposed or broadcast views), ``memref.cast`` to the fully dynamic strided layout
that the one ``func.func private`` declaration per intrinsic takes. Buffers carry their
`.tz` mode and element type as argument attributes (``tensorize.mode``,
``tensorize.type``) so that importing the output gives back the same signature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tensorize.errors import Span, TensorizeError
from tensorize.ir.affine import linear_form
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
from tensorize.ir.sizes import own_sizes
from tensorize.ir.types import INDEX, DType


class ExportError(TensorizeError):
    """A kernel that cannot be written as MLIR (a view no memref view expresses, ...)."""


MLIR_TYPE = {"bool": "i1", "bf16": "bf16", "f16": "f16", "f32": "f32", "f64": "f64"}


def mlir_type(t: DType | str) -> str:
    """The MLIR scalar type of a `.tz` type (signless integers)."""
    name = str(t)
    return MLIR_TYPE.get(name, f"i{name[1:]}")


def memref_type(shape: Sequence[int], t: DType | str) -> str:
    """``memref<16x4xi8>`` (``memref<i32>`` for rank 0)."""
    dims = "".join(f"{n}x" for n in shape)
    return f"memref<{dims}{mlir_type(t)}>"


def dynamic_memref_type(shape: Sequence[int], t: DType | str) -> str:
    """The type an intrinsic declaration takes: any offset and strides."""
    dims = "".join(f"{n}x" for n in shape)
    strides = ", ".join("?" for _ in shape)
    return f"memref<{dims}{mlir_type(t)}, strided<[{strides}], offset: ?>>"


def intrinsic_symbol(name: str) -> str:
    """The MLIR symbol of an intrinsic: its spec name (``@x86.avx512_vnni.vpdpbusd``)."""
    return "@" + name


_INF_BITS = {"f16": "0x7C00", "bf16": "0x7F80", "f32": "0x7F800000",
             "f64": "0x7FF0000000000000"}
_NAN_BITS = {"f16": "0x7E00", "bf16": "0x7FC0", "f32": "0x7FC00000",
             "f64": "0x7FF8000000000000"}
_NEG_INF_BITS = {"f16": "0xFC00", "bf16": "0xFF80", "f32": "0xFF800000",
                 "f64": "0xFFF0000000000000"}


def float_literal(value: float, t: str) -> str:
    """An MLIR float attribute value that reads back as exactly ``value`` of type ``t``."""
    if math.isnan(value):
        return _NAN_BITS[t]
    if math.isinf(value):
        return _INF_BITS[t] if value > 0 else _NEG_INF_BITS[t]
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = repr(float(value))
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"  # MLIR (and xDSL) need a point: 1.0e-05, not 1e-05
    return mantissa + e + exponent


def _wrap(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


@dataclass
class _Scope:
    """SSA names of the loop variables in scope (a `.tz` name may be reused by siblings)."""

    vars: dict[str, str] = field(default_factory=dict)


class FunctionExporter:
    """Writes one checked kernel as a ``func.func`` (see the module docstring)."""

    def __init__(self, fn: Function, sizes: Mapping[str, int],
                 library: Mapping[str, Function]) -> None:
        self.fn = fn
        self.sizes = dict(sizes)
        self.library = library
        self.lines: list[str] = []
        self.depth = 2
        self.used: set[str] = set()
        self.counter = 0
        self.vars: dict[str, str] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.types: dict[str, DType] = {}
        self.decls: dict[str, str] = {}
        self.allocas: list[str] = []

    # -- helpers --------------------------------------------------------------------
    def error(self, message: str, span: Span | None = None) -> ExportError:
        return ExportError(f"cannot export '{self.fn.name}' to MLIR: {message}",
                           span or self.fn.span)

    def fresh(self, hint: str = "t") -> str:
        while True:
            self.counter += 1
            name = f"%{hint}{self.counter}"
            if name not in self.used:
                self.used.add(name)
                return name

    def name_for(self, var: str) -> str:
        name = f"%{var}"
        if name in self.used:
            return self.fresh(var + "_")
        self.used.add(name)
        return name

    def emit(self, line: str) -> None:
        self.lines.append("  " * self.depth + line)

    def op(self, text: str, hint: str = "t") -> str:
        """Emit ``%x = text`` and return ``%x``."""
        name = self.fresh(hint)
        self.emit(f"{name} = {text}")
        return name

    def size(self, expr: Expr) -> int:
        """A buffer extent or a constant index expression, evaluated."""
        lin = linear_form(expr, self.sizes)
        if lin is None or lin.coeffs:
            raise self.error("a buffer extent is not a constant once sizes are fixed",
                             expr.span)
        return lin.const

    # -- entry ----------------------------------------------------------------------
    def run(self) -> str:
        """The ``func.func`` text."""
        fn = self.fn
        missing = [p.name for p in fn.params if p.name not in self.sizes]
        if missing:
            raise self.error(f"size parameter {', '.join(missing)} has no value (give "
                             "one with --set)")
        args = []
        for b in fn.buffers:
            shape = tuple(self.size(e) for e in b.shape)
            self.shapes[b.name] = shape
            self.types[b.name] = b.dtype
            if b.mode == "local":
                continue
            self.used.add(f"%{b.name}")
            attrs = [f'tensorize.mode = "{b.mode}"'] if b.mode == "out" else []
            if b.dtype.is_int:
                attrs.append(f'tensorize.type = "{b.dtype.name}"')
            attr = " {" + ", ".join(attrs) + "}" if attrs else ""
            args.append(f"%{b.name}: {memref_type(shape, b.dtype)}{attr}")
        for b in fn.buffers:
            if b.mode == "local":
                self.local(b)
        for stmt in fn.body:
            self.stmt(stmt)
        self.emit("return")
        head = f"  func.func @{fn.name}({', '.join(args)}) {{"
        return "\n".join([head, *self.allocas, *self.lines, "  }"])

    def local(self, b: BufferDecl) -> None:
        """A ``local`` buffer: an ``alloca`` filled with zeros (``linalg.fill``, which the
        importer recognises, so that a round trip keeps the statements as they were)."""
        shape = self.shapes[b.name]
        self.used.add(f"%{b.name}")
        mtype = memref_type(shape, b.dtype)
        self.emit(f"%{b.name} = memref.alloca() : {mtype}")
        zero = self.const(0 if not b.dtype.is_float else 0.0, b.dtype)
        self.emit(f"linalg.fill ins({zero} : {mlir_type(b.dtype)}) outs(%{b.name} : {mtype})")

    # -- statements -----------------------------------------------------------------
    def stmt(self, stmt: Stmt) -> None:
        if isinstance(stmt, Assign):
            value = self.expr(stmt.value)
            idx = self.affine_indices(stmt.index)
            t = self.types[stmt.buf]
            self.emit(f"affine.store {value}, %{stmt.buf}[{idx}] : "
                      f"{memref_type(self.shapes[stmt.buf], t)}")
        elif isinstance(stmt, For):
            lo, hi = self.bound(stmt.lo), self.bound(stmt.hi)
            saved = self.vars.get(stmt.var)
            ssa = self.name_for(stmt.var)
            self.emit(f"affine.for {ssa} = {lo} to {hi} {{")
            self.vars[stmt.var] = ssa
            self.depth += 1
            for s in stmt.body:
                self.stmt(s)
            self.depth -= 1
            self.emit("}")
            if saved is None:
                self.vars.pop(stmt.var, None)
            else:
                self.vars[stmt.var] = saved
        elif isinstance(stmt, If):
            cond = self.index_cond(stmt.cond)
            self.emit(f"scf.if {cond} {{")
            self.depth += 1
            for s in stmt.then:
                self.stmt(s)
            self.depth -= 1
            if stmt.orelse:
                self.emit("} else {")
                self.depth += 1
                for s in stmt.orelse:
                    self.stmt(s)
                self.depth -= 1
            self.emit("}")
        elif isinstance(stmt, CallStmt):
            self.call(stmt)
        else:
            raise self.error(f"unsupported statement {type(stmt).__name__}", stmt.span)

    # -- index expressions ----------------------------------------------------------
    def affine_text(self, expr: Expr, dims: dict[str, str] | None = None) -> str:
        """An affine expression in MLIR syntax; loop variables as SSA names (or, with
        ``dims``, as the map dimensions they are given)."""
        if isinstance(expr, Const):
            return str(int(expr.value))
        if isinstance(expr, Var):
            if expr.name in self.sizes:
                return str(self.sizes[expr.name])
            if dims is not None:
                if expr.name not in dims:
                    dims[expr.name] = f"d{len(dims)}"
                return dims[expr.name]
            if expr.name not in self.vars:
                raise self.error(f"'{expr.name}' is not a loop variable in scope", expr.span)
            return self.vars[expr.name]
        if isinstance(expr, Unary) and expr.op == "-":
            return f"({self.affine_text(expr.operand, dims)} * -1)"
        if isinstance(expr, Binary) and expr.op in ("+", "-", "*", "/", "%"):
            a = self.affine_text(expr.lhs, dims)
            b = self.affine_text(expr.rhs, dims)
            op = {"/": "floordiv", "%": "mod"}.get(expr.op, expr.op)
            return f"({a} {op} {b})"
        raise self.error("an index expression that is not affine", expr.span)

    def affine_indices(self, index: Sequence[Expr]) -> str:
        return ", ".join(self.affine_text(e) for e in index)

    def bound(self, expr: Expr) -> str:
        dims: dict[str, str] = {}
        text = self.affine_text(expr, dims)
        if not dims:
            lin = linear_form(expr, self.sizes)
            if lin is not None and not lin.coeffs:
                return str(lin.const)
            return f"affine_map<() -> ({text})>()"
        operands = ", ".join(self.vars[v] for v in dims)
        return f"affine_map<({', '.join(dims.values())}) -> ({text})>({operands})"

    def index_value(self, expr: Expr) -> str:
        """An ``index`` SSA value of an affine expression."""
        dims: dict[str, str] = {}
        text = self.affine_text(expr, dims)
        operands = ", ".join(self.vars[v] for v in dims)
        return self.op(f"affine.apply affine_map<({', '.join(dims.values())}) -> ({text})>"
                       f"({operands})", "x")

    def index_cond(self, expr: Expr) -> str:
        """An ``i1`` SSA value of a condition on index expressions."""
        if isinstance(expr, Const):
            return self.op(f"arith.constant {'true' if expr.value else 'false'}", "c")
        if isinstance(expr, Unary) and expr.op == "!":
            inner = self.index_cond(expr.operand)
            true = self.op("arith.constant true", "c")
            return self.op(f"arith.xori {inner}, {true} : i1", "c")
        if isinstance(expr, Binary) and expr.op in ("&&", "||"):
            a, b = self.index_cond(expr.lhs), self.index_cond(expr.rhs)
            return self.op(f"arith.{'andi' if expr.op == '&&' else 'ori'} {a}, {b} : i1",
                           "c")
        if isinstance(expr, Binary) and expr.op in _INT_CMP:
            a, b = self.index_value(expr.lhs), self.index_value(expr.rhs)
            return self.op(f"arith.cmpi {_INT_CMP[expr.op][0]}, {a}, {b} : index", "c")
        raise self.error("an unsupported condition", expr.span)

    # -- data expressions -----------------------------------------------------------
    def const(self, value: int | float | bool, t: DType) -> str:
        if t.is_bool:
            return self.op(f"arith.constant {'true' if value else 'false'}", "c")
        if t.is_float:
            return self.op(f"arith.constant {float_literal(float(value), t.name)} : "
                           f"{mlir_type(t)}", "c")
        return self.op(f"arith.constant {_wrap(int(value), t.bits)} : {mlir_type(t)}", "c")

    def expr(self, e: Expr) -> str:
        """Emit the operations computing ``e``; its SSA value."""
        t = e.dtype
        if isinstance(e, Const):
            return self.const(e.value, t)
        if isinstance(e, Load):
            idx = self.affine_indices(e.index)
            return self.op(f"affine.load %{e.buf}[{idx}] : "
                           f"{memref_type(self.shapes[e.buf], self.types[e.buf])}", "v")
        if isinstance(e, Unary):
            return self.unary(e, t)
        if isinstance(e, Binary):
            return self.binary(e, t)
        if isinstance(e, Cast):
            return self.cast(e, t)
        if isinstance(e, Call):
            return self.call_expr(e, t)
        raise self.error(f"an index value used as data: {type(e).__name__}", e.span)

    def unary(self, e: Unary, t: DType) -> str:
        x = self.expr(e.operand)
        ty = mlir_type(t)
        if e.op == "-":
            if t.is_float:
                return self.op(f"arith.negf {x} : {ty}")
            zero = self.const(0, t)
            return self.op(f"arith.subi {zero}, {x} : {ty}")
        if e.op == "!":
            true = self.const(True, t)
            return self.op(f"arith.xori {x}, {true} : i1")
        ones = self.const(-1, t)
        return self.op(f"arith.xori {x}, {ones} : {ty}")

    def binary(self, e: Binary, t: DType) -> str:
        lt = e.lhs.dtype
        if e.op in _INT_CMP and lt.is_index:
            return self.index_cond(e)
        a, b = self.expr(e.lhs), self.expr(e.rhs)
        ty = mlir_type(lt)
        if e.op in ("&&", "||"):
            return self.op(f"arith.{'andi' if e.op == '&&' else 'ori'} {a}, {b} : i1")
        if e.op in _INT_CMP:
            if lt.is_float:
                pred = _FLOAT_CMP[e.op]
                return self.op(f"arith.cmpf {pred}, {a}, {b} : {ty}")
            if lt.is_bool:
                return self.op(f"arith.cmpi {_INT_CMP[e.op][0]}, {a}, {b} : i1")
            pred = _INT_CMP[e.op][0 if lt.is_signed else 1]
            return self.op(f"arith.cmpi {pred}, {a}, {b} : {ty}")
        if lt.is_float:
            name = {"+": "addf", "-": "subf", "*": "mulf", "/": "divf"}[e.op]
            return self.op(f"arith.{name} {a}, {b} : {ty}")
        if e.op in ("+", "-", "*", "&", "|", "^"):
            name = {"+": "addi", "-": "subi", "*": "muli", "&": "andi", "|": "ori",
                    "^": "xori"}[e.op]
            return self.op(f"arith.{name} {a}, {b} : {ty}")
        if e.op in ("/", "%"):
            return self.division(e.op, a, b, lt)
        if e.op in ("<<", ">>"):
            return self.shift(e.op, a, b, lt)
        raise self.error(f"operator {e.op}", e.span)

    def select(self, c: str, a: str, b: str, t: DType) -> str:
        return self.op(f"arith.select {c}, {a}, {b} : {mlir_type(t)}")

    def division(self, op: str, a: str, b: str, t: DType) -> str:
        """`.tz` ``/`` and ``%``: defined for a zero divisor and for ``MIN / -1``."""
        ty = mlir_type(t)
        zero, one = self.const(0, t), self.const(1, t)
        bz = self.op(f"arith.cmpi eq, {b}, {zero} : {ty}")
        safe = self.select(bz, one, b, t)
        if t.is_signed:
            minv, m1 = self.const(t.min, t), self.const(-1, t)
            amin = self.op(f"arith.cmpi eq, {a}, {minv} : {ty}")
            bm1 = self.op(f"arith.cmpi eq, {b}, {m1} : {ty}")
            ovf = self.op(f"arith.andi {amin}, {bm1} : i1")
            safe = self.select(ovf, one, safe, t)
        if op == "%":
            r = self.op(f"arith.{'remsi' if t.is_signed else 'remui'} {a}, {safe} : {ty}")
            if t.is_signed:  # MIN % -1 is 0; the safe divisor 1 gives 0 too
                pass
            return self.select(bz, a, r, t)
        q = self.op(f"arith.{'divsi' if t.is_signed else 'divui'} {a}, {safe} : {ty}")
        # MIN / -1 wraps to MIN: a / 1 is MIN already. x / 0: -1 (x >= 0), 1 (x < 0),
        # all ones for unsigned.
        if t.is_signed:
            neg = self.op(f"arith.cmpi slt, {a}, {zero} : {ty}")
            m1 = self.const(-1, t)
            by0 = self.select(neg, one, m1, t)
        else:
            by0 = self.const(-1, t)
        return self.select(bz, by0, q, t)

    def shift(self, op: str, a: str, b: str, t: DType) -> str:
        """`.tz` shifts: the amount is unsigned; at least the width gives 0 (or -1 for
        ``>>`` of a negative signed value)."""
        ty = mlir_type(t)
        width = self.const(t.bits, t)
        ok = self.op(f"arith.cmpi ult, {b}, {width} : {ty}")
        zero = self.const(0, t)
        safe = self.select(ok, b, zero, t)
        if op == "<<":
            r = self.op(f"arith.shli {a}, {safe} : {ty}")
            return self.select(ok, r, zero, t)
        if t.is_signed:
            r = self.op(f"arith.shrsi {a}, {safe} : {ty}")
            top = self.const(t.bits - 1, t)
            fill = self.op(f"arith.shrsi {a}, {top} : {ty}")
            return self.select(ok, r, fill, t)
        r = self.op(f"arith.shrui {a}, {safe} : {ty}")
        return self.select(ok, r, zero, t)

    def cast(self, e: Cast, t: DType) -> str:
        src = e.operand.dtype
        if src.is_index:
            x = self.index_value(e.operand)
            if t.is_float:
                i = self.op(f"arith.index_cast {x} : index to i64")
                return self.op(f"arith.sitofp {i} : i64 to {mlir_type(t)}")
            if e.saturate:
                raise self.error("a saturating cast of an index", e.span)
            return self.op(f"arith.index_cast {x} : index to {mlir_type(t)}")
        x = self.expr(e.operand)
        return self.convert(x, src, t, e.saturate, e.span)

    def convert(self, x: str, src: DType, t: DType, saturate: bool,
                span: Span | None = None) -> str:
        st, tt = mlir_type(src), mlir_type(t)
        if src == t:
            return x
        if src.is_bool:
            if t.is_float:
                return self.op(f"arith.uitofp {x} : i1 to {tt}")
            return self.op(f"arith.extui {x} : i1 to {tt}")
        if t.is_bool:
            zero = self.const(0, src)
            return self.op(f"arith.cmpi ne, {x}, {zero} : {st}")
        if src.is_int and t.is_int:
            if saturate:
                return self.saturate(x, src, t)
            if t.bits > src.bits:
                return self.op(f"arith.{'extsi' if src.is_signed else 'extui'} {x} : "
                               f"{st} to {tt}")
            if t.bits < src.bits:
                return self.op(f"arith.trunci {x} : {st} to {tt}")
            return x
        if src.is_int and t.is_float:
            return self.op(f"arith.{'sitofp' if src.is_signed else 'uitofp'} {x} : "
                           f"{st} to {tt}")
        if src.is_float and t.is_float:
            if src.bits == t.bits:  # f16 <-> bf16: exactly through f32
                wide = self.op(f"arith.extf {x} : {st} to f32")
                return self.op(f"arith.truncf {wide} : f32 to {tt}")
            op = "extf" if t.bits > src.bits else "truncf"
            return self.op(f"arith.{op} {x} : {st} to {tt}")
        if src.is_float and t.is_int:
            return self.float_to_int(x, src, t)
        raise self.error(f"a conversion from {src} to {t}", span)

    def saturate(self, x: str, src: DType, t: DType) -> str:
        """``sat_T(x)``: clamp to T's range in the source type (each bound of T that the
        source can go beyond is representable in it), then convert."""
        st = mlir_type(src)
        sign = "s" if src.is_signed else "u"
        if src.min < t.min:
            lo = self.const(t.min, src)
            below = self.op(f"arith.cmpi {sign}lt, {x}, {lo} : {st}")
            x = self.op(f"arith.select {below}, {lo}, {x} : {st}")
        if src.max > t.max:
            hi = self.const(t.max, src)
            above = self.op(f"arith.cmpi {sign}gt, {x}, {hi} : {st}")
            x = self.op(f"arith.select {above}, {hi}, {x} : {st}")
        return self.convert(x, src, t, False)

    def float_to_int(self, x: str, src: DType, t: DType) -> str:
        """`.tz` float-to-integer: truncate toward zero, saturate, NaN gives 0."""
        d = x if src.name == "f64" else self.op(f"arith.extf {x} : {mlir_type(src)} to f64")
        tt = mlir_type(t)
        if t.is_signed:
            lo_ok = (self.op(f"arith.cmpf oge, {d}, {self.f64(-2.0 ** (t.bits - 1))} : f64")
                     if t.bits == 64 else
                     self.op(f"arith.cmpf ogt, {d}, {self.f64(-2.0 ** (t.bits - 1) - 1)}"
                             " : f64"))
            hi_lim = self.f64(2.0 ** (t.bits - 1))
        else:
            lo_ok = self.op(f"arith.cmpf ogt, {d}, {self.f64(-1.0)} : f64")
            hi_lim = self.f64(2.0 ** t.bits)
        hi_ok = self.op(f"arith.cmpf olt, {d}, {hi_lim} : f64")
        big = self.op(f"arith.cmpf oge, {d}, {hi_lim} : f64")
        conv = self.op(f"arith.{'fptosi' if t.is_signed else 'fptoui'} {d} : f64 to {tt}")
        inside = self.op(f"arith.andi {lo_ok}, {hi_ok} : i1")
        maxv, minv, zero = self.const(t.max, t), self.const(t.min, t), self.const(0, t)
        nan = self.op(f"arith.cmpf uno, {d}, {d} : f64")
        sat = self.select(big, maxv, minv, t)
        val = self.select(inside, conv, sat, t)
        return self.select(nan, zero, val, t)

    def f64(self, value: float) -> str:
        return self.op(f"arith.constant {float_literal(value, 'f64')} : f64", "c")

    def call_expr(self, e: Call, t: DType) -> str:
        ty = mlir_type(t)
        if e.fn == "select":
            c, a, b = (self.expr(x) for x in e.args)
            return self.op(f"arith.select {c}, {a}, {b} : {ty}")
        if e.fn in ("min", "max") and t.is_int:  # symmetric on integers
            a, b = (self.expr(x) for x in e.args)
            name = f"{e.fn}{'si' if t.is_signed else 'ui'}"
            return self.op(f"arith.{name} {a}, {b} : {ty}")
        if e.fn in ("min", "max"):
            a, b = (self.expr(x) for x in e.args)
            sym = "<" if e.fn == "min" else ">"
            if t.is_float:
                c = self.op(f"arith.cmpf {_FLOAT_CMP[sym]}, {b}, {a} : {ty}")
            else:
                c = self.op(f"arith.cmpi {_INT_CMP[sym][0 if t.is_signed else 1]}, "
                            f"{b}, {a} : {ty}")
            return self.op(f"arith.select {c}, {b}, {a} : {ty}")
        if e.fn == "abs":
            x = self.expr(e.args[0])
            if t.is_float:
                return self.op(f"math.absf {x} : {ty}")
            if not t.is_signed:
                return x
            zero = self.const(0, t)
            neg = self.op(f"arith.cmpi slt, {x}, {zero} : {ty}")
            minus = self.op(f"arith.subi {zero}, {x} : {ty}")
            return self.op(f"arith.select {neg}, {minus}, {x} : {ty}")
        if e.fn == "fma":
            a, b, c = (self.expr(x) for x in e.args)
            return self.op(f"math.fma {a}, {b}, {c} : {ty}")
        name = {"rint": "roundeven"}.get(e.fn, e.fn)
        x = self.expr(e.args[0])
        return self.op(f"math.{name} {x} : {ty}")

    # -- calls ----------------------------------------------------------------------
    def call(self, stmt: CallStmt) -> None:
        intr = self.library.get(stmt.name)
        if intr is None:
            raise self.error(f"unknown intrinsic '{stmt.name}'", stmt.span)
        if intr.params:
            raise self.error(f"intrinsic '{stmt.name}' has size parameters: not "
                             "exported", stmt.span)
        args = {a.name: a.value for a in stmt.args}
        operands, types = [], []
        for param in intr.buffers:
            if param.mode == "local":
                continue
            view = args.get(param.name)
            pshape = tuple(self.intrinsic_extent(intr, e) for e in param.shape)
            if isinstance(view, Expr):
                raise self.error("a size argument of a call", stmt.span)
            if view is None:
                raise self.error(f"call of '{stmt.name}' without '{param.name}'", stmt.span)
            try:
                operands.append(self.view(view, pshape, param.dtype))
            except ExportError:
                if param.mode != "in" or not isinstance(view, View):
                    raise
                operands.append(self.packed(view, pshape, param.dtype))
            types.append(dynamic_memref_type(pshape, param.dtype))
        sym = intrinsic_symbol(stmt.name)
        sig = f"({', '.join(types)}) -> ()"
        self.decls[stmt.name] = f"  func.func private {sym}({', '.join(types)})"
        self.emit(f"func.call {sym}({', '.join(operands)}) : {sig}")

    def intrinsic_extent(self, intr: Function, e: Expr) -> int:
        lin = linear_form(e, {p.name: p.default for p in intr.params
                              if p.default is not None})
        if lin is None or lin.coeffs:
            raise self.error(f"intrinsic '{intr.name}' has a non-constant extent")
        return lin.const

    def view(self, view: View | Var, shape: Sequence[int], t: DType) -> str:
        """A memref SSA value of the fully dynamic strided type for one call argument."""
        if isinstance(view, Var):  # a bare buffer name: the whole buffer
            buf = view.name
            view = View(tuple(f"_d{k}" for k in range(len(shape))), buf,
                        tuple(Var(f"_d{k}") for k in range(len(shape))))
        src_shape = self.shapes[view.buf]
        src_t = self.types[view.buf]
        src_type = memref_type(src_shape, src_t)
        rows = _row_strides(src_shape)
        # each index = offset (quasi-affine in loop vars) + sum_j coeff_j * dim_j
        extents = dict(zip(view.dims, shape))
        offsets: list[Expr] = []
        coeffs: list[dict[str, int]] = []
        for e in view.index:
            split = split_dims(e, extents, self.sizes)
            if split is None:
                raise self.error("a view whose index is not an offset plus a multiple of "
                                 "each view dimension is not a strided memref view",
                                 view.span)
            offset, coeff = split
            coeffs.append({d: c for d, c in coeff.items() if c})
            offsets.append(offset)
        target = dynamic_memref_type(shape, t)
        sub = self.subview(view, shape, src_type, src_shape, rows, offsets, coeffs, t)
        if sub is not None:
            value, vtype = sub
        else:
            value, vtype = self.reinterpret(view, shape, src_type, rows, offsets, coeffs,
                                            t)
        if vtype == target:
            return value
        return self.op(f'"memref.cast"({value}) : ({vtype}) -> {target}', "m")

    def packed(self, view: View, shape: Sequence[int], t: DType) -> str:
        """An input view that no memref view describes (a gather): its elements copied
        into a scratch buffer (allocated once at the function's entry), which the call
        reads. Only for ``in`` parameters: the intrinsic never writes them."""
        tmp = self.fresh("pack")
        mtype = memref_type(shape, t)
        self.allocas.append(f"    {tmp} = memref.alloca() : {mtype}")
        saved = dict(self.vars)
        ivs = []
        for d, n in zip(view.dims, shape):
            iv = self.name_for(d)
            self.emit(f"affine.for {iv} = 0 to {n} {{")
            self.depth += 1
            self.vars[d] = iv
            ivs.append(iv)
        src = self.op(f"affine.load %{view.buf}[{self.affine_indices(view.index)}] : "
                      f"{memref_type(self.shapes[view.buf], self.types[view.buf])}", "v")
        self.emit(f"affine.store {src}, {tmp}[{', '.join(ivs)}] : {mtype}")
        for _ in ivs:
            self.depth -= 1
            self.emit("}")
        self.vars = saved
        target = dynamic_memref_type(shape, t)
        return self.op(f'"memref.cast"({tmp}) : ({mtype}) -> {target}', "m")

    def subview(self, view: View, shape: Sequence[int], src_type: str,
                src_shape: Sequence[int], rows: Sequence[int], offsets: Sequence[Expr],
                coeffs: Sequence[dict[str, int]], t: DType) -> tuple[str, str] | None:
        """A ``memref.subview`` when each source dimension holds at most one view dim
        (with a positive stride), in the view's order; else None."""
        order: list[int] = []
        sizes, strides = [], []
        for c in coeffs:
            if len(c) > 1 or any(v <= 0 for v in c.values()):
                return None
            if c:
                (d, s), = c.items()
                j = view.dims.index(d)
                order.append(j)
                sizes.append(shape[j])
                strides.append(s)
            else:
                sizes.append(1)
                strides.append(1)
        if order != list(range(len(view.dims))):
            return None
        offs = []
        for e in offsets:
            lin = linear_form(e, self.sizes)
            if lin is not None and not lin.coeffs:
                offs.append(str(lin.const))
            else:
                offs.append(self.index_value(e))
        kept = [k for k, c in enumerate(coeffs) if c]
        res_strides = [rows[k] * strides[k] for k in kept]
        rtype = (f"memref<{''.join(f'{n}x' for n in shape)}{mlir_type(t)}, "
                 f"strided<[{', '.join(map(str, res_strides))}], offset: ?>>")
        value = self.op(f"memref.subview %{view.buf}[{', '.join(offs)}] "
                        f"[{', '.join(map(str, sizes))}] [{', '.join(map(str, strides))}] : "
                        f"{src_type} to {rtype}", "m")
        return value, rtype

    def reinterpret(self, view: View, shape: Sequence[int], src_type: str,
                    rows: Sequence[int], offsets: Sequence[Expr],
                    coeffs: Sequence[dict[str, int]], t: DType) -> tuple[str, str]:
        """``memref.reinterpret_cast`` of the buffer: any affine view (transposed or
        broadcast) of a row-major buffer, with the linear offset computed."""
        strides = [sum(rows[k] * c.get(d, 0) for k, c in enumerate(coeffs))
                   for d in view.dims]
        if any(s < 0 for s in strides):
            raise self.error("a view with a negative stride", view.span)
        total: Expr = Const(0, INDEX)
        for k, e in enumerate(offsets):
            total = Binary("+", total, Binary("*", Const(rows[k], INDEX), e, INDEX), INDEX)
        off = self.index_value(total)
        rtype = (f"memref<{''.join(f'{n}x' for n in shape)}{mlir_type(t)}, "
                 f"strided<[{', '.join(map(str, strides))}], offset: ?>>")
        value = self.op(
            f"memref.reinterpret_cast %{view.buf} to offset: [{off}], sizes: "
            f"[{', '.join(map(str, shape))}], strides: [{', '.join(map(str, strides))}] : "
            f"{src_type} to {rtype}", "m")
        return value, rtype


def _row_strides(shape: Sequence[int]) -> list[int]:
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= n
    return list(reversed(strides))


def _has_dims(e: Expr, dims: Mapping[str, int]) -> bool:
    from tensorize.ir.traverse import free_vars

    return bool(free_vars(e) & set(dims))


def split_dims(e: Expr, dims: Mapping[str, int], sizes: Mapping[str, int],
               ) -> tuple[Expr, dict[str, int]] | None:
    """``e`` as ``offset + sum(coeff[d] * d)`` over the view dimensions ``dims`` (each
    ``d`` in ``0..dims[d]``), the offset free of them; None if it is not of that form.

    A fused tile index ``(X + D) / m`` or ``(X + D) % m`` (D linear in the dims with
    non-negative coefficients, X free of them) is split when every value of X is a
    multiple of some ``g`` dividing ``m`` with ``max D < g``: then ``(X + D) / m`` is
    ``X / m`` and ``(X + D) % m`` is ``X % m + D`` for every X (floor semantics)."""
    if not _has_dims(e, dims):
        return e, {}
    if isinstance(e, Var):
        return Const(0, INDEX), {e.name: 1}
    if isinstance(e, Binary) and e.op in ("+", "-"):
        a, b = split_dims(e.lhs, dims, sizes), split_dims(e.rhs, dims, sizes)
        if a is None or b is None:
            return None
        sign = 1 if e.op == "+" else -1
        coeff = dict(a[1])
        for d, c in b[1].items():
            coeff[d] = coeff.get(d, 0) + sign * c
        return Binary(e.op, a[0], b[0], INDEX), coeff
    if isinstance(e, Binary) and e.op == "*":
        k = linear_form(e.lhs, sizes) if not _has_dims(e.lhs, dims) else \
            linear_form(e.rhs, sizes)
        inner = split_dims(e.rhs if not _has_dims(e.lhs, dims) else e.lhs, dims, sizes)
        if k is None or k.coeffs or inner is None:
            return None
        return Binary("*", Const(k.const, INDEX), inner[0], INDEX), {d: c * k.const
                                                                     for d, c in inner[1].items()}
    if isinstance(e, Binary) and e.op in ("/", "%"):
        m = linear_form(e.rhs, sizes)
        inner = split_dims(e.lhs, dims, sizes)
        if m is None or m.coeffs or m.const <= 0 or inner is None:
            return None
        x, coeff = inner
        if not any(coeff.values()):  # the dims cancelled out inside
            return Binary(e.op, x, Const(m.const, INDEX), INDEX), {}
        if any(c < 0 for c in coeff.values()):
            return None
        dmax = sum(c * (dims[d] - 1) for d, c in coeff.items())
        lin = linear_form(x, sizes)
        if lin is None:
            return None
        g = math.gcd(m.const, lin.const, *(c for _, c in lin.coeffs))
        if dmax >= g:
            return None
        if e.op == "/":
            return Binary("/", x, Const(m.const, INDEX), INDEX), {}
        return Binary("%", x, Const(m.const, INDEX), INDEX), coeff
    return None


_INT_CMP = {"==": ("eq", "eq"), "!=": ("ne", "ne"), "<": ("slt", "ult"),
            "<=": ("sle", "ule"), ">": ("sgt", "ugt"), ">=": ("sge", "uge")}
_FLOAT_CMP = {"==": "oeq", "!=": "une", "<": "olt", "<=": "ole", ">": "ogt", ">=": "oge"}


@dataclass
class ExportedFunction:
    """One function as MLIR text, and the declarations of the intrinsics it calls."""

    text: str
    decls: dict[str, str]


def export_function(fn: Function, sizes: Mapping[str, int] | None = None,
                    library: Mapping[str, Function] | None = None) -> ExportedFunction:
    """A checked kernel as a ``func.func`` (sizes: the given values, else defaults)."""
    values = {p.name: p.default for p in fn.params if p.default is not None}
    values.update(sizes or {})
    exporter = FunctionExporter(fn, values, library or {})
    text = exporter.run()
    return ExportedFunction(text, exporter.decls)


def export_module(functions: Sequence[Function], sizes: Mapping[str, int] | None = None,
                  library: Mapping[str, Function] | None = None) -> str:
    """Kernels as one MLIR module (intrinsic declarations at the end)."""
    parts: list[str] = []
    decls: dict[str, str] = {}
    for fn in functions:
        done = export_function(fn, own_sizes(fn, sizes), library)
        parts.append(done.text)
        decls.update(done.decls)
    body = "\n".join(parts + [decls[k] for k in sorted(decls)])
    return "module {\n" + body + "\n}\n"

