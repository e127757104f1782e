"""Symbolic memory shared by the two sides of an equivalence question.

Buffers are identified by name and by row-major element offset, so a kernel that reads
``A[i, k]`` and one that reads a flattened ``A[i*K + k]`` read the same element. Each
element starts as one variable holding its bits (integers and IEEE floats) or, in real
mode, a real number; a buffer viewed as ``u8`` on one side and ``i8`` on the other is
the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from tensorize.equivalence.smt import sort_of
from tensorize.ir import numeric
from tensorize.ir.nodes import Assume
from tensorize.ir.types import DType
from tensorize.smt import terms as T
from tensorize.smt.terms import Term


@dataclass
class Memory:
    """Initial contents of every buffer element that either side reads."""

    mode: str
    variables: dict[tuple[str, int, str], Term] = field(default_factory=dict)
    constraints: dict[tuple[object, ...], Term] = field(default_factory=dict)
    """One constraint per (element, type, side, assume)."""
    types: dict[tuple[str, int, str], DType] = field(default_factory=dict)
    bit_elements: set[tuple[str, int]] = field(default_factory=set)
    """The elements that have a bit-vector variable (of some width)."""

    def initial(self, buf: str, offset: int, t: DType) -> Term:
        """The value element ``offset`` of ``buf`` holds before either side runs."""
        if t.is_float and self.mode == "real":
            key = (buf, offset, f"real{t.name}")
            if key not in self.variables:
                self.variables[key] = T.var(f"{buf}[{offset}]:{t}", T.REAL)
                self.types[key] = t
            return self.variables[key]
        if t.is_bool:
            key = (buf, offset, "bool")
            if key not in self.variables:
                self.variables[key] = T.var(f"{buf}[{offset}]", T.BOOL)
                self.types[key] = t
            return self.variables[key]
        key = (buf, offset, f"bits{t.bits}")
        if key not in self.variables:
            # A side reading the element at another width has another variable, whose
            # name says its width: a model is read back by name. The first keeps the
            # plain name (Z3's search depends on names: renaming them all made a float
            # refutation three times slower).
            other = (buf, offset) in self.bit_elements
            self.bit_elements.add((buf, offset))
            name = f"{buf}[{offset}]:{t.bits}b" if other else f"{buf}[{offset}]"
            self.variables[key] = T.var(name, T.bv_sort(t.bits))
            self.types[key] = t
        bits = self.variables[key]
        if t.is_float:
            return T.fp_from_bv(bits, sort_of(t, "ieee"))
        return bits

    def assume(self, a: Assume, offset: int, value: Term, t: DType, side: int) -> None:
        """Constrain one element by an ``assume`` range of one side.

        Every assume is kept (two on one buffer intersect), and each is exact: the bounds
        are the least and greatest values of ``t`` inside the range (so an exclusive
        bound, or a float bound between two values of ``t``, is neither dropped nor
        widened), and in ``ieee`` mode NaN is outside every range.
        """
        key = (a.buf, offset, t.name, side, a.lo, a.hi, a.inclusive)
        if key in self.constraints:
            return
        if self.mode == "real" and t.is_float:
            lo_r, hi_r = T.real_val(Fraction(a.lo)), T.real_val(Fraction(a.hi))
            self.constraints[key] = T.and_(
                T.compare(">=", value, lo_r),
                T.compare("<=" if a.inclusive else "<", value, hi_r))
            return
        bounds = numeric.assumed_bounds(t, [(a.lo, a.hi, a.inclusive)])
        if bounds is None:
            self.constraints[key] = T.FALSE
            return
        lo, hi = bounds
        if t.is_int:
            lo_v, hi_v = T.bv_val(int(lo), t.bits), T.bv_val(int(hi), t.bits)
            ge, le = ("bvsge", "bvsle") if t.is_signed else ("bvuge", "bvule")
            ok = T.and_(T.bv_cmp(ge, value, lo_v), T.bv_cmp(le, value, hi_v))
        else:
            sort = value.sort
            ok = T.and_(T.fp_cmp("fp.geq", value, T.fp_val(float(lo), sort)),
                        T.fp_cmp("fp.leq", value, T.fp_val(float(hi), sort)))
        self.constraints[key] = ok
