"""Refute by execution: run both sides on random and edge-value inputs.

Most wrong candidates differ on the first input set, in microseconds, without a solver.
Inputs are made for the left side's signature and handed to the right side as the same
bytes (so a flattened buffer or a u8/i8 reinterpretation sees the same memory).

In ``real`` mode both sides run in the exact real-mode interpreter
(:mod:`tensorize.ir.real_exec`), whose results are the semantics, so a difference there
is a true counterexample; it is slower, so it is tried on smaller fragments only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tensorize.equivalence.results import Counterexample, Difference
from tensorize.errors import InterpError, UsageError
from tensorize.ir import interp
from tensorize.ir.nodes import Assume, Function
from tensorize.ir.types import DType

EXECUTION_LIMIT = 4_000_000
"""Most statement instances a side may take for execution to be tried."""

REAL_EXECUTION_LIMIT = 20_000
"""The same for real mode, whose exact arithmetic is slower."""

EXACT_RUNS_ON_CLOSE = 3
"""Input sets on which real mode runs the exact interpreter when IEEE results differ
only a little (rounding may explain it, or not)."""


def work(fn: Function, sizes: Mapping[str, int]) -> int:
    """An upper estimate of the statement instances a run of ``fn`` takes."""
    return interp.estimate_work(fn, sizes)


def _edge_values(t: DType) -> np.ndarray:
    if t.is_bool:
        return np.array([False, True])
    if t.is_int:
        values = {t.min, t.min + 1, 0, 1, t.max - 1, t.max, t.max // 2, t.max // 2 + 1,
                  127, 128, 255}
        if t.is_signed:
            values |= {-1, -2, t.min // 2, -128, -129}
        values = {v for v in values if t.min <= v <= t.max}
        return np.array(sorted(values), dtype=object)
    return np.array([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -0.75, 65504.0, 1e-3])


def _clip(values: np.ndarray, t: DType, assumes: list[Assume]) -> np.ndarray:
    """``values`` clipped into every assumed range (both ends are values of ``t``)."""
    bounds = interp.assumed_range(t, assumes)
    if bounds is None:
        return values
    clipped: np.ndarray = np.clip(values.astype(np.float64 if t.is_float else object), *bounds)
    return clipped


EDGE_PATTERNS = ("min", "max", "zero", "one", "mix", "mix", "mix")


_SETS: dict[tuple[Any, ...], list[dict[str, np.ndarray]]] = {}
"""Input sets already made in this process, by what they are made from (see
:func:`input_sets`): the candidates of one intrinsic have tile kernels with the same
buffers, and making the sets took about a third of screening them."""

_SETS_LIMIT = 512
_SETS_ELEMENTS = 1 << 16
"""Input sets of at most this many elements in all are kept."""


def input_sets(fn: Function, sizes: Mapping[str, int], seed: int = 0,
               randoms: int = 4, patterns: tuple[str, ...] = EDGE_PATTERNS
               ) -> Iterator[dict[str, np.ndarray]]:
    """Random sets, then edge-value sets, for every input and out buffer of ``fn``.

    The sets depend only on the buffers (names, types, shapes, modes, in order), their
    assumptions, the seed and the patterns, so equal requests get equal sets: small ones
    are made once per process (the arrays are shared; runs never write an ``in`` buffer
    and copy the others)."""
    bound = interp.bind_sizes(fn, sizes)
    key = (tuple((b.name, b.dtype, b.mode, interp.buffer_shape(b, bound))
                 for b in fn.buffers if b.mode != "local"),
           tuple(a for a in fn.assumes), seed, randoms, patterns)
    found = _SETS.get(key)
    if found is None:
        found = list(_make_input_sets(fn, bound, seed, randoms, patterns))
        elements = sum(int(v.size) for values in found for v in values.values())
        if elements <= _SETS_ELEMENTS:
            if len(_SETS) >= _SETS_LIMIT:
                _SETS.clear()
            _SETS[key] = found
    for values in found:
        yield dict(values)


def _make_input_sets(fn: Function, bound: Mapping[str, int], seed: int, randoms: int,
                     patterns: tuple[str, ...]) -> Iterator[dict[str, np.ndarray]]:
    """:func:`input_sets`, made."""
    assumes = {b.name: [a for a in fn.assumes if a.buf == b.name] for b in fn.buffers}
    buffers = [b for b in fn.buffers if b.mode != "local"]
    for r in range(randoms):
        rng = np.random.default_rng(seed * 7919 + r)
        yield {b.name: interp.random_array(b.dtype, interp.buffer_shape(b, bound), rng,
                                           assumes[b.name] or None) for b in buffers}
    for number, pattern in enumerate(patterns):
        # a stable seed: str hashes change from process to process
        rng = np.random.default_rng(seed * 104729 + 1000 + number)
        out = {}
        for b in buffers:
            shape = interp.buffer_shape(b, bound)
            edges = _edge_values(b.dtype)
            if pattern == "min":
                vals = np.full(shape, edges[0], dtype=object)
            elif pattern == "max":
                vals = np.full(shape, edges[-1], dtype=object)
            elif pattern == "zero":
                vals = np.full(shape, 0, dtype=object)
            elif pattern == "one":
                vals = np.full(shape, 1, dtype=object)
            else:
                vals = rng.choice(edges, size=shape)
            vals = _clip(np.asarray(vals), b.dtype, assumes[b.name])
            if b.dtype.is_float:
                from tensorize.ir.vector_ops import to_float

                out[b.name] = to_float(np.asarray(vals, dtype=np.float64), b.dtype)
            else:
                out[b.name] = np.asarray(vals).astype(b.dtype.np_dtype)
        yield out


def translate_inputs(values: Mapping[str, np.ndarray], fn: Function,
                     sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    """The same bytes as ``fn``'s buffers: reshaped and reinterpreted per its declarations."""
    bound = interp.bind_sizes(fn, sizes)
    out = {}
    for b in fn.buffers:
        if b.mode == "local" or b.name not in values:
            continue
        arr = np.ascontiguousarray(values[b.name])
        shape = interp.buffer_shape(b, bound)
        if arr.dtype != b.dtype.np_dtype:
            arr = arr.view(b.dtype.np_dtype)
        out[b.name] = arr.reshape(shape)
    return out


