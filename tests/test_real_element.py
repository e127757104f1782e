"""The exact real-mode run of one element (what confirms a real-mode refutation cheaply)
equals the full exact run at that element, and a real-mode refutation found that way is
a real difference."""

from __future__ import annotations

import numpy as np
import pytest

from tensorize.equivalence import execute
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Refuted
from tensorize.ir import interp
from tests.kernels import kernel

KERNELS = {
    # an f16 accumulator rounds at every step: the order of the updates matters
    "f16_acc": """kernel k {
      in A: f16[4, 6]
      in B: f16[6, 5]
      out C: f16[4, 5]
      for i in 0..4 { for j in 0..5 {
        C[i, j] = 0.5
        for k in 0..6 { C[i, j] += A[i, k] * B[k, j] } } }
    }""",
    # an inout accumulator, f32 products widened from bf16, loops in another order
    "inout_bf16": """kernel k {
      in A: bf16[3, 8]
      in B: bf16[8, 4]
      inout C: f32[3, 4]
      for k in 0..8 { for j in 0..4 { for i in 0..3 {
        C[i, j] += f32(A[i, k]) * f32(B[k, j]) } } }
    }""",
    # several iterations write the same element (C[i + j])
    "shared": """kernel k {
      in A: f32[5]
      in B: f32[4]
      out C: f32[8]
      for i in 0..5 { for j in 0..4 { C[i + j] += A[i] * B[j] } }
    }""",
    # strided and offset writes, and a loop whose iterations reach the element only
    # through an inner loop (C[2 * i + j + 1] over i, j): the skipped iterations are
    # decided from the range of the index over the inner loops
    "strided": """kernel k {
      in A: f16[4, 3]
      out C: f16[10]
      for i in 0..4 { for j in 0..3 { for k in 0..2 {
        C[2 * i + j + 1] += A[i, j] * A[3 - i, 2 - j] } } }
    }""",
    # a map: each element written once
    "map": """kernel k {
      in A: f16[7]
      in B: f16[7]
      out C: f16[7]
      for i in 0..7 { C[6 - i] = A[i] * B[i] + A[i] }
    }""",
}


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_one_element_equals_the_full_exact_run(name: str) -> None:
    fn = kernel(KERNELS[name])
    sizes: dict[str, int] = {}
    rng = np.random.default_rng(3)
    for _ in range(3):
        values = next(iter(execute.input_sets(fn, sizes, int(rng.integers(1 << 30)), 1, ())))
        ins = {k: v for k, v in values.items() if fn.decl(k).mode in ("in", "inout")}
        outs = {k: v for k, v in values.items() if fn.decl(k).mode == "out"}
        full = interp.run(fn, ins, mode="real", outputs=outs)
        (buf, whole), = full.items()
        for idx in np.ndindex(whole.shape):
            one = interp.run_real_element(fn, ins, buf, idx, outputs=outs)
            assert one == whole[idx], (name, idx)


def test_a_kernel_not_in_normal_form_is_not_computed_by_element() -> None:
    fn = kernel("""kernel k {
      in A: f32[4]
      out C: f32[4]
      local t: f32[4]
      for i in 0..4 { t[i] = A[i] * 2.0 }
      for i in 0..4 { C[i] = t[3 - i] }
    }""")
    values = {"A": np.arange(4, dtype=np.float32)}
    assert interp.run_real_element(fn, values, "C", (0,)) is None


def test_a_far_apart_real_mode_pair_is_refuted_by_one_element(monkeypatch) -> None:
    """A transposed operand: the IEEE runs are far apart; the refutation is confirmed by
    the one-element exact run (the whole-kernel exact run is not needed), and the
    counterexample differs in the full exact run too."""
    text = """kernel k {{
      in A: f16[8, 8]
      in B: f16[8, 8]
      inout C: f32[8, 8]
      for i in 0..8 {{ for j in 0..8 {{ for k in 0..8 {{
        C[i, j] += f32(A[i, k]) * f32(B[{b}]) }} }} }}
    }}"""
    a, b = kernel(text.format(b="k, j")), kernel(text.format(b="j, k"))

    def whole_run_forbidden(*args, **kwargs):
        raise AssertionError("the whole-kernel exact run was used")

    with monkeypatch.context() as m:
        m.setattr(interp, "_run_real", whole_run_forbidden)
        result = prove(a, b, options=ProveOptions(fp="real"))
    assert isinstance(result, Refuted), result
    cex = result.counterexample
    assert cex.found_by == "execution"
    shapes = interp.shapes_of(a, {})
    ins = {k: np.array(v, dtype=object).astype(a.decl(k).dtype.np_dtype).reshape(shapes[k])
           for k, v in cex.values.items()}
    out_a = interp.run(a, ins, mode="real")["C"]
    out_b = interp.run(b, ins, mode="real")["C"]
    (d,) = cex.differences
    assert out_a[d.index] != out_b[d.index]


def test_an_integer_pair_in_real_mode_needs_no_exact_run(monkeypatch) -> None:
    """Real mode changes only float arithmetic: a pair with no float anywhere is refuted
    from the fast run alone (the exact interpreter, the costliest part of a real-mode
    corpus run, is not called)."""
    text = """kernel k {{
      in A: u8[16, 4]
      in B: i8[4, 16]
      out C: i32[16, 16]
      for i in 0..16 {{ for j in 0..16 {{
        C[i, j] = 0
        for k in 0..4 {{ C[i, j] += i32(A[i, k]) * i32(B[{b}]) }} }} }}
    }}"""
    a, b = kernel(text.format(b="k, j")), kernel(text.format(b="k, 15 - j"))

    def exact_forbidden(*args, **kwargs):
        raise AssertionError("the exact interpreter was used")

    monkeypatch.setattr(interp, "_run_real", exact_forbidden)
    monkeypatch.setattr(interp, "run_real_element", exact_forbidden)
    result = prove(a, b, options=ProveOptions(fp="real"))
    assert isinstance(result, Refuted), result
    assert result.counterexample.found_by == "execution"


def test_a_scalar_output_far_apart_in_real_mode_is_refuted() -> None:
    """The element furthest apart of a 0-d output (``out s: f64``): the search for it
    indexed a numpy scalar and crashed (found by the fuzz campaign)."""
    text = """kernel k {{
      in x: f32[8]
      out s: f32
      s = 0
      for n in 0..8 {{ s += {term} }}
    }}"""
    a, b = kernel(text.format(term="x[n] * x[n]")), kernel(text.format(term="x[n]"))
    result = prove(a, b, options=ProveOptions(fp="real"))
    assert isinstance(result, Refuted), result
