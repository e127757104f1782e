"""Symbolic memory shared by the two sides of an equivalence question.

Buffers are identified by name and by row-major element offset, so a kernel that reads
``A[i, k]`` and one that reads a flattened ``A[i*K + k]`` read the same element. Each
element starts as one variable holding its bits (integers and IEEE floats) or, in real
mode, a real number; a buffer viewed as ``u8`` on one side and ``i8`` on the other is
the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from tensorize.equivalence.smt import sort_of
from tensorize.ir.nodes import Assume
from tensorize.ir.types import DType


@dataclass
class Memory:
    """Initial contents of every buffer element that either side reads."""

    mode: str
    variables: dict[tuple[str, int, str], z3.ExprRef] = field(default_factory=dict)
    constraints: dict[tuple[str, int, str, int], z3.BoolRef] = field(default_factory=dict)
    types: dict[tuple[str, int, str], DType] = field(default_factory=dict)
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Assumed integer ranges, by the Z3 id of the element's variable."""

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
            self.variables[key] = z3.BitVec(f"{buf}[{offset}]", t.bits)
            self.types[key] = t
        bits = self.variables[key]
        if t.is_float:
            return z3.fpBVToFP(bits, sort_of(t, "ieee"))
        return bits

    def assume(self, a: Assume, offset: int, value: z3.ExprRef, t: DType, side: int) -> None:
        """Constrain one element by an ``assume`` range of one side."""
        key = (a.buf, offset, t.name, side)
        if key in self.constraints:
            return
        if t.is_int:
            top = int(a.hi) if a.inclusive else int(a.hi) - 1
            old = self.ranges.get(value.get_id(), (t.min, t.max))
            self.ranges[value.get_id()] = (max(old[0], int(a.lo)), min(old[1], top))
            lo, hi = z3.BitVecVal(int(a.lo), t.bits), z3.BitVecVal(int(a.hi), t.bits)
            if t.is_signed:
                ok = z3.And(value >= lo, value <= hi if a.inclusive else value < hi)
            else:
                ok = z3.And(z3.UGE(value, lo),
                            z3.ULE(value, hi) if a.inclusive else z3.ULT(value, hi))
        elif self.mode == "real":
            lo_r, hi_r = z3.RealVal(a.lo), z3.RealVal(a.hi)
            ok = z3.And(value >= lo_r, value <= hi_r if a.inclusive else value < hi_r)
        else:
            sort = value.sort()
            lo_f, hi_f = z3.FPVal(float(a.lo), sort), z3.FPVal(float(a.hi), sort)
            ok = z3.And(z3.fpGEQ(value, lo_f),
                        z3.fpLEQ(value, hi_f) if a.inclusive else z3.fpLT(value, hi_f))
        self.constraints[key] = ok
