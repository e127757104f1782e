"""Run kernels on numpy arrays with the exact semantics of DESIGN.md.

``run`` picks the vectorised executor by default; ``mode="scalar"`` runs the reference
executor. Both execute ``call`` statements by running the intrinsic's own body on copies
of the views and writing the results back (views may not alias an output).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from tensorize.errors import InterpError, UsageError
from tensorize.ir import numeric
from tensorize.ir import vector_ops as vo
from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import Assume, BufferDecl, CallStmt, Function, View
from tensorize.ir.scalar_exec import ScalarExec, to_python
from tensorize.ir.sizes import bind_sizes as bind_sizes  # re-exported: interp.bind_sizes
from tensorize.ir.sizes import buffer_shape as buffer_shape
from tensorize.ir.sizes import eval_size as eval_size
from tensorize.ir.types import SCALAR_TYPES, DType
from tensorize.ir.vector_exec import MAX_AXES, VectorExec

Mode = Literal["vector", "scalar", "real"]
Executor = ScalarExec | VectorExec


MAX_ELEMENTS = 1 << 28
"""Largest buffer the interpreter allocates (elements)."""

MAX_WORK = 1 << 31
"""Most statement instances the interpreter agrees to run (about a minute vectorised)."""


def estimate_work(fn: Function, sizes: Mapping[str, int]) -> int:
    """An upper estimate of the statement instances one run of ``fn`` takes."""
    from tensorize.ir.nodes import For, If

    bound = bind_sizes(fn, sizes)

    def count(stmts: tuple[Any, ...], outer: int) -> int:
        total = 0
        for s in stmts:
            if isinstance(s, For):
                lo, hi = linear_form(s.lo, bound), linear_form(s.hi, bound)
                if lo is not None and hi is not None and not lo.coeffs and not hi.coeffs:
                    n = hi.const - lo.const
                else:
                    n = max(bound.values(), default=1)
                total += count(s.body, outer * max(n, 0))
            elif isinstance(s, If):
                total += count(s.then, outer) + count(s.orelse, outer)
            elif isinstance(s, CallStmt):
                total += outer * 64
            else:
                total += outer
        return total

    return count(fn.body, 1)


def shapes_of(fn: Function, sizes: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
    """Concrete shapes of every buffer of ``fn`` (memoised by function and sizes; a new
    dict each time)."""
    if not all(type(v) is int for v in sizes.values()):
        return _shapes_of(fn, sizes)
    key = (id(fn), tuple(sorted(sizes.items())))
    found = _SHAPES.get(key)
    if found is not None and found[0] is fn:
        return dict(found[1])
    shapes = _shapes_of(fn, sizes)
    if len(_SHAPES) >= 4096:
        _SHAPES.clear()
    _SHAPES[key] = (fn, dict(shapes))
    return shapes


_SHAPES: dict[tuple[int, tuple[tuple[str, int], ...]],
              tuple[Function, dict[str, tuple[int, ...]]]] = {}
"""Shapes by function (its identity: the entry keeps it alive) and sizes."""


def _shapes_of(fn: Function, sizes: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
    """:func:`shapes_of`, computed (an error is raised, never memoised)."""
    shapes = {}
    for b in fn.buffers:
        shape = buffer_shape(b, sizes)
        if int(np.prod(shape, dtype=object)) > MAX_ELEMENTS:
            raise InterpError(f"buffer '{b.name}' {list(shape)} is too large to interpret "
                              f"(more than {MAX_ELEMENTS} elements)", b.span)
        shapes[b.name] = shape
    return shapes


def _stable_seed(seed: int, b: BufferDecl, shape: tuple[int, ...]) -> int:
    key = f"{seed}:{b.name}:{b.dtype}:{list(shape)}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "little")


def _assumed(fn: Function, name: str) -> list[Assume]:
    """Every ``assume`` on buffer ``name`` (they all hold: their ranges intersect)."""
    return [a for a in fn.assumes if a.buf == name]


def assumed_range(t: DType, assumes: Assume | Sequence[Assume] | None
                  ) -> tuple[int | float, int | float] | None:
    """The least and greatest values of ``t`` that satisfy every one of ``assumes``.

    ``None`` when there is no assume; an :class:`InterpError` when no value of ``t``
    satisfies them all.
    """
    if assumes is None:
        return None
    group = [assumes] if isinstance(assumes, Assume) else list(assumes)
    if not group:
        return None
    bounds = numeric.assumed_bounds(t, [(a.lo, a.hi, a.inclusive) for a in group])
    if bounds is None:
        names = ", ".join(f"{a.lo}..{'=' if a.inclusive else ''}{a.hi}" for a in group)
        raise InterpError(f"no {t} value of '{group[0].buf}' satisfies all its assumptions "
                          f"({names})", group[-1].span)
    return bounds


def random_array(t: DType, shape: tuple[int, ...], rng: np.random.Generator,
                 assume: Assume | Sequence[Assume] | None = None) -> np.ndarray:
    """Random values of type ``t`` (full range for integers, [-1, 1) for floats).

    Under ``assume`` ranges (one, or several that must all hold), the values satisfy
    every one of them, and the least and greatest allowed values each appear (when the
    array has room) so that the ends of a range are exercised.
    """
    if t.is_bool:
        return rng.integers(0, 2, size=shape).astype(bool)
    bounds = assumed_range(t, assume)
    if t.is_int:
        lo, hi = (t.min, t.max) if bounds is None else (int(bounds[0]), int(bounds[1]))
        out = rng.integers(lo, hi, size=shape, dtype=t.np_dtype, endpoint=True)
    elif bounds is None:
        return vo.to_float(rng.uniform(-1.0, 1.0, size=shape), t)
    else:
        lo_f, hi_f = float(bounds[0]), float(bounds[1])
        a, b = max(lo_f, -1e4), min(hi_f, 1e4)
        if a > b:  # a range away from [-1e4, 1e4]: draw inside it, finite
            largest = numeric.next_float(math.inf, t, up=False)
            a, b = max(lo_f, -largest), min(hi_f, largest)
        values = vo.to_float(rng.uniform(a, b, size=shape), t).astype(np.float64)
        # rounding to t may step over a bound; both bounds are values of t
        out = np.clip(values, lo_f, hi_f).astype(t.np_dtype)
    if bounds is not None and out.size:
        ends = np.asarray([bounds[0], bounds[1]], dtype=np.float64 if t.is_float else
                          object).astype(t.np_dtype)
        where = rng.choice(out.size, size=min(out.size, 2), replace=False)
        flat = out.reshape(-1)
        flat[where] = ends[: len(where)]
    return out


def random_inputs(fn: Function, sizes: Mapping[str, int] | None = None,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs for every ``in``/``inout`` buffer, respecting ``assume`` ranges.

    Each buffer's values depend only on the seed and its name, type and shape, so two
    kernels with the same signature (a kernel and its rewrite) get the same inputs.
    """
    bound = bind_sizes(fn, sizes)
    shapes = shapes_of(fn, bound)  # refuses buffers too large to allocate
    out = {}
    for b in fn.inputs:
        shape = shapes[b.name]
        rng = np.random.default_rng(_stable_seed(seed, b, shape))
        out[b.name] = random_array(b.dtype, shape, rng, _assumed(fn, b.name))
    return out


