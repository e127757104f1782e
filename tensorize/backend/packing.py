"""Packing as an IR rewrite: copy an operand into the layout an instruction reads.

A call's ``in`` view that its template cannot read (a row of ``B[N, K]`` where the
instruction wants 16 rows of 4 bytes side by side), or that the innermost loop steps by
more than its size (a column strip of ``B[K, N]``), is replaced by a view of a new
``local`` buffer, filled once, before the nest of the call, by a copy nest::

    local P: T[<extent of each loop the view uses>, <parameter shape>]
    for v in lo..hi { for d in 0..n { P[v - lo, d] = B[<the view's index>] } }
    ... call X(b = (d) -> P[v - lo, d], ...)

The rewrite is checked on the statements it emits, not on its plan
(:func:`check_packing`): the copied buffer is an ``in`` buffer (never written), the
local is written only by its copy nest, which runs before the nest of the call, covers
every loop value the call sees, and substituting the copy into the new view gives back
exactly the original view's index. Then every element the call reads is the element it
read before, so the kernel computes the same thing. Tests also run both kernels on the
interpreter and prove them equal with the equivalence engine where it can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from tensorize.backend.templates import template_of
from tensorize.errors import UsageError
from tensorize.ir.affine import linear_form
from tensorize.ir.check import check_function
from tensorize.ir.layout import const_value, row_major, steps
from tensorize.ir.nodes import (
    Arg,
    Assign,
    Binary,
    BufferDecl,
    CallStmt,
    Const,
    Expr,
    For,
    Function,
    Load,
    Stmt,
    Var,
    View,
)
from tensorize.ir.traverse import bound_names, free_vars, loop_band, substitute, walk
from tensorize.ir.types import INDEX


@dataclass(frozen=True)
class Packed:
    """One packed operand: the local, the call parameter and the buffer it copies."""

    local: str
    param: str
    source: str
    elements: int


def readable(callee: Function, param: BufferDecl, view: View, parent_shape: Sequence[int]
             ) -> bool:
    """Whether the template of ``callee`` reads parameter ``param`` through ``view``."""
    tpl = template_of(callee)
    if tpl is None:
        return False
    shape = [const_value(e) for e in param.shape]
    strides = steps(view, view.dims, parent_shape)  # each view dimension's stride
    known = [n for n in shape if n is not None]
    if strides is None or len(known) != len(shape):
        return False
    dense = row_major(known)
    return all((param.name, d) in tpl.strided or shape[d] == 1 or strides[d] == dense[d]
               for d in range(len(shape)))


def _nest(stmt: Stmt) -> tuple[list[For], CallStmt] | None:
    """The loops of a perfect nest around a single call, and the call."""
    loops = loop_band(stmt)
    if not loops or len(loops[-1].body) != 1 or not isinstance(loops[-1].body[0], CallStmt):
        return None
    return loops, loops[-1].body[0]


def pack_operands(fn: Function, library: Mapping[str, Function],
                  max_elements: int = 1 << 26) -> tuple[Function, tuple[Packed, ...]]:
    """``fn`` with every call input its template cannot read packed (see the module doc).

    Only kernels with every size baked in (as ``apply`` writes them) are packed; the
    result is type-checked and passed through :func:`check_packing`.
    """
    if fn.params:
        return fn, ()
    taken = bound_names(fn)
    body: list[Stmt] = []
    decls: list[BufferDecl] = []
    packed: list[Packed] = []
    for stmt in fn.body:
        found = _nest(stmt)
        if found is None:
            body.append(stmt)
            continue
        loops, call = found
        callee = library.get(call.name)
        maybe = [(const_value(f.lo), const_value(f.hi)) for f in loops]
        bounds = [(lo, hi) for lo, hi in maybe if lo is not None and hi is not None]
        if callee is None or template_of(callee) is None or len(bounds) != len(loops):
            body.append(stmt)
            continue
        args = {a.name: a for a in call.args}
        new_args: dict[str, Arg] = {}
        copies: list[Stmt] = []
        for b in callee.buffers:
            if b.mode != "in":
                continue
            view = args[b.name].value
            assert isinstance(view, View)
            src = fn.buffer(view.buf)
            parent_shape = _ints([const_value(e) for e in src.shape]) if src is not None else None
            pshape = _ints([const_value(e) for e in b.shape])
            if src is None or src.mode != "in" or parent_shape is None or pshape is None:
                continue
            pad = _row_pad(view, loops, parent_shape, src.dtype.bits)
            if not pad and readable(callee, b, view, parent_shape) and \
                    not _strided_in_reduction(view, loops[-1].var, parent_shape, pshape):
                continue
            uses = set().union(*(free_vars(e) for e in view.index)) - set(view.dims)
            outer = [(f, lo, hi) for f, (lo, hi) in zip(loops, bounds) if f.var in uses]
            extents = [hi - lo for _, lo, hi in outer]
            if pad and extents:
                extents[-1] += pad
            elif pad:
                continue
            n = 1
            for x in extents + pshape:
                n *= x
            if n > max_elements:
                continue
            name = _fresh(f"pk_{view.buf}_{b.name}", taken)
            decls.append(BufferDecl(name, "local", src.dtype,
                                    tuple(Const(x, INDEX) for x in extents + pshape)))
            local_index = tuple(_minus(Var(f.var), lo) for f, lo, _ in outer)
            dims = tuple(Var(d) for d in view.dims)
            copy: Stmt = Assign(name, local_index + dims, Load(view.buf, view.index, src.dtype))
            for d, size in reversed(list(zip(view.dims, pshape))):
                copy = For(d, Const(0, INDEX), Const(size, INDEX), (copy,))
            for f, lo, hi in reversed(outer):
                copy = For(f.var, Const(lo, INDEX), Const(hi, INDEX), (copy,))
            copies.append(copy)
            new_args[b.name] = replace(args[b.name], value=View(view.dims, name,
                                                                local_index + dims))
            packed.append(Packed(name, b.name, view.buf, n))
        if not new_args:
            body.append(stmt)
            continue
        new_call = replace(call, args=tuple(new_args.get(a.name, a) for a in call.args))
        inner: Stmt = new_call
        for f in reversed(loops):
            inner = replace(f, body=(inner,))
        body.extend(copies)
        body.append(inner)
    if not packed:
        return fn, ()
    raw = replace(fn, buffers=fn.buffers + tuple(decls), body=tuple(body))
    checked = check_function(raw, library)  # nodes typed already: the checker accepts them
    problems = check_packing(fn, checked, library)
    if problems:
        raise UsageError(f"packing '{fn.name}' failed its own check: {problems[0]}")
    return checked, tuple(packed)


def _ints(values: Sequence[int | None]) -> list[int] | None:
    out = [v for v in values if v is not None]
    return out if len(out) == len(values) else None


def _strided_in_reduction(view: View, inner: str, parent_shape: Sequence[int],
                          pshape: Sequence[int]) -> bool:
    """Whether the innermost loop steps the view by more than its own size: each call
    then touches a new cache line (a column strip of ``B[K, N]``), which a packed copy
    turns into one contiguous stream."""
    moved = steps(view, (inner,), parent_shape)
    if moved is None:
        return False
    step = moved[0]
    size = 1
    for x in pshape:
        size *= x
    return size > 1 and abs(step) > size


ALIAS_BYTES = 2048
"""Rows this many bytes apart (or a multiple) fall into the same few L1 sets."""


def _row_pad(view: View, loops: Sequence[For], parent_shape: Sequence[int], bits: int) -> int:
    """Elements to pad each packed row with when the rows that register blocking will read
    together (successive iterations of the nest's outermost loop) are a multiple of
    :data:`ALIAS_BYTES` apart: a GEMM's ``A[i, k]`` at ``K = 1024``. Their lines would
    compete for the same L1 sets; one cache line of padding spreads them. 0: no padding."""
    if len(loops) < 2:
        return 0
    moved = steps(view, (loops[0].var,), parent_shape)
    if moved is None:
        return 0
    step = moved[0]
    nbytes = abs(step) * max(bits // 8, 1)
    if nbytes < ALIAS_BYTES or nbytes % ALIAS_BYTES:
        return 0
    return max(64 // max(bits // 8, 1), 1)


def _minus(v: Expr, lo: int) -> Expr:
    return v if lo == 0 else Binary("-", v, Const(lo, INDEX), INDEX)


def _fresh(base: str, taken: set[str]) -> str:
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def check_packing(original: Function, packed: Function, library: Mapping[str, Function]
                  ) -> list[str]:
    """Why ``packed`` is not ``original`` with operands packed (empty: it is).

    Checked on the emitted statements: the new buffers are locals; every statement is
    either an original one, a copy nest ``P[v - lo, d] = Src[e]`` of an ``in`` buffer over
    constant boxes, or an original nest whose call views were replaced by views of a
    local whose copy precedes it, covers the call's loop ranges, and gives back the
    original index when the copy is substituted.
    """
    problems: list[str] = []
    new_bufs = {b.name: b for b in packed.buffers if original.buffer(b.name) is None}
    if any(b.mode != "local" for b in new_bufs.values()):
        return ["a new buffer is not local"]
    if tuple(b for b in packed.buffers if b.name not in new_bufs) != original.buffers:
        return ["the original buffers changed"]
    copies: dict[str, tuple[list[tuple[str, int, int]], Assign]] = {}
    rest: list[Stmt] = []
    for s in packed.body:
        copy = _copy_nest(s, new_bufs)
        if copy is not None:
            name = copy[1].buf
            if name in copies:
                problems.append(f"'{name}' is written twice")
            copies[name] = copy
            src = original.buffer(_load_of(copy[1]).buf)
            if src is None or src.mode != "in":
                problems.append(f"'{name}' copies a buffer that is not an 'in' buffer")
        else:
            for n in walk(s):
                if isinstance(n, Assign) and n.buf in new_bufs:
                    problems.append(f"'{n.buf}' is written outside its copy nest")
            rest.append(s)
    if len(rest) != len(original.body):
        return problems + ["the statements do not line up with the original's"]
    for old, new in zip(original.body, rest):
        if old == new:
            continue
        a, b = _nest(old), _nest(new)
        if a is None or b is None or [replace(f, body=()) for f in a[0]] != \
                [replace(f, body=()) for f in b[0]] or a[1].name != b[1].name:
            problems.append("a changed statement is not a packed call nest")
            continue
        ranges = {f.var: (const_value(f.lo), const_value(f.hi)) for f in a[0]}
        callee = library.get(a[1].name)
        if callee is None:
            problems.append(f"unknown intrinsic '{a[1].name}'")
            continue
        for old_arg, new_arg in zip(a[1].args, b[1].args):
            if old_arg == new_arg:
                continue
            ov, nv = old_arg.value, new_arg.value
            if not (isinstance(ov, View) and isinstance(nv, View) and nv.buf in copies and
                    ov.dims == nv.dims):
                problems.append(f"argument '{old_arg.name}' changed into something else")
                continue
            param = callee.buffer(old_arg.name)
            extents = [const_value(e) for e in param.shape] if param is not None else [None]
            if param is None or param.mode != "in" or any(x is None for x in extents):
                problems.append(f"argument '{old_arg.name}' is not an input of fixed shape")
                continue
            dims = {d: (0, x) for d, x in zip(ov.dims, extents)}
            problems += _same_elements(ov, nv, copies[nv.buf], {**ranges, **dims})
    return problems


def _load_of(a: Assign) -> Load:
    assert isinstance(a.value, Load)
    return a.value


def _copy_nest(s: Stmt, new_bufs: Mapping[str, BufferDecl]
               ) -> tuple[list[tuple[str, int, int]], Assign] | None:
    loops: list[tuple[str, int, int]] = []
    while isinstance(s, For) and len(s.body) == 1:
        lo, hi = const_value(s.lo), const_value(s.hi)
        if lo is None or hi is None:
            return None
        loops.append((s.var, lo, hi))
        s = s.body[0]
    if isinstance(s, Assign) and s.buf in new_bufs and isinstance(s.value, Load):
        return loops, s
    return None


def _same_elements(old: View, new: View, copy: tuple[list[tuple[str, int, int]], Assign],
                   ranges: Mapping[str, tuple[int | None, int | None]]) -> list[str]:
    """Reading ``new`` at any call iteration reads what ``old`` read."""
    loops, assign = copy
    if len(assign.index) != len(new.index):
        return [f"the view of '{new.buf}' has the wrong rank"]
    # the copy's index must be its loop variables (minus their lower bounds), in order
    mapping: dict[str, Expr] = {}
    for (var, lo, _), idx, used in zip(loops, assign.index, new.index):
        if idx != _minus(Var(var, INDEX), lo) and substitute(idx, {}) != _minus(Var(var), lo):
            if linear_form(idx, {}) != linear_form(_minus(Var(var), lo), {}):
                return [f"the copy into '{assign.buf}' is not indexed by its loops"]
        mapping[var] = Binary("+", used, Const(lo, INDEX), INDEX) if lo else used
    # the call's view index, through the copy, is the original index
    through = [substitute(e, mapping) for e in _load_of(assign).index]
    for t, o in zip(through, old.index):
        lt, lo_ = linear_form(t, {}), linear_form(o, {})
        if t != o and (lt is None or lt != lo_):
            return [f"the copy into '{assign.buf}' does not hold the elements the call read"]
    if _load_of(assign).buf != old.buf:
        return [f"the copy into '{assign.buf}' copies the wrong buffer"]
    # the copy covers every value the call's loops (and the view's dimensions) take
    for (var, lo, hi), used in zip(loops, new.index):
        form = linear_form(used, {})
        if form is None or any(ranges.get(v, (None, None))[0] is None or
                               ranges.get(v, (None, None))[1] is None for v, _ in form.coeffs):
            return [f"a packed index of '{assign.buf}' has no constant range"]
        span = [(int(ranges[v][0]), int(ranges[v][1]) - 1, c)  # type: ignore[arg-type]  # shapes and ranges are constant once sizes are bound
                for v, c in form.coeffs]
        low = form.const + sum(min(c * a, c * b) for a, b, c in span)
        high = form.const + sum(max(c * a, c * b) for a, b, c in span)
        if low < 0 or high > hi - lo - 1:
            return [f"the copy into '{assign.buf}' does not cover the call's range of {var}"]
    n_outer = len(new.index) - len(new.dims)
    if n_outer < 0 or any(not (isinstance(e, Var) and e.name == d) for e, d in
                          zip(new.index[n_outer:], new.dims)):
        return [f"the view of '{new.buf}' does not end with its dimensions"]
    return []