def _differences(fn: Function, out_a: Mapping[str, np.ndarray],
                 out_b: Mapping[str, np.ndarray], real: bool) -> list[Difference]:
    diffs: list[Difference] = []
    for b in fn.outputs:
        x = out_a[b.name]
        y = out_b[b.name].reshape(-1).view(x.dtype).reshape(x.shape) \
            if out_b[b.name].dtype.itemsize == x.dtype.itemsize else out_b[b.name].reshape(x.shape)
        if x.dtype.kind in "iub" and y.dtype.kind in "iub":
            bad = x != y
        elif x.dtype == object or y.dtype == object:  # real mode: exact rationals
            bad = np.asarray(x != y, dtype=bool)
        else:
            xf, yf = x.astype(np.float64), y.astype(np.float64)
            both_nan = np.isnan(xf) & np.isnan(yf)
            if real:
                bad = ~(np.isclose(xf, yf, rtol=1e-9, atol=1e-7) | both_nan)
            else:
                same_bits = np.all(x.reshape(-1).view(np.uint8).reshape(x.shape + (-1,)) ==
                                   y.reshape(-1).view(np.uint8).reshape(y.shape + (-1,)),
                                   axis=-1) \
                    if x.dtype == y.dtype else (xf == yf)
                bad = ~(same_bits | both_nan)
        for where in np.argwhere(bad)[:8]:
            idx = tuple(int(i) for i in where)
            diffs.append(Difference(b.name, idx, _fmt(x[idx]), _fmt(y[idx])))
    return diffs


def _fmt(v: object) -> str:
    from fractions import Fraction

    if isinstance(v, Fraction):
        return repr(float(v)) if float(v) == v else f"{float(v)!r} (exactly {v})"
    if isinstance(v, (np.floating,)) or type(v).__name__ == "bfloat16":
        return repr(float(v))  # type: ignore[arg-type]  # numpy and bfloat16 scalars convert to float
    if isinstance(v, (np.integer, np.bool_)):
        return str(v.item())
    return str(v)


def plain_values(values: Mapping[str, np.ndarray]) -> dict[str, list[Any]]:
    """Arrays as flat lists of Python numbers (for JSON)."""
    return {k: [v.item() if hasattr(v, "item") else float(v) for v in
                np.asarray(arr).astype(np.float64 if np.asarray(arr).dtype.kind == "V" or
                                       "bfloat16" in str(np.asarray(arr).dtype)
                                       else np.asarray(arr).dtype).reshape(-1)]
            for k, arr in values.items()}


