"""MLIR in: a ``func.func`` over memrefs becomes a checked `.tz` kernel.

The function body may hold ``affine.for`` / ``scf.for`` nests, ``affine.if``,
``affine.load`` / ``affine.store`` / ``memref.load`` / ``memref.store``, ``affine.apply``,
``memref.dim``, the ``arith`` and ``math`` operations of the table in ``docs/mlir.md``,
``linalg.generic`` and the named ops of :mod:`tensorize.frontends.mlir_linalg`, and
``func.call``\\ s of intrinsics on views (what :mod:`tensorize.frontends.mlir_export`
writes). Anything else is a diagnostic at the operation, never a guess.

The translation writes `.tz` text and runs it through the ordinary parser and checker,
so an imported kernel is exactly what a user could have written. Meaning is kept exactly:

* MLIR integers are signless; each `.tz` value gets a signed or unsigned type and every
  operation whose meaning depends on signedness (``divsi``/``divui``, ``extsi``/``extui``,
  ``cmpi slt``/``ult``, ...) reinterprets its operands to the signedness it needs (a
  same-width cast keeps the bits). A buffer's element type is signed unless the
  operations on its values say unsigned (``extui`` ...); an explicit choice comes from
  ``signedness`` (``--signedness A=u8``) or the argument attribute ``tensorize.type``.
  Values of one buffer used both ways are an error that asks for that choice.
* Where MLIR leaves a result undefined (division by zero, a shift by the width or more,
  an out-of-range ``fptosi``), the `.tz` kernel computes the defined `.tz` value: a
  refinement, so any rewrite proved for it is a correct rewrite of the MLIR.
* A loaded value is used at its use site, so it must not be used after a store to its
  buffer (between the load and the use, or in a later iteration of an enclosing loop).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from xdsl.dialects.builtin import (
    BFloat16Type,
    DictionaryAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    StringAttr,
)
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute, Block, Operation, OpResult, SSAValue, Use
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
    AffineSymExpr,
)

from tensorize.errors import TensorizeError, UsageError
from tensorize.frontends.mlir_linalg import affine_maps_of, named_spec
from tensorize.frontends.mlir_parse import MlirError, ParsedMlir
from tensorize.ir.nodes import Function, Module

MAX_EXPR = 200_000
"""The longest `.tz` expression an imported value may become (inlining duplicates)."""

TZ_TYPES = ("i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f16", "bf16", "f32",
            "f64", "bool")
_RESERVED = set(TZ_TYPES) | {
    "kernel", "intrinsic", "assume", "for", "in", "if", "else", "call", "true", "false",
    "inf", "out", "inout", "local", "index", "min", "max", "abs", "select", "fma", "rint",
    "exp", "exp2", "log", "log2", "sqrt", "tanh", "sin", "cos", "floor", "ceil"}


@dataclass(frozen=True)
class ImportOptions:
    """How to read MLIR: ``signedness`` maps an argument name to its `.tz` element type
    (``{"A": "u8"}``), for buffers whose operations do not say or say both."""

    signedness: Mapping[str, str] = field(default_factory=dict)


def parse_signedness(items: Sequence[str]) -> dict[str, str]:
    """``["A=u8", "B=i8"]`` -> ``{"A": "u8", "B": "i8"}`` (a :class:`UsageError` if bad)."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, ty = item.partition("=")
        name = name.strip().lstrip("%")
        if not sep or not name or ty.strip() not in TZ_TYPES[:8]:
            raise UsageError(f"--signedness: expected ARG=TYPE with an integer type "
                             f"(i8 ... u64), got {item!r}")
        result[name] = ty.strip()
    return result


# -- values ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Idx:
    """An ``index`` SSA value as a `.tz` index expression; ``lin`` is its linear form
    (``(coefficient per name, constant)``) when it has one."""

    text: str
    const: int | None = None
    loop: bool = False
    lin: tuple[tuple[tuple[str, int], ...], int] | None = None


def const_idx(c: int) -> Idx:
    """The index constant ``c``."""
    return Idx(str(c) if c >= 0 else f"({c})", c, False, ((), c))


def var_idx(name: str, loop: bool) -> Idx:
    """A loop variable (``loop``) or a size parameter."""
    return Idx(name, None, loop, (((name, 1),), 0))


def lin_text(lin: tuple[tuple[tuple[str, int], ...], int]) -> str:
    """`.tz` text of a linear form, as the rewriter writes it (``4 * ko + k``)."""
    terms, off = lin
    parts = [v if c == 1 else f"{c} * {v}" for v, c in terms if c]
    text = " + ".join(parts)
    if off or not text:
        text = f"{text} + {off}" if text and off > 0 else \
            f"{text} - {-off}" if text else str(off)
    return text


@dataclass(frozen=True)
class Data:
    """A data SSA value as a `.tz` expression of type ``ty``, reading ``reads``."""

    text: str
    ty: str
    reads: frozenset[str] = frozenset()
    stamp: tuple[tuple[str, int], ...] = ()


@dataclass
class Buffer:
    """A memref argument (or a local allocation) of the imported function."""

    name: str
    elem: Attribute
    shape: list[str]
    mode: str = "in"
    ty: str = ""
    local: bool = False
    explicit_in: bool = False


def _is_int(ty: str) -> bool:
    return ty[0] in "iu"


def _bits(ty: str) -> int:
    return 1 if ty == "bool" else int(ty[1:] if ty[0] != "b" else "16")


def _signed(ty: str, signed: bool) -> str:
    return ("i" if signed else "u") + ty[1:]


def _float_name(t: Attribute) -> str | None:
    if isinstance(t, Float16Type):
        return "f16"
    if isinstance(t, BFloat16Type):
        return "bf16"
    if isinstance(t, Float32Type):
        return "f32"
    if isinstance(t, Float64Type):
        return "f64"
    return None


def _scalar_name(t: Attribute) -> str | None:
    """The `.tz` type of an MLIR scalar type (signed for integers), None if unsupported."""
    if isinstance(t, IntegerType):
        width = t.width.data
        if width == 1:
            return "bool"
        return f"i{width}" if width in (8, 16, 32, 64) else None
    return _float_name(t)


_SIGNED_USERS = {"arith.extsi", "arith.sitofp", "arith.divsi", "arith.remsi", "arith.maxsi",
                 "arith.minsi", "arith.shrsi", "math.absi"}
_UNSIGNED_USERS = {"arith.extui", "arith.uitofp", "arith.divui", "arith.remui",
                   "arith.maxui", "arith.minui", "arith.shrui"}
_CMPI = ("eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge")
_CMPF = ("false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord", "ueq", "ugt", "uge",
         "ult", "ule", "une", "uno", "true")
_MATH = {"math.exp": "exp", "math.exp2": "exp2", "math.log": "log", "math.log2": "log2",
         "math.sqrt": "sqrt", "math.tanh": "tanh", "math.sin": "sin", "math.cos": "cos",
         "math.floor": "floor", "math.ceil": "ceil", "math.absf": "abs",
         "math.roundeven": "rint"}


