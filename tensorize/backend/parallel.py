"""Whether the iterations of a top-level loop are independent (may run on threads).

A sufficient, syntactic test. Loop ``v`` is parallel when, for every buffer ``W`` written
in its body (by an assignment, or through an ``out``/``inout`` view of a call), there is one
dimension ``d`` such that every access to ``W`` in the body (read or written, directly or
through a view) indexes ``d`` as ``a*v + r``, with the same non-zero ``a`` everywhere and
``r`` a linear expression of inner loop variables and view dimensions whose values, over
all those accesses, stay within fewer than ``|a|`` consecutive integers. Then two
iterations never touch the same element of a written buffer, so neither a write nor a
read of one iteration meets another's write, and any order (or none) gives the same
memory. Anything the test cannot see through (a quasi-affine index, a non-constant inner
bound, a rank-0 write) makes the loop sequential.
"""

from __future__ import annotations

from collections.abc import Mapping

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import Assign, CallStmt, Expr, For, Function, If, Load, Stmt, View
from tensorize.ir.traverse import walk

_Access = tuple[str, tuple[Expr, ...], dict[str, tuple[int, int]]]
"""(buffer, index, ranges of the inner variables in scope: (min, max) inclusive)."""


def _collect(stmts: tuple[Stmt, ...], ranges: dict[str, tuple[int, int]], sizes: Mapping[str, int],
             library: Mapping[str, Function], reads: list[_Access], writes: list[_Access]
             ) -> bool:
    for s in stmts:
        if isinstance(s, Assign):
            writes.append((s.buf, s.index, dict(ranges)))
            _loads(s.value, ranges, reads)
            for e in s.index:
                _loads(e, ranges, reads)
        elif isinstance(s, For):
            lo, hi = linear_form(s.lo, sizes), linear_form(s.hi, sizes)
            if lo is None or hi is None or lo.coeffs or hi.coeffs:
                return False
            if hi.const <= lo.const:
                continue
            inner = {**ranges, s.var: (lo.const, hi.const - 1)}
            if not _collect(s.body, inner, sizes, library, reads, writes):
                return False
        elif isinstance(s, If):
            if not (_collect(s.then, ranges, sizes, library, reads, writes) and
                    _collect(s.orelse, ranges, sizes, library, reads, writes)):
                return False
        elif isinstance(s, CallStmt):
            callee = library.get(s.name)
            if callee is None:
                return False
            args = {a.name: a.value for a in s.args}
            for b in callee.buffers:
                if b.mode == "local":
                    continue
                view = args.get(b.name)
                if not isinstance(view, View):
                    return False
                extents = []
                for e in b.shape:
                    form = linear_form(e, {p.name: p.default for p in callee.params
                                           if p.default is not None})
                    if form is None or form.coeffs:
                        return False
                    extents.append(form.const)
                inner = dict(ranges)
                for d, n in zip(view.dims, extents):
                    if n <= 0:
                        break
                    inner[d] = (0, n - 1)
                else:
                    access = (view.buf, view.index, inner)
                    if b.mode in ("in", "inout"):
                        reads.append(access)
                    if b.mode in ("out", "inout"):
                        writes.append(access)
        else:
            return False
    return True


def _loads(e: Expr, ranges: dict[str, tuple[int, int]], reads: list[_Access]) -> None:
    for node in walk(e):
        if isinstance(node, Load):
            reads.append((node.buf, node.index, dict(ranges)))


def _partition(var: str, accesses: list[_Access], sizes: Mapping[str, int],
               fixed: frozenset[str] = frozenset()) -> bool:
    """Some dimension splits every access of one buffer by ``var`` (see the module doc).
    A variable of ``fixed`` (an enclosing loop's) may appear in that dimension only with
    the same coefficient in every access: a common shift, the same in every iteration."""
    rank = len(accesses[0][1])
    for d in range(rank):
        coeff = None
        lo_all, hi_all = None, None
        shifts: dict[str, int] | None = None
        ok = True
        for _, index, ranges in accesses:
            if len(index) != rank:
                return False
            form = linear_form(index[d], sizes)
            if form is None:
                ok = False
                break
            a = form.coeff(var)
            if a == 0 or (coeff is not None and a != coeff):
                ok = False
                break
            coeff = a
            shift = {v: c for v, c in form.coeffs if v in fixed and v not in ranges}
            if shifts is not None and shift != shifts:
                ok = False
                break
            shifts = shift
            lo, hi = form.const, form.const
            for v, c in form.coeffs:
                if v == var or v in shift:
                    continue
                if v not in ranges:
                    ok = False
                    break
                r_lo, r_hi = ranges[v]
                lo += min(c * r_lo, c * r_hi)
                hi += max(c * r_lo, c * r_hi)
            if not ok:
                break
            lo_all = lo if lo_all is None else min(lo_all, lo)
            hi_all = hi if hi_all is None else max(hi_all, hi)
        if ok and coeff is not None and lo_all is not None and hi_all is not None \
                and hi_all - lo_all < abs(coeff):
            return True
    return False


def parallel_loop(loop: For, fn: Function, sizes: Mapping[str, int],
                  library: Mapping[str, Function], fixed: frozenset[str] = frozenset()
                  ) -> bool:
    """True when the iterations of ``loop`` are independent: a top-level loop of ``fn``,
    or a nested one when ``fixed`` names the variables of the loops around it (held at
    any one value: the test is then that of one iteration of the enclosing loops)."""
    reads: list[_Access] = []
    writes: list[_Access] = []
    if not _collect(loop.body, {}, sizes, library, reads, writes):
        return False
    if not writes:
        return False
    for buf in {w[0] for w in writes}:
        if not _partition(loop.var, [a for a in reads + writes if a[0] == buf], sizes,
                          fixed):
            return False
    return True
