"""Unrolled reads: several reads of one buffer that one intrinsic parameter stands for.

A spec may index a dimension of a parameter by constants instead of a loop
(``a[i, 0] * b[i, 0] + a[i, 1] * b[i, 1]``: ``vpmaddwd``, the saturating dot products);
a program computing the same writes the matching reads with constant offsets
(``X[2 * i] * W[2 * i] + X[2 * i + 1] * W[2 * i + 1]``, or ``A[i, 4 * kk + 3]``). A
:class:`Family` is such a set of reads: ``E`` reads of one buffer whose indices are
``base + t * step`` for ``t`` in ``0..E`` (an arithmetic progression of constant offset
vectors, the linear parts equal). One parameter with a dimension of extent ``E`` not
bound to any loop (a *constant dimension*) is bound to the whole family: its view is
``(..., t) -> X[base + t * step]`` and the tile kernel reads member ``c`` as the
parameter at ``t = c``. Whether that tile computes the intrinsic is the prover's
question as usual; the validator checks on the emitted views that each member is one
read of the program, each read one member.
"""

from __future__ import annotations

from dataclasses import dataclass

from tensorize.ir.affine import linear_form
from tensorize.ir.nodes import Binary, Const, Expr, Var
from tensorize.ir.types import INDEX

Site = tuple[str, tuple[Expr, ...]]
"""A read of the program: a buffer and the index it is read at."""


@dataclass(frozen=True)
class Family:
    """Reads of ``buf`` at ``members[c]`` = ``base + c * step`` (``c`` in ``0..E``), or a
    single read (``step`` all zero, one member)."""

    buf: str
    members: tuple[tuple[Expr, ...], ...]
    step: tuple[int, ...]

    @property
    def extent(self) -> int:
        """How many reads (the extent of the constant dimension); 1 for a single read."""
        return len(self.members)

    @property
    def unrolled(self) -> bool:
        """Whether this is a family of several reads (needs a constant dimension)."""
        return len(self.members) > 1

    @property
    def base(self) -> tuple[Expr, ...]:
        """The index of the first member (``t = 0``)."""
        return self.members[0]

    def pattern(self, dim: str) -> tuple[Expr, ...]:
        """The index as a function of the constant dimension ``dim``: ``base + dim * step``
        (the base itself for a single read)."""
        out = []
        for e, d in zip(self.base, self.step):
            if d == 0:
                out.append(e)
                continue
            term: Expr = Var(dim, INDEX) if d == 1 else Binary("*", Const(d, INDEX),
                                                                Var(dim, INDEX), INDEX)
            out.append(term if isinstance(e, Const) and e.value == 0
                       else Binary("+", e, term, INDEX))
        return tuple(out)


def site_key(index: tuple[Expr, ...]) -> tuple[tuple[tuple[tuple[str, int], ...], int], ...] | None:
    """A canonical key of an index: each component's linear form (sorted coefficients,
    constant), or None when a component is not linear."""
    out = []
    for e in index:
        form = linear_form(e)
        if form is None:
            return None
        out.append((tuple(sorted((v, c) for v, c in form.coeffs if c)), form.const))
    return tuple(out)


def families(sites: list[Site]) -> list[Family]:
    """The reads ``sites`` grouped into families: the reads of one buffer whose indices
    have the same linear part and constant parts in an arithmetic progression (with a
    non-zero step) form one family; every other read is a family of one. In order of
    first appearance."""
    classes: dict[tuple[str, object], list[tuple[tuple[Expr, ...], tuple[int, ...]]]] = {}
    order: list[tuple[str, object]] = []
    for buf, index in sites:
        key = site_key(index)
        cls: tuple[str, object] = (buf, tuple(k[0] for k in key) if key is not None
                                   else ("opaque", len(order)))
        if cls not in classes:
            classes[cls] = []
            order.append(cls)
        consts = tuple(k[1] for k in key) if key is not None else ()
        classes[cls].append((index, consts))
    out: list[Family] = []
    for cls in order:
        buf = cls[0]
        members = sorted(classes[cls], key=lambda m: m[1])
        step = _progression([m[1] for m in members])
        if len(members) > 1 and step is not None:
            out.append(Family(buf, tuple(m[0] for m in members), step))
        else:
            out.extend(Family(buf, (m[0],), tuple(0 for _ in m[0])) for m in classes[cls])
    return out


def _progression(consts: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """The step of the arithmetic progression ``consts`` (sorted), or None."""
    if len(consts) < 2 or len(set(consts)) != len(consts):
        return None
    step = tuple(b - a for a, b in zip(consts[0], consts[1]))
    for n, c in enumerate(consts):
        if tuple(a + n * d for a, d in zip(consts[0], step)) != c:
            return None
    return step


def singles(sites: list[Site]) -> list[Family]:
    """Every read a family of its own (the matcher's plain pairing)."""
    return [Family(buf, (index,), tuple(0 for _ in index)) for buf, index in sites]