def _sign_hint(value: SSAValue, stored_by: Operation | None = None) -> dict[str, Operation]:
    """Which signedness the operations using ``value`` (or producing a stored value) need."""
    hints: dict[str, Operation] = {}
    for use in value.uses:
        user = use.operation
        name = user.name
        if name in _SIGNED_USERS:
            hints.setdefault("s", user)
        elif name in _UNSIGNED_USERS:
            hints.setdefault("u", user)
        elif name == "arith.cmpi":
            pred = _CMPI[_int_prop(user, "predicate")]
            if pred[0] in "su":
                hints.setdefault(pred[0], user)
    if stored_by is not None:
        name = stored_by.name
        if name in _SIGNED_USERS - {"arith.extsi", "arith.sitofp"} or name == "arith.fptosi":
            hints.setdefault("s", stored_by)
        elif name in _UNSIGNED_USERS - {"arith.extui", "arith.uitofp"} \
                or name == "arith.fptoui":
            hints.setdefault("u", stored_by)
    return hints


def _int_prop(op: Operation, name: str) -> int:
    attr = _prop(op, name)
    assert isinstance(attr, IntegerAttr)
    return int(attr.value.data)


def _sanitize(name: str | None, fallback: str) -> str:
    if not name:
        return fallback
    text = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not re.match(r"[A-Za-z_]", text):
        text = "v" + text
    if text in _RESERVED or text.startswith("sat_"):
        text = text + "_"
    return text


class ForeignOp(MlirError):
    """An operation outside the supported subset at the top level of a function (not
    inside a loop nest): ``apply`` leaves such a function unchanged; ``run`` and
    ``prove``, which need all of it, report the diagnostic."""


