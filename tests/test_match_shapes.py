"""Fragments of every shape: elementwise (map) fragments and intrinsics, and one program
buffer bound to several intrinsic parameters (syrk).

Each new shape is validated like a reduction; the tests below also break the rewrites
(an aliased view reading the other operand's index, a map whose elements are written
twice, a map that reads what it writes) and check that they are refused.
"""

from __future__ import annotations

import dataclasses

import tensorize
from tensorize.equivalence.prove import prove
from tensorize.equivalence.results import Proved
from tensorize.ir.nodes import CallStmt, For, View
from tensorize.ir.reduction import MAP, map_form
from tensorize.matcher.candidates import enumerate_candidates, tile_kernel
from tensorize.matcher.fragments import fragments
from tensorize.rewrite.apply import apply_plan, bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tensorize.rewrite.plan import make_plan
from tensorize.rewrite.validate import validate
from tests.kernels import kernel

LIB = tensorize.load_library()

SATADD = """
intrinsic test.satadd {
  summary "8 lanes of saturating i16 addition"
  target test
  in a: i16[8]
  in b: i16[8]
  out c: i16[8]
  for i in 0..8 {
    c[i] = sat_i16(i32(a[i]) + i32(b[i]))
  }
}
"""

CLAMP = """kernel clamp_add(N = 20) {
  in  X: i16[N]
  in  Y: i16[N]
  out Z: i16[N]
  for n in 0..N {
    Z[n] = i16(max(min(i32(Y[n]) + i32(X[n]), 32767), -32768))
  }
}"""

SYRK = """kernel syrk(N = 32, K = 16) {
  in  A: i8[N, K]
  out C: i32[N, N]
  for i in 0..N {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(A[j, k])
      }
    }
  }
}"""


def _library_with(spec: str) -> dict:
    module = tensorize.parse(spec, "<spec>", LIB)
    lib = dict(LIB)
    for f in module.functions:
        lib[f.name] = f
    return lib


def test_elementwise_intrinsic_matches_a_clamp_written_with_min_max() -> None:
    lib = _library_with(SATADD)
    k = kernel(CLAMP, lib)
    result = TensorizePass(intrinsics=("test.satadd",)).run(k, lib)
    chosen = result.fragments[0].chosen
    assert chosen is not None and chosen.intrinsic == "test.satadd"
    assert chosen.calls == 2 and chosen.tail == 4
    assert "validation: views" in chosen.checks


def test_elementwise_intrinsic_refused_on_a_wrapping_add() -> None:
    lib = _library_with(SATADD)
    k = kernel(CLAMP.replace("i16(max(min(i32(Y[n]) + i32(X[n]), 32767), -32768))",
                             "Y[n] + X[n]"), lib)
    report = TensorizePass(intrinsics=("test.satadd",)).run(k, lib).fragments[0]
    assert report.chosen is None
    assert report.alternatives and all(a.status == "refuted" for a in report.alternatives)


def test_map_form_needs_each_element_written_once_from_values_not_read_elsewhere() -> None:
    twice = kernel("""kernel twice(N = 16) {
  in  X: i16[N]
  out Z: i16[N]
  for n in 0..N {
    Z[n / 2] = X[n]
  }
}""", LIB)
    assert map_form(bake_sizes(twice, {"N": 16}), {}) is None
    reads = kernel("""kernel reads(N = 16) {
  in  X: i16[N]
  inout Z: i16[N]
  for n in 0..N {
    Z[n] = sat_i16(i32(Z[N - 1 - n]) + i32(X[n]))
  }
}""", LIB)
    assert map_form(bake_sizes(reads, {"N": 16}), {}) is None  # reads another element
    own = kernel("""kernel own(N = 16) {
  in  X: i16[N]
  inout Z: i16[N]
  for n in 0..N {
    Z[n] = sat_i16(i32(Z[n]) + i32(X[n]))
  }
}""", LIB)
    in_place = map_form(bake_sizes(own, {"N": 16}), {})  # reads its own element: in place
    assert in_place is not None and in_place.in_place
    ok = map_form(bake_sizes(kernel(CLAMP, LIB), {"N": 20}), {})
    assert ok is not None and ok.op == MAP and ok.spatial == ("n",)


