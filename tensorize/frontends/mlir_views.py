"""Importing ``func.call @<intrinsic>`` on memref views back into `.tz` ``call``\\ s.

This reads what :mod:`tensorize.frontends.mlir_export` writes (so that ``tensorize run``
and ``prove`` can check our own output): each argument is a function argument seen through
``memref.subview`` (offsets, sizes, strides, unit dimensions dropped) or
``memref.reinterpret_cast`` (a linear offset and strides over the row-major buffer),
optionally followed by ``memref.cast``. The callee's symbol is the intrinsic's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Operation, OpResult, SSAValue

if TYPE_CHECKING:
    from tensorize.frontends.mlir_import import Buffer, FunctionImporter, Idx


def _static(op: Operation, name: str) -> list[int]:
    attr = op.properties.get(name)
    return [int(v) for v in attr.get_values()] if attr is not None else []  # type: ignore[attr-defined]  # xDSL types op properties as plain Attribute


DYNAMIC = -(2**63)
"""xDSL's marker of a dynamic offset, size or stride in the static lists."""


def _mixed(imp: FunctionImporter, op: Operation, static: list[int],
           dynamic: list[SSAValue]) -> list[Idx]:
    from tensorize.frontends.mlir_import import const_idx

    values, it = [], iter(dynamic)
    for s in static:
        values.append(imp.index(op, next(it)) if s == DYNAMIC else const_idx(s))
    return values


def _row_strides(shape: list[str]) -> list[int]:
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= int(n)
    return list(reversed(strides))


def view_of(imp: FunctionImporter, call: Operation, value: SSAValue, rank: int,
            ) -> tuple[Buffer, list[str], list[str]]:
    """The buffer, view dimension names and index texts of one call argument."""
    op = value.owner if isinstance(value, OpResult) else None
    while op is not None and op.name == "memref.cast":
        value = op.operands[0]
        op = value.owner if isinstance(value, OpResult) else None
    if op is None or value in imp.buffers:  # the whole buffer (an argument or a local)
        buf = imp.buffer_of(value, call)
        assert buf is not None
        dims = [imp.new_name(f"v{k}", "v") for k in range(rank)]
        if len(buf.shape) != rank:
            raise imp.error(f"'{buf.name}' has rank {len(buf.shape)}, the intrinsic "
                            f"parameter {rank}", call)
        return buf, dims, list(dims)
    if op.name not in ("memref.subview", "memref.reinterpret_cast"):
        raise imp.error(f"an intrinsic argument made by {op.name} is not supported "
                        "(memref.subview, memref.reinterpret_cast and memref.cast are)", op)
    buf = imp.buffer_of(op.operands[0], op)
    assert buf is not None
    if any(not s.isdigit() for s in buf.shape):
        raise imp.error("a view of a dynamically shaped memref is not supported", op)
    rtype = op.results[0].type
    assert isinstance(rtype, MemRefType)
    rshape = list(rtype.get_shape())
    if len(rshape) != rank:
        raise imp.error(f"the view has rank {len(rshape)}, the intrinsic parameter {rank}",
                        op)
    dims = [imp.new_name(f"v{k}", "v") for k in range(rank)]
    rows = _row_strides(buf.shape)
    n_dyn_off = len([s for s in _static(op, "static_offsets") if s == DYNAMIC])
    dyn = list(op.operands[1:])
    offsets = _mixed(imp, op, _static(op, "static_offsets"), dyn[:n_dyn_off])
    if any(s == DYNAMIC for s in _static(op, "static_sizes") + _static(op,
                                                                     "static_strides")):
        raise imp.error("a view with dynamic sizes or strides is not supported", op)
    sizes, strides = _static(op, "static_sizes"), _static(op, "static_strides")
    if op.name == "memref.subview":
        index: list[str] = []
        r = 0
        for k, off in enumerate(offsets):
            if sizes[k] == 1 and len(offsets) - k > rank - r:
                index.append(off.text)  # a dropped unit dimension
            elif r < rank and sizes[k] == rshape[r]:
                index.append(_plus(off, strides[k], dims[r]))
                r += 1
            else:
                raise imp.error("cannot tell which dimensions this subview drops", op)
        if r != rank:
            raise imp.error("cannot tell which dimensions this subview drops", op)
        return buf, dims, index
    # reinterpret_cast: linear offset + sum of strides * dims over the row-major buffer
    split = _split(offsets[0], strides, dims, rows)
    if split is not None:
        return buf, dims, split
    linear = " + ".join([offsets[0].text] + [f"{s}*{d}" for s, d in zip(strides, dims)])
    index = []
    for k, n in enumerate(buf.shape):
        part = f"({linear}) / {rows[k]}" if rows[k] != 1 else f"({linear})"
        index.append(part if k == 0 else f"{part} % {n}")
    return buf, dims, index