# -- the importer ---------------------------------------------------------------------
class FunctionImporter:
    """Translates one ``func.func`` into `.tz` text (see the module docstring)."""

    def __init__(self, parsed: ParsedMlir, func: FuncOp, options: ImportOptions,
                 library: Mapping[str, Function] | None = None) -> None:
        self.parsed = parsed
        self.library: Mapping[str, Function] = library or {}
        self.func = func
        self.options = options
        self.name = _sanitize(func.sym_name.data, "kernel")
        self.buffers: dict[SSAValue, Buffer] = {}
        self.sizes: dict[str, int | None] = {}
        self.values: dict[SSAValue, Idx | Data] = {}
        self.names: set[str] = set()
        self.versions: dict[str, int] = {}
        self.lines: list[str] = []
        self.depth = 1
        self.fresh = 0
        self.calls: set[str] = set()
        self.alias: dict[str, str] = {}

    # diagnostics
    def error(self, message: str, op: Operation | None) -> MlirError:
        return self.parsed.error(message, op if op is not None else self.func)

    # naming
    def new_name(self, hint: str | None, fallback: str) -> str:
        base = _sanitize(hint, fallback)
        name = base
        while name in self.names:
            self.fresh += 1
            name = f"{base}_{self.fresh}"
        self.names.add(name)
        return name

    def emit(self, line: str) -> None:
        self.lines.append("  " * self.depth + line)

    # -- entry ----------------------------------------------------------------------
    def run(self) -> str:
        """The `.tz` text of the function (a kernel of the same name)."""
        func = self.func
        if not func.body.blocks:
            raise self.error(f"'{func.sym_name.data}' is a declaration (no body)", func)
        if len(func.body.blocks) != 1:
            raise self.error("a function with several blocks (unstructured control flow) "
                             "is not supported", func)
        block = func.body.blocks[0]
        arg_attrs = func.arg_attrs.data if func.arg_attrs is not None else ()
        for i, arg in enumerate(block.args):
            if not isinstance(arg.type, MemRefType):
                raise self.error(f"argument {i} has type {arg.type}: only memref arguments "
                                 "are supported", func)
            attrs = arg_attrs[i] if i < len(arg_attrs) else None
            self.declare(arg, _sanitize(arg.name_hint, f"arg{i}"), func, attrs)
        for op in block.ops:
            self.statement(op)
        return self.text()

    def declare(self, value: SSAValue, name: str, op: Operation,
                attrs: Attribute | None = None, local: bool = False) -> None:
        mtype = value.type
        assert isinstance(mtype, MemRefType)
        if not local:  # a local's name comes from new_name, already reserved
            if name in self.names:
                raise self.error(f"two buffers are called '{name}'", op)
            self.names.add(name)
        elem = mtype.element_type
        if _scalar_name(elem) is None:
            raise self.error(f"'%{name}' has element type {elem}: supported are i1, i8, "
                             "i16, i32, i64, f16, bf16, f32, f64", op)
        layout = getattr(mtype, "layout", None)
        if layout is not None and str(layout) not in ("", "#builtin.none", "none") \
                and "NoneAttr" not in type(layout).__name__:
            raise self.error(f"'%{name}' has a layout ({layout}): only the default "
                             "(row-major, contiguous) layout is supported", op)
        shape = []
        for k, extent in enumerate(mtype.get_shape()):
            if extent < 0:
                if local:
                    raise self.error("a dynamic allocation is not supported", op)
                size = self.new_name(f"{name}_d{k}", "n")
                self.sizes[size] = None
                shape.append(size)
            else:
                shape.append(str(extent))
        buf = Buffer(name, elem, shape, local=local, mode="local" if local else "in")
        if isinstance(attrs, DictionaryAttr):
            mode = attrs.data.get("tensorize.mode")
            if isinstance(mode, StringAttr):
                if mode.data not in ("in", "out", "inout"):
                    raise self.error(f"'%{name}': tensorize.mode must be in, out or inout",
                                     op)
                buf.mode = mode.data
                buf.explicit_in = mode.data == "in"
            ty = attrs.data.get("tensorize.type")
            if isinstance(ty, StringAttr):
                buf.ty = self.checked_type(name, ty.data, elem, op)
        if name in self.options.signedness:
            buf.ty = self.checked_type(name, self.options.signedness[name], elem, op)
        self.buffers[value] = buf
        self.versions[name] = 0

    def checked_type(self, name: str, ty: str, elem: Attribute, op: Operation) -> str:
        base = _scalar_name(elem)
        if base is None or not _is_int(base) or ty not in TZ_TYPES or not _is_int(ty) \
                or _bits(ty) != _bits(base):
            raise self.error(f"'%{name}' holds {elem}: it cannot be typed {ty}", op)
        return ty

    # -- signedness -----------------------------------------------------------------
    def buffer_type(self, buf: Buffer) -> str:
        """The `.tz` element type of ``buf`` (decided once, from how its values are used)."""
        if buf.ty:
            return buf.ty
        base = _scalar_name(buf.elem)
        assert base is not None
        if not _is_int(base):
            buf.ty = base
            return base
        hints: dict[str, Operation] = {}
        for value in self.loaded_values(buf):
            for k, v in _sign_hint(value).items():
                hints.setdefault(k, v)
        for stored in self.stored_values(buf):
            owner = stored.owner if isinstance(stored, OpResult) else None
            for k, v in _sign_hint(stored, owner).items():
                hints.setdefault(k, v)
        from tensorize.frontends.mlir_views import call_sign_hints

        for mem in self.memrefs_of(buf):
            for k, v in call_sign_hints(self, mem).items():
                hints.setdefault(k, v)
        if len(hints) == 2:
            s_op, u_op = hints["s"], hints["u"]
            raise self.error(
                f"cannot tell whether %{buf.name} holds signed or unsigned values: "
                f"{s_op.name} at {self.parsed.span(s_op)} reads it as signed and "
                f"{u_op.name} at {self.parsed.span(u_op)} as unsigned; choose with "
                f"--signedness {buf.name}={_signed(base, False)} (or "
                f"{_signed(base, True)})", u_op)
        buf.ty = _signed(base, "u" not in hints)
        return buf.ty

    def memrefs_of(self, buf: Buffer) -> list[SSAValue]:
        """The memref values of the function that stand for ``buf``."""
        return [mem for mem, b in self.buffers.items() if b is buf]

    def uses_of(self, buf: Buffer) -> list[Use]:
        """Every use of a memref value that stands for ``buf``."""
        return [use for mem in self.memrefs_of(buf) for use in mem.uses]

    def loaded_values(self, buf: Buffer) -> list[SSAValue]:
        values: list[SSAValue] = []
        for use in self.uses_of(buf):
            op = use.operation
            if op.name in ("affine.load", "memref.load"):
                values.append(op.results[0])
            elif op.name.startswith("linalg.") and op.regions and op.regions[0].blocks:
                pos = use.index
                args = op.regions[0].blocks[0].args
                if op.name == "linalg.generic" and pos < len(args):
                    values.append(args[pos])
        return values

    def stored_values(self, buf: Buffer) -> list[SSAValue]:
        values: list[SSAValue] = []
        for use in self.uses_of(buf):
            op = use.operation
            if op.name in ("affine.store", "memref.store") and use.index == 1:
                values.append(op.operands[0])
            elif op.name == "linalg.generic" and op.regions[0].blocks:
                body = op.regions[0].blocks[0]
                n_in = len(op.operands) - _n_outputs(op)
                k = use.index - n_in
                last = body.last_op
                if k >= 0 and last is not None and k < len(last.operands):
                    values.append(last.operands[k])
        return values

    # -- statements -----------------------------------------------------------------
    def statement(self, op: Operation) -> None:
        name = op.name
        if name in ("func.return", "affine.yield", "scf.yield"):
            if op.operands:
                raise self.error("returning or yielding values is not supported", op)
            return
        if name == "affine.for":
            self.affine_for(op)
        elif name == "scf.for":
            self.scf_for(op)
        elif name in ("affine.store", "memref.store"):
            self.store(op)
        elif name == "affine.if":
            self.affine_if(op)
        elif name == "scf.if":
            self.scf_if(op)
        elif name == "linalg.generic":
            self.linalg_generic(op)
        elif name.startswith("linalg."):
            self.linalg_named(op)
        elif name == "func.call":
            self.call(op)
        elif name in ("memref.alloc", "memref.alloca"):
            self.alloc(op)
        elif name == "memref.dealloc":
            return
        elif name in ("memref.subview", "memref.transpose", "memref.cast",
                      "memref.reinterpret_cast"):
            self.view_op(op)
        else:
            self.value(op)

    def affine_bound(self, op: Operation, amap: AffineMap, operands: Sequence[SSAValue],
                     what: str) -> Idx:
        if len(amap.results) != 1:
            raise self.error(f"a {what} bound with {len(amap.results)} results (a max or "
                             "min of bounds) is not supported", op)
        return self.affine_expr(op, amap.results[0], operands, amap.num_dims)

    def affine_for(self, op: Operation) -> None:
        seg = _segments(op)
        if op.results or (len(seg) > 2 and seg[2]):
            raise self.error("affine.for with iteration arguments (loop-carried values) is "
                             "not supported: store the value to a memref", op)
        lo_ops = op.operands[:seg[0]]
        hi_ops = op.operands[seg[0]:seg[0] + seg[1]]
        lo_map = _prop(op, "lowerBoundMap").data  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute
        hi_map = _prop(op, "upperBoundMap").data  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute
        lo = self.affine_bound(op, lo_map, lo_ops, "lower")
        hi = self.affine_bound(op, hi_map, hi_ops, "upper")
        step = _int_prop(op, "step")
        self.loop(op, lo, hi, step, op.regions[0].blocks[0])

    def scf_for(self, op: Operation) -> None:
        if op.results or len(op.operands) > 3:
            raise self.error("scf.for with iteration arguments (loop-carried values) is "
                             "not supported: store the value to a memref", op)
        lo, hi, st = (self.index(op, v) for v in op.operands[:3])
        if st.const is None or st.const <= 0:
            raise self.error("scf.for needs a constant positive step", op)
        self.loop(op, lo, hi, st.const, op.regions[0].blocks[0])

    def loop(self, op: Operation, lo: Idx, hi: Idx, step: int, body: Block) -> None:
        iv = body.args[0]
        var = self.new_name(iv.name_hint, "i")
        if step == 1:
            self.values[iv] = var_idx(var, True)
            self.emit(f"for {var} in {lo.text}..{hi.text} {{")
        else:
            if lo.const is None or hi.const is None:
                raise self.error(f"a loop with step {step} needs constant bounds", op)
            count = max(0, -(-(hi.const - lo.const) // step))
            self.values[iv] = Idx(f"({lo.const} + {step}*{var})", None, True,
                                  (((var, step),), lo.const))
            self.emit(f"for {var} in 0..{count} {{")
        self.bump_stored(op)
        self.depth += 1
        for inner in body.ops:
            self.statement(inner)
        self.depth -= 1
        self.emit("}")
        self.names.discard(var)

    def bump_stored(self, op: Operation) -> None:
        """Every buffer stored inside ``op``'s regions gets a new version on entry: a
        value loaded before the loop would be stale in later iterations."""
        for inner in op.walk():
            target: SSAValue | None = None
            if inner.name in ("affine.store", "memref.store"):
                target = inner.operands[1]
            elif inner.name.startswith("linalg.") and _n_outputs(inner):
                for out in inner.operands[len(inner.operands) - _n_outputs(inner):]:
                    self.bump(out)
            elif inner.name == "func.call":
                from tensorize.frontends.mlir_views import base_memref

                for arg in inner.operands:
                    self.bump(base_memref(arg))
            if target is not None:
                self.bump(target)

    def bump(self, mem: SSAValue) -> None:
        buf = self.buffer_of(mem, None, quiet=True)
        if buf is not None:
            self.versions[buf.name] += 1

    def affine_if(self, op: Operation) -> None:
        if op.results:
            raise self.error("affine.if with results is not supported", op)
        cset = _prop(op, "condition").data  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute
        n_dims = cset.num_dims
        parts = []
        for c in cset.constraints:
            e = self.affine_expr(op, c.lhs, op.operands, n_dims)
            rel = "==" if c.kind.value == "==" else ">="
            parts.append(f"{e.text} {rel} 0")
        cond = " && ".join(parts) or "true"
        self.bump_stored(op)
        self.emit(f"if {cond} {{")
        self.block_body(op.regions[0])
        if op.regions[1].blocks and list(op.regions[1].blocks[0].ops)[:-1]:
            self.emit("} else {")
            self.block_body(op.regions[1])
        self.emit("}")

    def scf_if(self, op: Operation) -> None:
        """``scf.if`` on a condition of index comparisons (a data-dependent one is not an
        affine `.tz` ``if``: write ``arith.select``)."""
        if op.results:
            raise self.error("scf.if with results is not supported", op)
        cond = self.data(op, op.operands[0])
        if cond.reads or cond.ty != "bool":
            raise self.error("an scf.if on data is not supported (the condition must "
                             "compare loop variables and sizes; use arith.select)", op)
        self.bump_stored(op)
        self.emit(f"if {cond.text} {{")
        self.block_body(op.regions[0])
        if len(op.regions) > 1 and op.regions[1].blocks and \
                list(op.regions[1].blocks[0].ops)[:-1]:
            self.emit("} else {")
            self.block_body(op.regions[1])
        self.emit("}")

    def block_body(self, region: object) -> None:
        self.depth += 1
        for block in region.blocks:  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute
            for inner in block.ops:
                self.statement(inner)
        self.depth -= 1

    def alloc(self, op: Operation) -> None:
        if op.operands:
            raise self.error("a dynamically sized allocation is not supported", op)
        if self.depth != 1:
            raise self.error("an allocation inside a loop is not supported", op)
        self.declare(op.results[0], self.new_name(op.results[0].name_hint, "tmp"), op,
                     local=True)

    def view_op(self, op: Operation) -> None:
        for use in op.results[0].uses:
            if use.operation.name not in ("func.call", "memref.cast", "memref.transpose",
                                          "memref.subview"):
                raise self.error(f"{op.name} is supported only as an argument of an "
                                 "intrinsic call", op)

    # -- memory ---------------------------------------------------------------------
    def buffer_of(self, mem: SSAValue, op: Operation | None, quiet: bool = False,
                  ) -> Buffer | None:
        buf = self.buffers.get(mem)
        if buf is None and not quiet:
            raise self.error("this memref is not a function argument or a local "
                             "allocation of the function", op)
        return buf

    def indices(self, op: Operation, buf: Buffer, operands: Sequence[SSAValue]) -> list[str]:
        if op.name.startswith("affine."):
            amap = _prop(op, "map").data  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute
            idx = [self.affine_expr(op, r, operands, amap.num_dims).text
                   for r in amap.results]
        else:
            idx = [self.index(op, v).text for v in operands]
        if len(idx) != len(buf.shape):
            raise self.error(f"{len(idx)} indices for the rank-{len(buf.shape)} "
                             f"buffer '{buf.name}'", op)
        return idx

    def access(self, buf: Buffer, idx: Sequence[str]) -> str:
        return f"{buf.name}[{', '.join(idx)}]" if idx else buf.name

    def store(self, op: Operation) -> None:
        value, mem, *operands = op.operands
        buf = self.buffer_of(mem, op)
        assert buf is not None
        if buf.explicit_in:
            raise self.error(f"'{buf.name}' is declared tensorize.mode = \"in\" but is "
                             "stored to", op)
        if buf.mode == "in":
            buf.mode = "inout"
        idx = self.indices(op, buf, operands)
        data = self.data(op, value)
        self.assign(op, buf, idx, data)

    def assign(self, op: Operation, buf: Buffer, idx: Sequence[str], data: Data) -> None:
        self.check_fresh(op, data)
        text = self.convert(op, data, self.buffer_type(buf))
        if len(text) > MAX_EXPR:
            raise self.error("the stored expression is too large once its values are "
                             "inlined", op)
        self.emit(f"{self.access(buf, idx)} = {text}")
        self.versions[buf.name] += 1

    def check_fresh(self, op: Operation, data: Data) -> None:
        for name, version in data.stamp:
            if self.versions.get(name) != version:
                raise self.error(
                    f"a value loaded from '{name}' is used after '{name}' may have been "
                    "stored to (later in the block, or in a later iteration of an "
                    "enclosing loop); this is not supported", op)

    def load(self, op: Operation) -> Data:
        mem, *operands = op.operands
        buf = self.buffer_of(mem, op)
        assert buf is not None
        idx = self.indices(op, buf, operands)
        return Data(self.access(buf, idx), self.buffer_type(buf), frozenset([buf.name]),
                    ((buf.name, self.versions[buf.name]),))

    # -- index values ---------------------------------------------------------------
    def index(self, op: Operation, value: SSAValue) -> Idx:
        v = self.values.get(value)
        if v is None and isinstance(value, OpResult):
            self.value(value.owner)
            v = self.values.get(value)
        if not isinstance(v, Idx):
            raise self.error("this index is not an affine function of loop variables, "
                             "constants and memref sizes", op)
        return v

    def affine_expr(self, op: Operation, expr: AffineExpr, operands: Sequence[SSAValue],
                    n_dims: int) -> Idx:
        """An affine expression over SSA operands (dims first, then symbols)."""
        return self.affine_of(op, expr, [self.index(op, v) for v in operands], n_dims)

    def affine_of(self, op: Operation, expr: AffineExpr, args: Sequence[Idx],
                  n_dims: int) -> Idx:
        """An affine expression over index values (dims first, then symbols)."""
        if isinstance(expr, AffineConstantExpr):
            return const_idx(expr.value)
        if isinstance(expr, AffineDimExpr):
            return args[expr.position]
        if isinstance(expr, AffineSymExpr):
            return args[n_dims + expr.position]
        assert isinstance(expr, AffineBinaryOpExpr)
        a = self.affine_of(op, expr.lhs, args, n_dims)
        b = self.affine_of(op, expr.rhs, args, n_dims)
        kind = expr.kind
        if kind == AffineBinaryOpKind.Add:
            return _idx_op("+", a, b)
        if kind == AffineBinaryOpKind.Mul:
            if a.loop and b.loop:
                raise self.error("a product of two loop variables is not affine", op)
            return _idx_op("*", a, b)
        if b.const is None or b.const <= 0:
            raise self.error("division and remainder of an index need a positive "
                             "constant divisor", op)
        if kind == AffineBinaryOpKind.FloorDiv:
            return _idx_op("/", a, b)
        if kind == AffineBinaryOpKind.Mod:
            return _idx_op("%", a, b)
        c = b.const  # ceildiv
        num = _idx_op("+", a, const_idx(c - 1))
        return _idx_op("/", num, b)

    # -- data values ----------------------------------------------------------------
    def data(self, op: Operation, value: SSAValue) -> Data:
        v = self.values.get(value)
        if v is None and isinstance(value, OpResult):
            self.value(value.owner)
            v = self.values.get(value)
        if isinstance(v, Idx):
            raise self.error("an index value used as data needs arith.index_cast", op)
        if v is None:
            raise self.error("this value is not defined by a supported operation", op)
        return v

    def convert(self, op: Operation, data: Data, ty: str) -> str:
        """``data`` as a value of type ``ty`` of the same width (reinterpreting bits)."""
        if data.ty == ty:
            return data.text
        if _is_int(data.ty) and _is_int(ty) and _bits(data.ty) == _bits(ty):
            literal = re.fullmatch(rf"{data.ty}\((-?\d+)\)", data.text)
            if literal:  # a constant: the same bits, written in the new type
                bits = _bits(ty)
                value = int(literal[1]) % (1 << bits)
                if ty[0] == "i" and value >= 1 << (bits - 1):
                    value -= 1 << bits
                return f"{ty}({value})"
            return f"{ty}({data.text})"
        raise self.error(f"internal type mismatch: {data.ty} where {ty} is needed", op)

    def as_sign(self, op: Operation, data: Data, signed: bool) -> Data:
        if not _is_int(data.ty):
            raise self.error("a signed or unsigned operation on a non-integer value", op)
        ty = _signed(data.ty, signed)
        return Data(self.convert(op, data, ty), ty, data.reads, data.stamp)

    def value(self, op: Operation) -> None:
        """Translate a pure operation (its results become values); an unsupported op
        is a diagnostic."""
        if all(r in self.values for r in op.results) and op.results:
            return
        handler = _VALUE_OPS.get(op.name)
        if handler is None:
            where = op.parent_op()
            error = ForeignOp if where is self.func else MlirError
            raise error(f"'{op.name}' is not supported inside a function tensorize "
                        "imports (see docs/mlir.md for the supported operations)",
                        self.parsed.span(op))
        handler(self, op)

    def const(self, op: Operation) -> None:
        attr = _prop(op, "value")
        t = op.results[0].type
        if isinstance(t, IndexType):
            assert isinstance(attr, IntegerAttr)
            self.values[op.results[0]] = const_idx(int(attr.value.data))
            return
        name = _scalar_name(t)
        if name is None:
            raise self.error(f"a constant of type {t} is not supported", op)
        if name == "bool":
            assert isinstance(attr, IntegerAttr)
            text = "true" if int(attr.value.data) & 1 else "false"
        elif _is_int(name):
            assert isinstance(attr, IntegerAttr)
            c = int(attr.value.data)
            lo, hi = -(1 << (_bits(name) - 1)), 1 << (_bits(name) - 1)
            c = (c - lo) % (2 * hi) + lo
            text = f"{name}({c})"
        else:
            if not isinstance(attr, FloatAttr):
                raise self.error("a dense or non-scalar constant is not supported", op)
            text = _float_text(float(attr.value.data), name)
        self.values[op.results[0]] = Data(text, name)

    def dim(self, op: Operation) -> None:
        mem, k = op.operands
        buf = self.buffer_of(mem, op)
        assert buf is not None
        kk = self.index(op, k)
        if kk.const is None or not 0 <= kk.const < len(buf.shape):
            raise self.error("memref.dim needs a constant dimension of the memref", op)
        text = buf.shape[kk.const]
        self.values[op.results[0]] = const_idx(int(text)) if text.isdigit() else \
            var_idx(text, False)

    def apply(self, op: Operation) -> None:
        amap = _prop(op, "map").data  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute
        if len(amap.results) != 1:
            raise self.error("affine.apply with several results", op)
        self.values[op.results[0]] = self.affine_expr(op, amap.results[0], op.operands,
                                                      amap.num_dims)

    def binary(self, op: Operation) -> None:
        name = op.name
        res = op.results[0]
        if isinstance(res.type, IndexType):
            ia, ib = (self.index(op, v) for v in op.operands)
            if name == "arith.addi":
                self.values[res] = _idx_op("+", ia, ib)
            elif name == "arith.subi":
                self.values[res] = _idx_op("-", ia, ib)
            elif name == "arith.muli":
                if ia.loop and ib.loop:
                    raise self.error("a product of two loop variables is not affine", op)
                self.values[res] = _idx_op("*", ia, ib)
            elif name == "arith.floordivsi" and ib.const is not None and ib.const > 0:
                self.values[res] = _idx_op("/", ia, ib)
            else:
                raise self.error(f"'{name}' on index values is not supported (use "
                                 "affine.apply with floordiv / mod)", op)
            return
        a, b = (self.data(op, v) for v in op.operands)
        reads = a.reads | b.reads
        stamp = _merge(a.stamp, b.stamp)
        short = name.split(".")[1]
        if a.ty == "bool":
            sym = {"andi": "&&", "ori": "||", "xori": "!=", "addi": "!=", "subi": "!=",
                   "muli": "&&"}.get(short)
            if sym is None:
                raise self.error(f"'{name}' on i1 values is not supported", op)
            if sym == "!=" and b.text == "true":  # xori with true: not
                self.values[res] = Data(f"!({a.text})", "bool", reads, stamp)
                return
            self.values[res] = Data(f"({a.text} {sym} {b.text})", "bool", reads, stamp)
            return
        if short in ("addi", "subi", "muli", "andi", "ori", "xori", "shli"):
            sym = {"addi": "+", "subi": "-", "muli": "*", "andi": "&", "ori": "|",
                   "xori": "^", "shli": "<<"}[short]
            self.values[res] = Data(f"({a.text} {sym} {self.convert(op, b, a.ty)})",
                                    a.ty, reads, stamp)
        elif short in ("divsi", "divui", "remsi", "remui", "shrsi", "shrui"):
            signed = short[-2] == "s"
            sa, sb = self.as_sign(op, a, signed), self.as_sign(op, b, signed)
            sym = {"div": "/", "rem": "%", "shr": ">>"}[short[:3]]
            self.values[res] = Data(f"({sa.text} {sym} {sb.text})", sa.ty, reads, stamp)
        elif short in ("maxsi", "minsi", "maxui", "minui"):
            signed = short[-2] == "s"
            sa, sb = self.as_sign(op, a, signed), self.as_sign(op, b, signed)
            self.values[res] = Data(f"{short[:3]}({sa.text}, {sb.text})", sa.ty, reads,
                                    stamp)
        elif short in ("addf", "subf", "mulf", "divf"):
            sym = {"addf": "+", "subf": "-", "mulf": "*", "divf": "/"}[short]
            self.values[res] = Data(f"({a.text} {sym} {b.text})", a.ty, reads, stamp)
        elif short in ("maximumf", "minimumf"):
            self.values[res] = Data(_ieee_minmax(a.text, b.text, short == "maximumf"),
                                    a.ty, reads, stamp)
        else:
            raise self.error(f"'{name}' is not supported", op)

    def unary(self, op: Operation) -> None:
        name = op.name
        src = op.operands[0]
        res = op.results[0]
        rt = res.type
        if name in ("arith.index_cast", "arith.index_castui"):
            if isinstance(src.type, IndexType):
                target = _scalar_name(rt)
                if target is None or target == "bool":
                    raise self.error(f"index_cast to {rt} is not supported", op)
                i = self.index(op, src)
                self.values[res] = Data(f"{target}({i.text})", target)
                return
            raise self.error("an index computed from data (index_cast of a value) is not "
                             "affine: not supported", op)
        a = self.data(op, src)
        target = _scalar_name(rt)
        if target is None:
            raise self.error(f"the result type {rt} is not supported", op)
        r, s = a.reads, a.stamp
        if name in ("arith.extsi", "arith.extui"):
            if a.ty == "bool":
                text = f"{target}({a.text})" if name == "arith.extui" else \
                    f"select({a.text}, {target}(-1), {target}(0))"
            else:
                text = f"{target}({self.as_sign(op, a, name == 'arith.extsi').text})"
        elif name == "arith.trunci":
            if target == "bool":
                text = f"(({a.text} & 1) != 0)"
            else:
                text = f"{target}({a.text})"
        elif name in ("arith.sitofp", "arith.uitofp"):
            if a.ty == "bool":
                text = f"{target}({a.text})" if name == "arith.uitofp" else \
                    f"select({a.text}, {target}(-1.0), {target}(0.0))"
            else:
                text = f"{target}({self.as_sign(op, a, name == 'arith.sitofp').text})"
        elif name in ("arith.fptosi", "arith.fptoui"):
            if target == "bool":
                raise self.error("fptosi/fptoui to i1 is not supported", op)
            target = _signed(target, name == "arith.fptosi")
            text = f"{target}({a.text})"
        elif name in ("arith.extf", "arith.truncf"):
            if op.properties.get("roundingmode") is not None:
                raise self.error("truncf with an explicit rounding mode is not supported",
                                 op)
            text = f"{target}({a.text})"
        elif name == "arith.negf":
            text = f"(-{a.text})"
        elif name in _MATH:
            text = f"{_MATH[name]}({a.text})"
            target = a.ty
        elif name == "math.absi":
            sa = self.as_sign(op, a, True)
            text, target = f"abs({sa.text})", sa.ty
        else:
            raise self.error(f"'{name}' is not supported", op)
        self.values[res] = Data(text, target, r, s)

    def cmpi(self, op: Operation) -> None:
        pred = _CMPI[_int_prop(op, "predicate")]
        x, y = op.operands
        res = op.results[0]
        if isinstance(x.type, IndexType):
            if pred[0] == "u":
                raise self.error("an unsigned comparison of index values is not supported",
                                 op)
            a, b = self.index(op, x), self.index(op, y)
            sym = _cmp_symbol(pred)
            self.values[res] = Data(f"({a.text} {sym} {b.text})", "bool")
            return
        da, db = self.data(op, x), self.data(op, y)
        reads, stamp = da.reads | db.reads, _merge(da.stamp, db.stamp)
        if da.ty == "bool":
            if pred not in ("eq", "ne"):
                raise self.error(f"cmpi {pred} on i1 is not supported", op)
            self.values[res] = Data(f"({da.text} {_cmp_symbol(pred)} {db.text})", "bool",
                                    reads, stamp)
            return
        if pred[0] in "su":
            da, db = self.as_sign(op, da, pred[0] == "s"), self.as_sign(op, db,
                                                                       pred[0] == "s")
        text = f"({da.text} {_cmp_symbol(pred)} {self.convert(op, db, da.ty)})"
        self.values[res] = Data(text, "bool", reads, stamp)

    def cmpf(self, op: Operation) -> None:
        pred = _CMPF[_int_prop(op, "predicate")]
        da, db = (self.data(op, v) for v in op.operands)
        a, b = da.text, db.text
        table = {
            "false": "false", "true": "true",
            "oeq": f"{a} == {b}", "ogt": f"{a} > {b}", "oge": f"{a} >= {b}",
            "olt": f"{a} < {b}", "ole": f"{a} <= {b}", "une": f"{a} != {b}",
            "one": f"({a} < {b} || {a} > {b})", "ord": f"({a} == {a} && {b} == {b})",
            "uno": f"({a} != {a} || {b} != {b})", "ueq": f"!({a} < {b} || {a} > {b})",
            "ugt": f"!({a} <= {b})", "uge": f"!({a} < {b})", "ult": f"!({a} >= {b})",
            "ule": f"!({a} > {b})"}
        self.values[op.results[0]] = Data(f"({table[pred]})", "bool", da.reads | db.reads,
                                          _merge(da.stamp, db.stamp))

    def select(self, op: Operation) -> None:
        cond, then, other = op.operands
        owner = cond.owner if isinstance(cond, OpResult) else None
        if owner is not None and owner.name == "arith.cmpf" and \
                list(owner.operands) == [then, other] and \
                _CMPF[_int_prop(owner, "predicate")] in ("ogt", "olt"):
            # select(b > a, b, a) is exactly the .tz max(a, b) (min for <)
            a, b = self.data(op, other), self.data(op, then)
            fn = "max" if _CMPF[_int_prop(owner, "predicate")] == "ogt" else "min"
            self.values[op.results[0]] = Data(f"{fn}({a.text}, {b.text})", a.ty,
                                              a.reads | b.reads, _merge(a.stamp, b.stamp))
            return
        c, a, b = (self.data(op, v) for v in op.operands)
        if c.ty != "bool":
            raise self.error("select on a vector condition is not supported", op)
        text = f"select({c.text}, {a.text}, {self.convert(op, b, a.ty)})"
        self.values[op.results[0]] = Data(text, a.ty, c.reads | a.reads | b.reads,
                                          _merge(c.stamp, _merge(a.stamp, b.stamp)))

    def fma(self, op: Operation) -> None:
        a, b, c = (self.data(op, v) for v in op.operands)
        self.values[op.results[0]] = Data(f"fma({a.text}, {b.text}, {c.text})", a.ty,
                                          a.reads | b.reads | c.reads,
                                          _merge(a.stamp, _merge(b.stamp, c.stamp)))

    def load_op(self, op: Operation) -> None:
        self.values[op.results[0]] = self.load(op)

    # -- linalg ---------------------------------------------------------------------
    def linalg_generic(self, op: Operation) -> None:
        if op.results:
            raise self.error("linalg on tensors is not supported: bufferize first "
                             "(mlir-opt --one-shot-bufferize)", op)
        n_out = _n_outputs(op)
        operands = list(op.operands)
        maps = affine_maps_of(op)
        iters = [str(it.data.value) if hasattr(it.data, "value") else str(it.data)
                 for it in _prop(op, "iterator_types").data]  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute
        n_dims = len(iters)
        bufs = [self.buffer_of(v, op) for v in operands]
        self.check_distinct(op, bufs)
        dims = [self.new_name(f"d{k}", "d") for k in range(n_dims)]
        sizes = self.domain_sizes(op, bufs, [[r for r in m.results] for m in maps], n_dims)
        body = op.regions[0].blocks[0]
        # block arguments: the elements at the current point
        self.bump_stored(op)
        self.open_loops(dims, sizes)
        dim_vals = [var_idx(d, True) for d in dims]
        for k, (buf, amap) in enumerate(zip(bufs, maps)):
            assert buf is not None
            idx = [self.expr_of_dims(op, r, dim_vals).text for r in amap.results]
            arg = body.args[k]
            if arg.uses:
                self.values[arg] = Data(self.access(buf, idx), self.buffer_type(buf),
                                        frozenset([buf.name]),
                                        ((buf.name, self.versions[buf.name]),))
        for inner in body.ops:
            if inner.name == "linalg.index":
                self.values[inner.results[0]] = dim_vals[_int_prop(inner, "dim")]
        yield_op = body.last_op
        assert yield_op is not None
        outs = list(zip(bufs[len(bufs) - n_out:], maps[len(maps) - n_out:]))
        results = [self.data(yield_op, v) for v in yield_op.operands]
        if n_out > 1 and any(r.reads & {b.name for b, _ in outs if b} for r in results):
            raise self.error("a linalg op with several outputs whose results read the "
                             "outputs is not supported", op)
        for (buf, amap), res in zip(outs, results):
            assert buf is not None
            if buf.mode == "in":
                buf.mode = "inout"
            idx = [self.expr_of_dims(op, r, dim_vals).text for r in amap.results]
            self.assign(yield_op, buf, idx, res)
        self.close_loops(dims)

    def check_distinct(self, op: Operation, bufs: Sequence[Buffer | None]) -> None:
        names = [b.name for b in bufs if b is not None]
        if len(set(names)) != len(names):
            raise self.error("a linalg op that reads and writes the same memref is not "
                             "supported", op)

    def expr_of_dims(self, op: Operation, expr: AffineExpr, dims: Sequence[Idx]) -> Idx:
        return self.affine_of(op, expr, dims, len(dims))

    def domain_sizes(self, op: Operation, bufs: Sequence[Buffer | None],
                     results: Sequence[Sequence[AffineExpr]], n_dims: int) -> list[str]:
        sizes: list[str | None] = [None] * n_dims
        for buf, res in zip(bufs, results):
            assert buf is not None
            for k, r in enumerate(res):
                if isinstance(r, AffineDimExpr):
                    if sizes[r.position] is None:
                        sizes[r.position] = buf.shape[k]
                    else:
                        self.unify(sizes[r.position], buf.shape[k])
        missing = [k for k, s in enumerate(sizes) if s is None]
        if missing:
            raise self.error(f"the extent of loop dimension d{missing[0]} cannot be read "
                             "from an operand's shape", op)
        return [s for s in sizes if s is not None]

    def unify(self, a: str | None, b: str) -> None:
        """Two operand extents a linalg op requires to be equal: a dynamic one becomes
        the other (MLIR's semantics makes unequal extents undefined behaviour)."""
        a, b = self.alias.get(a or "", a or ""), self.alias.get(b, b)
        if a == b:
            return
        if a in self.sizes:
            self.alias[a] = b
        elif b in self.sizes:
            self.alias[b] = a

    def open_loops(self, dims: Sequence[str], sizes: Sequence[str]) -> None:
        for d, s in zip(dims, sizes):
            self.emit(f"for {d} in 0..{s} {{")
            self.depth += 1

    def close_loops(self, dims: Sequence[str]) -> None:
        for d in dims:
            self.depth -= 1
            self.emit("}")
            self.names.discard(d)

    def linalg_named(self, op: Operation) -> None:
        if op.results:
            raise self.error("linalg on tensors is not supported: bufferize first "
                             "(mlir-opt --one-shot-bufferize)", op)
        n_out = _n_outputs(op)
        operands = list(op.operands)
        outs = operands[len(operands) - n_out:]
        out_type = outs[0].type if outs else None
        out_rank = len(out_type.get_shape()) if isinstance(out_type, MemRefType) else 0
        try:
            spec = named_spec(op, out_rank)
        except ValueError as exc:
            raise self.error(f"{op.name}: {exc}", op) from None
        if spec is None:
            raise self.error(f"'{op.name}' is not supported (supported linalg ops: generic, "
                             "matmul, matmul_transpose_b, batch_matmul, matvec, dot, "
                             "conv_2d_nhwc_hwcf, conv_2d_nchw_fchw, fill)", op)
        for key in ("cast",):
            if key in op.attributes or key in op.properties:
                raise self.error(f"{op.name} with a '{key}' attribute is not supported", op)
        if op.name != "linalg.fill" and (len(operands) != 3 or n_out != 1):
            raise self.error(f"{op.name} takes two inputs and one output", op)
        maps_attr = op.properties.get("indexing_maps")
        if maps_attr is not None and op.name in ("linalg.matmul",) and \
                str(maps_attr) != str(type(op).get_irdl_definition().properties[  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute
                    "indexing_maps"].default_value):
            raise self.error("linalg.matmul with explicit indexing_maps is not supported",
                             op)
        out_buf = self.buffer_of(outs[0], op)
        assert out_buf is not None
        out_ty = self.buffer_type(out_buf)
        dims = [self.new_name(d, "d") for d in spec.dims]
        rename = dict(zip(spec.dims, dims))

        def sub(text: str) -> str:
            return re.sub(r"[A-Za-z_][A-Za-z_0-9]*", lambda m: rename.get(m[0], m[0]), text)

        self.bump_stored(op)
        if out_buf.mode == "in":
            out_buf.mode = "inout"
        if spec.kind == "fill":
            value = self.data(op, operands[0])
            if out_buf.local and self.versions[out_buf.name] == 1 and \
                    value.text in (f"{out_ty}(0)", f"{out_ty}(0.0)", "false"):
                return  # a fresh local is zero already (+0.0: -0.0 is not skipped)
            idx = [sub(t) for t in spec.indices[1]]
            self.open_loops(dims, out_buf.shape)
            self.assign(op, out_buf, idx, self.cast_signed(op, value, out_ty))
            self.close_loops(dims)
            return
        in_bufs = [self.buffer_of(v, op) for v in operands[:2]]
        self.check_distinct(op, [*in_bufs, out_buf])
        # the extents: the first operand dimension indexed by exactly each dim
        sizes: dict[str, str] = {}
        for sbuf, sidx in zip([*in_bufs, out_buf], spec.indices):
            assert sbuf is not None
            for k, t in enumerate(sidx):
                if t in spec.dims:
                    if t not in sizes:
                        sizes[t] = sbuf.shape[k]
                    else:
                        self.unify(sizes[t], sbuf.shape[k])
        self.open_loops(dims, [sizes[d] for d in spec.dims])
        terms = []
        for ibuf, iidx in zip(in_bufs, spec.indices[:2]):
            assert ibuf is not None
            elem = Data(self.access(ibuf, [sub(t) for t in iidx]), self.buffer_type(ibuf),
                        frozenset([ibuf.name]), ((ibuf.name, self.versions[ibuf.name]),))
            terms.append(self.cast_signed(op, elem, out_ty).text)
        out_idx = [sub(t) for t in spec.indices[2]]
        acc = self.access(out_buf, out_idx)
        self.emit(f"{acc} = {acc} + {terms[0]} * {terms[1]}")
        self.versions[out_buf.name] += 1
        self.close_loops(dims)

    def cast_signed(self, op: Operation, value: Data, ty: str) -> Data:
        """OpDSL's ``cast_signed``: sign-extend or truncate integers, ``sitofp``,
        ``extf`` / ``truncf`` for floats."""
        if value.ty == ty:
            return value
        if _is_int(value.ty):
            src = self.as_sign(op, value, True)
            return Data(f"{ty}({src.text})", ty, value.reads, value.stamp)
        if value.ty == "bool":
            raise self.error("linalg cast of i1 is not supported", op)
        if _is_int(ty):
            raise self.error("a linalg named op from float to integer is not supported",
                             op)
        return Data(f"{ty}({value.text})", ty, value.reads, value.stamp)

    # -- calls of intrinsics (what the exporter writes) -------------------------------
    def call(self, op: Operation) -> None:
        from tensorize.frontends.mlir_views import call_statement

        try:
            text, written = call_statement(self, op)
        except MlirError as exc:
            if op.parent_op() is self.func and "not a call of a known intrinsic" in \
                    exc.message:
                raise ForeignOp(exc.message, exc.span) from None
            raise
        for mem in written:
            self.bump(mem)
            buf = self.buffer_of(mem, op)
            if buf is not None and buf.mode == "in":
                buf.mode = "inout"
        self.emit(text)

    # -- output ---------------------------------------------------------------------
    def text(self) -> str:
        params = []
        if self.alias:
            def final(name: str) -> str:
                while name in self.alias:
                    name = self.alias[name]
                return name
            pattern = re.compile(r"\b(" + "|".join(map(re.escape, self.alias)) + r")\b")
            self.lines = [pattern.sub(lambda m: final(m[0]), ln) for ln in self.lines]
            for buf in self.buffers.values():
                buf.shape = [final(x) for x in buf.shape]
            for name in self.alias:
                self.sizes.pop(name, None)
        for name, default in self.sizes.items():
            params.append(name if default is None else f"{name} = {default}")
        head = f"kernel {self.name}" + (f"({', '.join(params)})" if params else "") + " {"
        decls = []
        for buf in self.buffers.values():
            ty = self.buffer_type(buf)
            shape = f"[{', '.join(buf.shape)}]" if buf.shape else ""
            decls.append(f"  {buf.mode} {buf.name}: {ty}{shape}")
        return "\n".join([head, *decls, *self.lines, "}"]) + "\n"


def _prop(op: Operation, name: str) -> Attribute:
    attr = op.properties.get(name)
    if attr is None:
        attr = op.attributes.get(name)
    assert attr is not None, (op.name, name)
    return attr


def _segments(op: Operation) -> list[int]:
    attr = op.properties.get("operandSegmentSizes")
    if attr is None:
        return [len(op.operands)]
    return [int(v) for v in attr.get_values()]  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute


def _n_outputs(op: Operation) -> int:
    seg = _segments(op)
    return seg[1] if len(seg) >= 2 else 0


def _merge(a: tuple[tuple[str, int], ...], b: tuple[tuple[str, int], ...],
           ) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(set(a) | set(b)))


def _lin_op(sym: str, a: Idx, b: Idx) -> tuple[tuple[tuple[str, int], ...], int] | None:
    if a.lin is None or b.lin is None:
        return None
    (ta, oa), (tb, ob) = a.lin, b.lin
    if sym in ("+", "-"):
        sign = 1 if sym == "+" else -1
        coeffs = dict(ta)
        for v, c in tb:
            coeffs[v] = coeffs.get(v, 0) + sign * c
        return tuple((v, c) for v, c in coeffs.items() if c), oa + sign * ob
    if sym == "*" and (not ta or not tb):
        (terms, off), k = (b.lin, oa) if not ta else (a.lin, ob)
        return tuple((v, c * k) for v, c in terms if c * k), off * k
    return None


def _idx_op(sym: str, a: Idx, b: Idx) -> Idx:
    if a.const is not None and b.const is not None:
        c = {"+": a.const + b.const, "-": a.const - b.const, "*": a.const * b.const,
             "/": a.const // b.const if b.const else 0,
             "%": a.const % b.const if b.const else 0}[sym]
        return const_idx(c)
    if sym == "+" and b.const == 0:
        return a
    if sym == "+" and a.const == 0:
        return b
    if sym == "*" and b.const == 1:
        return a
    if sym == "*" and a.const == 1:
        return b
    if sym == "*" and a.const is not None:  # the constant first, as the rewriter writes
        return Idx(f"({a.text} * {b.text})", None, b.loop, _lin_op(sym, a, b))
    if sym == "*" and b.const is not None:
        return Idx(f"({b.text} * {a.text})", None, a.loop, _lin_op(sym, a, b))
    return Idx(f"({a.text} {sym} {b.text})", None, a.loop or b.loop, _lin_op(sym, a, b))


def _cmp_symbol(pred: str) -> str:
    return {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[
        pred if pred in ("eq", "ne") else pred[1:]]


def _float_text(value: float, ty: str) -> str:
    if math.isnan(value):
        return f"({ty}(0.0) / {ty}(0.0))"
    if math.isinf(value):
        return f"{ty}({'-' if value < 0 else ''}inf)"
    text = repr(float(value))
    if "e" in text and "." not in text.split("e")[0]:
        mant, exp = text.split("e")
        text = f"{mant}.0e{exp}"
    return f"{ty}({text})"


def _ieee_minmax(a: str, b: str, is_max: bool) -> str:
    """IEEE 754-2019 maximum / minimum (``arith.maximumf`` / ``minimumf``): NaN if either
    operand is NaN, and -0.0 < +0.0, in `.tz` operators (zeros compare equal there, so
    ``a + b`` picks the larger zero and ``-((-a) + (-b))`` the smaller)."""
    gt = ">" if is_max else "<"
    zero = f"({a} + {b})" if is_max else f"(-((-{a}) + (-{b})))"
    return (f"select({a} != {a}, {a}, select({b} != {b}, {b}, select({a} {gt} {b}, {a}, "
            f"select({b} {gt} {a}, {b}, select({a} == 0.0, {zero}, {a})))))")


_VALUE_OPS: dict[str, Callable[[FunctionImporter, Operation], None]] = {
    "arith.constant": FunctionImporter.const,
    "memref.dim": FunctionImporter.dim,
    "affine.apply": FunctionImporter.apply,
    "affine.load": FunctionImporter.load_op,
    "memref.load": FunctionImporter.load_op,
    "arith.cmpi": FunctionImporter.cmpi,
    "arith.cmpf": FunctionImporter.cmpf,
    "arith.select": FunctionImporter.select,
    "math.fma": FunctionImporter.fma,
    "linalg.index": lambda self, op: None,
}
for _n in ("addi", "subi", "muli", "andi", "ori", "xori", "shli", "shrsi", "shrui",
           "divsi", "divui", "remsi", "remui", "maxsi", "minsi", "maxui", "minui", "addf",
           "subf", "mulf", "divf", "maximumf", "minimumf", "floordivsi"):
    _VALUE_OPS[f"arith.{_n}"] = FunctionImporter.binary
for _n in ("arith.index_cast", "arith.index_castui", "arith.extsi", "arith.extui",
           "arith.trunci", "arith.sitofp", "arith.uitofp", "arith.fptosi", "arith.fptoui",
           "arith.extf", "arith.truncf", "arith.negf", "math.absi", *_MATH):
    _VALUE_OPS[_n] = FunctionImporter.unary


# -- module level ---------------------------------------------------------------------
def kernel_functions(module: ModuleOp) -> list[FuncOp]:
    """The ``func.func``\\ s with a body, in order (nested modules included)."""
    return [op for op in module.walk() if isinstance(op, FuncOp) and op.body.blocks]


def import_text(parsed: ParsedMlir, func: FuncOp, options: ImportOptions | None = None,
                library: Mapping[str, Function] | None = None) -> str:
    """The `.tz` text of one function (calls resolved against ``library``)."""
    return FunctionImporter(parsed, func, options or ImportOptions(), library).run()


def import_function(parsed: ParsedMlir, func: FuncOp, options: ImportOptions | None = None,
                    library: Mapping[str, Function] | None = None) -> Function:
    """One ``func.func`` as a checked `.tz` kernel."""
    from tensorize.ir.check import check_module
    from tensorize.ir.parser import parse as parse_text

    text = import_text(parsed, func, options, library)
    try:
        module = check_module(parse_text(
            text, f"{parsed.source.name}:@{func.sym_name.data} (as .tz)"), library)
    except TensorizeError as exc:  # the translation made something the checker refuses
        raise parsed.error(f"cannot import '@{func.sym_name.data}': {exc.message}",
                           func) from None
    return module.functions[0]


def import_module(parsed: ParsedMlir, options: ImportOptions | None = None,
                  library: Mapping[str, Function] | None = None) -> Module:
    """Every function with a body that contains loops or linalg ops, as `.tz` kernels."""
    fns = [import_function(parsed, f, options, library) for f in kernel_functions(
        parsed.module) if has_nest(f)]
    return Module(tuple(fns))


def has_nest(func: FuncOp) -> bool:
    """Whether a function holds something to tensorize (a loop or a linalg op)."""
    return any(op.name in ("affine.for", "scf.for") or op.name.startswith("linalg.")
               for op in func.walk())


__all__ = ["ImportOptions", "ForeignOp", "parse_signedness", "import_function",
           "import_module", "import_text", "kernel_functions", "has_nest"]
