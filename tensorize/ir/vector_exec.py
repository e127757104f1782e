"""The vectorised interpreter: loops whose iterations are independent become array axes.

A loop is run as an array axis when every buffer its body writes is only ever accessed
at one index tuple that is injective in the loop variable, with the body's own loops too
narrow to reach the next iteration's elements (so iterations touch disjoint elements and
the order of operations on each element is unchanged). An integer ``+``, ``min`` or
``max`` reduction loop is summed along an axis (wrapping arithmetic is associative).
Everything else runs one iteration at a time, exactly like the scalar interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tensorize.errors import InterpError, Span
from tensorize.ir import vector_ops as vo
from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import (
    Assign,
    Binary,
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
from tensorize.ir.traverse import free_vars, walk
from tensorize.ir.types import DType

MAX_AXES = 24
"""Number of array axes every vectorised value has (numpy allows 64)."""

SCATTER_LIMIT = 1 << 23
"""Most updates one scatter-add runs at once (its index arrays are materialised)."""

MAX_DEPTH = 12
"""Most loops vectorised inside one another; the axes above it hold view dimensions."""


_Info = tuple[dict[str, tuple[Expr, ...]], list[For], list[CallStmt]]


_ANALYSES: dict[int, tuple[For, _Info | None, tuple[tuple[str, Function | None], ...]]] = {}
"""Loop analyses shared by every executor: by loop node (kept alive with its entry), with
the intrinsics the analysis looked up, which must be the same objects for it to hold."""


class VectorExec:
    """Executes a function body with independent loops turned into numpy array axes."""

    def __init__(self, fn: Function, sizes: Mapping[str, int], mem: dict[str, Any],
                 shapes: Mapping[str, tuple[int, ...]], library: Mapping[str, Function],
                 call: Callable[..., None], batch: tuple[int, ...] = (),
                 static: dict[int, tuple[For, _Info | None]] | None = None) -> None:
        self.fn, self.sizes, self.mem, self.shapes = fn, dict(sizes), mem, dict(shapes)
        self.library, self._call = library, call
        self.types = {b.name: b.dtype for b in fn.buffers}
        self.static: dict[int, tuple[For, _Info | None]] = {} if static is None else static
        """The loops' access analyses, by node; shared with the executors of its calls."""
        self.vectorised = 0
        """How many loops ran as array axes (for tests and reports)."""
        self.batch = batch
        """Leading axes of every buffer: one per vectorised loop around the ``call``."""
        self.axis_sizes: list[int] = list(batch)
        self._prefix = tuple(self.axis(0, n, d) for d, n in enumerate(batch))

    def run(self) -> None:
        """Execute the whole body."""
        with np.errstate(all="ignore"):
            self.block(self.fn.body, dict(self.sizes), len(self.batch))

    def block(self, stmts: tuple[Stmt, ...], env: dict[str, Any], depth: int) -> None:
        for s in stmts:
            self.stmt(s, env, depth)

    def stmt(self, s: Stmt, env: dict[str, Any], depth: int) -> None:
        if isinstance(s, Assign):
            idx = self.index(s.index, env, s.buf, s.span)
            value = self.eval(s.value, env)
            self.store(s.buf, idx, value)
        elif isinstance(s, For):
            self.loop(s, env, depth)
        elif isinstance(s, If):
            cond = self.eval(s.cond, env)
            if np.ndim(cond):
                raise AssertionError("an if inside a vectorised loop")
            self.block(s.then if bool(cond) else s.orelse, env, depth)
        elif isinstance(s, CallStmt):
            self._call(self, s, env, tuple(self.axis_sizes[:depth]))
        else:
            raise AssertionError(type(s).__name__)

    # -- loops ----------------------------------------------------------------------
    def loop(self, s: For, env: dict[str, Any], depth: int) -> None:
        lo, hi = int(self.eval(s.lo, env)), int(self.eval(s.hi, env))
        if hi <= lo:
            return
        if depth < MAX_DEPTH and self.independent(s, env):
            self.vectorised += 1
            env[s.var] = self.axis(lo, hi, depth)
            self.axis_sizes.append(hi - lo)
            self.block(s.body, env, depth + 1)
            self.axis_sizes.pop()
            del env[s.var]
            return
        if depth < MAX_DEPTH and self.reduce(s, env, lo, hi, depth):
            self.vectorised += 1
            return
        if self.scatter(s, env, depth):
            self.vectorised += 1
            return
        for v in range(lo, hi):
            env[s.var] = v
            self.block(s.body, env, depth)
        del env[s.var]

    @staticmethod
    def axis(lo: int, hi: int, depth: int) -> np.ndarray:
        shape = [1] * MAX_AXES
        shape[depth] = hi - lo
        return np.arange(lo, hi, dtype=np.int64).reshape(shape)

    def _analyse(self, s: For) -> _Info | None:
        """Per-buffer access tuple, inner loops and calls; None if the body is not simple."""
        cached = self.static.get(id(s))
        if cached is not None and cached[0] is s:  # the node is kept alive with its entry
            return cached[1]
        shared = _ANALYSES.get(id(s))
        if shared is not None and shared[0] is s and \
                all(self.library.get(name) is callee for name, callee in shared[2]):
            self.static[id(s)] = (s, shared[1])
            return shared[1]
        looked_up: list[tuple[str, Function | None]] = []
        result: _Info | None
        accesses: dict[str, set[tuple[Expr, ...]]] = {}
        written: set[str] = set()
        inner: list[For] = []
        calls: list[CallStmt] = []
        ok = True
        # an if whose condition no iteration of this nest changes (it reads no buffer
        # and no loop variable of the nest) takes the same branch in every iteration
        nest_vars = {n.var for n in walk(s) if isinstance(n, For)}
        for node in walk(s):
            if node is s:
                continue
            if isinstance(node, If):
                if free_vars(node.cond) & nest_vars or \
                        any(isinstance(n, Load) for n in walk(node.cond)):
                    ok = False
                    break
                continue
            if isinstance(node, For):
                inner.append(node)
            elif isinstance(node, CallStmt):
                callee = self.library.get(node.name)
                looked_up.append((node.name, callee))
                if callee is None:
                    ok = False
                    break
                calls.append(node)
                modes = {b.name: b.mode for b in callee.buffers}
                for a in node.args:
                    if isinstance(a.value, View):
                        accesses.setdefault(a.value.buf, set()).add(a.value.index)
                        if modes.get(a.name) in ("out", "inout"):
                            written.add(a.value.buf)
            elif isinstance(node, Assign):
                written.add(node.buf)
                accesses.setdefault(node.buf, set()).add(node.index)
            elif isinstance(node, Load):
                accesses.setdefault(node.buf, set()).add(node.index)
        if ok and all(len(accesses[w]) == 1 for w in written):
            result = ({w: next(iter(accesses[w])) for w in written}, inner, calls)
        else:
            result = None
        self.static[id(s)] = (s, result)
        if len(_ANALYSES) >= 4096:
            _ANALYSES.clear()
        _ANALYSES[id(s)] = (s, result, tuple(looked_up))
        return result

    def _consts(self, env: dict[str, Any]) -> dict[str, int]:
        return {k: v for k, v in env.items() if isinstance(v, int)}

    def independent(self, s: For, env: dict[str, Any]) -> bool:
        """Whether the iterations of ``s`` touch disjoint elements of what they write."""
        info = self._analyse(s)
        if info is None:
            return False
        writes, inner, calls = info
        if not writes:
            return False
        consts = self._consts(env)
        extents: dict[str, int] = {}
        for loop in inner:
            lo, hi = linear_form(loop.lo, consts), linear_form(loop.hi, consts)
            if lo is None or hi is None or lo.coeffs or hi.coeffs:
                return False  # bounds depend on a loop variable: not rectangular
            extents[loop.var] = max(hi.const - lo.const, 0)
        for call in calls:
            dims = self._view_extents(call, consts)
            if dims is None:
                return False
            extents.update(dims)
        for index in writes.values():
            if not any(self._separates(e, s.var, extents, consts) for e in index):
                return False
        return True

    def _view_extents(self, call: CallStmt, consts: dict[str, int]) -> dict[str, int] | None:
        """Extents of the view dimensions of a call, if its sizes are constants here."""
        callee = self.library[call.name]
        args = {a.name: a.value for a in call.args}
        sizes: dict[str, int] = {}
        for p in callee.params:
            value = args.get(p.name)
            if value is None:
                if p.default is None:
                    return None
                sizes[p.name] = p.default
                continue
            form = linear_form(value, consts)  # type: ignore[arg-type]  # a size argument is an expression, not a view
            if form is None or form.coeffs:
                return None
            sizes[p.name] = form.const
        out: dict[str, int] = {}
        for b in callee.buffers:
            view = args.get(b.name)
            if not isinstance(view, View):
                continue
            for d, e in zip(view.dims, b.shape):
                form = linear_form(e, sizes)
                if form is None or form.coeffs:
                    return None
                out[d] = form.const
        return out

    @staticmethod
    def _separates(e: Expr, var: str, extents: dict[str, int], consts: dict[str, int]) -> bool:
        form = linear_form(e, consts)
        if form is None:
            return False
        step = abs(form.coeff(var))
        spread = sum(abs(c) * max(extents[v] - 1, 0) for v, c in form.coeffs if v in extents)
        return step > spread

    def reduce(self, s: For, env: dict[str, Any], lo: int, hi: int, depth: int) -> bool:
        """Run an integer ``+``/``-``/``min``/``max`` reduction loop as one array reduction,
        or an ``f32``/``f64`` sum as one sequential accumulation (numpy's ``accumulate``
        adds left to right, rounding each step as the loop does)."""
        if len(s.body) != 1 or not isinstance(s.body[0], Assign):
            return False
        a = s.body[0]
        t = self.types.get(a.buf)
        if t is None or not (t.is_int or t.np_dtype in (np.float32, np.float64)):
            return False
        v = a.value
        current = Load(a.buf, a.index, t)
        if isinstance(v, Binary) and v.op in ("+", "-") and v.lhs == current:
            op, term = v.op, v.rhs
        elif isinstance(v, Call) and v.fn in ("min", "max") and v.args[0] == current:
            op, term = v.fn, v.args[1]
        else:
            return False
        if not t.is_int and op != "+":
            return False
        if any(s.var in free_vars(e) for e in a.index):
            return False
        if any(isinstance(n, Load) and n.buf == a.buf for n in walk(term)):
            return False
        env[s.var] = self.axis(lo, hi, depth)
        try:
            idx = self.index(a.index, env, a.buf, a.span)
            if not t.is_int:
                result = self._accumulate(term, self.mem[a.buf][idx], t, env[s.var], env,
                                          depth)
            else:
                values = np.asarray(self.eval(term, env))
                full = np.broadcast_shapes(values.shape, env[s.var].shape)
                values = np.broadcast_to(values, full)
                old = self.mem[a.buf][idx]
                if op in ("+", "-"):
                    total = np.add.reduce(values, axis=depth, dtype=t.np_dtype,
                                          keepdims=True)
                    result = old + total if op == "+" else old - total
                else:
                    red = (np.minimum if op == "min" else np.maximum).reduce(
                        values, axis=depth, keepdims=True)
                    result = vo.minimum(old, red) if op == "min" else vo.maximum(old, red)
            self.store(a.buf, idx, np.asarray(result, dtype=t.np_dtype))
        finally:
            del env[s.var]
        return True

    def scatter(self, s: For, env: dict[str, Any], depth: int) -> bool:
        """Run a perfect nest ending in one integer accumulation ``W[I] = W[I] + term``
        (``term`` reading no element of ``W``) as one scatter-add over all its loops, even
        when iterations meet on an element (``Y[2 * ih + rh] += ...``): wrapping integer
        addition is associative and commutative, so the order of the updates does not
        change the result. False (nothing run) for any other nest."""
        nest = [s]
        while len(nest[-1].body) == 1 and isinstance(nest[-1].body[0], For):
            nest.append(nest[-1].body[0])
        if len(nest[-1].body) != 1 or not isinstance(nest[-1].body[0], Assign) or \
                depth + len(nest) > MAX_DEPTH:
            return False
        a = nest[-1].body[0]
        t = self.types.get(a.buf)
        v = a.value
        if t is None or not t.is_int or not isinstance(v, Binary) or v.op != "+":
            return False
        current = Load(a.buf, a.index, t)
        term = v.rhs if v.lhs == current else v.lhs if v.rhs == current else None
        if term is None or any(isinstance(n, Load) and n.buf == a.buf for n in walk(term)):
            return False
        bound: list[str] = []
        try:
            count = 1
            for n, loop in enumerate(nest):
                lo, hi = self.eval(loop.lo, env), self.eval(loop.hi, env)
                if np.ndim(lo) or np.ndim(hi):
                    return False  # bounds that vary along an axis: not a box
                if int(hi) <= int(lo):
                    return True  # an empty nest: nothing to do
                count *= int(hi) - int(lo)
                outer = int(np.prod(self.axis_sizes[:depth], dtype=np.int64))
                if count * max(1, outer) > SCATTER_LIMIT:
                    return False
                env[loop.var] = self.axis(int(lo), int(hi), depth + n)
                bound.append(loop.var)
            idx = self.index(a.index, env, a.buf, a.span)
            with np.errstate(all="ignore"):
                values = np.asarray(self.eval(term, env), dtype=t.np_dtype)
            parts = np.broadcast_arrays(*idx, values, *(env[x] for x in bound))
            arr = self.mem[a.buf]
            if not idx:  # a 0-d buffer, no batch: every update adds to its one element
                total = np.add.reduce(parts[0].reshape(-1), dtype=t.np_dtype)
                arr[()] = np.asarray(arr[()] + total, dtype=t.np_dtype)
            else:
                _scatter_add(arr, idx, values, parts[len(idx)].shape, t)
        finally:
            for x in bound:
                del env[x]
        return True

    def _accumulate(self, term: Expr, old: Any, t: DType, axis: np.ndarray,
                    env: dict[str, Any], depth: int) -> np.ndarray:
        """``old + term`` summed over the loop's ``axis`` in IEEE ``f32``/``f64``: the
        terms as one array, then added strictly in loop order from the current value."""
        with np.errstate(all="ignore"):
            values = np.asarray(self.eval(term, env), dtype=t.np_dtype)
            start_value = np.asarray(old, dtype=t.np_dtype)
            full = np.broadcast_shapes(values.shape, axis.shape, start_value.shape)
            start = np.broadcast_to(start_value, full[:depth] + (1,) + full[depth + 1:])
            return _sequential_sum(start, np.broadcast_to(values, full), depth, t)

    # -- memory ---------------------------------------------------------------------
    def index(self, index: tuple[Expr, ...], env: dict[str, Any], buf: str,
              span: Span | None) -> tuple[Any, ...]:
        """Evaluate an index tuple (ints or broadcastable int arrays) and bounds-check it."""
        idx = tuple(self.eval(e, env) for e in index)
        shape = self.shapes[buf]
        for axis, (i, n) in enumerate(zip(idx, shape)):
            lo, hi = (int(np.min(i)), int(np.max(i))) if np.ndim(i) else (int(i), int(i))
            if lo < 0 or hi >= n:
                bad = lo if lo < 0 else hi
                raise InterpError(f"index {bad} out of bounds for dimension {axis} of '{buf}' "
                                  f"(size {n})", span)
        return self._prefix + idx

    def store(self, buf: str, idx: tuple[Any, ...], value: Any) -> None:
        arr = self.mem[buf]
        value = np.asarray(value)
        t = self.types.get(buf)
        if t is not None and t.is_float and value.dtype != object:
            value = vo.canonical_nan(value, t)
        if not any(np.ndim(i) for i in idx):
            arr[tuple(int(i) for i in idx)] = value.reshape(()) if value.size == 1 else value
            return
        if arr.flags.c_contiguous and arr.dtype == value.dtype:
            # one flat index array instead of one index array per axis: the same
            # elements in the same order (C order of the broadcast shape), twice as fast
            flat = _flat_index(idx, arr.shape)
            full = np.broadcast_shapes(np.shape(flat), value.shape)
            arr.reshape(-1)[np.broadcast_to(flat, full).reshape(-1)] = \
                np.broadcast_to(value, full).reshape(-1)
            return
        parts = np.broadcast_arrays(*idx, value)
        arr[tuple(parts[:-1])] = parts[-1]

    # -- expressions ----------------------------------------------------------------
    def eval(self, e: Expr, env: dict[str, Any]) -> Any:
        t = e.dtype
        if isinstance(e, Const):
            if t.is_index:
                return e.value
            return vo.const(e.value, t)
        if isinstance(e, Var):
            return env[e.name]
        if isinstance(e, Load):
            idx = self.index(e.index, env, e.buf, e.span)
            return self.mem[e.buf][idx]
        if isinstance(e, Cast):
            x = self.eval(e.operand, env)
            return vo.cast(x, e.operand.dtype, t, e.saturate)
        if isinstance(e, Unary):
            x = self.eval(e.operand, env)
            if e.op == "!":
                return np.logical_not(x)
            if e.op == "~":
                return np.invert(x)
            return -x
        if isinstance(e, Binary):
            return self.binary(e, env)
        if isinstance(e, Call):
            args = [self.eval(a, env) for a in e.args]
            if e.fn == "select":
                return np.where(args[0], args[1], args[2]).astype(t.np_dtype)
            if e.fn == "min":
                return vo.minimum(args[0], args[1])
            if e.fn == "max":
                return vo.maximum(args[0], args[1])
            if e.fn == "abs":
                return np.abs(args[0])
            if e.fn == "fma":
                return vo.fma(args[0], args[1], args[2], t)
            if e.fn == "rint":
                return vo.rint(np.asarray(args[0]))
            return getattr(np, e.fn)(np.asarray(args[0], dtype=t.np_dtype))
        raise AssertionError(type(e).__name__)

    def binary(self, e: Binary, env: dict[str, Any]) -> Any:
        a, b = self.eval(e.lhs, env), self.eval(e.rhs, env)
        op, t = e.op, e.lhs.dtype
        if op == "&&":
            return np.logical_and(a, b)
        if op == "||":
            return np.logical_or(a, b)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
                    ">": np.greater, ">=": np.greater_equal}[op](a, b)
        if t.is_index:
            if op in ("/", "%") and np.any(np.asarray(b) == 0):
                raise InterpError("division by zero in an index expression", e.span)
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                    "/": lambda: a // b, "%": lambda: a % b}[op]()
        return _value_binary(op, a, b, t)


