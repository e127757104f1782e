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

from tensorize.smt import terms as T
from tensorize.smt.terms import Term

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


# comparison -> (is it unsigned, bound it gives the variable on the left: lo or hi,
#                offset to make it inclusive)
_BOUNDS = {
    "bvsge": (False, "lo", 0), "bvsgt": (False, "lo", 1),
    "bvsle": (False, "hi", 0), "bvslt": (False, "hi", -1),
    "bvuge": (True, "lo", 0), "bvugt": (True, "lo", 1),
    "bvule": (True, "hi", 0), "bvult": (True, "hi", -1),
}
_MIRROR = {"bvsge": "bvsle", "bvsle": "bvsge", "bvsgt": "bvslt", "bvslt": "bvsgt",
           "bvuge": "bvule", "bvule": "bvuge", "bvugt": "bvult", "bvult": "bvugt"}


def _conjuncts(c: Term) -> list[Term]:
    out: list[Term] = []
    stack = [c]
    while stack:
        t = stack.pop()
        if t.op == "and":
            stack.extend(reversed(t.args))
        else:
            out.append(t)
    return out


def _bound(c: Term) -> tuple[Term, bool, Interval] | None:
    """(variable, unsigned?, interval) when ``c`` compares a bit-vector variable with a
    constant; None for any other shape (which then gives no range: conservative)."""
    if len(c.args) != 2:
        return None
    kind = c.op
    x, k = c.args
    if x.is_const and not k.is_const:
        x, k = k, x
        kind = _MIRROR.get(kind, kind)
    if kind not in _BOUNDS or not x.sort.is_bv or not x.is_var or not k.is_const:
        return None
    unsigned, side, step = _BOUNDS[kind]
    w = x.width
    value = k.int_value if unsigned else _signed(k.int_value, w)
    full = (0, (1 << w) - 1) if unsigned else _full(w)
    r = (value + step, full[1]) if side == "lo" else (full[0], value + step)
    return x, unsigned, r


def intervals_from_constraints(constraints: Iterable[Term]
                               ) -> tuple[dict[Term, Interval], dict[Term, Interval]]:
    """The (signed, unsigned) ranges of bit-vector variables implied by ``constraints``.

    Only conjunctions of comparisons between a variable and a constant are read; each
    bound is taken in the interpretation of its own comparison (``bvsle`` bounds the
    signed value, ``bvule`` the unsigned one) and then carried over to the other when an
    interval lies within one half of the range, where the two interpretations agree up to
    a shift. Ranges are keyed by the variable. Variables whose constraints contradict
    each other get no range.
    """
    signed: dict[Term, Interval] = {}
    unsigned: dict[Term, Interval] = {}
    for c in constraints:
        for part in _conjuncts(c):
            found = _bound(part)
            if found is None:
                continue
            x, is_unsigned, r = found
            if is_unsigned:
                unsigned[x] = _meet(unsigned.get(x), r)
            else:
                signed[x] = _meet(signed.get(x), r)
    for key in {*signed, *unsigned}:
        w = key.width
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


_DECIDED = {"bvslt": "<", "bvsle": "<=", "bvsgt": ">", "bvsge": ">="}


