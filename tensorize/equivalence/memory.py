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

import z3

from tensorize.equivalence.smt import sort_of
from tensorize.ir import numeric
from tensorize.ir.nodes import Assume
from tensorize.ir.types import DType


@dataclass
class Memory:
    """Initial contents of every buffer element that either side reads."""

    mode: str
    variables: dict[tuple[str, int, str], z3.ExprRef] = field(default_factory=dict)
    constraints: dict[tuple[object, ...], z3.BoolRef] = field(default_factory=dict)
    """One constraint per (element, type, side, assume)."""
    types: dict[tuple[str, int, str], DType] = field(default_factory=dict)
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Assumed integer ranges, by the Z3 id of the element's variable."""
    bit_elements: set[tuple[str, int]] = field(default_factory=set)
    """The elements that have a bit-vector variable (of some width)."""

    def initial(self, buf: str, offset: int, t: DType) -> z3.ExprRef:
        """The value element ``offset`` of ``buf`` holds before either side runs."""
        if t.is_float and self.mode == "real":
            key = (buf, offset, f"real{t.name}")
            if key not in self.variables:
                self.variables[key] = z3.Real(f"{buf}[{offset}]:{t}")
                self.types[key] = t
            return self.variables[key]
        if t.is_bool:
            key = (buf, offset, "bool")
            if key not in self.variables:
                self.variables[key] = z3.Bool(f"{buf}[{offset}]")
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
            self.variables[key] = z3.BitVec(name, t.bits)
            self.types[key] = t
        bits = self.variables[key]
        if t.is_float:
            return z3.fpBVToFP(bits, sort_of(t, "ieee"))
        return bits

    def assume(self, a: Assume, offset: int, value: z3.ExprRef, t: DType, side: int) -> None:
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
            lo_r, hi_r = z3.RealVal(Fraction(a.lo)), z3.RealVal(Fraction(a.hi))
            self.constraints[key] = z3.And(value >= lo_r,
                                           value <= hi_r if a.inclusive else value < hi_r)
            return
        bounds = numeric.assumed_bounds(t, [(a.lo, a.hi, a.inclusive)])
        if bounds is None:
            self.constraints[key] = z3.BoolVal(False)
            return
        lo, hi = bounds
        if t.is_int:
            old = self.ranges.get(value.get_id(), (t.min, t.max))
            self.ranges[value.get_id()] = (max(old[0], int(lo)), min(old[1], int(hi)))
            lo_v, hi_v = z3.BitVecVal(int(lo), t.bits), z3.BitVecVal(int(hi), t.bits)
            if t.is_signed:
                ok = z3.And(value >= lo_v, value <= hi_v)
            else:
                ok = z3.And(z3.UGE(value, lo_v), z3.ULE(value, hi_v))
        else:
            sort = value.sort()
            ok = z3.And(z3.fpGEQ(value, z3.FPVal(float(lo), sort)),
                        z3.fpLEQ(value, z3.FPVal(float(hi), sort)))
        self.constraints[key] = ok
