"""Row-major layout arithmetic shared by the engine's layout rule, the back end's passes
and the C emitter.

A buffer is stored row-major; a call's view of it is an affine index. These helpers
give a bound's constant value, the element strides of a row-major shape, and how many
elements a view's element moves per step of a variable (a view dimension, or a loop
around the call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import Expr, View


def const_value(e: Expr, sizes: Mapping[str, int] | None = None) -> int | None:
    """The value of ``e`` when it is a constant once ``sizes`` are bound, else None."""
    form = linear_form(e, sizes or {})
    return form.const if form is not None and not form.coeffs else None


def row_major(shape: Sequence[int]) -> list[int]:
    """The element stride of each dimension of a row-major array of ``shape``."""
    row = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        row[i] = row[i + 1] * shape[i + 1]
    return row


def steps(view: View, names: Sequence[str], parent_shape: Sequence[int],
          sizes: Mapping[str, int] | None = None) -> list[int] | None:
    """How many elements of the row-major parent the view's element moves when each of
    ``names`` (view dimensions or loop variables) grows by one, ``sizes`` bound; None if
    the index is not linear."""
    row = row_major(parent_shape)
    per = [0] * len(names)
    for j, e in enumerate(view.index):
        form = linear_form(e, sizes or {})
        if form is None:
            return None
        for n, name in enumerate(names):
            per[n] += form.coeff(name) * row[j]
    return per
