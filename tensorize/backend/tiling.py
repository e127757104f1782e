"""Cache tiling of a call nest's two innermost loops, from a cache-size cost model.

After packing and unroll-and-jam, a GEMM is ``for i_b { for jo { for k { f calls } } }``:
for each block of rows the reduction loop ``k`` streams a packed strip of ``B`` (``k`` by
one vector of columns) and the whole packed ``B`` once per row block, from memory when it
exceeds the L2 cache. Tiling strip-mines the two innermost loops (``jo`` by ``tp``, ``k``
by ``tk``) and hoists the block loops outermost::

    for pb { for kb { for i_b { for pp in 0..tp { for kk in 0..tk {
        f calls [jo := tp*pb + pp, k := tk*kb + kk] } } } } }

(plus the remainder blocks at extents the tiles do not divide), so that a ``tk x tp``
block of the packed operand stays in L2 while every row block passes over it, and one
``tk``-long strip and the rows' operands stay in L1 for the micro-kernel.

**Legality.** The rewrite only reorders calls, keeping, for any one iteration of the
loops above ``k``, the order of its ``k`` iterations. It is applied only when those
loops' iterations are jointly independent (:func:`tensorize.backend.parallel.
parallel_loop` on each, the enclosing loops' variables held fixed): two calls of different
outer iterations then touch no common element of a written buffer, so they commute, and
any interleaving that keeps each iteration's ``k`` order gives the same memory. Tests
also prove small tiled instances equal to the untiled kernel with the equivalence engine.

**Tile sizes** (a cost model, not autotuning): ``tk`` is the longest reduction block whose
per-step input bytes (the distinct input views of the jammed calls) fit half of L1, and
``tp`` the number of strips of ``tk`` steps that fit half of L2; a divisor of the extent
is preferred when one is at least half the bound. Cache sizes are the host's
(``/sys/devices/system/cpu/cpu0/cache``), else 32 KiB and 512 KiB. A loop whose whole
extent fits is not tiled.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from tensorize.backend.blocking import _subst_call
from tensorize.backend.parallel import parallel_loop
from tensorize.ir.layout import const_value
from tensorize.ir.nodes import Binary, CallStmt, Const, Expr, For, Function, Stmt, Var, View
from tensorize.ir.traverse import bound_names, free_vars, loop_band
from tensorize.ir.types import INDEX

DEFAULT_L1 = 32 * 1024
DEFAULT_L2 = 512 * 1024
MAX_TK = 512
"""Longest reduction block: the accumulators are loaded and stored once per block."""


@dataclass(frozen=True)
class Caches:
    """Data cache sizes in bytes of one core."""

    l1: int
    l2: int


@functools.cache
def host_caches() -> Caches:
    """The host's L1 data and L2 sizes (sysfs), else the defaults."""
    sizes = {1: DEFAULT_L1, 2: DEFAULT_L2}
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    try:
        for index in sorted(root.glob("index*")):
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            text = (index / "size").read_text().strip().upper()
            if level not in sizes or kind == "Instruction":
                continue
            scale = {"K": 1024, "M": 1024 * 1024}.get(text[-1:], 1)
            sizes[level] = int(text.rstrip("KM")) * scale
    except (OSError, ValueError):
        return Caches(DEFAULT_L1, DEFAULT_L2)
    return Caches(sizes[1], sizes[2])


@dataclass(frozen=True)
class Tiles:
    """The tile of one nest: ``tp`` iterations of the loop above the reduction, ``tk`` of
    the reduction (the extent itself when that loop is not tiled)."""

    tp: int
    tk: int