SEQUENTIAL_SLICE = 512
"""Fewest elements per step for :func:`_sequential_sum` to add step by step (one numpy
call per step) rather than by one ``np.add.accumulate`` (which writes every partial sum)."""


def _sequential_sum(start: np.ndarray, values: np.ndarray, depth: int, t: DType
                    ) -> np.ndarray:
    """``start`` plus the slices of ``values`` along axis ``depth``, added one at a time
    in order, each addition rounded to ``t`` (``start`` has extent 1 on that axis).

    Two ways with the same result: each step is the same IEEE addition in ``t`` (numpy's
    ``add`` loop for the type, which ``accumulate`` runs too); a Python loop of whole-slice
    additions when slices are large, one ``accumulate`` over the concatenation otherwise.
    """
    n = values.shape[depth]
    if n and values.size // n >= SEQUENTIAL_SLICE:
        lead = (slice(None),) * depth
        total = np.array(start, dtype=t.np_dtype)
        for k in range(n):
            np.add(total, values[lead + (slice(k, k + 1),)], out=total, dtype=t.np_dtype)
        return total
    return _accumulated_sum(start, values, depth, t)


def _accumulated_sum(start: np.ndarray, values: np.ndarray, depth: int, t: DType
                     ) -> np.ndarray:
    """:func:`_sequential_sum` by one ``np.add.accumulate``."""
    steps = np.concatenate([start, values], axis=depth)
    total = np.add.accumulate(steps, axis=depth, dtype=t.np_dtype)
    out: np.ndarray = np.take(total, [values.shape[depth]], axis=depth)
    return out