def check_assumptions(fn: Function, inputs: Mapping[str, np.ndarray]) -> None:
    """Raise :class:`InterpError` if an input breaks one of the function's ``assume``s.

    The comparison is exact (float values and bounds compared as f64), the same test as
    the proofs' (:func:`tensorize.ir.numeric.assumed_bounds`); NaN breaks every range.
    """
    for a in fn.assumes:
        arr = np.asarray(inputs[a.buf])
        if arr.size == 0:
            continue
        bad = _outside(arr, a)
        if np.any(bad):
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InterpError(f"input '{a.buf}' breaks its assumption: "
                              f"{a.buf}{list(where)} = {arr[where]}", a.span)


def _outside(arr: np.ndarray, a: Assume) -> np.ndarray:
    """Where the elements of ``arr`` break the range of ``a`` (exactly)."""
    if arr.dtype == object:  # real mode: exact rationals
        lo, hi = Fraction(a.lo), Fraction(a.hi)
        outside = np.vectorize(lambda v: not (lo <= v and (v <= hi if a.inclusive else v < hi)),
                               otypes=[bool])
        flags: np.ndarray = outside(arr)
        return flags
    t = next(t for t in SCALAR_TYPES.values() if t.np_dtype == arr.dtype)
    bounds = numeric.assumed_bounds(t, [(a.lo, a.hi, a.inclusive)])
    if bounds is None:
        return np.ones(arr.shape, dtype=bool)
    lo_b, hi_b = bounds
    # both bounds are values of t, so comparing in t (or exactly in f64) is exact
    values = arr.astype(np.float64) if t.is_float else arr
    with np.errstate(invalid="ignore"):
        return ~((values >= lo_b) & (values <= hi_b))  # NaN is outside


