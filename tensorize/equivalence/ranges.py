"""Interval reasoning on bit-vector terms, to simplify what the solver would grind through.

Saturations (``sat_i16``), clamps and wrap-around that provably cannot happen under the
value ranges of the inputs are removed before a proof: a saturating pair sum whose inputs
are assumed small becomes a plain sum, and the two sides of an equivalence often become
the same term. Every rule is justified by the ranges, so the simplified term is equal to
the original for every input that meets the assumptions.

Ranges are of the *signed* value of a term at its width. The ranges of the input
variables are read from the very constraints the solver is given
(:func:`intervals_from_constraints`), each bound in the interpretation (signed or
unsigned) its comparison uses, so a buffer read as ``u8`` on one side and ``i8`` on the
other, or an unsigned value reinterpreted as signed by a cast, is never given a range it
does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import z3

Interval = tuple[int, int]


def _full(width: int) -> Interval:
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def _fits(r: Interval, width: int) -> bool:
    lo, hi = _full(width)
    return lo <= r[0] and r[1] <= hi


def _signed(v: int, width: int) -> int:
    return v - (1 << width) if v >> (width - 1) else v


def _meet(a: Interval | None, b: Interval) -> Interval:
    return b if a is None else (max(a[0], b[0]), min(a[1], b[1]))


# comparison kind -> (is it unsigned, bound it gives the variable on the left: lo or hi,
#                     offset to make it inclusive)
_BOUNDS = {
    z3.Z3_OP_SGEQ: (False, "lo", 0), z3.Z3_OP_SGT: (False, "lo", 1),
    z3.Z3_OP_SLEQ: (False, "hi", 0), z3.Z3_OP_SLT: (False, "hi", -1),
    z3.Z3_OP_UGEQ: (True, "lo", 0), z3.Z3_OP_UGT: (True, "lo", 1),
    z3.Z3_OP_ULEQ: (True, "hi", 0), z3.Z3_OP_ULT: (True, "hi", -1),
}
_MIRROR = {z3.Z3_OP_SGEQ: z3.Z3_OP_SLEQ, z3.Z3_OP_SLEQ: z3.Z3_OP_SGEQ,
           z3.Z3_OP_SGT: z3.Z3_OP_SLT, z3.Z3_OP_SLT: z3.Z3_OP_SGT,
           z3.Z3_OP_UGEQ: z3.Z3_OP_ULEQ, z3.Z3_OP_ULEQ: z3.Z3_OP_UGEQ,
           z3.Z3_OP_UGT: z3.Z3_OP_ULT, z3.Z3_OP_ULT: z3.Z3_OP_UGT}


def _conjuncts(c: z3.ExprRef) -> list[z3.ExprRef]:
    if z3.is_and(c):
        return [x for kid in c.children() for x in _conjuncts(kid)]
    return [c]


def _bound(c: z3.ExprRef) -> tuple[z3.ExprRef, bool, Interval] | None:
    """(variable, unsigned?, interval) when ``c`` compares a bit-vector variable with a
    constant; None for any other shape (which then gives no range: conservative)."""
    if not z3.is_app(c) or c.num_args() != 2:
        return None
    kind = c.decl().kind()
    x, k = c.arg(0), c.arg(1)
    if z3.is_bv_value(x) and not z3.is_bv_value(k):
        x, k = k, x
        kind = _MIRROR.get(kind, kind)
    if kind not in _BOUNDS or not z3.is_bv(x) or not z3.is_const(x) or z3.is_bv_value(x) \
            or not z3.is_bv_value(k):
        return None
    unsigned, side, step = _BOUNDS[kind]
    w = x.size()
    value = k.as_long() if unsigned else _signed(k.as_long(), w)
    full = (0, (1 << w) - 1) if unsigned else _full(w)
    r = (value + step, full[1]) if side == "lo" else (full[0], value + step)
    return x, unsigned, r


def intervals_from_constraints(constraints: Iterable[z3.ExprRef]
                               ) -> tuple[dict[int, Interval], dict[int, Interval]]:
    """The (signed, unsigned) ranges of bit-vector variables implied by ``constraints``.

    Only conjunctions of comparisons between a variable and a constant are read; each
    bound is taken in the interpretation of its own comparison (``bvsle`` bounds the
    signed value, ``bvule`` the unsigned one) and then carried over to the other when an
    interval lies within one half of the range, where the two interpretations agree up to
    a shift. Ranges are keyed by the Z3 id of the variable (the caller keeps it alive).
    Variables whose constraints contradict each other get no range.
    """
    signed: dict[int, Interval] = {}
    unsigned: dict[int, Interval] = {}
    widths: dict[int, int] = {}
    for c in constraints:
        for part in _conjuncts(c):
            found = _bound(part)
            if found is None:
                continue
            x, is_unsigned, r = found
            key = x.get_id()
            widths[key] = x.size()
            if is_unsigned:
                unsigned[key] = _meet(unsigned.get(key), r)
            else:
                signed[key] = _meet(signed.get(key), r)
    for key, w in widths.items():
        half = 1 << (w - 1)
        s, u = signed.get(key, _full(w)), unsigned.get(key, (0, (1 << w) - 1))
        for _ in range(2):
            if u[1] < half:  # unsigned values below 2**(w-1): the same signed values
                s = _meet(s, u)
            elif u[0] >= half:  # all in the upper half: negative signed values
                s = _meet(s, (u[0] - (1 << w), u[1] - (1 << w)))
            if s[0] >= 0:
                u = _meet(u, s)
            elif s[1] < 0:
                u = _meet(u, (s[0] + (1 << w), s[1] + (1 << w)))
        if s[0] > s[1] or u[0] > u[1]:  # contradictory: no input meets them
            signed.pop(key, None)
            unsigned.pop(key, None)
            continue
        signed[key], unsigned[key] = s, u
    return signed, unsigned


class RangeSimplifier:
    """Simplifies terms given the ranges of input variables.

    ``unsigned_ranges`` maps a variable's Z3 id to the range of its *unsigned* value
    (for variables of unsigned types) and ``signed_ranges`` to that of its signed value.
    """

    def __init__(self, signed_ranges: Mapping[int, Interval],
                 unsigned_ranges: Mapping[int, Interval]) -> None:
        self.signed_ranges = dict(signed_ranges)
        self.unsigned_ranges = dict(unsigned_ranges)
        # by term id; the key term is kept alive with its entry, since Z3 reuses the ids
        # of terms it has freed
        self._memo: dict[int, tuple[z3.ExprRef, z3.ExprRef, Interval | None]] = {}

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
        if r is not None and r[1] < 0:  # negative signed values: the upper half
            return r[0] + (1 << w), r[1] + (1 << w)
        return 0, (1 << w) - 1

    def __call__(self, t: z3.ExprRef) -> z3.ExprRef:
        self._warm(t)
        return self._simplify(t)[0]

    def _warm(self, t: z3.ExprRef) -> None:
        """Simplify the subterms of ``t`` bottom-up, without recursion.

        A prefix sum unrolls into a chain of thousands of additions; simplifying it
        top-down would recurse once per level. Visited children first, every later
        recursive step finds its children in the memo and stays one level deep.
        """
        stack: list[tuple[z3.ExprRef, bool]] = [(t, False)]
        while stack:
            node, children_done = stack.pop()
            if node.get_id() in self._memo:
                continue
            if children_done:
                self._simplify(node)
                continue
            stack.append((node, True))
            if z3.is_app(node):
                stack.extend((c, False) for c in node.children()
                             if c.get_id() not in self._memo)

    def _simplify(self, t: z3.ExprRef) -> tuple[z3.ExprRef, Interval | None]:
        key = t.get_id()
        hit = self._memo.get(key)
        if hit is not None:
            return hit[1], hit[2]
        result = self._rule(t)
        self._memo[key] = (t, *result)
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
            known = self.signed_ranges.get(t.get_id())
            if known is not None:
                return t, known
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
            if t.params()[0] == 0:  # ZeroExt(0, x) is x: its signed value is x's
                return t, ranges[0]
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
            lo = sum(r[0] for r in ranges)
            hi = sum(r[1] for r in ranges)
            return t, (lo, hi) if _fits((lo, hi), w) else _full(w)
        if z3.is_app_of(t, z3.Z3_OP_BMUL) and len(ranges) == 2 and None not in ranges:
            corners = [p * q for p in ranges[0] for q in ranges[1]]
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
