"""The typed chain Match -> Plan -> Rewrite: the kernel gets exactly the statements of the
chosen plan (those the validator checked), the plan prints itself in the report, and the
pass has the shape of an xDSL ModulePass."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

import tensorize
from tensorize.errors import UsageError
from tensorize.ir.nodes import Binary, CallStmt, Const, For
from tensorize.ir.printer import format_stmt
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import enumerate_candidates, tile_kernel
from tensorize.matcher.fragments import fragments
from tensorize.rewrite.apply import apply_plan, bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tensorize.rewrite.plan import Plan, make_plan
from tensorize.rewrite.validate import validate

LIB = tensorize.load_library().as_dict()
VNNI = "x86.avx512_vnni.vpdpbusd_bcast"

ROOT = Path(__file__).resolve().parent.parent
# N = 70: 4 tiles of 16 and a tail of 6 in j; K = 40: 10 groups of 4
SIZES = {"M": 3, "N": 70, "K": 40}


def _kernel():
    return tensorize.load(ROOT / "examples/qmatmul.tz", LIB).get("qmatmul_nt")


def _result():
    k = _kernel()
    return k, TensorizePass(intrinsics=(VNNI,)).run(k, LIB, SIZES)


def test_the_kernel_gets_exactly_the_statements_of_the_chosen_plan() -> None:
    k, result = _result()
    chosen = result.fragments[0].chosen
    assert chosen is not None and isinstance(chosen.plan, Plan)
    baked = bake_sizes(k, result.sizes)
    form = fragments(baked, {})[0].form
    emitted = apply_plan(chosen.plan, form)
    # (the rewritten kernel was type-checked again: compared as printed)
    assert [format_stmt(x) for x in result.rewritten.body] == \
        [format_stmt(x) for x in emitted]
    # the plan says what the statements are: init in front, one call nest, the tails
    assert chosen.plan.init is not None and emitted[0] == chosen.plan.init
    nest = emitted[1]
    for loop in chosen.plan.loops:
        assert isinstance(nest, For) and (nest.var, nest.lo.value, nest.hi.value) == \
            (loop.var, loop.lo, loop.hi)
        nest = nest.body[0]
    assert isinstance(nest, CallStmt) and nest.args == chosen.plan.args
    assert len(emitted) == 2 + len(chosen.plan.tails) and chosen.plan.tails


def test_the_plan_prints_in_the_report_and_in_words() -> None:
    _k, result = _result()
    chosen = result.fragments[0].chosen
    assert chosen is not None and chosen.plan is not None
    report = json.loads(json.dumps(result.to_json()))
    plan = report["fragments"][0]["chosen"]["plan"]
    assert plan["intrinsic"] == VNNI
    assert [x["var"] for x in plan["loops"]] == [x.var for x in chosen.plan.loops]
    assert set(plan["args"]) == {"a", "b", "c"}
    assert plan["tails"] and plan["tails"][0][1]["var"] == "j"
    words = chosen.plan.describe()
    assert "call nest: for i in 0..3" in words and f"call: {VNNI}(" in words
    assert "scalar tail:" in words and "init moved in front:" in words


def test_the_validator_reads_the_plan_as_a_hint_it_checks() -> None:
    """A plan whose witness or read hints are wrong cannot make its statements pass."""
    k = bake_sizes(_kernel(), SIZES)
    frag = fragments(k, {})[0]
    intr = LIB[VNNI]
    cand = enumerate_candidates(frag, intr, k, "ieee").candidates[0]
    tile = tile_kernel(cand, frag, intr, k)
    plan = make_plan(cand, frag.form, intr)
    stmts = apply_plan(plan, frag.form)
    w = k.decl("C").dtype
    assert validate(frag.form, stmts, intr, tile, plan, w_type=w).ok
    # a witness one column off does not fit these statements, by construction or not
    point = dict(plan.witness)
    point["j"] = Binary("+", point["j"], Const(1, INDEX), INDEX)
    shifted = dataclasses.replace(plan, witness=tuple(point.items()))
    for construction in (True, False):
        assert not validate(frag.form, stmts, intr, tile, shifted, w_type=w,
                            construction=construction).ok
    # a plan with a tail dropped: its statements leave iterations undone
    short = dataclasses.replace(plan, tails=())
    assert not validate(frag.form, apply_plan(short, frag.form), intr, tile, short,
                        w_type=w).ok


def test_the_pass_has_the_shape_of_a_module_pass() -> None:
    assert TensorizePass.name == "tensorize"
    k = _kernel()
    with pytest.raises(UsageError):
        TensorizePass(intrinsics=(VNNI,)).apply(k)
    bound = TensorizePass(intrinsics=(VNNI,), library=LIB)
    assert bound == TensorizePass(intrinsics=(VNNI,))  # the library is not an option
    assert bound.apply(k, SIZES).rewritten == TensorizePass(intrinsics=(VNNI,)).run(
        k, LIB, SIZES).rewritten
    with pytest.raises(dataclasses.FrozenInstanceError):
        bound.fp = "real"  # type: ignore[misc]  # the test: a frozen pass refuses


def test_explain_prints_the_plan_of_the_rewrite_it_used(tmp_path) -> None:
    from tensorize.cli import main

    class Out:
        def __init__(self) -> None:
            self.text = ""

        def write(self, s: str) -> int:
            self.text += s
            return len(s)

        def flush(self) -> None:
            pass

    out, err = Out(), Out()
    code = main(["explain", str(ROOT / "examples/qmatmul.tz"), "--intrinsic", VNNI,
                 "--kernel", "qmatmul_nt", "--set", "N=70", "--set", "M=3", "--set", "K=40"],
                stdout=out, stderr=err)  # type: ignore[arg-type]
    assert code == 0, err.text
    assert "candidate [USED]" in out.text
    assert "plan: call nest: for i in 0..3 for jo in 0..4 (tiles of j)" in out.text
    assert "plan: scalar tail: i in 0..3, j in 64..70, k in 0..40" in out.text
    assert f"plan: call: {VNNI}(a = (k) -> A[i, 4 * ko + k]" in out.text


PRELOAD = """kernel p(M = 32, N = 48, K = 16) {
  in A: i8[M, K]
  in B: i8[K, N]
  in D: i32[M, N]
  out C: i32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = D[i, j]
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(B[k, j])
      }
    }
  }
}"""
PRELOAD_CALL = "gemmini.matmul_preload"


def test_a_whole_nest_goes_through_its_plan_into_the_kernel_and_the_report() -> None:
    """A whole-nest rewrite takes the same road: a plan (loops over tiles, the call's
    views), the statements it became in the kernel, the plan in the JSON report."""
    from tensorize.rewrite.apply import apply_nest_plan
    from tensorize.rewrite.plan import NestPlan

    k = tensorize.parse(PRELOAD, library=LIB).kernels[0]
    result = TensorizePass(intrinsics=(PRELOAD_CALL,)).run(k, LIB)
    chosen = result.fragments[0].chosen
    assert chosen is not None and isinstance(chosen.plan, NestPlan)
    plan = chosen.plan
    assert [(x.var, x.lo, x.hi, x.tiles) for x in plan.loops] == [
        ("io", 0, 2, "i"), ("jo", 0, 3, "j")] and plan.tail is None
    baked = bake_sizes(k, result.sizes)
    emitted = apply_nest_plan(plan, baked.body[0])
    assert [format_stmt(x) for x in result.rewritten.body] == \
        [format_stmt(x) for x in emitted]
    assert any("validation: loops over tiles" in c for c in chosen.checks)
    report = json.loads(json.dumps(result.to_json()))
    got = report["fragments"][0]["chosen"]["plan"]
    assert got["whole_nest"] and got["intrinsic"] == PRELOAD_CALL
    assert [(x["var"], x["hi"]) for x in got["loops"]] == [("io", 2), ("jo", 3)]
    assert got["args"]["d"] == "(d0, d1) -> D[d0 + 16 * io, d1 + 16 * jo]"
    assert got["tails"] == []
    # the keys a fragment's plan has, so that a reader of the report needs no second case
    fragment_plan = _result()[1].to_json()["fragments"][0]["chosen"]["plan"]
    assert set(got) == set(fragment_plan) | {"whole_nest"}


def test_explain_prints_the_plan_of_a_whole_nest(tmp_path) -> None:
    from tensorize.cli import main

    path = tmp_path / "preload.tz"
    path.write_text(PRELOAD)
    out, err = io.StringIO(), io.StringIO()
    code = main(["explain", str(path), "--intrinsic", PRELOAD_CALL], stdout=out,
                stderr=err)
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert "candidate [USED] whole nest: c <- C, a <- A, b <- B, d <- D" in text
    assert "plan: call nest: for io in 0..2 (tiles of i) for jo in 0..3 (tiles of j)" \
        in text
    assert (f"plan: call: {PRELOAD_CALL}(a = (a0, a1) -> A[a0 + 16 * io, a1], "
            in text)
