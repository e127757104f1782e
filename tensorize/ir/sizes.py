"""Size parameters bound to values, and the concrete shapes and extents they give.

Kept apart from the interpreter (and numpy): the engine's cached path, the canonical
form of a kernel and the back end need these without running anything.
"""

from __future__ import annotations

from collections.abc import Mapping

from tensorize.errors import InterpError, UsageError
from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import BufferDecl, Expr, Function


def own_sizes(fn: Function, sizes: Mapping[str, int] | None) -> dict[str, int]:
    """The entries of ``sizes`` that name a size parameter of ``fn`` (one ``--set`` list
    applied to every kernel of a file)."""
    names = {p.name for p in fn.params}
    return {k: v for k, v in (sizes or {}).items() if k in names}


def bind_sizes(fn: Function, sizes: Mapping[str, int] | None = None) -> dict[str, int]:
    """The value of every size parameter: the given ones, else the defaults."""
    sizes = dict(sizes or {})
    unknown = set(sizes) - {p.name for p in fn.params}
    if unknown:
        raise UsageError(f"'{fn.name}' has no size parameter {', '.join(sorted(unknown))}")
    out = {}
    for p in fn.params:
        value = sizes.get(p.name, p.default)
        if value is None:
            raise UsageError(f"size parameter '{p.name}' of '{fn.name}' has no default; "
                             f"set it (--set {p.name}=...)")
        if value < 0:
            raise UsageError(f"size parameter '{p.name}' must not be negative")
        out[p.name] = int(value)
    return out


def eval_size(e: Expr, sizes: Mapping[str, int]) -> int:
    """Evaluate an expression in size parameters only."""
    form = linear_form(e, sizes)
    if form is None or form.coeffs:
        raise InterpError("extent is not a constant expression of the size parameters", e.span)
    return form.const


def buffer_shape(b: BufferDecl, sizes: Mapping[str, int]) -> tuple[int, ...]:
    """The concrete shape of a buffer under the given sizes."""
    shape = tuple(eval_size(e, sizes) for e in b.shape)
    for n in shape:
        if n < 0:
            raise InterpError(f"buffer '{b.name}' has a negative extent", b.span)
    return shape
