"""Fragments of a kernel that the matcher can tensorize.

A fragment is one top-level loop nest that is in reduction normal form on its own
(an optional init of the output element, then ``W[I] = W[I] op body``), or in map form
(``W[I] = body``, every element written once: an elementwise computation), or in
sequential in-place form (``W[I] = f(W[I], ...)`` once per iteration of loops not in
``I``, kept in order around the calls), with the size parameters bound. Anything else
in the kernel stays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from tensorize.ir.nodes import For, Function, Stmt
from tensorize.ir.reduction import Reduction, map_form, reduction_form, sequential_form


@dataclass(frozen=True)
class Fragment:
    """Top-level statement ``position`` of a kernel, seen as one reduction."""

    position: int
    stmt: Stmt
    form: Reduction

    @property
    def instances(self) -> int:
        """How many times the update statement runs."""
        n = 1
        for loop in self.form.loops:
            n *= loop.extent
        return n


def fragments(kernel: Function, sizes: Mapping[str, int]) -> list[Fragment]:
    """Every top-level nest of ``kernel`` that is a reduction on its own."""
    out = []
    for position, stmt in enumerate(kernel.body):
        if not isinstance(stmt, For):
            continue
        alone = replace(kernel, body=(stmt,))
        form = (reduction_form(alone, sizes) or map_form(alone, sizes)
                or sequential_form(alone, sizes))
        if form is not None:
            out.append(Fragment(position, stmt, form))
    return out
