"""Interval reasoning on bit-vector terms, to simplify what the solver would grind through.

Saturations (``sat_i16``), clamps and wrap-around that provably cannot happen under the
value ranges of the inputs are removed before a proof: a saturating pair sum whose inputs
are assumed small becomes a plain sum, and the two sides of an equivalence often become
the same term. Every rule is justified by the ranges, so the simplified term is equal to
the original for every input that meets the assumptions.

Ranges are of the *signed* value of a term at its width.
"""

from __future__ import annotations

from collections.abc import Mapping

import z3

Interval = tuple[int, int]


def _full(width: int) -> Interval:
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def _fits(r: Interval, width: int) -> bool:
    lo, hi = _full(width)
    return lo <= r[0] and r[1] <= hi


def _signed(v: int, width: int) -> int:
    return v - (1 << width) if v >> (width - 1) else v


class RangeSimplifier:
    """Simplifies terms given the ranges of input variables.

    ``unsigned_ranges`` maps a variable's Z3 id to the range of its *unsigned* value
    (for variables of unsigned types) and ``signed_ranges`` to that of its signed value.
    """

    def __init__(self, signed_ranges: Mapping[int, Interval],
                 unsigned_ranges: Mapping[int, Interval]) -> None:
        self.signed_ranges = dict(signed_ranges)
        self.unsigned_ranges = dict(unsigned_ranges)
        self._memo: dict[int, tuple[z3.ExprRef, Interval | None]] = {}

    def interval(self, t: z3.ExprRef) -> Interval | None:
        """The signed range of a (simplified) bit-vector term, or None for non-bit-vectors."""
        return self._simplify(t)[1]

    def unsigned_interval(self, t: z3.ExprRef) -> Interval:
        """The range of the unsigned value of a bit-vector term."""
        w = t.size()
        if t.get_id() in self.unsigned_ranges:
            return self.unsigned_ranges[t.get_id()]
        r = self.interval(t)
        if r is not None and r[0] >= 0:
            return r
        if z3.is_app_of(t, z3.Z3_OP_ZERO_EXT):
            return self.unsigned_interval(t.arg(0))
        return 0, (1 << w) - 1

    def __call__(self, t: z3.ExprRef) -> z3.ExprRef:
        return self._simplify(t)[0]

    def _simplify(self, t: z3.ExprRef) -> tuple[z3.ExprRef, Interval | None]:
        key = t.get_id()
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        result = self._rule(t)
        self._memo[key] = result
        return result

    def _rule(self, t: z3.ExprRef) -> tuple[z3.ExprRef, Interval | None]:
        if not z3.is_bv(t):
            if z3.is_app(t) and t.num_args() and not z3.is_quantifier(t):
                kids = [self(c) for c in t.children()]
                t = _rebuild(t, kids)
                decided = self._decide(t)
                if decided is not None:
                    return z3.BoolVal(decided), None
                if z3.is_app_of(t, z3.Z3_OP_ITE):
                    c = t.arg(0)
                    if z3.is_true(c):
                        return t.arg(1), None
                    if z3.is_false(c):
                        return t.arg(2), None
            return t, None
        w = t.size()
        if z3.is_bv_value(t):
            v = _signed(t.as_long(), w)
            return t, (v, v)
        if z3.is_const(t):
            if key := self.signed_ranges.get(t.get_id()):
                return t, key
            ur = self.unsigned_ranges.get(t.get_id())
            if ur is not None and _fits(ur, w):
                return t, ur
            return t, _full(w)
        kids = [self._simplify(c) for c in t.children()]
        t = _rebuild(t, [k[0] for k in kids])
        ranges = [k[1] for k in kids]
        if z3.is_app_of(t, z3.Z3_OP_SIGN_EXT):
            inner = t.arg(0)
            # SignExt(k, Extract(w-1, 0, x)) == x when x already fits in w bits
            if z3.is_app_of(inner, z3.Z3_OP_EXTRACT) and inner.params()[1] == 0 and \
                    inner.arg(0).size() == w:
                r = self.interval(inner.arg(0))
                if r is not None and _fits(r, inner.size()):
                    return inner.arg(0), r
            return t, ranges[0]
        if z3.is_app_of(t, z3.Z3_OP_ZERO_EXT):
            return t, self.unsigned_interval(t.arg(0))
        if z3.is_app_of(t, z3.Z3_OP_EXTRACT):
            hi_bit, lo_bit = t.params()
            inner = t.arg(0)
            if z3.is_app_of(inner, z3.Z3_OP_SIGN_EXT) or z3.is_app_of(inner, z3.Z3_OP_ZERO_EXT):
                if hi_bit < inner.arg(0).size():  # only the original bits are taken
                    x = inner.arg(0)
                    return self._simplify(x if (lo_bit, hi_bit + 1) == (0, x.size())
                                          else z3.Extract(hi_bit, lo_bit, x))
            r = ranges[0]
            if lo_bit == 0 and r is not None and _fits(r, hi_bit + 1):
                inner = t.arg(0)
                if z3.is_app_of(inner, z3.Z3_OP_SIGN_EXT) and inner.arg(0).size() == w:
                    return inner.arg(0), r  # Extract(SignExt(x)) == x
                return t, r
            return t, _full(w)
        if z3.is_app_of(t, z3.Z3_OP_BADD) and all(r is not None for r in ranges):
            lo = sum(r[0] for r in ranges)  # type: ignore[index]
            hi = sum(r[1] for r in ranges)  # type: ignore[index]
            return t, (lo, hi) if _fits((lo, hi), w) else _full(w)
        if z3.is_app_of(t, z3.Z3_OP_BMUL) and len(ranges) == 2 and None not in ranges:
            corners = [p * q for p in ranges[0] for q in ranges[1]]  # type: ignore[union-attr]
            r = (min(corners), max(corners))
            return t, r if _fits(r, w) else _full(w)
        if z3.is_app_of(t, z3.Z3_OP_BNEG) and ranges[0] is not None:
            r = (-ranges[0][1], -ranges[0][0])
            return t, r if _fits(r, w) else _full(w)
        if z3.is_app_of(t, z3.Z3_OP_ITE):
            c = t.arg(0)
            if z3.is_true(c):
                return t.arg(1), ranges[1]
            if z3.is_false(c):
                return t.arg(2), ranges[2]
            a, b = ranges[1], ranges[2]
            if a is not None and b is not None:
                return t, (min(a[0], b[0]), max(a[1], b[1]))
        return t, _full(w)

    def _decide(self, t: z3.ExprRef) -> bool | None:
        """The value of a comparison that the ranges settle, else None."""
        ops = {z3.Z3_OP_SLT: "<", z3.Z3_OP_SLEQ: "<=", z3.Z3_OP_SGT: ">",
               z3.Z3_OP_SGEQ: ">="}
        if not z3.is_app(t) or t.num_args() != 2:
            return None
        op = ops.get(t.decl().kind())
        if op is None:
            return None
        a, b = self.interval(t.arg(0)), self.interval(t.arg(1))
        if a is None or b is None:
            return None
        if op in ("<", ">="):
            if a[1] < b[0]:
                return op == "<"
            if a[0] >= b[1]:
                return op == ">="
        else:
            if a[1] <= b[0]:
                return op == "<="
            if a[0] > b[1]:
                return op == ">"
        return None


def _rebuild(t: z3.ExprRef, kids: list[z3.ExprRef]) -> z3.ExprRef:
    if all(k.eq(c) for k, c in zip(kids, t.children())):
        return t
    if z3.is_app_of(t, z3.Z3_OP_BADD):
        from tensorize.equivalence.smt import canonical_sum

        return canonical_sum(kids)
    return t.decl()(*kids)
