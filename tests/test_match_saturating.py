"""Saturating dot products (``vpdpbusds``, ``vpdpwssds``, ...): a sequential in-place
update ``C[i] = sat_i32(i64(C[i]) + ...)`` once per group ``kk`` (the SEQ form), whose
group of reads ``A[i, 4 * kk + t]`` is one parameter with a constant dimension
(``matcher/unrolled.py``). The group loop stays sequential around the calls, in either
loop order; wrong arithmetic is refused with a counterexample that the interpreter
reproduces; the validator rejects broken views and the form rejects dependences."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import tensorize
from tensorize.equivalence.results import Refuted
from tensorize.ir.interp import bind_sizes, random_inputs, shapes_of
from tensorize.ir.nodes import Binary, CallStmt, Const, For, Function, Stmt, Var, View
from tensorize.ir.reduction import SEQ, sequential_form
from tensorize.ir.traverse import Transformer, substitute, walk
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import enumerate_candidates, tile_kernel
from tensorize.matcher.fragments import fragments
from tensorize.rewrite.apply import apply_plan, bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tensorize.rewrite.plan import make_plan
from tensorize.rewrite.validate import validate
from tests.kernels import kernel

LIB = tensorize.load_library().as_dict()
BUSDS = "x86.avx512_vnni.vpdpbusds"
WSSDS = "x86.avx512_vnni.vpdpwssds"

_PRODUCTS = " + ".join(f"i64(A[i, 4 * kk + {t}]) * i64(B[i, 4 * kk + {t}])" for t in range(4))


def satdot(n: int = 64, k: int = 32, *, outer: str = "kk",
           update: str = f"C[i] = sat_i32(i64(C[i]) + {_PRODUCTS})") -> str:
    """The saturating u8 x i8 dot product, the group loop ``kk`` outside or inside."""
    if outer == "kk":
        loops = f"for kk in 0..K / 4 {{ for i in 0..N {{ {update} }} }}"
    else:
        loops = f"for i in 0..N {{ for kk in 0..K / 4 {{ {update} }} }}"
    return f"""kernel satdot(N = {n}, K = {k}) {{
  in A: u8[N, K]
  in B: i8[N, K]
  inout C: i32[N]
  {loops}
}}"""


def _run(text: str, intrinsics: tuple[str, ...] = (), targets: tuple[str, ...] = ()):
    k = kernel(text, LIB)
    return k, TensorizePass(intrinsics=intrinsics, targets=targets).run(k, LIB)


def _calls(fn: Function) -> list[CallStmt]:
    return [n for s in fn.body for n in walk(s) if isinstance(n, CallStmt)]


def _same_outputs(original: Function, rewritten: Function, seed: int) -> None:
    """The interpreter gives the rewritten kernel the original's results on seeded
    random inputs."""
    inputs = random_inputs(original, {}, seed)
    want = tensorize.run(original, inputs, library=LIB)
    got = tensorize.run(rewritten, inputs, library=LIB)
    assert want.keys() == got.keys()
    for name in want:
        np.testing.assert_array_equal(want[name], got[name])


def _loops_around_call(fn: Function) -> list[str]:
    """The loop variables around the first call, outer to inner."""
    def down(stmt: Stmt, outer: list[str]) -> list[str] | None:
        if isinstance(stmt, CallStmt):
            return outer
        if isinstance(stmt, For):
            for s in stmt.body:
                found = down(s, outer + [stmt.var])
                if found is not None:
                    return found
        return None
    for s in fn.body:
        found = down(s, [])
        if found is not None:
            return found
    raise AssertionError("no call")


# -- the form ---------------------------------------------------------------------------
def test_the_saturating_update_is_a_sequential_in_place_form() -> None:
    k = kernel(satdot(), LIB)
    form = sequential_form(k, bind_sizes(k, {}))
    assert form is not None and form.op == SEQ and form.in_place
    assert form.spatial == ("i",) and form.reduction == ("kk",)


@pytest.mark.parametrize("update", [
    # reads another element of C: lanes are not independent
    f"C[i] = sat_i32(i64(C[N - 1 - i]) + {_PRODUCTS})",
    # two lanes write one element: the updates of different i would interleave
    f"C[i / 2] = sat_i32(i64(C[i / 2]) + {_PRODUCTS})",
])
def test_dependent_updates_are_no_fragment(update: str) -> None:
    k = kernel(satdot(update=update), LIB)
    assert sequential_form(k, bind_sizes(k, {})) is None
    _k, result = _run(satdot(update=update), (BUSDS,))
    assert all(f.chosen is None for f in result.fragments)


# -- the matches ------------------------------------------------------------------------
@pytest.mark.parametrize("outer", ["kk", "i"])
@pytest.mark.parametrize("n,k", [(64, 32), (40, 12), (16, 4), (23, 20)])
def test_saturating_dot_matches_in_either_loop_order_with_tails(outer: str, n: int,
                                                                k: int) -> None:
    original, result = _run(satdot(n, k, outer=outer), (BUSDS,))
    frag = result.fragments[0]
    assert frag.chosen is not None and frag.chosen.intrinsic == BUSDS
    assert frag.chosen.calls == (n // 16) * (k // 4)
    assert frag.chosen.tail == (n % 16) * (k // 4)
    assert result.checked_by_execution
    calls = _calls(result.rewritten)
    assert len(calls) == 1
    a = next(x.value for x in calls[0].args if x.name == "a")
    assert isinstance(a, View) and len(a.dims) == 2  # (lane, constant position t)
    if k > 4:  # the group loop stays a sequential loop around the call, in its place
        around = _loops_around_call(result.rewritten)
        assert "kk" in around
        assert around.index("kk") == (0 if outer == "kk" else 1)
    _same_outputs(bake_sizes(original, bind_sizes(original, {})), result.rewritten, seed=3)


def test_the_saturation_of_the_program_happens_and_is_kept() -> None:
    """At the bounds (C near i32 MAX, all products positive) the lanes saturate; the
    rewritten kernel still equals the original there."""
    original, result = _run(satdot(32, 8), (BUSDS,))
    assert result.fragments[0].chosen is not None
    baked = bake_sizes(original, bind_sizes(original, {}))
    inputs = {"A": np.full((32, 8), 255, np.uint8), "B": np.full((32, 8), 127, np.int8),
              "C": np.arange(2**31 - 32, 2**31, dtype=np.int64).astype(np.int32)}
    want = tensorize.run(baked, inputs, library=LIB)
    got = tensorize.run(result.rewritten, inputs, library=LIB)
    assert (want["C"] == 2**31 - 1).all()
    np.testing.assert_array_equal(want["C"], got["C"])


def test_the_target_chooses_the_saturating_form() -> None:
    _k, result = _run(satdot(), targets=("x86.avx512_vnni",))
    assert result.fragments[0].chosen is not None
    assert result.fragments[0].chosen.intrinsic == BUSDS


# -- refusals, confirmed by the interpreter ---------------------------------------------
def _confirm(attempt_proof: Refuted, tile: Function, intr: Function) -> None:
    """The counterexample, run by the interpreter on both sides, shows a difference."""
    values = attempt_proof.counterexample.values
    shapes = shapes_of(tile, {})
    inputs = {b.name: np.array(values[b.name], dtype=b.dtype.np_dtype).reshape(shapes[b.name])
              for b in tile.buffers if b.name in values}
    left = tensorize.run(tile, inputs, library=LIB)
    right = tensorize.run(intr, inputs, library=LIB)
    assert any(not np.array_equal(left[x], right[x]) for x in left)


def _refused(text: str, name: str) -> None:
    k = kernel(text, LIB)
    result = TensorizePass(intrinsics=(name,)).run(k, LIB)
    frag = result.fragments[0]
    assert frag.chosen is None
    refuted = [a for a in frag.alternatives if a.intrinsic == name and a.status == "refuted"]
    assert refuted, [(a.status, a.reason) for a in frag.alternatives]
    for a in refuted:
        assert isinstance(a.proof, Refuted) and a.tile is not None
        _confirm(a.proof, a.tile, LIB[name])


def test_saturating_each_product_is_not_vpdpbusds() -> None:
    p = [f"i64(A[i, 4 * kk + {t}]) * i64(B[i, 4 * kk + {t}])" for t in range(4)]
    acc = "i64(C[i])"
    for term in p:
        acc = f"i64(sat_i32({acc} + {term}))"
    update = f"C[i] = i32({acc})"
    _refused(satdot(update=update), BUSDS)


def test_wrapping_instead_of_saturating_is_not_vpdpbusds() -> None:
    terms = " + ".join(f"i32(A[i, 4 * kk + {t}]) * i32(B[i, 4 * kk + {t}])" for t in range(4))
    _refused(satdot(update=f"C[i] = C[i] + {terms}"), BUSDS)


def test_saturating_at_the_wrong_width_is_not_vpdpbusds() -> None:
    _refused(satdot(update=f"C[i] = i32(sat_i16(i64(C[i]) + {_PRODUCTS}))"), BUSDS)


WORDS = """kernel words(N = 32, K = 8) {
  in A: i16[N, K]
  in B: i16[N, K]
  inout C: i32[N]
  for kk in 0..K / 2 {
    for i in 0..N {
      UPDATE
    }
  }
}"""


def test_saturating_word_pairs_match_vpdpwssds() -> None:
    update = ("C[i] = sat_i32(i64(C[i]) + i64(A[i, 2 * kk]) * i64(B[i, 2 * kk]) "
              "+ i64(A[i, 2 * kk + 1]) * i64(B[i, 2 * kk + 1]))")
    original, result = _run(WORDS.replace("UPDATE", update), (WSSDS,))
    assert result.fragments[0].chosen is not None
    _same_outputs(bake_sizes(original, bind_sizes(original, {})), result.rewritten, seed=5)


def test_products_summed_in_i32_are_not_vpdpwssds() -> None:
    """-32768 * -32768 twice is 2^31: the i32 sum wraps before the saturating add."""
    update = ("C[i] = sat_i32(i64(C[i]) + i64(i32(A[i, 2 * kk]) * i32(B[i, 2 * kk]) "
              "+ i32(A[i, 2 * kk + 1]) * i32(B[i, 2 * kk + 1])))")
    _refused(WORDS.replace("UPDATE", update), WSSDS)


# -- the validator on broken views ------------------------------------------------------
def _planned(text: str, name: str):
    k = kernel(text, LIB)
    k = bake_sizes(k, bind_sizes(k, {}))
    frag = fragments(k, {})[0]
    intr = LIB[name]
    cand = enumerate_candidates(frag, intr, k, "ieee").candidates[0]
    return k, frag, intr, cand, tile_kernel(cand, frag, intr, k)


def _check(k, frag, intr, cand, tile, stmts):
    return validate(frag.form, stmts, intr, tile, make_plan(cand, frag.form, intr),
                    w_type=k.decl(frag.form.buf).dtype)


def _with_view(stmts: tuple[Stmt, ...], param: str, change) -> tuple[Stmt, ...]:
    class Swap(Transformer):
        def visit_CallStmt(self, node: CallStmt) -> CallStmt:
            args = tuple(dataclasses.replace(a, value=change(a.value)) if a.name == param
                         else a for a in node.args)
            return dataclasses.replace(node, args=args)
    return tuple(Swap()(s) for s in stmts)


def test_the_planned_rewrite_validates_with_the_order_check() -> None:
    k, frag, intr, cand, tile = _planned(satdot(40, 12, outer="i"), BUSDS)
    stmts = apply_plan(make_plan(cand, frag.form, intr), frag.form)
    check = _check(k, frag, intr, cand, tile, stmts)
    assert check.ok, check.failures
    assert "order" in check.checks


def test_a_reversed_constant_dimension_is_rejected() -> None:
    k, frag, intr, cand, tile = _planned(satdot(), BUSDS)
    stmts = apply_plan(make_plan(cand, frag.form, intr), frag.form)

    def reverse(view: View) -> View:  # t -> 3 - t: the members in the other order
        t = view.dims[1]
        flipped = Binary("-", Const(3, INDEX), Var(t, INDEX), INDEX)
        return dataclasses.replace(view, index=(view.index[0], substitute(
            view.index[1], {t: flipped})))
    bad = _with_view(stmts, "a", reverse)
    check = _check(k, frag, intr, cand, tile, bad)
    assert not check.ok


def test_a_view_skipping_members_is_rejected() -> None:
    k, frag, intr, cand, tile = _planned(satdot(), BUSDS)
    stmts = apply_plan(make_plan(cand, frag.form, intr), frag.form)

    def stride2(view: View) -> View:
        t = view.dims[1]
        double = Binary("*", Const(2, INDEX), Var(t, INDEX), INDEX)
        return dataclasses.replace(view, index=(view.index[0], substitute(
            view.index[1], {t: double})))
    check = _check(k, frag, intr, cand, tile, _with_view(stmts, "b", stride2))
    assert not check.ok


def test_a_rewrite_that_moves_a_group_after_the_calls_is_rejected() -> None:
    """The calls run groups 1.. of the full tiles and a scalar nest then runs group 0:
    every iteration is computed once (coverage holds), but each lane gets group 0 last,
    which a saturating add does not allow: the order check rejects it."""
    k, frag, intr, cand, tile = _planned(satdot(32, 12), BUSDS)
    stmts = apply_plan(make_plan(cand, frag.form, intr), frag.form)
    assert len(stmts) == 1 and isinstance(stmts[0], For) and stmts[0].var == "kk"
    good = _check(k, frag, intr, cand, tile, stmts)
    assert good.ok, good.failures
    late = dataclasses.replace(stmts[0], lo=Const(1, INDEX))
    group0: Stmt = frag.form.update_statement()
    for var, lo, hi in (("i", 0, 32), ("kk", 0, 1)):
        group0 = For(var, Const(lo, INDEX), Const(hi, INDEX), (group0,))
    check = _check(k, frag, intr, cand, tile, (late, group0))
    assert not check.ok
    assert any("order" in f for f in check.failures), check.failures


def _sat_corpus() -> list[tuple[str, str, str]]:
    import json
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "bench" / "corpus"
    entries = json.loads((root / "manifest.d" / "sat.json").read_text())["entries"]
    return [(e["kernel"], e["target"], e["expect"]) for e in entries]


@pytest.mark.parametrize("name,target,expect", _sat_corpus())
def test_each_corpus_kernel_is_rewritten_to_its_spec_and_agrees_at_the_bounds(
        name: str, target: str, expect: str) -> None:
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "bench" / "corpus" / "sat.tz"
    fn = tensorize.load(path, LIB).get(name)
    assert fn is not None
    result = tensorize.tensorize(fn, tensorize.load_library(), targets=[target])
    assert [f.chosen.intrinsic for f in result.fragments if f.chosen] == [expect]
    baked = bake_sizes(fn, bind_sizes(fn, {}))
    shapes = shapes_of(baked, {})
    for fill in ("min", "max"):  # inputs and accumulators at a bound: saturation happens
        inputs = {}
        for b in baked.buffers:
            if b.mode in ("in", "inout"):
                info = np.iinfo(b.dtype.np_dtype)
                inputs[b.name] = np.full(shapes[b.name], getattr(info, fill), b.dtype.np_dtype)
        want = tensorize.run(baked, inputs, library=LIB)
        got = tensorize.run(result.rewritten, inputs, library=LIB)
        for x in want:
            np.testing.assert_array_equal(want[x], got[x])
    _same_outputs(baked, result.rewritten, seed=17)


@pytest.mark.parametrize("first, want", [("A", "x86.avx_vnni_int16.vpdpwusds"),
                                         ("B", "x86.avx_vnni_int16.vpdpwsuds")])
def test_swapped_twins_follow_the_programs_operand_order(first: str, want: str) -> None:
    """vpdpwusds (a u16, b i16) and vpdpwsuds (a i16, b u16) tie on every count; the tie
    goes to the one whose parameters take the program's factors in order, also when each
    parameter stands for a family of constant-offset reads."""
    a, b = (first, "B" if first == "A" else "A")
    terms = " + ".join(f"i64({a}[i, 2 * kk + {t}]) * i64({b}[i, 2 * kk + {t}])"
                       for t in (0, 1))
    text = f"""kernel k(N = 16, K = 8) {{
  in A: u16[N, K]
  in B: i16[N, K]
  inout C: i32[N]
  for kk in 0..K / 2 {{ for i in 0..N {{ C[i] = sat_i32(i64(C[i]) + {terms}) }} }}
}}"""
    result = TensorizePass(targets=("x86.avx_vnni_int16",)).run(kernel(text, LIB), LIB)
    assert result.fragments[0].chosen is not None
    assert result.fragments[0].chosen.intrinsic == want