def render_array(arr: np.ndarray, limit: int = 64) -> str:
    """An array as compact text, abbreviated past ``limit`` elements."""
    flat = arr.reshape(-1)
    items = [_fmt(v) for v in flat[:limit]]
    more = f", ... ({flat.size} elements)" if flat.size > limit else ""
    return f"{list(arr.shape)} [{', '.join(items)}{more}]"


def _finite(values: Mapping[str, np.ndarray]) -> bool:
    return all(np.isfinite(v.astype(np.float64)).all() for v in values.values()
               if v.dtype.kind == "f" or "bfloat16" in str(v.dtype))


def _far_apart(fn: Function, out_a: Mapping[str, np.ndarray],
               out_b: Mapping[str, np.ndarray]) -> bool:
    """IEEE results that differ by more than rounding could explain (a real-mode hint)."""
    for b in fn.outputs:
        x = np.asarray(out_a[b.name]).astype(np.float64)
        y = np.asarray(out_b[b.name]).astype(np.float64).reshape(x.shape)
        if x.dtype.kind in "iub" and not np.array_equal(x, y):
            return True
        scale = max(float(np.max(np.abs(x), initial=0.0)), 1.0)
        if not np.allclose(x, y, rtol=1e-3, atol=1e-3 * scale, equal_nan=True):
            return True
    return False


def buffer_mode(fn: Function, name: str) -> str:
    """The mode (in, out, inout, local) of a buffer that ``fn`` declares."""
    decl = fn.buffer(name)
    assert decl is not None, f"'{fn.name}' has no buffer '{name}'"
    return decl.mode


