"""The prover's shortcuts (value ranges, product abstraction, narrow products) are sound.

Each shortcut is checked against the plain Z3 proof (``ProveOptions(shortcuts=False,
parametric=False)``) on random small kernels mixing unsigned and signed operands of every
width, and each defect found gets its own regression test.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from tensorize.equivalence import smt
from tensorize.equivalence.prove import ProveOptions, _product_bounds, prove
from tensorize.equivalence.ranges import RangeSimplifier, intervals_from_constraints
from tensorize.equivalence.results import Proved, Refuted
from tensorize.smt import terms as T
from tensorize.smt.fold import simplify, substitute
from tests.kernels import kernel
from tests.random_pairs import check_pair, random_pairs, reproduces
from tests.smt_check import check_equal

# the pairs below are maps, which the per-element prover takes first: turn it off so that
# the unrolled prover's shortcuts are what is tested (``_refuted_and_confirmed`` also
# tries every pair with the per-element prover on)
NO_EXECUTION = ProveOptions(execution=False, parametric=False)


def _pair(body_a: str, body_b: str, decls: str, assumes: str = "") -> tuple:
    text = "kernel k {{\n{decls}\n{assumes}\n  for i in 0..2 {{ z[i] = {body} }}\n}}\n"
    return (kernel(text.format(decls=decls, assumes=assumes, body=body_a)),
            kernel(text.format(decls=decls, assumes=assumes, body=body_b)))


def _refuted_and_confirmed(a, b, options: ProveOptions) -> None:
    for opts in (options, replace(options, parametric=True)):
        result = prove(a, b, options=opts)
        assert isinstance(result, Refuted), result
        assert reproduces(a, b, result.counterexample.values)


U8_U8 = "  in a: u8[2]\n  in b: u8[2]\n  out z: i16[2]"


@pytest.mark.parametrize("options", [NO_EXECUTION, ProveOptions()])
def test_zero_extended_u8_product_in_16_bits_is_not_a_signed_product(options) -> None:
    # Was proved, even with execution (a[i] == 77 is rarely drawn): the abstraction
    # bounded the product by signed comparisons with 65025, which is -511 in 16 bits,
    # and the contradictory bounds proved anything.
    a, b = _pair("i16(a[i]) * i16(b[i])",
                 "i16(a[i]) * i16(b[i]) + i16(a[i] == u8(77))", U8_U8)
    _refuted_and_confirmed(a, b, options)


def test_saturated_u8_product_computed_in_i16_keeps_its_saturation() -> None:
    # Found by the differential campaign: was proved without execution.
    a, b = _pair("sat_u8(i16(u8(a[i])) * i16(u8(b[i])))",
                 "u8(i16(u8(a[i])) * i16(u8(b[i])))",
                 "  in a: u8[2]\n  in b: u8[2]\n  out z: u8[2]")
    _refuted_and_confirmed(a, b, NO_EXECUTION)


def test_assumed_unsigned_range_is_not_a_signed_range() -> None:
    # a in 0..=200 as u8 is -56..=-1 and 0..=127 once reinterpreted as i8; the product
    # abstraction took 0..=200 as the range of the sign-extended i8 and proved the
    # product never negative.
    decls = "  in a: u8[2]\n  in b: u8[2]\n  out z: i16[2]"
    p = "i16(i8(a[i])) * i16(b[i])"
    a, b = _pair(p, f"select({p} < i16(0), i16(5), {p})", decls, "  assume a in 0..=200")
    _refuted_and_confirmed(a, b, NO_EXECUTION)


def test_a_buffer_read_as_u8_and_as_i8_keeps_both_ranges() -> None:
    # The range simplifier mixed the u8 side's 250..=255 with the i8 side's -10..=10
    # into an empty interval, and decided `a < 0` false.
    a = kernel("""kernel k { in a: u8[2]
      out z: i8[2]
      assume a in 250..=255
      for i in 0..2 { z[i] = i8(a[i]) } }""")
    b = kernel("""kernel k { in a: i8[2]
      out z: i8[2]
      assume a in -10..=10
      for i in 0..2 { z[i] = select(a[i] < i8(0), i8(7), a[i]) } }""")
    _refuted_and_confirmed(a, b, NO_EXECUTION)


BV8 = T.bv_sort(8)


def test_intervals_are_read_in_the_signedness_of_their_comparison() -> None:
    x, y, w = T.var("x", BV8), T.var("y", BV8), T.var("w", T.bv_sort(16))

    def within(v: T.Term, ge: str, lo: int, le: str, hi: int) -> T.Term:
        return T.and_(T.bv_cmp(ge, v, T.bv_val(lo, v.width)),
                      T.bv_cmp(le, v, T.bv_val(hi, v.width)))

    signed, unsigned = intervals_from_constraints([
        within(x, "bvuge", 250, "bvule", 255),  # u8 250..=255: i8 -6..=-1
        within(x, "bvsge", -10, "bvsle", 10),
        within(y, "bvsge", 0, "bvslt", 100),
        within(w, "bvuge", 1, "bvult", 40000),  # crosses the sign boundary
    ])
    assert signed[x] == (-6, -1) and unsigned[x] == (250, 255)
    assert signed[y] == (0, 99) and unsigned[y] == (0, 99)
    assert unsigned[w] == (1, 39999)
    assert signed[w] == (-32768, 32767)  # no single signed interval is exact


def test_contradictory_intervals_give_no_range() -> None:
    x = T.var("x", BV8)
    signed, unsigned = intervals_from_constraints([
        T.and_(T.bv_cmp("bvsge", x, T.bv_val(5, 8)), T.bv_cmp("bvsle", x, T.bv_val(3, 8)))])
    assert x not in signed and x not in unsigned


def test_zero_extension_by_nothing_keeps_the_signed_range() -> None:
    x = T.var("x", BV8)
    simplifier = RangeSimplifier({x: (-56, -1)}, {x: (200, 255)})
    assert simplifier.interval(T.zero_ext(0, x)) == (-56, -1)
    assert simplifier.interval(T.zero_ext(8, x)) == (200, 255)


@pytest.mark.parametrize("lo, hi, width, unsigned", [
    (0, 65025, 16, True), (-16256, 16384, 16, False), (0, 127, 8, False),
    (0, 255, 8, True), (-1, 255, 8, None), (0, 70000, 16, None)])
def test_product_bounds_use_the_interpretation_the_range_fits(lo, hi, width, unsigned
                                                               ) -> None:
    fresh = T.var("p", T.bv_sort(width))
    bounds = _product_bounds(fresh, lo, hi)
    if unsigned is None:
        assert bounds is None
        return
    assert bounds is not None
    kinds = {b.op for b in bounds}
    assert kinds <= ({"bvuge", "bvule"} if unsigned else {"bvsge", "bvsle"})
    for value in (lo, hi):  # every exact product in range meets the bounds
        pinned = substitute(T.and_(*bounds), {fresh: T.bv_val(value, width)})
        assert simplify(pinned) is T.TRUE


EXTENSIONS = [(w, signed) for w in (8, 16, 32) for signed in (False, True)]


@pytest.mark.parametrize("outer", [16, 32, 64])
def test_narrow_products_equal_the_plain_product(outer: int) -> None:
    """The double-width shortcut of the translation, for every pair of extensions."""
    for (wx, sx), (wy, sy) in itertools.product(EXTENSIONS, repeat=2):
        if max(wx, wy) >= outer:
            continue
        x, y = T.var(f"x{wx}", T.bv_sort(wx)), T.var(f"y{wy}", T.bv_sort(wy))
        ex = T.sign_ext(outer - wx, x) if sx else T.zero_ext(outer - wx, x)
        ey = T.sign_ext(outer - wy, y) if sy else T.zero_ext(outer - wy, y)
        narrow = smt._narrow_product(ex, ey)
        if narrow is None:
            continue
        assert check_equal(narrow, T.bvmul(ex, ey)), (wx, sx, wy, sy, outer)


def test_shortcuts_agree_with_the_plain_proof_on_random_kernels() -> None:
    """A shortcut answers "proved" only where the plain proof and execution agree."""
    statuses = []
    for pair in random_pairs(seed=2024, count=45):
        checked = check_pair(pair)
        if checked is None:
            continue
        verdicts, problem = checked
        assert problem is None, f"{pair.description}\n{problem}\n{pair.left}\n{pair.right}"
        statuses.append((verdicts.shortcut.status, verdicts.plain.status))
    # the campaign exercises both answers, and the shortcuts prove what the plain proof does
    assert sum(s == ("proved", "proved") for s in statuses) >= 10
    assert sum(s[0] == "refuted" for s in statuses) >= 5


def test_the_shortcuts_option_turns_them_off(monkeypatch) -> None:
    from tensorize.equivalence import prove as prove_mod

    def forbidden(*args, **kwargs):
        raise AssertionError("a shortcut ran")

    a, b = _pair("i16(a[i]) * i16(b[i])", "i16(b[i]) * i16(a[i]) + i16(0)", U8_U8,
                 "  assume a in 0..=100")
    monkeypatch.setattr(prove_mod, "_abstract_proof", forbidden)
    monkeypatch.setattr(prove_mod, "RangeSimplifier", forbidden)
    plain = prove(a, b, options=ProveOptions(execution=False, shortcuts=False,
                                             parametric=False))
    assert isinstance(plain, Proved), plain
    with pytest.raises(AssertionError, match="a shortcut ran"):
        prove(a, b, options=NO_EXECUTION)
