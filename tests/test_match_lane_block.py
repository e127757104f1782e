"""Lane blocks: a loop whose body is a short block of statements, each writing its lane's
own slice ``C[i, 0]``, ``C[i, 1]`` (``x86.avx512_fp16.vfcmaddcph``: complex conjugate
multiply-accumulate, two FMA roundings per component). Matched through the whole-nest
tiler (``matcher/nest.py``): the band loop ``i`` tiled onto the spec's lanes, the
constant last dimension a dimension of every view, a scalar tail for ``N % 16``. Near
misses are refused with a counterexample the interpreter confirms; the validator
rejects tampered tiles and tails; the rewritten kernel agrees with the original."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import tensorize
from tensorize.equivalence.results import Refuted
from tensorize.ir.interp import bind_sizes, shapes_of
from tensorize.ir.nodes import Binary, Const, For, Function, If, Var
from tensorize.ir.traverse import substitute
from tensorize.ir.types import BOOL, INDEX
from tensorize.matcher.nest import nest_candidates, nest_intrinsic
from tensorize.rewrite.apply import apply_nest_plan, bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tensorize.rewrite.plan import make_nest_plan
from tensorize.rewrite.validate_nest import validate_nest
from tests.kernels import kernel

LIB = tensorize.load_library().as_dict()
CMADD = "x86.avx512_fp16.vfcmaddcph"

RIGHT = (
    "C[i, 0] = fma(A[i, 0], B[i, 0], C[i, 0])",
    "C[i, 1] = fma(A[i, 1], B[i, 0], C[i, 1])",
    "C[i, 0] = fma(A[i, 1], B[i, 1], C[i, 0])",
    "C[i, 1] = fma(-A[i, 0], B[i, 1], C[i, 1])",
)


def cplx(n: int = 100, body: tuple[str, ...] = RIGHT) -> str:
    """The conjugate complex multiply-accumulate over ``n`` interleaved pairs."""
    stmts = "\n    ".join(body)
    return f"""kernel cplx(N = {n}) {{
  in A: f16[N, 2]
  in B: f16[N, 2]
  inout C: f16[N, 2]
  for i in 0..N {{
    {stmts}
  }}
}}"""


def _run(text: str):
    return TensorizePass(intrinsics=(CMADD,)).run(kernel(text, LIB), LIB)


def _inputs(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {x: rng.uniform(-4, 4, (n, 2)).astype(np.float16) for x in ("A", "B", "C")}


def _agrees(original: Function, rewritten: Function, n: int) -> None:
    for seed in range(3):
        inputs = _inputs(n, seed)
        want = tensorize.run(original, dict(inputs), library=LIB)["C"]
        got = tensorize.run(rewritten, dict(inputs), library=LIB)["C"]
        assert want.tobytes() == got.tobytes()


@pytest.mark.parametrize(("n", "calls"), [(100, 6), (20, 1), (32, 2), (16, 1)])
def test_lane_block_is_vfcmaddcph_with_a_scalar_tail(n: int, calls: int) -> None:
    text = cplx(n)
    result = _run(text)
    chosen = [f.chosen for f in result.fragments if f.chosen]
    assert [(c.intrinsic, c.calls) for c in chosen] == [(CMADD, calls)]
    # the tail's instances are reported (coverage) and costed as scalar code
    assert chosen[0].tail == 4 * (n % 16)
    assert chosen[0].cost == calls * LIB[CMADD].cost + 4 * (n % 16)
    assert result.checked_by_execution
    (stmt,) = result.rewritten.body
    # a tail exactly when N is not a multiple of 16: the original block over the rest
    assert isinstance(stmt, If) == bool(n % 16)
    if n % 16:
        tail = stmt.then[1]
        assert isinstance(tail, For) and tail.lo == Const(n - n % 16, INDEX)
    # the plan says so too, in words and in the report
    plan = chosen[0].plan
    assert plan is not None
    tails = result.to_json()["fragments"][0]["chosen"]["plan"]["tails"]
    if n % 16:
        assert tails == [[{"var": "i", "lo": n - n % 16, "hi": n}]]
        assert f"scalar tail: the nest over i in {n - n % 16}..{n}" in plan.describe()
    else:
        assert tails == [] and "scalar tail" not in plan.describe()
    _agrees(kernel(text, LIB), result.rewritten, n)


def test_two_statement_form_is_vfcmaddcph() -> None:
    body = ("C[i, 0] = fma(A[i, 1], B[i, 1], fma(A[i, 0], B[i, 0], C[i, 0]))",
            "C[i, 1] = fma(-A[i, 0], B[i, 1], fma(A[i, 1], B[i, 0], C[i, 1]))")
    text = cplx(40, body)
    result = _run(text)
    assert [(f.chosen.intrinsic, f.chosen.calls) for f in result.fragments
            if f.chosen] == [(CMADD, 2)]
    _agrees(kernel(text, LIB), result.rewritten, 40)


def _confirm(proof: Refuted, tile: Function, intr: Function) -> None:
    """The counterexample, run by the interpreter on both sides, shows a difference."""
    values = proof.counterexample.values
    shapes = shapes_of(tile, {})
    inputs = {b.name: np.array(values[b.name], dtype=b.dtype.np_dtype).reshape(shapes[b.name])
              for b in tile.buffers if b.name in values}
    left = tensorize.run(tile, dict(inputs), library=LIB)
    right = tensorize.run(intr, dict(inputs), library=LIB)
    assert any(left[x].tobytes() != right[x].tobytes() for x in left)


NEAR_MISSES = {
    "plus on the last fma": RIGHT[:3] + ("C[i, 1] = fma(A[i, 0], B[i, 1], C[i, 1])",),
    "components of B swapped": (
        "C[i, 0] = fma(A[i, 0], B[i, 1], C[i, 0])",
        "C[i, 1] = fma(A[i, 1], B[i, 1], C[i, 1])",
        "C[i, 0] = fma(A[i, 1], B[i, 0], C[i, 0])",
        "C[i, 1] = fma(-A[i, 0], B[i, 0], C[i, 1])"),
    "written components swapped": (
        "C[i, 1] = fma(A[i, 0], B[i, 0], C[i, 1])",
        "C[i, 0] = fma(A[i, 1], B[i, 0], C[i, 0])",
        "C[i, 1] = fma(A[i, 1], B[i, 1], C[i, 1])",
        "C[i, 0] = fma(-A[i, 0], B[i, 1], C[i, 0])"),
    "c + a * b for one fma": RIGHT[:2] + ("C[i, 0] = C[i, 0] + A[i, 1] * B[i, 1]",)
    + RIGHT[3:],
    "statements reordered": (RIGHT[0], RIGHT[3], RIGHT[2], RIGHT[1]),
}


@pytest.mark.parametrize("name", sorted(NEAR_MISSES))
def test_near_miss_is_refused_with_a_confirmed_counterexample(name: str) -> None:
    result = _run(cplx(100, NEAR_MISSES[name]))
    assert all(f.chosen is None for f in result.fragments), name
    tried = [a for f in result.fragments for a in f.alternatives if a.intrinsic == CMADD]
    assert tried and all(a.status == "refuted" for a in tried), \
        [(a.status, a.reason) for a in tried]
    for a in tried:
        assert isinstance(a.proof, Refuted) and a.tile is not None
        _confirm(a.proof, a.tile, LIB[CMADD])


def test_a_lane_reading_another_lane_is_not_tiled() -> None:
    """``C[N - 1 - i, 0]`` read by lane ``i``: the lanes are not independent, so no tile
    candidate exists (and the tiled rewrite would differ: checked in the interpreter by
    running the program's lanes in reverse order, which a tiling may as well do)."""
    body = RIGHT[:3] + ("C[i, 1] = fma(-A[i, 0], B[i, 1], C[N - 1 - i, 0])",)
    text = cplx(32, body)
    k = kernel(text, LIB)
    baked = bake_sizes(k, bind_sizes(k, None))
    cands, _why = nest_candidates(baked.body[0], 0, baked, LIB[CMADD])
    assert not any(c.tiles for c in cands)
    assert all(f.chosen is None for f in _run(text).fragments)
    reverse = text.replace("for i in 0..N {", "for r in 0..N {").replace(
        "[i,", "[N - 1 - r,").replace("[N - 1 - i,", "[r,")
    inputs = _inputs(32, 5)
    a = tensorize.run(k, dict(inputs), library=LIB)["C"]
    b = tensorize.run(kernel(reverse, LIB), dict(inputs), library=LIB)["C"]
    assert a.tobytes() != b.tobytes()


def test_only_vfcmaddcph_becomes_a_nest_intrinsic_without_an_out() -> None:
    """The lane-block rule routes no other bundled spec to the whole-nest matcher."""
    inout_only = sorted(n for n, f in LIB.items() if nest_intrinsic(f)
                        and not any(b.mode == "out" for b in f.buffers))
    assert inout_only == [CMADD]


def test_tampered_tiles_and_tails_are_rejected() -> None:
    k = kernel(cplx(100), LIB)
    baked = bake_sizes(k, bind_sizes(k, None))
    intr = LIB[CMADD]
    stmt = baked.body[0]
    cands, _ = nest_candidates(stmt, 0, baked, intr)
    cand = next(c for c in cands if c.tiles and dict(c.pairing)["a"] == "A")
    assert cand.tail == 4
    plan = make_nest_plan(cand, stmt, intr)
    (wrapper,) = apply_nest_plan(plan, stmt)
    assert validate_nest(plan, (wrapper,), stmt, baked, intr).ok
    assert isinstance(wrapper, If)
    loops, tail = wrapper.then
    assert isinstance(loops, For) and isinstance(tail, For)
    call = loops.body[0]

    def with_view(name, f):
        new = replace(call, args=tuple(replace(a, value=f(a.value)) if a.name == name
                                       else a for a in call.args))
        return replace(wrapper, then=(replace(loops, body=(new,)), tail))

    def flip(v):  # c's constant dimension reversed
        return replace(v, index=(v.index[0], substitute(
            Binary("-", Const(1, INDEX), v.index[1], INDEX), {})))

    def shift(v):
        return replace(v, index=(Binary("+", v.index[0], Const(1, INDEX), INDEX),
                                 v.index[1]))
    mutants = {
        "tail overlaps the last tile": replace(wrapper, then=(loops, replace(
            tail, lo=Const(95, INDEX)))),
        "tail skips a lane": replace(wrapper, then=(loops, replace(
            tail, lo=Const(97, INDEX)))),
        "tail dropped": replace(wrapper, then=(loops,)),
        "a tile dropped": replace(wrapper, then=(replace(loops, hi=Const(5, INDEX)),
                                                 tail)),
        "tail of another body": replace(wrapper, then=(loops, replace(
            tail, body=tail.body[:3]))),
        "condition not true": replace(wrapper, cond=Binary(
            "<", Var("N", INDEX), Const(0, INDEX), BOOL)),
        "c's components exchanged": with_view("c", flip),
        "a shifted by one lane": with_view("a", shift),
        "no tail wrapper, tiles only": loops,
    }
    for name, m in mutants.items():
        assert not validate_nest(plan, (m,), stmt, baked, intr).ok, name
    # plans with a wrong tail or tile count make statements the validator refuses
    assert plan.tail is not None and (plan.tail.lo, plan.tail.hi) == (96, 100)
    wrong_plans = {
        "tail starts a lane late": replace(plan, tail=replace(plan.tail, lo=97)),
        "tail starts a lane early": replace(plan, tail=replace(plan.tail, lo=95)),
        "tail stops short": replace(plan, tail=replace(plan.tail, hi=99)),
        "no tail": replace(plan, tail=None),
        "a tile fewer": replace(plan, loops=(replace(plan.loops[0], hi=5),)),
        "a tile more": replace(plan, loops=(replace(plan.loops[0], hi=7),)),
    }
    for name, wrong in wrong_plans.items():
        emitted = apply_nest_plan(wrong, stmt)
        assert emitted != (wrapper,), name
        assert not validate_nest(wrong, emitted, stmt, baked, intr).ok, name
