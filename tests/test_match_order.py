"""IEEE-mode float matches that keep each output element's order of updates, and guards
that always hold.

A float reduction may not be reordered in ``ieee`` mode, but an intrinsic that adds in the
program's order and rounding (``test.bfmmla_ordered`` below; the bundled
``arm.neon.bfmmla`` is declared ``order unordered``, as its rounding is the
implementation's) computes the program exactly when each output element still receives
its updates in order. The matcher only proposes such candidates
(:func:`tensorize.matcher.candidates.keeps_order`) and the validator checks the order on
the emitted code (check 7); a rewrite that walks the tiles of the reduction backwards is
refused. ``fma`` in a spec against ``c + a*b`` in a program is a different rounding:
refused in ``ieee``, accepted in ``real``.
"""

from __future__ import annotations

import dataclasses

import tensorize
from tensorize.equivalence.prove import prove
from tensorize.equivalence.results import Proved
from tensorize.ir.nodes import Binary, CallStmt, Const, For, Var
from tensorize.ir.reduction import Loop, always
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import enumerate_candidates, tile_kernel
from tensorize.matcher.fragments import fragments
from tensorize.rewrite.apply import apply_plan, bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tensorize.rewrite.plan import make_plan
from tensorize.rewrite.validate import ORDER_CHECK, validate
from tests.kernels import kernel

ORDERED = """intrinsic test.bfmmla_ordered {
  summary "bfmmla with each f32 add rounded to nearest even, in k order (a test spec)"
  target test
  in a: bf16[2, 4]
  in b: bf16[2, 4]
  inout c: f32[2, 2]
  for i in 0..2 {
    for j in 0..2 {
      for k in 0..4 {
        c[i, j] += f32(a[i, k]) * f32(b[j, k])
      }
    }
  }
}
"""
_BUNDLED = tensorize.load_library()
LIB = {**_BUNDLED.as_dict(),
       "test.bfmmla_ordered": tensorize.parse(ORDERED, "<test>", _BUNDLED).functions[0]}

BF16 = """kernel bf(M = 4, N = 4, K = 8) {
  in  A: bf16[M, K]
  in  B: bf16[N, K]
  out C: f32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += f32(A[i, k]) * f32(B[j, k])
      }
    }
  }
}"""

F32 = """kernel f(M = 8, N = 4, K = 3) {
  in  A: f32[M, K]
  in  B: f32[K]
  out C: f32[M]
  for i in 0..M {
    C[i] = 0
    for k in 0..K {
      C[i] += A[i, k] * B[k]
    }
  }
}"""


def _run(text: str, fp: str, intrinsics: tuple[str, ...]):
    k = kernel(text, LIB)
    return TensorizePass(fp=fp, intrinsics=intrinsics).run(k, LIB)  # type: ignore[arg-type]


def test_ieee_bf16_matches_an_ordered_intrinsic_and_checks_the_order() -> None:
    result = _run(BF16, "ieee", ("test.bfmmla_ordered",))
    chosen = result.fragments[0].chosen
    assert chosen is not None and chosen.intrinsic == "test.bfmmla_ordered"
    assert f"validation: {ORDER_CHECK}" in chosen.checks


def test_fma_spec_refused_in_ieee_accepted_in_real() -> None:
    ieee = _run(F32, "ieee", ("arm.neon.fmla_lane",)).fragments[0]
    assert ieee.chosen is None
    assert any(a.status == "refuted" for a in ieee.alternatives)
    real = _run(F32, "real", ("arm.neon.fmla_lane",)).fragments[0]
    assert real.chosen is not None


def test_unordered_intrinsic_is_refused_for_ieee_floats() -> None:
    spec = BF16.replace("kernel bf", "kernel unused") + """
intrinsic test.bfmmla_unordered {
  target test
  order unordered
  in a: bf16[2, 4]
  in b: bf16[2, 4]
  inout c: f32[2, 2]
  for i in 0..2 {
    for j in 0..2 {
      for k in 0..4 {
        c[i, j] += f32(a[i, k]) * f32(b[j, k])
      }
    }
  }
}
"""
    module = tensorize.parse(spec, "<test>", LIB)
    intr = next(f for f in module.functions if f.kind == "intrinsic")
    k = kernel(BF16, LIB)
    baked = bake_sizes(k, {p.name: p.default for p in k.params})
    frag = fragments(baked, {})[0]
    enum = enumerate_candidates(frag, intr, baked, "ieee")
    assert not enum.candidates
    assert "unordered" in enum.rejections[0].message
    assert enumerate_candidates(frag, intr, baked, "real").candidates


def _proved_rewrite(text: str, intr_name: str, fp: str):
    k = kernel(text, LIB)
    baked = bake_sizes(k, {p.name: p.default for p in k.params})
    intr = LIB[intr_name]
    frag = fragments(baked, {})[0]
    for cand in enumerate_candidates(frag, intr, baked, fp).candidates:
        tile = tile_kernel(cand, frag, intr, baked)
        if isinstance(prove(tile, intr, options=None), Proved):
            plan = make_plan(cand, frag.form, intr)
            return frag.form, apply_plan(plan, frag.form), intr, tile, plan, baked
    raise AssertionError("no proved candidate")