def _plus(off: Idx, stride: int, dim: str) -> str:
    """``off + stride * dim`` as the rewriter writes it."""
    from tensorize.frontends.mlir_import import lin_text

    if off.lin is None:
        return f"{off.text} + {stride} * {dim}"
    terms, const = off.lin
    return lin_text(((*terms, (dim, stride)), const))


def _split(offset: Idx, strides: list[int], dims: list[str], rows: list[int],
           ) -> list[str] | None:
    """The per-dimension indices of ``offset + sum(strides[j] * dims[j])`` over a
    row-major buffer with element strides ``rows``, when each coefficient is a multiple
    of one row stride (None otherwise). Each index must then stay within its dimension
    for the view to be the same memory; the checker and the interpreter refuse a view
    that leaves its buffer, so a wrong split is an error, never a different meaning."""
    from tensorize.frontends.mlir_import import lin_text

    if offset.lin is None:
        return None
    terms, off = offset.lin
    if off < 0:
        return None
    per: list[list[tuple[str, int]]] = [[] for _ in rows]
    consts = []
    for r in rows:  # mixed-radix constant
        consts.append(off // r)
        off %= r
    for name, c in [*terms, *zip(dims, strides)]:
        if c == 0:
            continue
        k = next((k for k, r in enumerate(rows) if c > 0 and c % r == 0), None)
        if k is None:
            return None
        per[k].append((name, c // rows[k]))
    return [lin_text((tuple(p), c)) for p, c in zip(per, consts)]


def call_statement(imp: FunctionImporter, op: Operation) -> tuple[str, list[SSAValue]]:
    """The `.tz` ``call`` for a ``func.call`` of an intrinsic, and the memrefs it writes."""
    callee = op.properties.get("callee")
    name = _callee_name(callee)
    intr = imp.library.get(name)
    if intr is None:
        raise imp.error(f"'func.call @{name}' is not a call of a known intrinsic: calls "
                        "are not supported inside a function tensorize imports", op)
    if op.results:
        raise imp.error("an intrinsic call with results", op)
    params = [b for b in intr.buffers if b.mode != "local"]
    if len(params) != len(op.operands) or intr.params:
        raise imp.error(f"'{name}' takes {len(params)} memref arguments", op)
    args, written, made = [], [], []
    for param, value in zip(params, op.operands):
        buf, dims, index = view_of(imp, op, value, len(param.shape))
        made += dims
        args.append(f"{param.name} = ({', '.join(dims)}) -> "
                    f"{buf.name}[{', '.join(index)}]" if index else
                    f"{param.name} = () -> {buf.name}")
        if param.mode in ("out", "inout"):
            written.append(base_memref(value))
    for d in made:
        imp.names.discard(d)
    return f"call {name}({', '.join(args)})", written


def base_memref(value: SSAValue) -> SSAValue:
    """The memref a view (subview, reinterpret_cast, cast) is a view of."""
    while isinstance(value, OpResult) and value.owner.name in (
            "memref.cast", "memref.subview", "memref.reinterpret_cast"):
        value = value.owner.operands[0]
    return value


def call_sign_hints(imp: FunctionImporter, mem: SSAValue) -> dict[str, Operation]:
    """Signedness hints for a memref from the intrinsic parameters its views are passed
    to (``"s"`` or ``"u"`` -> the call)."""
    hints: dict[str, Operation] = {}
    todo = [mem]
    while todo:
        value = todo.pop()
        for use in value.uses:
            user = use.operation
            if user.name in ("memref.cast", "memref.subview", "memref.reinterpret_cast"):
                todo.append(user.results[0])
            elif user.name == "func.call":
                callee = user.properties.get("callee")
                name = _callee_name(callee)
                intr = imp.library.get(name)
                if intr is None:
                    continue
                params = [b for b in intr.buffers if b.mode != "local"]
                if use.index < len(params) and params[use.index].dtype.is_int:
                    hints.setdefault("s" if params[use.index].dtype.is_signed else "u", user)
    return hints


def _callee_name(callee: object) -> str:
    """The symbol name of a ``func.call``'s callee attribute."""
    from xdsl.dialects.builtin import SymbolRefAttr

    if not isinstance(callee, SymbolRefAttr) or callee.nested_references.data:
        return ""  # a nested reference (@a::@b) is never an intrinsic
    return callee.root_reference.data