def test_a_reduction_intrinsic_never_computes_a_map_and_vice_versa() -> None:
    lib = _library_with(SATADD)
    k = bake_sizes(kernel(CLAMP, lib), {"N": 20})
    frag = fragments(k, {})[0]
    enum = enumerate_candidates(frag, lib["x86.avx512_vnni.vpdpbusd"], k, "ieee")
    assert not enum.candidates and enum.rejections[0].kind == "signature"
    mm = bake_sizes(kernel(SYRK, lib), {"N": 32, "K": 16})
    enum = enumerate_candidates(fragments(mm, {})[0], lib["test.satadd"], mm, "ieee")
    assert not enum.candidates and enum.rejections[0].kind == "signature"


def test_requantisation_matches_mvout_scaled() -> None:
    # gemmini's mvout_scaled, an elementwise spec that no reduction fragment could reach
    text = """kernel requant(M = 16, N = 16) {
  in  Acc: i32[M, N]
  in  s: f32
  out Q: i8[M, N]
  for i in 0..M {
    for j in 0..N {
      Q[i, j] = sat_i8(rint(f32(Acc[i, j]) * s))
    }
  }
}"""
    k = bake_sizes(kernel(text, LIB), {"M": 16, "N": 16})
    frag = fragments(k, {})[0]
    enum = enumerate_candidates(frag, LIB["gemmini.mvout_scaled"], k, "ieee")
    assert "acc <- Acc, scale <- s; tile i:16 x j:16" in [c.describe() for c in enum.candidates]


def _syrk_rewrite():
    k = bake_sizes(kernel(SYRK, LIB), {"N": 32, "K": 16})
    intr = LIB["gemmini.matmul_acc"]
    frag = fragments(k, {})[0]
    for cand in enumerate_candidates(frag, intr, k, "ieee").candidates:
        tile = tile_kernel(cand, frag, intr, k)
        if isinstance(prove(tile, intr), Proved):
            plan = make_plan(cand, frag.form, intr)
            return (frag.form, apply_plan(plan, frag.form), intr, tile, plan, k, cand)
    raise AssertionError("no proved candidate")


def test_syrk_binds_one_buffer_to_two_parameters() -> None:
    k = kernel(SYRK, LIB)
    result = TensorizePass(intrinsics=("gemmini.matmul_acc",)).run(k, LIB)
    chosen = result.fragments[0].chosen
    assert chosen is not None and "A[i, k]" in chosen.mapping and "A[j, k]" in chosen.mapping
    assert result.checked_by_execution


def _call_nest_with(stmts, fix):
    def walk(s):
        if isinstance(s, For):
            return dataclasses.replace(s, body=tuple(walk(x) for x in s.body))
        if isinstance(s, CallStmt):
            return fix(s)
        return s
    return tuple(walk(s) for s in stmts)


def test_validator_checks_which_read_each_aliased_view_stands_for() -> None:
    form, stmts, intr, tile, plan, k, cand = _syrk_rewrite()
    w = k.buffer("C").dtype
    sites = dict(cand.sites)

    def hinted(hint: dict) -> object:  # the plan with other read hints
        return dataclasses.replace(plan, match=dataclasses.replace(
            cand, sites=tuple(hint.items())))
    assert validate(form, stmts, intr, tile, plan, w_type=w, construction=False).ok
    # no hint: which read of A each view is cannot be told, so it is refused
    assert not validate(form, stmts, intr, tile, hinted({}), w_type=w,
                        construction=False).ok
    # the hints swapped: the rebuilt tile or the views no longer agree
    swapped = {"a": sites["b"], "b": sites["a"]}
    assert not validate(form, stmts, intr, tile, hinted(swapped), w_type=w,
                        construction=False).ok

    # the b view reading A at the rows of a's tile (io instead of jo): refused
    def wrong_b(call: CallStmt) -> CallStmt:
        args = []
        for arg in call.args:
            if arg.name == "b":
                assert isinstance(arg.value, View)
                index = tuple(_rename(e, {"jo": "io"}) for e in arg.value.index)
                arg = dataclasses.replace(arg, value=dataclasses.replace(arg.value,
                                                                         index=index))
            args.append(arg)
        return dataclasses.replace(call, args=tuple(args))
    mutant = _call_nest_with(stmts, wrong_b)
    assert mutant != stmts
    got = validate(form, mutant, intr, tile, plan, w_type=w, construction=False)
    assert not got.ok and any("view for 'b'" in f for f in got.failures), got.failures


def _rename(e, names):
    from tensorize.ir.nodes import Var
    from tensorize.ir.traverse import substitute
    from tensorize.ir.types import INDEX

    return substitute(e, {a: Var(b, INDEX) for a, b in names.items()})