class RangeSimplifier:
    """Simplifies terms given the ranges of input variables.

    ``unsigned_ranges`` maps a variable to the range of its *unsigned* value (for
    variables of unsigned types) and ``signed_ranges`` to that of its signed value.
    """

    def __init__(self, signed_ranges: Mapping[Term, Interval],
                 unsigned_ranges: Mapping[Term, Interval]) -> None:
        self.signed_ranges = dict(signed_ranges)
        self.unsigned_ranges = dict(unsigned_ranges)
        self._memo: dict[Term, tuple[Term, Interval | None]] = {}

    def interval(self, t: Term) -> Interval | None:
        """The signed range of a (simplified) bit-vector term, or None for non-bit-vectors."""
        return self._simplify(t)[1]

    def unsigned_interval(self, t: Term) -> Interval:
        """The range of the unsigned value of a bit-vector term."""
        w = t.width
        if t in self.unsigned_ranges:
            return self.unsigned_ranges[t]
        r = self.interval(t)
        if r is not None and r[0] >= 0:
            return r
        if t.op == "zero_extend":
            return self.unsigned_interval(t.args[0])
        if r is not None and r[1] < 0:  # negative signed values: the upper half
            return r[0] + (1 << w), r[1] + (1 << w)
        return 0, (1 << w) - 1

    def __call__(self, t: Term) -> Term:
        self._warm(t)
        return self._simplify(t)[0]

    def _warm(self, t: Term) -> None:
        """Simplify the subterms of ``t`` bottom-up, without recursion.

        A prefix sum unrolls into a chain of thousands of additions; simplifying it
        top-down would recurse once per level. Visited children first, every later
        recursive step finds its children in the memo and stays one level deep.
        """
        stack: list[tuple[Term, bool]] = [(t, False)]
        memo = self._memo
        while stack:
            node, children_done = stack.pop()
            if node in memo:
                continue
            if children_done:
                self._simplify(node)
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in node.args if c not in memo)

    def _simplify(self, t: Term) -> tuple[Term, Interval | None]:
        hit = self._memo.get(t)
        if hit is not None:
            return hit
        result = self._rule(t)
        self._memo[t] = result
        return result

    def _rule(self, t: Term) -> tuple[Term, Interval | None]:
        if not t.sort.is_bv:
            if t.args:
                kids = [self(c) for c in t.args]
                t = _rebuild(t, kids)
                decided = self._decide(t)
                if decided is not None:
                    return T.bool_val(decided), None
                if t.op == "ite":
                    c = t.args[0]
                    if c is T.TRUE:
                        return t.args[1], None
                    if c is T.FALSE:
                        return t.args[2], None
            return t, None
        w = t.width
        if t.is_const:
            v = _signed(t.int_value, w)
            return t, (v, v)
        if t.is_var:
            known = self.signed_ranges.get(t)
            if known is not None:
                return t, known
            ur = self.unsigned_ranges.get(t)
            if ur is not None and _fits(ur, w):
                return t, ur
            return t, _full(w)
        done = [self._simplify(c) for c in t.args]
        t = _rebuild(t, [k[0] for k in done])
        ranges = [k[1] for k in done]
        op = t.op
        if op == "sign_extend":
            inner = t.args[0]
            # SignExt(k, Extract(w-1, 0, x)) == x when x already fits in w bits
            if inner.op == "extract" and inner.params[1] == 0 and inner.args[0].width == w:
                r = self.interval(inner.args[0])
                if r is not None and _fits(r, inner.width):
                    return inner.args[0], r
            return t, ranges[0]
        if op == "zero_extend":
            if t.params[0] == 0:  # ZeroExt(0, x) is x: its signed value is x's
                return t, ranges[0]
            return t, self.unsigned_interval(t.args[0])
        if op == "extract":
            hi_bit, lo_bit = (int(p) for p in t.params)  # type: ignore[call-overload]  # extract's bits are ints
            inner = t.args[0]
            if inner.op in ("sign_extend", "zero_extend"):
                if hi_bit < inner.args[0].width:  # only the original bits are taken
                    x = inner.args[0]
                    return self._simplify(x if (lo_bit, hi_bit + 1) == (0, x.width)
                                          else T.extract(hi_bit, lo_bit, x))
            r = ranges[0]
            if lo_bit == 0 and r is not None and _fits(r, hi_bit + 1):
                if inner.op == "sign_extend" and inner.args[0].width == w:
                    return inner.args[0], r  # Extract(SignExt(x)) == x
                return t, r
            return t, _full(w)
        known_ranges = [r for r in ranges if r is not None]
        if op == "bvadd" and len(known_ranges) == len(ranges):
            lo = sum(r[0] for r in known_ranges)
            hi = sum(r[1] for r in known_ranges)
            return t, (lo, hi) if _fits((lo, hi), w) else _full(w)
        if op == "bvmul" and len(known_ranges) == len(ranges) == 2:
            corners = [p * q for p in known_ranges[0] for q in known_ranges[1]]
            r = (min(corners), max(corners))
            return t, r if _fits(r, w) else _full(w)
        if op == "bvneg" and ranges[0] is not None:
            r = (-ranges[0][1], -ranges[0][0])
            return t, r if _fits(r, w) else _full(w)
        if op == "ite":
            c = t.args[0]
            if c is T.TRUE:
                return t.args[1], ranges[1]
            if c is T.FALSE:
                return t.args[2], ranges[2]
            a, b = ranges[1], ranges[2]
            if a is not None and b is not None:
                return t, (min(a[0], b[0]), max(a[1], b[1]))
        return t, _full(w)

    def _decide(self, t: Term) -> bool | None:
        """The value of a comparison that the ranges settle, else None."""
        op = _DECIDED.get(t.op)
        if op is None:
            return None
        a, b = self.interval(t.args[0]), self.interval(t.args[1])
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


def _rebuild(t: Term, kids: list[Term]) -> Term:
    if all(k is c for k, c in zip(kids, t.args)):
        return t
    if t.op == "bvadd":
        from tensorize.equivalence.smt import canonical_sum

        return canonical_sum(kids)
    return T.rebuild(t, kids)