def _flat_index(idx: tuple[Any, ...], shape: tuple[int, ...]) -> Any:
    """The C-order element numbers of a bounds-checked index tuple (ints or broadcastable
    int arrays) into an array of ``shape``, broadcast only as far as the indices are."""
    flat: Any = 0
    stride = 1
    for i, n in zip(reversed(idx), reversed(shape)):
        flat = flat + np.asarray(i, dtype=np.int64) * stride if stride != 1 else \
            flat + np.asarray(i, dtype=np.int64)
        stride *= n
    return flat


def _scatter_add(arr: np.ndarray, idx: tuple[Any, ...], values: np.ndarray,
                 full: tuple[int, ...], t: DType) -> None:
    """``np.add.at(arr, idx, values)`` (all broadcast to ``full``) for a wrapping integer
    type ``t``, faster: the updates along an axis that no index varies on all go to the
    same element, so they are summed first (``np.add.reduce`` in ``t`` wraps: integer
    addition modulo 2**bits is associative and commutative, so any grouping and order
    gives the same element values); then one flat ``np.add.at`` (numpy's fast path for
    a one-dimensional index) adds the rest."""
    if arr.dtype != t.np_dtype or values.dtype != t.np_dtype:
        parts = np.broadcast_arrays(*idx, values)
        np.add.at(arr, tuple(parts[:len(idx)]), parts[len(idx)])
        return
    ishape = np.broadcast_shapes(*(np.shape(i) for i in idx))
    ishape = (1,) * (len(full) - len(ishape)) + ishape  # broadcasting aligns the ends
    values = np.broadcast_to(values, full)
    axes = tuple(d for d in range(len(full)) if full[d] > 1 and ishape[d] == 1)
    if axes:
        values = np.add.reduce(values, axis=axes, dtype=t.np_dtype, keepdims=True)
    if not arr.flags.c_contiguous:
        parts = np.broadcast_arrays(*idx, values)
        np.add.at(arr, tuple(parts[:-1]), parts[-1])
        return
    flat = _flat_index(idx, arr.shape)
    shape = np.broadcast_shapes(np.shape(flat), values.shape)
    np.add.at(arr.reshape(-1), np.broadcast_to(flat, shape).reshape(-1),
              np.broadcast_to(values, shape).reshape(-1).astype(t.np_dtype, copy=False))


def _value_binary(op: str, a: Any, b: Any, t: DType) -> Any:
    if op == "+":
        return np.add(a, b, dtype=t.np_dtype)
    if op == "-":
        return np.subtract(a, b, dtype=t.np_dtype)
    if op == "*":
        return np.multiply(a, b, dtype=t.np_dtype)
    if op == "/":
        if t.is_float:
            return np.divide(a, b, dtype=t.np_dtype)
        return vo.int_div(np.asarray(a), np.asarray(b), t)
    if op == "%":
        return vo.int_rem(np.asarray(a), np.asarray(b), t)
    if op == "&":
        return np.bitwise_and(a, b)
    if op == "|":
        return np.bitwise_or(a, b)
    if op == "^":
        return np.bitwise_xor(a, b)
    if op in ("<<", ">>"):
        return vo.shift(np.asarray(a), np.asarray(b), t, op == "<<")
    raise AssertionError(op)
