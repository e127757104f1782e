"""Whole-nest matching (tensorize/matcher/nest.py): gemmini.matmul_preload (an init read
from another buffer) and onednn.sgemm_bias_relu (a local accumulator and an epilogue)
match a whole nest as one call; near misses are refuted, with the difference confirmed
by the interpreter, and a tampered call is rejected by the validator of the emitted
statement (tensorize/rewrite/validate_nest.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

import tensorize
from tensorize.ir.interp import bind_sizes, run
from tensorize.ir.nodes import Arg, Const, View
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import instantiate
from tensorize.matcher.nest import nest_candidates, overwrites_outputs
from tensorize.rewrite.apply import apply_nest_plan, bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tensorize.rewrite.plan import make_nest_plan
from tensorize.rewrite.validate_nest import validate_nest
from tests.kernels import kernel

LIB = tensorize.load_library()

PRELOAD = """kernel p(M = 16, N = 16, K = 16) {
  in A: i8[M, K]
  in B: i8[K, N]
  in D: i32[M, N]
  out C: i32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = INIT
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(B[k, j])
      }
    }
  }
}"""

FC_LOCAL = """kernel f(M = 4, N = 8, K = 8) {
  in A: f32[M, K]
  in B: f32[K, N]
  in bias: f32[N]
  out C: f32[M, N]
  local acc: f32
  for i in 0..M {
    for j in 0..N {
      acc = bias[j]
      for k in 0..K {
        acc += A[i, k] * B[k, j]
      }
      C[i, j] = ACT(acc, 0.0)
    }
  }
}"""

FC_INPLACE = """kernel g(M = 4, N = 8, K = 8) {
  in A: f32[M, K]
  in B: f32[K, N]
  in bias: f32[N]
  out C: f32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = bias[j]
      for k in 0..K {
        C[i, j] += A[i, k] * B[k, j]
      }
      C[i, j] = ACT(C[i, j], 0.0)
    }
  }
}"""


def _result(text: str, target: str, fp: str = "ieee"):
    k = kernel(text, LIB.as_dict())
    return TensorizePass(targets=(target,), fp=fp).run(k, LIB)


def _chosen(text: str, target: str, fp: str = "ieee") -> list[str | None]:
    return [f.chosen.intrinsic if f.chosen else None
            for f in _result(text, target, fp).fragments]


def _differ(a_text: str, b_text: str, inputs: dict[str, np.ndarray], out: str,
            mode: str = "vector") -> bool:
    a = run(kernel(a_text, LIB.as_dict()), inputs, library=LIB.as_dict(), mode=mode)[out]
    b = run(kernel(b_text, LIB.as_dict()), inputs, library=LIB.as_dict(), mode=mode)[out]
    return a.tobytes() != b.tobytes() if mode == "vector" else bool(np.any(a != b))


def test_preload_matches_the_whole_nest_with_its_init() -> None:
    result = _result(PRELOAD.replace("INIT", "D[i, j]"), "gemmini")
    chosen = [f.chosen for f in result.fragments if f.chosen]
    assert [c.intrinsic for c in chosen] == ["gemmini.matmul_preload"]
    assert result.checked_by_execution
    assert any("tile proof" in c for c in chosen[0].checks)
    # the init is no longer a scalar copy in front of a matmul_acc call: one call
    assert len(result.rewritten.body) == 1


def test_preload_with_the_init_reading_the_wrong_element_is_refuted() -> None:
    rng = np.random.default_rng(1)
    inputs = {"A": rng.integers(-128, 127, (16, 16), dtype=np.int8),
              "B": rng.integers(-128, 127, (16, 16), dtype=np.int8),
              "D": rng.integers(-1000, 1000, (16, 16), dtype=np.int32)}
    for init in ("D[i, 0]", "D[M - 1 - i, j]"):
        text = PRELOAD.replace("INIT", init)
        result = _result(text, "gemmini")
        chosen = [f.chosen.intrinsic for f in result.fragments if f.chosen]
        assert "gemmini.matmul_preload" not in chosen, init
        tried = [a for f in result.fragments for a in f.alternatives
                 if a.intrinsic == "gemmini.matmul_preload"]
        assert tried and all(a.status == "refuted" for a in tried), init
        # the interpreter confirms: the program differs from the right preload nest
        assert _differ(text, PRELOAD.replace("INIT", "D[i, j]"), inputs, "C"), init


def test_sgemm_bias_relu_matches_both_forms_in_real_mode_only() -> None:
    for text in (FC_LOCAL, FC_INPLACE):
        good = text.replace("ACT", "max")
        result = _result(good, "onednn", "real")
        chosen = [f.chosen for f in result.fragments if f.chosen]
        assert [c.intrinsic for c in chosen] == ["onednn.sgemm_bias_relu"]
        assert dict(chosen[0].sizes) == {"M": 4, "N": 8, "K": 8}
        assert result.checked_by_execution
        assert _chosen(good, "onednn", "ieee") == [None] * len(
            _result(good, "onednn", "ieee").fragments)


def test_sgemm_bias_relu_with_min_is_refuted() -> None:
    rng = np.random.default_rng(2)
    inputs = {"A": rng.standard_normal((4, 8)).astype(np.float32),
              "B": rng.standard_normal((8, 8)).astype(np.float32),
              "bias": rng.standard_normal(8).astype(np.float32)}
    for text in (FC_LOCAL, FC_INPLACE):
        bad = text.replace("ACT", "min")
        result = _result(bad, "onednn", "real")
        assert not any(f.chosen for f in result.fragments)
        tried = [a for f in result.fragments for a in f.alternatives
                 if a.intrinsic == "onednn.sgemm_bias_relu"]
        assert tried and all(a.status == "refuted" for a in tried)
        assert _differ(bad, text.replace("ACT", "max"), inputs, "C", mode="real")


def test_a_local_used_by_another_statement_is_not_matched() -> None:
    text = FC_LOCAL.replace("ACT", "max").replace("  out C: f32[M, N]\n",
                                                 "  out C: f32[M, N]\n  out R: f32\n")
    text = text.rstrip()[:-1] + "  R = acc\n}"
    k = kernel(text, LIB.as_dict())
    baked = bake_sizes(k, bind_sizes(k, None))
    cands, why = nest_candidates(baked.body[0], 0, baked, LIB["onednn.sgemm_bias_relu"])
    assert cands == [] and "local" in why


def test_the_emitted_call_is_checked_against_the_proved_nest() -> None:
    k = kernel(FC_LOCAL.replace("ACT", "max"), LIB.as_dict())
    baked = bake_sizes(k, bind_sizes(k, None))
    intr = LIB["onednn.sgemm_bias_relu"]
    cands, _ = nest_candidates(baked.body[0], 0, baked, intr)
    cand = next(c for c in cands if dict(c.pairing) == {"A": "A", "B": "B", "bias": "bias",
                                                       "C": "C"})
    inst = instantiate(intr, cand.sizes)
    stmt = baked.body[0]
    plan = make_nest_plan(cand, stmt, intr)
    (call,) = apply_nest_plan(plan, stmt)
    assert validate_nest(plan, (call,), stmt, baked, inst).ok
    args = {a.name: a for a in call.args}

    def with_arg(name: str, value) -> object:
        return replace(call, args=tuple(Arg(name, value) if a.name == name else a
                                        for a in call.args))
    mutants = [
        with_arg("K", Const(4, INDEX)),                                  # wrong size
        with_arg("A", replace(args["A"].value, buf="B")),                # wrong buffer
        with_arg("bias", View(("b0",), "bias", (Const(0, INDEX),))),     # not whole
        replace(call, name="blas.sgemm"),                                # other intrinsic
        replace(call, args=call.args[:-1]),                              # missing view
    ]
    for m in mutants:
        assert not validate_nest(plan, (m,), stmt, baked, inst).ok, m
    # a plan whose call has a wrong size makes a statement the validator refuses
    wrong = replace(plan, args=tuple(Arg("K", Const(4, INDEX)) if a.name == "K" else a
                                     for a in plan.args))
    assert not validate_nest(wrong, apply_nest_plan(wrong, stmt), stmt, baked, inst).ok
    assert not validate_nest(plan, (call, call), stmt, baked, inst).ok  # one statement


def test_overwrites_outputs_by_form() -> None:
    assert overwrites_outputs(LIB["gemmini.matmul_preload"])
    assert overwrites_outputs(instantiate(LIB["onednn.sgemm_bias_relu"],
                                          {"M": 2, "N": 2, "K": 2}))
    text = """kernel h {
  in a: f32[4]
  out c: f32[4]
  for i in 0..STOP {
    c[i] = a[i]
  }
}"""
    whole = kernel(text.replace("STOP", "4"), LIB.as_dict())
    half = kernel(text.replace("STOP", "2"), LIB.as_dict())
    assert overwrites_outputs(replace(whole, kind="intrinsic"))
    assert not overwrites_outputs(replace(half, kind="intrinsic"))


def test_preload_tiles_a_larger_nest_one_call_per_output_tile() -> None:
    text = PRELOAD.replace("INIT", "D[i, j]").replace("M = 16, N = 16", "M = 32, N = 48")
    result = _result(text, "gemmini")
    chosen = [f.chosen for f in result.fragments if f.chosen]
    assert [(c.intrinsic, c.calls) for c in chosen] == [("gemmini.matmul_preload", 6)]
    assert result.checked_by_execution


def test_preload_is_not_used_when_the_reduction_spans_two_tiles() -> None:
    """Near miss: with K = 32 a preload per k tile would start each tile from D again.
    The tiler refuses it (the tile would read past the parameters); the interpreter
    confirms that two preloads over the k halves are not the program."""
    text = PRELOAD.replace("INIT", "D[i, j]").replace("K = 16", "K = 32")
    chosen = _chosen(text, "gemmini")
    assert "gemmini.matmul_preload" not in chosen
    wrong = """kernel w {
  in A: i8[16, 32]
  in B: i8[32, 16]
  in D: i32[16, 16]
  out C: i32[16, 16]
  for ko in 0..2 {
    call gemmini.matmul_preload(a = (a0, a1) -> A[a0, a1 + 16 * ko],
        b = (b0, b1) -> B[b0 + 16 * ko, b1], d = (d0, d1) -> D[d0, d1],
        c = (c0, c1) -> C[c0, c1])
  }
}"""
    rng = np.random.default_rng(3)
    inputs = {"A": rng.integers(-128, 127, (16, 32), dtype=np.int8),
              "B": rng.integers(-128, 127, (32, 16), dtype=np.int8),
              "D": rng.integers(-1000, 1000, (16, 16), dtype=np.int32)}
    assert _differ(text, wrong, inputs, "C")


def test_tiled_preload_with_the_init_reading_the_wrong_element_is_refuted() -> None:
    text = PRELOAD.replace("INIT", "D[i, 0]").replace("M = 16, N = 16", "M = 32, N = 32")
    result = _result(text, "gemmini")
    assert "gemmini.matmul_preload" not in [f.chosen.intrinsic for f in result.fragments
                                            if f.chosen]
    tried = [a for f in result.fragments for a in f.alternatives
             if a.intrinsic == "gemmini.matmul_preload"]
    assert tried and all(a.status == "refuted" for a in tried)


def test_tampered_tiles_are_rejected() -> None:
    from tensorize.ir.nodes import Binary, For
    text = PRELOAD.replace("INIT", "D[i, j]").replace("M = 16, N = 16", "M = 32, N = 32")
    k = kernel(text, LIB.as_dict())
    baked = bake_sizes(k, bind_sizes(k, None))
    intr = LIB["gemmini.matmul_preload"]
    cands, _ = nest_candidates(baked.body[0], 0, baked, intr)
    cand = next(c for c in cands if c.tiles and dict(c.pairing)["a"] == "A")
    stmt = baked.body[0]
    plan = make_nest_plan(cand, stmt, intr)
    (outer,) = apply_nest_plan(plan, stmt)
    assert validate_nest(plan, (outer,), stmt, baked, intr).ok
    assert isinstance(outer, For)
    inner = outer.body[0]
    call = inner.body[0]

    def rebuilt(new_call=None, hi=None):
        c = new_call or call
        i2 = replace(inner, body=(c,))
        return replace(outer, body=(i2,), hi=hi or outer.hi)

    def with_view(name, f):
        return replace(call, args=tuple(replace(a, value=f(a.value)) if a.name == name
                                        else a for a in call.args))
    swap = {"io": "jo", "jo": "io"}

    def swapped(v):  # the view of d with its tile offsets exchanged
        return replace(v, index=tuple(_rename(e, swap) for e in v.index))
    mutants = [
        rebuilt(hi=Const(1, INDEX)),                                   # a tile dropped
        rebuilt(with_view("d", swapped)),                              # D's tiles swapped
        rebuilt(with_view("a", lambda v: replace(v, index=(Binary(
            "+", v.index[0], Const(1, INDEX), INDEX), v.index[1])))),   # shifted by one
        rebuilt(replace(call, name="gemmini.matmul_acc")),             # another intrinsic
    ]
    for m in mutants:
        assert not validate_nest(plan, (m,), stmt, baked, intr).ok, m
    # a plan with a tile count off by one makes statements the validator refuses
    for loop in (0, 1):
        loops = list(plan.loops)
        loops[loop] = replace(loops[loop], hi=loops[loop].hi - 1)
        fewer = replace(plan, loops=tuple(loops))
        assert not validate_nest(fewer, apply_nest_plan(fewer, stmt), stmt, baked,
                                 intr).ok, loop


def _rename(e, names):
    from tensorize.ir.nodes import Var
    from tensorize.ir.traverse import substitute
    return substitute(e, {a: Var(b, INDEX) for a, b in names.items()})