def run(fn: Function, inputs: Mapping[str, np.ndarray], *, sizes: Mapping[str, int] | None
        = None, library: Mapping[str, Function] | None = None, mode: Mode = "vector",
        outputs: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Run a checked function; returns the final contents of its ``out``/``inout`` buffers.

    ``outputs`` optionally gives the initial contents of ``out`` buffers (zeros otherwise).
    """
    bound = bind_sizes(fn, sizes)
    shapes = shapes_of(fn, bound)
    _check_work(fn, bound)
    if mode == "real":
        return _run_real(fn, inputs, bound, shapes, library or {}, outputs)
    mem = _memory(fn, inputs, shapes, outputs)
    executor_cls = ScalarExec if mode == "scalar" else VectorExec
    executor = executor_cls(fn, bound, mem, shapes, library or {}, _call)
    executor.run()
    return {b.name: mem[b.name] for b in fn.outputs}


def _memory(fn: Function, inputs: Mapping[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
            outputs: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """The memory of a run: the inputs (``inout`` ones copied), the given initial
    contents of ``out`` buffers (copied) or zeros; the assumptions checked."""
    mem: dict[str, np.ndarray] = {}
    for b in fn.buffers:
        if b.mode in ("in", "inout"):
            if b.name not in inputs:
                raise UsageError(f"missing input '{b.name}' of '{fn.name}'")
            arr = np.asarray(inputs[b.name])
            if arr.shape != shapes[b.name] or arr.dtype != b.dtype.np_dtype:
                raise UsageError(f"input '{b.name}' must be {b.dtype}{list(shapes[b.name])}, "
                                 f"got {arr.dtype}{list(arr.shape)}")
            mem[b.name] = arr.copy() if b.mode == "inout" else arr
        elif outputs is not None and b.name in outputs:
            mem[b.name] = np.array(outputs[b.name], dtype=b.dtype.np_dtype, copy=True)
        else:
            mem[b.name] = np.zeros(shapes[b.name], dtype=b.dtype.np_dtype)
    check_assumptions(fn, mem)
    return mem


def _check_work(fn: Function, bound: Mapping[str, int]) -> None:
    """Refuse a run over the interpreter's budget (:data:`MAX_WORK` statement instances)."""
    steps = estimate_work(fn, bound)
    if steps > MAX_WORK:
        raise InterpError(f"'{fn.name}' would run about {steps:.3g} statement instances, more "
                          f"than the interpreter runs ({MAX_WORK:.3g}); use smaller sizes "
                          "(--set)", fn.span)


def _run_real(fn: Function, inputs: Mapping[str, np.ndarray], bound: dict[str, int],
              shapes: dict[str, tuple[int, ...]], library: Mapping[str, Function],
              outputs: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """Run in real mode: floats as exact rationals (object arrays)."""
    from tensorize.ir.real_exec import RealExec

    mem = _real_memory(fn, inputs, shapes, outputs)
    RealExec(fn, bound, mem, shapes, library, _call).run()
    return {b.name: mem[b.name] for b in fn.outputs}


def _real_memory(fn: Function, inputs: Mapping[str, np.ndarray],
                 shapes: dict[str, tuple[int, ...]],
                 outputs: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    from tensorize.ir.real_exec import to_object_array

    check_assumptions(fn, inputs)
    mem: dict[str, np.ndarray] = {}
    for b in fn.buffers:
        if b.mode in ("in", "inout"):
            arr = np.asarray(inputs[b.name])
        elif outputs is not None and b.name in outputs:
            arr = np.asarray(outputs[b.name])
        else:
            arr = np.zeros(shapes[b.name], dtype=b.dtype.np_dtype)
        if b.mode == "in":  # never written: read (and made exact) element by element
            mem[b.name] = arr
        else:
            mem[b.name] = to_object_array(arr) if b.dtype.is_float else np.array(arr,
                                                                                  copy=True)
    return mem


def run_element(fn: Function, inputs: Mapping[str, np.ndarray], buf: str,
                index: tuple[int, ...], *, sizes: Mapping[str, int] | None = None,
                library: Mapping[str, Function] | None = None,
                outputs: Mapping[str, np.ndarray] | None = None, real: bool = False
                ) -> Any | None:
    """The value of ``buf[index]`` after running ``fn`` (exact IEEE and integer
    semantics, or ``real`` mode), computing that element alone; None when ``fn`` is not
    in a form where one element can be computed alone (its reduction or map normal form,
    every write to ``buf``). Raises like :func:`run`.
    """
    from tensorize.ir.one_element import OneElementExec, OneElementRealExec

    bound = bind_sizes(fn, sizes)
    form_buf, prepared = _element_preparation(fn, bound)
    if form_buf != buf:
        return None
    if prepared is None:  # an error: raised again, as the first time
        shapes = shapes_of(fn, bound)
        _check_work(fn, bound)
    else:
        shapes = dict(prepared)
    if real:
        mem = _real_memory(fn, inputs, shapes, outputs)
        OneElementRealExec(fn, bound, mem, shapes, library or {}, _call,
                           target=(buf, tuple(index))).run()
        return mem[buf][tuple(index)]
    mem = _memory(fn, inputs, shapes, outputs)
    OneElementExec(fn, bound, mem, shapes, library or {}, _call,
                   target=(buf, tuple(index))).run()
    return to_python(mem[buf][tuple(index)], fn.decl(buf).dtype)


_PREPARED: dict[tuple[int, tuple[tuple[str, int], ...]],
                tuple[Function, tuple[str | None, dict[str, tuple[int, ...]] | None]]] = {}
"""What :func:`run_element` works out from the function and its sizes alone, by function
(its identity: the entry keeps it alive) and sizes: the same tile kernels and intrinsics
are run element by element many times."""


def _element_preparation(fn: Function, bound: dict[str, int]
                         ) -> tuple[str | None, dict[str, tuple[int, ...]] | None]:
    """The buffer of ``fn``'s reduction or map normal form (None: neither) and, when it
    has one, its buffers' shapes (None: :func:`shapes_of` or the work limit refuses the
    run, which the caller then raises)."""
    from tensorize.ir.reduction import map_form, reduction_form

    key = (id(fn), tuple(sorted(bound.items())))
    found = _PREPARED.get(key)
    if found is not None and found[0] is fn:
        return found[1]
    form = reduction_form(fn, bound) or map_form(fn, bound)
    shapes: dict[str, tuple[int, ...]] | None = None
    if form is not None:
        try:
            shapes = shapes_of(fn, bound)
            _check_work(fn, bound)
        except InterpError:
            shapes = None
    result = (None if form is None else form.buf, shapes)
    if len(_PREPARED) >= 4096:
        _PREPARED.clear()
    _PREPARED[key] = (fn, result)
    return result


def run_real_element(fn: Function, inputs: Mapping[str, np.ndarray], buf: str,
                     index: tuple[int, ...], *, sizes: Mapping[str, int] | None = None,
                     library: Mapping[str, Function] | None = None,
                     outputs: Mapping[str, np.ndarray] | None = None) -> Any | None:
    """:func:`run_element` in real mode."""
    return run_element(fn, inputs, buf, index, sizes=sizes, library=library,
                       outputs=outputs, real=True)


def _view_elements(view: View, env: Mapping[str, Any], shape: tuple[int, ...],
                   batch: tuple[int, ...], parent_shape: tuple[int, ...],
                   executor: Executor) -> tuple[np.ndarray, ...]:
    """Parent index arrays for every element of a view, over batch axes and view dims.

    Each array has ``MAX_AXES`` axes: the batch axes first, then the view's dimensions.
    """
    full = list(batch) + list(shape)
    if len(full) > MAX_AXES:
        raise InterpError("view nested too deeply to interpret", view.span)
    full += [1] * (MAX_AXES - len(full))
    local = dict(env)
    for axis, d in enumerate(view.dims):
        local[d] = VectorExec.axis(0, shape[axis], len(batch) + axis)
    helper = executor if isinstance(executor, VectorExec) else VectorExec(
        executor.fn, executor.sizes, executor.mem, executor.shapes, executor.library, _call)
    idx = []
    for axis, e in enumerate(view.index):
        value = np.broadcast_to(np.asarray(helper.eval(e, local), dtype=np.int64), full)
        n = parent_shape[axis]
        if value.size and (value.min() < 0 or value.max() >= n):
            bad = int(value.min()) if value.min() < 0 else int(value.max())
            raise InterpError(f"view reaches index {bad} of dimension {axis} of "
                              f"'{view.buf}' (size {n})", view.span)
        idx.append(value)
    return tuple(idx)


def _call(executor: Executor, s: CallStmt, env: dict[str, Any],
          batch: tuple[int, ...]) -> None:
    """Execute ``call``: copy views in, run the intrinsic's body, copy outputs back.

    ``batch`` holds the extents of the vectorised loops around the call: the intrinsic
    then runs once for all of their iterations, on buffers with those leading axes.
    """
    callee = executor.library.get(s.name)
    if callee is None:
        raise InterpError(f"unknown intrinsic '{s.name}'", s.span)
    args = {a.name: a for a in s.args}
    sizes = {}
    for p in callee.params:
        if p.name in args:
            sizes[p.name] = int(executor.eval(args[p.name].value, env))  # type: ignore[arg-type]  # a size argument is an expression, not a view
    bound = bind_sizes(callee, sizes)
    shapes = shapes_of(callee, bound)
    mem: dict[str, np.ndarray] = {}
    where: dict[str, tuple[str, tuple[np.ndarray, ...]]] = {}
    for b in callee.buffers:
        if b.mode == "local":
            mem[b.name] = np.zeros(batch + shapes[b.name], dtype=b.dtype.np_dtype)
            continue
        view = args[b.name].value
        assert isinstance(view, View)
        idx = _view_elements(view, env, shapes[b.name], batch, executor.shapes[view.buf],
                             executor)
        prefix = getattr(executor, "_prefix", ())
        if prefix:  # the executor's own leading axes (a batched run): index them too
            idx = tuple(np.broadcast_to(p, idx[0].shape) for p in prefix) + idx \
                if idx else prefix
        parent = executor.mem[view.buf]
        values = parent[idx] if idx else np.broadcast_to(parent[()], idx_shape(batch, ()))
        dtype = object if parent.dtype == object else b.dtype.np_dtype
        mem[b.name] = np.array(values.reshape(batch + shapes[b.name]), dtype=dtype)
        if b.mode == "out":
            mem[b.name][...] = 0
        where[b.name] = (view.buf, idx)
    _check_no_alias(callee, where, executor, s)
    check_assumptions(callee, mem)
    static = executor.static if isinstance(executor, VectorExec) else None
    if batch:
        sub: Executor = VectorExec(callee, bound, mem, shapes, executor.library, _call, batch,
                                   static)
    elif any(m.dtype == object for m in mem.values()):
        from tensorize.ir.real_exec import RealExec

        sub = RealExec(callee, bound, mem, shapes, executor.library, _call)
    elif type(executor) is VectorExec:
        sub = VectorExec(callee, bound, mem, shapes, executor.library, _call, (), static)
    else:
        sub = type(executor)(callee, bound, mem, shapes, executor.library, _call)
    sub.run()
    for b in callee.outputs:
        buf, idx = where[b.name]
        value = mem[b.name]
        if idx:
            full = np.broadcast_shapes(*(i.shape for i in idx))
            executor.mem[buf][idx] = value.reshape(full[: value.ndim] +
                                                   (1,) * (MAX_AXES - value.ndim))
        else:
            executor.mem[buf][()] = value


def idx_shape(batch: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a view's values: batch axes then the view's own."""
    return batch + shape


def _flat(idx: tuple[Any, ...], shape: tuple[int, ...]) -> np.ndarray:
    if not idx:
        return np.zeros(1, dtype=np.int64)
    return np.ravel_multi_index(tuple(np.asarray(i).reshape(-1) for i in idx), shape)


def _repeats(flat: np.ndarray, size: int) -> bool:
    """Whether the flat element numbers ``flat`` (of a buffer of ``size`` elements) repeat
    one: by counting when the buffer is not much larger than the view (linear), else by
    sorting (numpy 2's hash-based unique takes about a second for 10^5 elements)."""
    if flat.size < 2:
        return False
    if size <= 4 * flat.size:
        return bool(np.bincount(flat, minlength=size).max() > 1)
    ordered = np.sort(flat)
    return bool(np.any(ordered[1:] == ordered[:-1]))


def _meet(a: np.ndarray, b: np.ndarray, size: int) -> bool:
    """Whether two arrays of element numbers of a buffer of ``size`` elements share one."""
    if not a.size or not b.size:
        return False
    if size <= 4 * (a.size + b.size):
        marked = np.zeros(size, dtype=bool)
        marked[a] = True
        return bool(np.any(marked[b]))
    a, b = np.sort(a), np.sort(b)
    pos = np.minimum(np.searchsorted(b, a), b.size - 1)
    return bool(np.any(b[pos] == a))


def _check_no_alias(callee: Function, where: dict[str, tuple[str, tuple[Any, ...]]],
                    executor: Executor, s: CallStmt) -> None:
    """An output view must not repeat an element nor overlap another view.

    Only the views into a buffer that an output view writes are looked at: a view into
    a buffer no output of the call writes cannot meet one.
    """
    written = {where[b.name][0] for b in callee.outputs}
    flats = {name: (buf, _flat(idx, executor.mem[buf].shape))
             for name, (buf, idx) in where.items() if buf in written}
    for b in callee.outputs:
        buf, flat = flats[b.name]
        size = executor.mem[buf].size
        if _repeats(flat, size):
            raise InterpError(f"the view for '{b.name}' writes the same element of '{buf}' "
                              "twice", s.span)
        for other, (obuf, oflat) in flats.items():
            if other != b.name and obuf == buf and _meet(flat, oflat, size):
                raise InterpError(f"the views for '{b.name}' and '{other}' overlap in "
                                  f"'{buf}'", s.span)


def checksum(arr: np.ndarray) -> str:
    """A short, exact fingerprint of an array's contents (shape, dtype and bytes)."""
    a = np.ascontiguousarray(arr)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.view(np.uint8).tobytes() if a.size else b"")
    return h.hexdigest()[:16]
