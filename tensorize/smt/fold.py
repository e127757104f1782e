"""Constant folding, integer normal forms and substitution on terms.

:func:`simplify` replaces what the prover asked of ``z3.simplify``: an ``if`` condition
over concrete indices becomes ``true`` or ``false``, and an element offset over symbolic
indices becomes one canonical linear term, so that two sides reading one element build
one term. It folds every operator whose arguments are all literals (bit-vector
arithmetic with SMT-LIB's rules for division by zero and over-wide shifts, comparisons,
extensions, Booleans, integers and reals, the IEEE sign tests and bit conversions),
never an operation whose result SMT-LIB leaves unspecified (integer or real division by
zero) and no IEEE arithmetic. Integer ``+ - *`` trees become ``k + c1*x1 + c2*x2 ...``
with the atoms in creation order. The tests check every fold against Z3 on random terms.

:func:`substitute` replaces subterms (the abstract-product shortcut).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction

from tensorize.smt.terms import (
    BOOL,
    BV_BINARY,
    BV_COMPARE,
    FALSE,
    INT,
    TRUE,
    Term,
    add,
    bool_val,
    bv_val,
    fp_from_bits,
    fp_val,
    fp_value,
    int_val,
    make,
    mul,
    real_val,
    rebuild,
    walk,
)


def _signed(v: int, w: int) -> int:
    return v - (1 << w) if v >> (w - 1) else v


def _bv_binary(op: str, a: int, b: int, w: int) -> int:
    mask = (1 << w) - 1
    if op == "bvadd":
        return (a + b) & mask
    if op == "bvmul":
        return (a * b) & mask
    if op == "bvand":
        return a & b
    if op == "bvor":
        return a | b
    if op == "bvxor":
        return a ^ b
    if op == "bvudiv":
        return mask if b == 0 else a // b
    if op == "bvurem":
        return a if b == 0 else a % b
    if op == "bvshl":
        return 0 if b >= w else (a << b) & mask
    if op == "bvlshr":
        return 0 if b >= w else a >> b
    sa, sb = _signed(a, w), _signed(b, w)
    if op == "bvashr":
        return (sa >> min(b, w)) & mask
    if op == "bvsdiv":  # truncating; x / 0 is -1 for x >= 0 and 1 for x < 0
        if sb == 0:
            return mask if sa >= 0 else 1
        q = abs(sa) // abs(sb)
        return (-q if (sa < 0) != (sb < 0) else q) & mask
    if op == "bvsrem":  # the sign of the dividend; x rem 0 is x
        if sb == 0:
            return a
        r = abs(sa) % abs(sb)
        return (-r if sa < 0 else r) & mask
    raise AssertionError(op)


def _bv_compare(op: str, a: int, b: int, w: int) -> bool:
    if op[2] == "s":
        a, b = _signed(a, w), _signed(b, w)
    rel = op[3:]
    return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[rel]


_ARITH_CMP: dict[str, Callable[[Fraction, Fraction], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def fold(t: Term) -> Term:
    """``t`` with its own operator folded, its arguments being already folded (one step
    of :func:`simplify`)."""
    op, args = t.op, t.args
    if not args:
        return t
    if op == "not":
        a = args[0]
        if a.is_const:
            return bool_val(not a.int_value)
        if a.op == "not":
            return a.args[0]
        return t
    if op in ("and", "or"):
        unit, zero = (TRUE, FALSE) if op == "and" else (FALSE, TRUE)
        if any(a is zero for a in args):
            return zero
        kept = tuple(a for a in args if a is not unit)
        if not kept:
            return unit
        if len(kept) == 1:
            return kept[0]
        return t if len(kept) == len(args) else make(op, kept, (), BOOL)
    if op == "ite":
        c, a, b = args
        if c is TRUE or a is b:
            return a
        if c is FALSE:
            return b
        return t
    if op in ("=", "distinct"):
        a, b = args
        if a is b:
            return bool_val(op == "=")
        if a.is_const and b.is_const:  # literals are canonical: distinct ones differ
            return bool_val(op == "distinct")
        return t
    if not all(a.is_const for a in args if a.sort.kind != "rm"):
        return _linear(t) if t.sort is INT and op in ("+", "-", "*", "neg") else t
    if op in ("bvneg", "bvnot"):
        w = t.sort.width
        v = args[0].int_value
        return bv_val(-v if op == "bvneg" else ~v, w)
    if op in BV_BINARY:
        a_, b_ = (a.int_value for a in args)
        return bv_val(_bv_binary(op, a_, b_, t.sort.width), t.sort.width)
    if op in BV_COMPARE:
        a_, b_ = (a.int_value for a in args)
        return bool_val(_bv_compare(op, a_, b_, args[0].sort.width))
    if op == "extract":
        hi, lo = (int(p) for p in t.params)  # type: ignore[call-overload]  # extract's bits are ints
        return bv_val(args[0].int_value >> lo, hi - lo + 1)
    if op == "zero_extend":
        return bv_val(args[0].int_value, t.sort.width)
    if op == "sign_extend":
        v, w = args[0].int_value, args[0].sort.width
        return bv_val(_signed(v, w), t.sort.width)
    if op in ("+", "-", "*", "neg"):
        return _linear(t)
    if op in _ARITH_CMP:
        return bool_val(_ARITH_CMP[op](args[0].rational, args[1].rational))
    if op == "div":
        a_, b_ = (a.int_value for a in args)
        if b_ == 0:
            return t  # unspecified in SMT-LIB: left to the solver
        return int_val(a_ // b_ if b_ > 0 else -(a_ // -b_))  # Euclidean
    if op == "/":
        a_r, b_r = args[0].rational, args[1].rational
        return t if b_r == 0 else real_val(a_r / b_r)
    if op == "int2bv":
        return bv_val(args[0].int_value, t.sort.width)
    if op == "bv2int":
        v, w = args[0].int_value, args[0].sort.width
        return int_val(_signed(v, w) if t.params[0] else v)
    if op == "to_real":
        return real_val(args[0].int_value)
    if op == "to_fp_bits":
        return fp_val(fp_from_bits(args[0].int_value, t.sort), t.sort)
    if op in ("fp.isNaN", "fp.isInfinite", "fp.isNegative"):
        x = fp_value(args[0])
        if op == "fp.isNaN":
            return bool_val(x != x)
        if op == "fp.isInfinite":
            return bool_val(math.isinf(x))
        return bool_val(x == x and math.copysign(1.0, x) < 0)
    if op in ("fp.neg", "fp.abs"):
        x = fp_value(args[0])
        if x != x:
            return args[0]  # the one NaN
        return fp_val(-x if op == "fp.neg" else abs(x), t.sort)
    if op in ("fp.eq", "fp.lt", "fp.leq", "fp.gt", "fp.geq"):
        x, y = fp_value(args[0]), fp_value(args[1])
        rel = {"fp.eq": x == y, "fp.lt": x < y, "fp.leq": x <= y, "fp.gt": x > y,
               "fp.geq": x >= y}[op]
        return bool_val(rel)
    return t  # IEEE arithmetic, conversions, functions: left to the solver


# -- integer linear forms -----------------------------------------------------------------
Linear = tuple[dict[Term, int], int]


def _linear_of(t: Term, memo: dict[Term, Linear]) -> Linear:
    """The linear form of a (folded) integer term: atoms with coefficients, a constant."""
    hit = memo.get(t)
    if hit is not None:
        return hit
    if t.is_const:
        out: Linear = ({}, t.int_value)
    elif t.op in ("+", "-", "neg", "*") and t.sort is INT:
        forms = [_linear_of(a, memo) for a in t.args]
        if t.op == "neg":
            out = ({x: -c for x, c in forms[0][0].items()}, -forms[0][1])
        elif t.op in ("+", "-"):
            sign = 1 if t.op == "+" else -1
            coeffs = dict(forms[0][0])
            for x, c in forms[1][0].items():
                coeffs[x] = coeffs.get(x, 0) + sign * c
            out = ({x: c for x, c in coeffs.items() if c}, forms[0][1] + sign * forms[1][1])
        else:
            (ca, ka), (cb, kb) = forms
            if not ca or not cb:  # a constant factor
                scale, (coeffs, k) = (ka, (cb, kb)) if not ca else (kb, (ca, ka))
                out = ({x: c * scale for x, c in coeffs.items() if c * scale}, k * scale)
            else:
                atom = rebuild(t, [_build(f) for f in forms])
                out = ({atom: 1}, 0)
    else:
        out = ({t: 1}, 0)
    memo[t] = out
    return out


def linear_terms(t: Term) -> Linear:
    """The linear form of integer term ``t`` after :func:`simplify`: each atom (a term
    that is not ``+ - neg`` or a product by a constant) with its coefficient, and the
    constant."""
    return _linear_of(simplify(t), {})


def _build(form: Linear) -> Term:
    coeffs, k = form
    parts = [int_val(k)] if k or not coeffs else []
    parts += [x if coeffs[x] == 1 else mul(int_val(coeffs[x]), x)
              for x in sorted(coeffs, key=lambda x: x.id)]
    term = parts[0]
    for part in parts[1:]:
        term = add(term, part)
    return term


def _linear(t: Term) -> Term:
    if t.sort is not INT:  # real arithmetic on literals
        a = [x.rational for x in t.args]
        if t.op == "neg":
            return real_val(-a[0])
        return real_val(a[0] + a[1] if t.op == "+" else a[0] - a[1] if t.op == "-"
                        else a[0] * a[1])
    return _build(_linear_of(t, {}))


def simplify(t: Term) -> Term:
    """``t`` with every fold of :func:`fold` applied bottom-up (no recursion)."""
    done: dict[Term, Term] = {}
    for node in walk(t):
        done[node] = fold(rebuild(node, [done[a] for a in node.args])) if node.args else node
    return done[t]


def substitute(t: Term, pairs: Mapping[Term, Term]) -> Term:
    """``t`` with every occurrence of each key of ``pairs`` replaced by its value (of the
    same sort), bottom-up without recursion. Nothing is folded."""
    for old, new in pairs.items():
        if old.sort is not new.sort:
            raise TypeError(f"substituting {new.sort} for {old.sort}")
    out: dict[Term, Term] = {}
    for node in walk(t):
        hit = pairs.get(node)
        if hit is None:
            hit = rebuild(node, [out[a] for a in node.args]) if node.args else node
        out[node] = hit
    return out[t]
