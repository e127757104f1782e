"""Loop distribution: split a reduction from its epilogue, where dependences allow.

A nest such as::

    for i { for j {
      C[i, j] = 0
      for k { C[i, j] += A[i, k] * B[k, j] }
      C[i, j] = max(C[i, j], 0)          # the epilogue: bias, activation, requantisation
    } }

is no reduction on its own, but it equals the reduction nest followed by the epilogue
nest (``for i { for j { C[i, j] = max(C[i, j], 0) } }``), and then the reduction can be
matched and the epilogue stays (or matches an elementwise intrinsic).

The split is exact, by a dependence argument checked on the IR: every statement of the
nest writes the one element ``W[I]`` and reads ``W`` only at ``I``; every other buffer
it reads is never written in the nest; ``I`` uses every loop around the statements and
is injective over them. Then the instances that touch one element are exactly those of
one iteration of the outer loops, whose relative order the split keeps (init, reduction,
epilogue), and instances of different iterations touch disjoint elements, so running all
the reductions before all the epilogues gives every element the same value.
The engine's run of the rewritten kernel against the original covers it again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import Assign, For, Function, Load, Stmt
from tensorize.ir.reduction import Loop, injective
from tensorize.ir.traverse import free_vars, loop_band, walk


@dataclass(frozen=True)
class Split:
    """Top-level statement ``original`` of the kernel became statements ``parts``."""

    original: int
    parts: tuple[int, ...]


def distribute(kernel: Function, only: frozenset[int] | None = None
               ) -> tuple[Function, list[Split]]:
    """``kernel`` (sizes baked) with each top-level nest that :func:`split_epilogue`
    splits replaced by its parts (only the positions in ``only``, when given)."""
    body: list[Stmt] = []
    splits = []
    for position, stmt in enumerate(kernel.body):
        parts = split_epilogue(stmt) if only is None or position in only else None
        if parts is None:
            body.append(stmt)
            continue
        splits.append(Split(position, tuple(range(len(body), len(body) + len(parts)))))
        body.extend(parts)
    return replace(kernel, body=tuple(body)), splits


def split_epilogue(stmt: Stmt) -> tuple[Stmt, Stmt] | None:
    """(reduction nest, epilogue nest) when ``stmt`` may be distributed so, else None."""
    outer = loop_band(stmt)
    if not outer:
        return None
    node = outer[-1]
    body = node.body
    nests = [n for n, s in enumerate(body) if isinstance(s, For)]
    if len(nests) != 1 or nests[0] > 1 or nests[0] == len(body) - 1:
        return None
    r = nests[0]
    if not all(isinstance(s, Assign) for n, s in enumerate(body) if n != r):
        return None
    loops = []
    for f in outer:
        lo, hi = linear_form(f.lo), linear_form(f.hi)
        if lo is None or hi is None or lo.coeffs or hi.coeffs:
            return None
        loops.append(Loop(f.var, lo.const, hi.const))
    writes = [w for x in body for w in walk(x) if isinstance(w, Assign)]
    if any(not isinstance(s, (Assign, For)) for x in body for s in walk(x)
           if isinstance(s, Stmt)):
        return None  # an if or a call somewhere inside
    buf, index = writes[0].buf, writes[0].index
    if any(w.buf != buf or w.index != index for w in writes):
        return None
    if any(x.buf == buf and x.index != index for x in walk(node) if isinstance(x, Load)):
        return None
    outer_vars = {f.var for f in outer}
    used = set().union(*(free_vars(e) for e in index)) if index else set()
    if used != outer_vars or not injective(index, tuple(loops), {}):
        return None
    first, second = body[:r + 1], body[r + 1:]

    def wrap(inner: tuple[Stmt, ...]) -> Stmt:
        for f in reversed(outer):
            inner = (replace(f, body=inner),)
        return inner[0]
    return wrap(first), wrap(second)