def _step_bytes(calls: list[CallStmt], library: Mapping[str, Function], fn: Function,
                p_var: str | None) -> tuple[int, int]:
    """Bytes the calls of one reduction step read, each distinct input view once: those
    whose view does not move with ``p_var`` (reused across the ``p`` loop, kept in L1)
    and those that do (streamed, kept in L2 across the outer loops)."""
    seen: set[View] = set()
    fixed, moving = 0, 0
    for c in calls:
        callee = library[c.name]
        args = {a.name: a.value for a in c.args}
        for b in callee.buffers:
            view = args.get(b.name)
            if b.mode != "in" or not isinstance(view, View) or view in seen:
                continue
            seen.add(view)
            n = 1
            for e in b.shape:
                x = const_value(e)
                n *= x if x is not None else 1
            parent = fn.buffer(view.buf)
            nbytes = n * max((parent.dtype.bits if parent else 8) // 8, 1)
            if p_var is not None and any(p_var in free_vars(e) for e in view.index):
                moving += nbytes
            else:
                fixed += nbytes
    return max(fixed, 1), max(moving, 1)


def _pick(extent: int, limit: int) -> int:
    """A tile of at most ``limit`` iterations, a divisor of ``extent`` if one is close."""
    limit = max(1, min(limit, extent))
    for t in range(limit, max(1, limit // 2) - 1, -1):
        if extent % t == 0:
            return t
    return limit


def choose_tiles(p_extent: int, k_extent: int, step: tuple[int, int], caches: Caches
                 ) -> Tiles:
    """The cost model. ``step``: the bytes one reduction step reads that stay the same
    along ``p`` and that move with it. ``tk`` steps of the first fill half of L1 (they are
    reused by every ``p`` iteration), at most :data:`MAX_TK`; ``tp`` strips of ``tk``
    steps of the second fill half of L2 (reused by every iteration of the outer loops)."""
    fixed, moving = step
    tk = _pick(k_extent, min(caches.l1 // 2 // fixed, MAX_TK))
    tp = _pick(p_extent, caches.l2 // 2 // (tk * moving))
    return Tiles(tp, tk)


def _nest(stmt: Stmt) -> tuple[list[For], list[CallStmt]] | None:
    """The loops of a perfect nest whose innermost body is calls only, and the calls."""
    loops = loop_band(stmt)
    if not loops:
        return None
    body = loops[-1].body
    calls = [c for c in body if isinstance(c, CallStmt)]
    if len(calls) != len(body) or not calls:
        return None
    return loops, calls


def _plus(*terms: Expr) -> Expr:
    out = terms[0]
    for t in terms[1:]:
        out = Binary("+", out, t, INDEX)
    return out


def _loop(var: str, lo: int, hi: int, body: tuple[Stmt, ...]) -> For:
    return For(var, Const(lo, INDEX), Const(hi, INDEX), body)


def cache_tile(fn: Function, library: Mapping[str, Function],
               caches: Caches | None = None) -> tuple[Function, int]:
    """``fn`` with each call nest that exceeds the caches tiled; how many nests."""
    caches = caches or host_caches()
    taken = bound_names(fn)
    body: list[Stmt] = []
    count = 0
    for stmt in fn.body:
        tiled = _tile_nest(stmt, fn, library, caches, taken)
        if tiled is None:
            body.append(stmt)
        else:
            body.extend(tiled)
            count += 1
    if not count:
        return fn, 0
    return replace(fn, body=tuple(body)), count


def _fresh(base: str, taken: set[str]) -> str:
    name = base
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _tile_nest(stmt: Stmt, fn: Function, library: Mapping[str, Function], caches: Caches,
               taken: set[str]) -> list[Stmt] | None:
    found = _nest(stmt)
    if found is None or len(found[0]) < 2 or any(c.name not in library for c in found[1]):
        return None
    loops, calls = found
    consts: list[tuple[int, int]] = []
    for f in loops:
        lo, hi = const_value(f.lo), const_value(f.hi)
        if lo is None or hi is None or hi <= lo:
            return None
        consts.append((lo, hi))
    fixed: frozenset[str] = frozenset()
    for f in loops[:-1]:  # the loops above the reduction: jointly independent
        if not parallel_loop(f, fn, {}, library, fixed):
            return None
        fixed = fixed | {f.var}
    k_loop, (k0, k1) = loops[-1], consts[-1]
    if len(loops) >= 3:
        p_loop, (p0, p1) = loops[-2], consts[-2]
        outer = loops[:-2]
    else:
        p_loop, (p0, p1) = None, (0, 1)
        outer = loops[:-1]
    step = _step_bytes(calls, library, fn, p_loop.var if p_loop else None)
    tiles = choose_tiles(p1 - p0, k1 - k0, step, caches)
    tk = tiles.tk if tiles.tk < k1 - k0 else k1 - k0
    tp = tiles.tp if p_loop is not None and tiles.tp < p1 - p0 else p1 - p0
    if tk == k1 - k0 and tp == p1 - p0:
        return None
    pb, pp = _fresh((p_loop.var if p_loop else "p") + "_t", taken), \
        _fresh((p_loop.var if p_loop else "p") + "_i", taken)
    kb, kk = _fresh(k_loop.var + "_t", taken), _fresh(k_loop.var + "_i", taken)

    def inner(p_value: Expr | None, p_range: tuple[int, int] | None, k_value: Expr,
              k_range: tuple[int, int], k_var: str) -> Stmt:
        """The outer loops, then the ``p`` loop, the ``k`` loop, the calls."""
        new_calls: list[Stmt] = []
        for c in calls:
            c2 = _subst_call(c, k_loop.var, k_value)
            if p_loop is not None and p_value is not None:
                c2 = _subst_call(c2, p_loop.var, p_value)
            new_calls.append(c2)
        s: Stmt = _loop(k_var, k_range[0], k_range[1], tuple(new_calls))
        if p_loop is not None and p_range is not None:
            s = _loop(pp if p_value is not None else p_loop.var, p_range[0], p_range[1], (s,))
        for f in reversed(outer):
            s = replace(f, body=(s,))
        return s

    def k_part(p_value: Expr | None, p_range: tuple[int, int] | None) -> list[Stmt]:
        """Full reduction blocks in order, then the rest."""
        out: list[Stmt] = []
        kfull = (k1 - k0) // tk
        k_value = _plus(Const(k0, INDEX), Binary("*", Const(tk, INDEX), Var(kb, INDEX), INDEX),
                        Var(kk, INDEX))
        block = inner(p_value, p_range, k_value, (0, tk), kk)
        out.append(_loop(kb, 0, kfull, (block,)) if kfull > 1 else
                   inner(p_value, p_range, _plus(Const(k0, INDEX), Var(kk, INDEX)), (0, tk), kk))
        if k0 + kfull * tk < k1:
            out.append(inner(p_value, p_range, Var(k_loop.var, INDEX), (k0 + kfull * tk, k1),
                             k_loop.var))
        return out

    result: list[Stmt] = []
    if p_loop is None:
        return k_part(None, None)
    if tp == p1 - p0:
        return k_part(None, (p0, p1))
    pfull = (p1 - p0) // tp
    p_value = _plus(Const(p0, INDEX), Binary("*", Const(tp, INDEX), Var(pb, INDEX), INDEX),
                    Var(pp, INDEX))
    if pfull > 0:
        result.append(_loop(pb, 0, pfull, tuple(k_part(p_value, (0, tp)))))
    if p0 + pfull * tp < p1:
        result.extend(k_part(None, (p0 + pfull * tp, p1)))
    return result