def _inputs_and_outputs(fn: Function, values: Mapping[str, np.ndarray]
                        ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``values`` split into what ``fn`` reads (``in``, ``inout``) and the initial
    contents of its ``out`` buffers."""
    ins = {k: v for k, v in values.items() if buffer_mode(fn, k) in ("in", "inout")}
    outs = {k: v for k, v in values.items() if buffer_mode(fn, k) == "out"}
    return ins, outs


def _run_pair(a: Function, sizes_a: Mapping[str, int], va: Mapping[str, np.ndarray],
              b: Function, sizes_b: Mapping[str, int], vb: Mapping[str, np.ndarray],
              library: Mapping[str, Function], mode: interp.Mode
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | Counterexample | None:
    """Both sides on the same memory; None if either side's assumptions reject the inputs.

    A proof is of equality for every input meeting the assumptions of both sides, so an
    input that breaks the right side's ``assume`` is no counterexample; a right side that
    fails otherwise (an index out of bounds) on inputs the left side accepts is one.
    """
    from tensorize.errors import NotReal

    ins_a, outs_a = _inputs_and_outputs(a, va)
    ins_b, outs_b = _inputs_and_outputs(b, vb)
    try:
        out_a = interp.run(a, ins_a, sizes=sizes_a, library=library, outputs=outs_a,
                           mode=mode)
    except (InterpError, NotReal):
        return None  # the left side rejects these inputs (a broken assumption, say)
    try:  # inputs outside the right side's own assumptions are outside the question
        interp.check_assumptions(b, vb)
    except InterpError:
        return None
    try:
        out_b = interp.run(b, ins_b, sizes=sizes_b, library=library, outputs=outs_b,
                           mode=mode)
    except NotReal:
        return None
    except InterpError as exc:
        return Counterexample({k: render_array(v) for k, v in va.items()},
                              (Difference("<run>", (), "runs", f"fails: {exc.message}"),),
                              "execution")
    return out_a, out_b


def _run_batched(fn: Function, sizes: Mapping[str, int],
                 sets: list[dict[str, np.ndarray]], library: Mapping[str, Function]
                 ) -> list[dict[str, np.ndarray]] | None:
    """``fn`` on every input set at once: each buffer gets a leading axis, one entry per
    set, so a call or a loop runs once for all the sets. None if any set is refused (a
    broken assumption) or the batched run fails: the caller then runs the sets one by
    one, which gives the exact per-set account."""
    bound = interp.bind_sizes(fn, sizes)
    if library and _calls_intrinsics(fn):  # the library is part of what runs: no memo
        return _run_batched_now(fn, bound, sets, library)
    key = (fn, _literals(fn), tuple(sorted(bound.items())), _digest(sets))
    if key in _BATCHED:
        found = _BATCHED[key]
    else:
        found = _run_batched_now(fn, bound, sets, library)
        size = 0 if found is None else sum(v.nbytes for out in found for v in out.values())
        if size <= _BATCHED_BYTES // 8:
            while _BATCHED and _BATCHED_SIZE[0] + size > _BATCHED_BYTES:
                oldest = next(iter(_BATCHED))
                gone = _BATCHED.pop(oldest)
                _BATCHED_SIZE[0] -= 0 if gone is None else sum(
                    v.nbytes for out in gone for v in out.values())
            _BATCHED[key] = None if found is None else [
                {k: v.copy() for k, v in out.items()} for out in found]
            _BATCHED_SIZE[0] += size
            return found
    return None if found is None else [{k: v.copy() for k, v in out.items()} for out in found]


_BATCHED: dict[tuple[Any, ...], list[dict[str, np.ndarray]] | None] = {}
"""Batched runs already made in this process, by function (structurally: nodes compare
with their types, not their spans; and its literals exactly), sizes and input bytes:
the engine's whole-kernel check runs the same kernel on the same inputs for every
target. Only functions that call no intrinsic (or run without a library), so that what
runs is all in the key. At most :data:`_BATCHED_BYTES` of outputs, oldest out first."""

_BATCHED_BYTES = 1 << 26
_BATCHED_SIZE = [0]


def _calls_intrinsics(fn: Function) -> bool:
    from tensorize.ir.traverse import calls

    return bool(calls(fn.body))


def _literals(fn: Function) -> tuple[str, ...]:
    """Every literal of ``fn`` with its Python type, in order: node equality compares
    values, and ``0.0 == -0.0``, ``1 == 1.0 == True``."""
    from tensorize.ir.nodes import Const
    from tensorize.ir.traverse import walk

    return tuple(f"{type(n.value).__name__}:{n.value!r}" for n in walk(fn)
                 if isinstance(n, Const))


def _digest(sets: list[dict[str, np.ndarray]]) -> str:
    """The exact contents of input sets (names, dtypes, shapes, bytes), hashed."""
    import hashlib

    h = hashlib.sha256()
    for values in sets:
        for name in sorted(values):
            arr = np.ascontiguousarray(values[name])
            h.update(f"|{name}:{arr.dtype.str}:{arr.shape}|".encode())
            h.update(arr.view(np.uint8).tobytes() if arr.size else b"")
        h.update(b"#")
    return h.hexdigest()


def _run_batched_now(fn: Function, bound: dict[str, int],
                     sets: list[dict[str, np.ndarray]], library: Mapping[str, Function]
                     ) -> list[dict[str, np.ndarray]] | None:
    """:func:`_run_batched`, run."""
    from tensorize.ir.vector_exec import VectorExec

    shapes = interp.shapes_of(fn, bound)
    if interp.estimate_work(fn, bound) > interp.MAX_WORK:
        return None
    mem: dict[str, np.ndarray] = {}
    try:
        for values in sets:
            interp.check_assumptions(fn, values)
        for buf in fn.buffers:
            dtype = buf.dtype.np_dtype
            if buf.name in sets[0]:
                arrays = [np.asarray(v[buf.name]) for v in sets]
                if any(x.shape != shapes[buf.name] or x.dtype != dtype for x in arrays):
                    return None
                mem[buf.name] = np.stack(arrays)
            else:
                mem[buf.name] = np.zeros((len(sets), *shapes[buf.name]), dtype=dtype)
        with np.errstate(all="ignore"):
            VectorExec(fn, bound, mem, shapes, library, interp._call, (len(sets),)).run()
    except (InterpError, AssertionError, ValueError, IndexError, TypeError):
        return None
    return [{b.name: mem[b.name][n] for b in fn.outputs} for n in range(len(sets))]


def _screen_batched(a: Function, sizes_a: Mapping[str, int], b: Function,
                    sizes_b: Mapping[str, int], sets: list[dict[str, np.ndarray]],
                    library: Mapping[str, Function]
                    ) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] | None:
    """Both sides on every set in one batched run each (None: run them one by one)."""
    if not sets:
        return None
    runs_a = _run_batched(a, sizes_a, sets, library)
    if runs_a is None:
        return None
    runs_b = _run_batched(b, sizes_b, [translate_inputs(v, b, sizes_b) for v in sets],
                          library)
    if runs_b is None:
        return None
    return list(zip(runs_a, runs_b))


def _furthest_apart(fn: Function, out_a: Mapping[str, np.ndarray],
                    out_b: Mapping[str, np.ndarray]) -> tuple[str, tuple[int, ...]] | None:
    """The output element where the two IEEE runs differ most (None: they agree)."""
    best: tuple[float, str, tuple[int, ...]] | None = None
    for buf in fn.outputs:
        x = np.asarray(out_a[buf.name]).astype(np.float64)
        y = np.asarray(out_b[buf.name]).astype(np.float64).reshape(x.shape)
        with np.errstate(invalid="ignore"):
            gap = np.array(np.abs(x - y), dtype=np.float64)  # an array even for a scalar
        gap[np.isnan(gap)] = np.inf  # NaN on one side only: as far apart as it gets
        gap[np.isnan(x) & np.isnan(y)] = 0.0
        if gap.size and (best is None or float(gap.max()) > best[0]):
            where = np.unravel_index(int(np.argmax(gap)), gap.shape)
            best = (float(gap.max()), buf.name, tuple(int(i) for i in where))
    return None if best is None or best[0] == 0.0 else (best[1], best[2])


def _exact_element_differs(a: Function, sizes_a: Mapping[str, int],
                           va: Mapping[str, np.ndarray], b: Function,
                           sizes_b: Mapping[str, int], vb: Mapping[str, np.ndarray],
                           library: Mapping[str, Function], out_a: Mapping[str, np.ndarray],
                           out_b: Mapping[str, np.ndarray]) -> list[Difference]:
    """The exact real-mode difference at the element furthest apart in the IEEE runs,
    each side computing that element alone (:func:`interp.run_element`); empty
    when the element agrees exactly, has no real value, or a side is not in a form that
    computes one element alone: the caller then runs both sides whole."""
    where = _furthest_apart(a, out_a, out_b)
    if where is None:
        return []
    found = _element_difference(a, sizes_a, va, b, sizes_b, vb, library, where[0], where[1],
                                real=True)
    return [] if found is None else [found]


def _element_difference(a: Function, sizes_a: Mapping[str, int],
                        va: Mapping[str, np.ndarray], b: Function,
                        sizes_b: Mapping[str, int], vb: Mapping[str, np.ndarray],
                        library: Mapping[str, Function], buf: str, idx_a: tuple[int, ...],
                        real: bool) -> Difference | None:
    """The difference at ``buf[idx_a]`` (the same element of ``b``: the same offset),
    each side computing that element alone, or None: equal (NaN equals NaN, ``-0.0``
    equals ``0.0``: only a sure difference counts), no value (outside real numbers, an
    input a side refuses, an error), or a side not in a form that computes one element
    alone."""
    from tensorize.errors import NotReal

    shape_a = interp.shapes_of(a, interp.bind_sizes(a, sizes_a))[buf]
    shape_b = interp.shapes_of(b, interp.bind_sizes(b, sizes_b))[buf]
    flat = int(np.ravel_multi_index(idx_a, shape_a)) if shape_a else 0
    idx_b = tuple(int(i) for i in np.unravel_index(flat, shape_b)) if shape_b else ()

    def element(fn: Function, sizes: Mapping[str, int], values: Mapping[str, np.ndarray],
                idx: tuple[int, ...]) -> Any | None:
        ins, outs = _inputs_and_outputs(fn, values)
        try:
            return interp.run_element(fn, ins, buf, idx, sizes=sizes, library=library,
                                      outputs=outs, real=real)
        except (InterpError, NotReal, UsageError):
            return None

    x = element(a, sizes_a, va, idx_a)
    if x is None:
        return None
    y = element(b, sizes_b, vb, idx_b)
    if y is None or x == y or (isinstance(x, float) and isinstance(y, float)
                               and x != x and y != y):
        return None
    return Difference(buf, idx_a, _fmt(x), _fmt(y))


def _quick_refutation(a: Function, sizes_a: Mapping[str, int], b: Function,
                      sizes_b: Mapping[str, int], values: Mapping[str, np.ndarray],
                      library: Mapping[str, Function], real: bool) -> list[Difference]:
    """A difference at one of two elements of each output (one in the middle, off the
    diagonal of a square tile, then the last), each computed alone on the first input
    set: most wrong candidates (a transposed operand, a shifted view) differ there, at a
    fraction of the cost of two whole runs. Empty when those elements agree or cannot be
    computed alone: the caller then screens as usual."""
    vb = translate_inputs(values, b, sizes_b)  # (inputs a side assumes away: no value)
    shapes = interp.shapes_of(a, interp.bind_sizes(a, sizes_a))
    for out in a.outputs:
        shape = shapes[out.name]
        size = int(np.prod(shape, dtype=np.int64))
        if size == 0:
            continue
        for flat in dict.fromkeys((size // 2, size - 1)):  # off the diagonal first
            idx = tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
            found = _element_difference(a, sizes_a, values, b, sizes_b, vb, library,
                                        out.name, idx, real)
            if found is not None:
                return [found]
    return []


def _uses_floats(fn: Function) -> bool:
    """Whether any buffer or expression of ``fn`` has a float type (or ``fn`` calls an
    intrinsic, whose body is not looked into)."""
    from tensorize.ir.nodes import CallStmt, Expr
    from tensorize.ir.traverse import walk

    if any(b.dtype.is_float for b in fn.buffers):
        return True
    return any(isinstance(n, CallStmt) or (
        isinstance(n, Expr) and n.dtype.is_float)
        for s in fn.body for n in walk(s))


def refute_by_execution(a: Function, sizes_a: Mapping[str, int], b: Function,
                        sizes_b: Mapping[str, int], library: Mapping[str, Function],
                        mode: str, seed: int = 0, randoms: int = 4,
                        patterns: tuple[str, ...] = EDGE_PATTERNS, batched: bool = False
                        ) -> Counterexample | None:
    """A counterexample found by running both sides, or None if every run agreed.

    In real mode the fast IEEE runs only screen: a difference counts once the exact
    real-mode interpreter confirms it on the same inputs. ``batched``: run all the input
    sets at once (one pass over the kernel instead of one per set: what a long run
    that is expected to agree wants; refuting a wrong candidate, which usually differs
    on the first set, does not). Without it, the first set runs alone and, when it
    agrees, the others run batched. The outcome is the same either way.
    """
    # without a float anywhere, real mode computes what the IEEE run does: no exact runs
    real = mode == "real" and (_uses_floats(a) or _uses_floats(b))
    small = max(work(a, sizes_a), work(b, sizes_b)) <= REAL_EXECUTION_LIMIT
    exact_runs = 0
    sets = list(input_sets(a, sizes_a, seed, randoms, patterns))
    if real:
        sets = [v for v in sets if _finite(v)]
    if sets and not batched and small:
        diffs = _quick_refutation(a, sizes_a, b, sizes_b, sets[0], library, real)
        if diffs:
            shown = {k: v for k, v in sets[0].items() if buffer_mode(a, k) != "out"}
            return Counterexample({k: render_array(v) for k, v in shown.items()},
                                  tuple(diffs), "execution", values=plain_values(shown))
    screened = _screen_batched(a, sizes_a, b, sizes_b, sets, library) if batched else None
    base = 0  # the index in ``sets`` of screened[0]
    for n, values in enumerate(sets):
        if n == 1 and screened is None and len(sets) > 2:
            # the first set agreed: the candidate is probably right, so the other sets
            # run in one batched pass each side (same sets, same order, same outcome)
            screened, base = _screen_batched(a, sizes_a, b, sizes_b, sets[1:], library), 1
        vb = translate_inputs(values, b, sizes_b)
        runs = screened[n - base] if screened is not None else _run_pair(
            a, sizes_a, values, b, sizes_b, vb, library, "vector")
        if isinstance(runs, Counterexample):
            return runs
        if runs is None:
            continue
        out_a, out_b = runs
        if not real:
            diffs = _differences(a, out_a, out_b, False)
        elif small and ((far := _far_apart(a, out_a, out_b)) or (
                exact_runs < EXACT_RUNS_ON_CLOSE and _differences(a, out_a, out_b, False))):
            # IEEE results apart (far, or close for the first few input sets: an f16
            # accumulator rounds a little at every step): the exact real-mode run decides,
            # of the element furthest apart alone where both sides allow it
            exact_runs += 1
            diffs = (_exact_element_differs(a, sizes_a, values, b, sizes_b, vb, library,
                                            out_a, out_b) if far else [])
            if not diffs:
                exact = _run_pair(a, sizes_a, values, b, sizes_b, vb, library, "real")
                if isinstance(exact, Counterexample) or exact is None:
                    continue
                diffs = _differences(a, exact[0], exact[1], True)
        else:
            diffs = []
        if diffs:
            shown = {k: v for k, v in values.items() if buffer_mode(a, k) != "out"}
            return Counterexample({k: render_array(v) for k, v in shown.items()},
                                  tuple(diffs), "execution", values=plain_values(shown))
    return None