def _reverse_tiles(stmts, loop: str, count: int):
    """The call nest with the tiles of ``loop`` visited backwards (same iterations)."""
    backwards = Binary("-", Const(count - 1, INDEX), Var(loop, INDEX), INDEX)

    def walk(s):
        if isinstance(s, For):
            return dataclasses.replace(s, body=tuple(walk(x) for x in s.body))
        if isinstance(s, CallStmt):
            from tensorize.ir.traverse import substitute

            args = tuple(dataclasses.replace(a, value=dataclasses.replace(
                a.value, index=tuple(substitute(e, {loop: backwards})
                                     for e in a.value.index))) for a in s.args)
            return dataclasses.replace(s, args=args)
        return s
    return tuple(walk(s) if any(isinstance(n, CallStmt) for n in _nodes(s)) else s
                 for s in stmts)


def _nodes(s):
    from tensorize.ir.traverse import walk

    return list(walk(s))


def test_validator_refuses_tiles_of_the_reduction_walked_backwards() -> None:
    text = BF16.replace("K = 8", "K = 12")
    form, stmts, intr, tile, plan, baked = _proved_rewrite(text, "test.bfmmla_ordered",
                                                           "ieee")
    w = baked.buffer(form.buf).dtype
    assert validate(form, stmts, intr, tile, plan, w_type=w, construction=False).ok
    mutant = _reverse_tiles(stmts, "ko", 3)
    # the same iterations: the witness changes accordingly, only the order differs
    wit = dict(plan.witness)
    wit["k"] = Binary("+", Binary("*", Const(4, INDEX), Binary(
        "-", Const(2, INDEX), Var("ko", INDEX), INDEX), INDEX), Var("k", INDEX), INDEX)
    got = validate(form, mutant, intr, tile,
                   dataclasses.replace(plan, witness=tuple(wit.items())), w_type=w,
                   construction=False)
    assert not got.ok
    assert any("order" in f for f in got.failures), got.failures


def test_integer_tiles_walked_backwards_are_still_valid() -> None:
    text = """kernel q(M = 4, N = 4, K = 24) {
  in  A: i8[M, K]
  in  B: i8[N, K]
  out C: i32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(B[j, k])
      }
    }
  }
}"""
    form, stmts, intr, tile, plan, baked = _proved_rewrite(text, "arm.neon.smmla", "ieee")
    mutant = _reverse_tiles(stmts, "ko", 3)
    wit = dict(plan.witness)
    wit["k"] = Binary("+", Binary("*", Const(8, INDEX), Binary(
        "-", Const(2, INDEX), Var("ko", INDEX), INDEX), INDEX), Var("k", INDEX), INDEX)
    got = validate(form, mutant, intr, tile,
                   dataclasses.replace(plan, witness=tuple(wit.items())),
                   w_type=baked.buffer(form.buf).dtype, construction=False)
    assert got.ok, got.failures
    assert ORDER_CHECK not in got.checks


def test_ordered_candidates_keep_the_inner_reduction_loops() -> None:
    # two reduction loops, k outer (8) and k2 inner (2): a bfmmla tile (4 along k) over k
    # alone would interleave k2 wrongly, so only the fused (k, k2) group is proposed
    text = """kernel two(M = 2, N = 2, K = 8, L = 2) {
  in  A: bf16[M, K, L]
  in  B: bf16[N, K, L]
  out C: f32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        for k2 in 0..L {
          C[i, j] += f32(A[i, k, k2]) * f32(B[j, k, k2])
        }
      }
    }
  }
}"""
    k = kernel(text, LIB)
    baked = bake_sizes(k, {p.name: p.default for p in k.params})
    frag = fragments(baked, {})[0]
    enum = enumerate_candidates(frag, LIB["test.bfmmla_ordered"], baked, "ieee")
    assert enum.candidates
    for cand in enum.candidates:
        red = [g for g in cand.groups if "k" in g.vars or "k2" in g.vars]
        assert [g.vars for g in red] == [("k", "k2")]
    assert any(len([g for g in c.groups if g.vars == ("k",)]) for c in
               enumerate_candidates(frag, LIB["test.bfmmla_ordered"], baked, "real").candidates)
    result = _run(text, "ieee", ("test.bfmmla_ordered",))
    assert result.fragments[0].chosen is not None


def test_guard_that_always_holds_is_dropped() -> None:
    box = (Loop("i", 0, 8), Loop("k", 2, 5))
    k_ = Var("k", INDEX)
    assert always(Binary("<", k_, Const(5, INDEX), None), box, {}) is True
    assert always(Binary("<", k_, Const(4, INDEX), None), box, {}) is None
    assert always(Binary(">=", k_, Const(5, INDEX), None), box, {}) is False
    assert always(Binary("&&", Binary(">=", k_, Const(2, INDEX), None),
                         Binary("<", k_, Const(9, INDEX), None), None), box, {}) is True
    text = """kernel g(M = 16, N = 16, K = 8) {
  in  A: i8[M, K]
  in  B: i8[K, N]
  out C: i32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        if k < BOUND { C[i, j] = C[i, j] + i32(A[i, k]) * i32(B[k, j]) }
      }
    }
  }
}"""
    held = kernel(text.replace("BOUND", "8"), LIB)
    assert fragments(bake_sizes(held, {"M": 16, "N": 16, "K": 8}), {})
    assert _run(text.replace("BOUND", "8"), "ieee", ("arm.neon.smmla",)).changed
    partial = kernel(text.replace("BOUND", "7"), LIB)
    assert not fragments(bake_sizes(partial, {"M": 16, "N": 16, "K": 8}), {})
