"""In-place elementwise updates (``x[i] = alpha * x[i]``): a map whose body reads the
element it writes, matched to an intrinsic whose output is ``inout`` (``blas.sscal``),
the element read through the output's own view; reading any other element of the output
is refused, and so is an intrinsic with an ``out`` output."""

from __future__ import annotations

import dataclasses

import tensorize
from tensorize.ir.interp import bind_sizes
from tensorize.ir.nodes import CallStmt, For, Function, View
from tensorize.matcher.candidates import enumerate_candidates, tile_kernel
from tensorize.matcher.fragments import fragments
from tensorize.rewrite.apply import apply_plan, bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tensorize.rewrite.plan import make_plan
from tensorize.rewrite.validate import validate
from tests.kernels import kernel

SPECS = """intrinsic test.scale8 {
  summary "x = alpha * x on 8 lanes, in place (a test spec)"
  target test
  in alpha: f32
  inout x: f32[8]
  for i in 0..8 {
    x[i] = alpha * x[i]
  }
}

intrinsic test.scale8_out {
  summary "y = alpha * x on 8 lanes (a test spec)"
  target test
  in alpha: f32
  in x: f32[8]
  out y: f32[8]
  for i in 0..8 {
    y[i] = alpha * x[i]
  }
}
"""
_BUNDLED = tensorize.load_library()
LIB = {**_BUNDLED.as_dict(),
       **{f.name: f for f in tensorize.parse(SPECS, "<test>", _BUNDLED).functions}}

SCAL = """kernel scal(N = 20) {
  in alpha: f32
  inout x: f32[N]
  for i in 0..N {
    x[i] = alpha * x[i]
  }
}"""


def _baked(text: str) -> Function:
    k = kernel(text, LIB)
    return bake_sizes(k, bind_sizes(k, {}))


def _run(text: str, intrinsics: tuple[str, ...], fp: str = "ieee"):
    k = kernel(text, LIB)
    return TensorizePass(fp=fp, intrinsics=intrinsics).run(k, LIB)  # type: ignore[arg-type]


def test_in_place_scaling_matches_an_inout_intrinsic_with_a_tail() -> None:
    result = _run(SCAL, ("test.scale8",))
    frag = result.fragments[0]
    assert frag.chosen is not None and frag.chosen.tail == 4
    assert result.checked_by_execution


def test_in_place_scaling_is_not_an_out_intrinsic() -> None:
    k = _baked(SCAL)
    enum = enumerate_candidates(fragments(k, {})[0], LIB["test.scale8_out"], k, "ieee")
    assert not enum.candidates
    assert any("inout" in r.message for r in enum.rejections)


def test_reading_another_element_in_place_is_no_fragment() -> None:
    shifted = SCAL.replace("alpha * x[i]", "alpha * x[N - 1 - i]")
    assert _run(shifted, ("test.scale8",)).fragments == ()


def test_blas_sscal_in_place() -> None:
    big = SCAL.replace("N = 20", "N = 4096")
    frag = _run(big, ("blas.sscal",)).fragments[0]
    assert frag.chosen is not None and frag.chosen.intrinsic == "blas.sscal"


def test_validator_refuses_an_output_view_shifted_from_the_read() -> None:
    k = _baked(SCAL)
    frag = fragments(k, {})[0]
    intr = LIB["test.scale8"]
    cand = enumerate_candidates(frag, intr, k, "ieee").candidates[0]
    tile = tile_kernel(cand, frag, intr, k)
    plan = make_plan(cand, frag.form, intr)
    stmts = apply_plan(plan, frag.form)
    w = k.decl("x").dtype
    assert validate(frag.form, stmts, intr, tile, plan, w_type=w, construction=False).ok

    def shift(s):
        if isinstance(s, For):
            return dataclasses.replace(s, body=tuple(shift(x) for x in s.body))
        if isinstance(s, CallStmt):
            from tensorize.ir.nodes import Binary, Const
            from tensorize.ir.types import INDEX
            args = []
            for a in s.args:
                if a.name == "x" and isinstance(a.value, View):
                    moved = (Binary("+", a.value.index[0], Const(1, INDEX), INDEX),)
                    a = dataclasses.replace(a, value=dataclasses.replace(a.value,
                                                                         index=moved))
                args.append(a)
            return dataclasses.replace(s, args=tuple(args))
        return s
    mutant = tuple(shift(s) for s in stmts)
    assert mutant != stmts
    assert not validate(frag.form, mutant, intr, tile, plan, w_type=w,
                        construction=False).ok
