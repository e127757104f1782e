"""Specs no corpus kernel reached before: AVX512-FP16 fma forms, the tie between a
mixed-sign dot product and its swapped twin (operand order), and the ordered RVV float
sums (a chained IEEE sum costs the latency of its adds). Each acceptance has a near
miss that must be refused."""

from __future__ import annotations

import numpy as np

import tensorize
from tensorize.ir.interp import run
from tensorize.matcher.fragments import fragments
from tensorize.rewrite.apply import bake_sizes
from tensorize.rewrite.engine import (
    CHAIN_ADD_COST,
    TensorizePass,
    operand_inversions,
    scalar_cost,
)
from tests.kernels import kernel

LIB = tensorize.load_library()


def _chosen(text: str, target: str, fp: str = "ieee") -> list[str | None]:
    k = kernel(text, LIB.as_dict())
    result = TensorizePass(targets=(target,), fp=fp).run(k, LIB)
    return [f.chosen.intrinsic if f.chosen else None for f in result.fragments]


def _vfma(n: int) -> str:
    return f"""kernel v(N = {n}) {{
  in a: f16[N]
  in b: f16[N]
  inout c: f16[N]
  for i in 0..N {{
    c[i] = fma(a[i], b[i], c[i])
  }}
}}"""


def test_fp16_fma_forms_are_chosen_by_width() -> None:
    assert _chosen(_vfma(64), "x86.avx512_fp16") == ["x86.avx512_fp16.vfmadd231ph"]
    assert _chosen(_vfma(16), "x86.avx512_fp16") == ["x86.avx512_fp16.vfmadd231ph_ymm"]
    gemm = """kernel g(M = 2, N = 32, K = 4) {
  in A: f16[M, K]
  in B: f16[K, N]
  inout C: f16[M, N]
  for i in 0..M {
    for k in 0..K {
      for j in 0..N {
        C[i, j] = fma(A[i, k], B[k, j], C[i, j])
      }
    }
  }
}"""
    assert _chosen(gemm, "x86.avx512_fp16") == ["x86.avx512_fp16.vfmadd231ph_bcast"]


def test_a_plain_f16_multiply_add_is_not_an_fma() -> None:
    """Near miss: ``c + a * b`` in f16 rounds twice, the fused form once; nothing of
    AVX512-FP16's fma family may be chosen, and the difference is real."""
    text = _vfma(32).replace("fma(a[i], b[i], c[i])", "c[i] + a[i] * b[i]")
    assert _chosen(text, "x86.avx512_fp16") == [None]
    fused = kernel(_vfma(1), LIB.as_dict())
    split = kernel(_vfma(1).replace("fma(a[i], b[i], c[i])", "c[i] + a[i] * b[i]"),
                   LIB.as_dict())
    inputs = {"a": np.array([1.015625], np.float16), "b": np.array([1.015625],
                                                                        np.float16),
              "c": np.array([-1.0], np.float16)}
    got_fused = run(fused, inputs, library=LIB.as_dict())["c"]
    got_split = run(split, inputs, library=LIB.as_dict())["c"]
    assert got_fused.tobytes() != got_split.tobytes()


def _dot(ta: str, tb: str, k: int) -> str:
    return f"""kernel d(N = 8) {{
  in A: {ta}[N, {k}]
  in B: {tb}[N, {k}]
  inout c: i32[N]
  for n in 0..N {{
    for k in 0..{k} {{
      c[n] += i32(A[n, k]) * i32(B[n, k])
    }}
  }}
}}"""


def test_ties_go_to_the_spec_whose_parameters_follow_the_operand_order() -> None:
    assert _chosen(_dot("u8", "i8", 4), "nvidia.sm61") == ["nvidia.dp4a.u32_s32"]
    assert _chosen(_dot("i8", "u8", 4), "nvidia.sm61") == ["nvidia.dp4a.s32_u32"]
    assert _chosen(_dot("u16", "i16", 2), "x86.avx_vnni_int16") == [
        "x86.avx_vnni_int16.vpdpwusd"]
    assert _chosen(_dot("i16", "u16", 2), "x86.avx_vnni_int16") == [
        "x86.avx_vnni_int16.vpdpwsud"]
    # the operands written the other way round in the product: the tie follows them
    swapped = _dot("u8", "i8", 4).replace("i32(A[n, k]) * i32(B[n, k])",
                                          "i32(B[n, k]) * i32(A[n, k])")
    assert _chosen(swapped, "nvidia.sm61") == ["nvidia.dp4a.s32_u32"]


def test_operand_inversions_counts_swapped_parameters() -> None:
    from tensorize.matcher.candidates import enumerate_candidates
    k = kernel(_dot("u8", "i8", 4), LIB.as_dict())
    frag = fragments(bake_sizes(k, {"N": 8}), {})[0]
    counts = {}
    for name in ("nvidia.dp4a.u32_s32", "nvidia.dp4a.s32_u32"):
        cands = enumerate_candidates(frag, LIB[name], k, "ieee").candidates
        counts[name] = {operand_inversions(c, frag) for c in cands}
    assert counts == {"nvidia.dp4a.u32_s32": {0}, "nvidia.dp4a.s32_u32": {1}}


def test_a_mixed_sign_product_never_binds_the_wrong_signedness() -> None:
    """Near miss: u8 x u8 must not match a mixed-sign dp4a (the types differ)."""
    assert _chosen(_dot("u8", "u8", 4), "nvidia.sm61") != ["nvidia.dp4a.u32_s32"]


SUM = """kernel s(N = 64) {
  in x: f32[N]
  inout r: f32
  for i in 0..N {
    r += x[READ]
  }
}"""


def test_an_ieee_sum_into_one_element_is_a_chain_and_vfredosum_wins() -> None:
    k = kernel(SUM.replace("READ", "i"), LIB.as_dict())
    frag = fragments(bake_sizes(k, {"N": 64}), {})[0]
    assert scalar_cost(frag, "ieee") == 64 * CHAIN_ADD_COST
    assert scalar_cost(frag, "real") == 64.0  # reorderable: no chain
    assert _chosen(SUM.replace("READ", "i"), "riscv.rvv") == ["riscv.rvv.vfredosum_vs_f32"]
    f16 = SUM.replace("f32[N]", "f16[N]").replace("x[READ]", "f32(x[i])")
    assert _chosen(f16, "riscv.rvv") == ["riscv.rvv.vfwredosum_vs_f16"]


def test_sums_into_many_elements_are_not_chains() -> None:
    rows = """kernel rows(M = 8, N = 16) {
  in x: f32[M, N]
  inout r: f32[M]
  for i in 0..M {
    for j in 0..N {
      r[i] += x[i, j]
    }
  }
}"""
    k = kernel(rows, LIB.as_dict())
    frag = fragments(bake_sizes(k, {"M": 8, "N": 16}), {})[0]
    assert scalar_cost(frag, "ieee") == 128.0


def test_a_sum_read_backwards_keeps_its_order_through_a_reversed_view() -> None:
    """``r += x[N - 1 - i]`` is still one ordered chain: each call reads its four
    elements through a view that steps backwards, the calls run from the top down."""
    k = kernel(SUM.replace("READ", "N - 1 - i"), LIB.as_dict())
    result = TensorizePass(targets=("riscv.rvv",)).run(k, LIB)
    assert result.fragments[0].chosen is not None
    assert result.checked_by_execution


def test_a_sum_that_is_not_the_ordered_sum_is_refused() -> None:
    """Near miss: ``r -= x[i]`` is a chain of the same shape but not vfredosum's
    ``r + x[i]``: refuted, and the interpreter confirms the difference."""
    from tensorize.equivalence.results import Refuted
    text = SUM.replace("r += x[READ]", "r -= x[i]")
    k = kernel(text, LIB.as_dict())
    result = TensorizePass(targets=("riscv.rvv",)).run(k, LIB)
    frag = result.fragments[0]
    assert frag.chosen is None
    tried = [a for a in frag.alternatives if a.intrinsic == "riscv.rvv.vfredosum_vs_f32"]
    assert tried and all(a.status == "refuted" for a in tried)
    assert isinstance(tried[0].proof, Refuted)
    one = kernel(text.replace("N = 64", "N = 1"), LIB.as_dict())
    plain = kernel(SUM.replace("READ", "i").replace("N = 64", "N = 1"), LIB.as_dict())
    inputs = {"x": np.array([1.5], np.float32), "r": np.array(0.0, np.float32)}
    a = run(one, inputs, library=LIB.as_dict())["r"]
    b = run(plain, inputs, library=LIB.as_dict())["r"]
    assert a.tobytes() != b.tobytes()


DP2A = """kernel d(W = 8) {
  in A: i16[W, 2]
  in B: i8[W, ROW]
  inout c: i32[W]
  for w in 0..W {
    for t in 0..2 {
      c[w] += i32(A[w, t]) * i32(B[w, READ])
    }
  }
}"""


def test_dp2a_hi_takes_the_whole_word_when_the_program_reads_its_high_bytes() -> None:
    k = kernel(DP2A.replace("ROW", "4").replace("READ", "2 + t"), LIB.as_dict())
    result = TensorizePass(targets=("nvidia.sm61",), exhaustive=True).run(k, LIB)
    chosen = result.fragments[0].chosen
    assert chosen is not None and chosen.intrinsic == "nvidia.dp2a.hi_s32"
    assert result.checked_by_execution
    lo = [a for a in result.fragments[0].alternatives if a.intrinsic == "nvidia.dp2a.lo_s32"]
    assert lo and lo[0].status == "proved" and lo[0].cost == chosen.cost
    assert lo[0].widened == 0 and chosen.widened == 8


def test_narrow_cuts_a_parameter_to_the_window_its_intrinsic_reads() -> None:
    from tensorize.matcher.window import narrow
    made = narrow(LIB["nvidia.dp2a.hi_s32"])
    assert made is not None
    narrowed, windows = made
    assert [(w.param, w.axis, w.offset, w.size, w.extent) for w in windows] == [
        ("b", 0, 2, 2, 4)]
    assert [str(b.shape[0].value) for b in narrowed.buffers if b.name == "b"] == ["2"]
    assert narrow(LIB["nvidia.dp2a.lo_s32"]) is None
    assert narrow(LIB["nvidia.dp4a.s32"]) is None


def test_dp2a_hi_is_not_used_for_the_low_bytes_nor_past_the_buffer() -> None:
    """Near misses: the program reads the low bytes (hi's window would be bytes -2..0 of
    its word: refused as out of bounds), or its rows are 3 bytes (hi's whole word would
    run past them). The interpreter confirms that hi on the whole word is not the
    low-byte program."""
    low = DP2A.replace("ROW", "4").replace("READ", "t")
    assert _chosen(low, "nvidia.sm61") == ["nvidia.dp2a.lo_s32"]
    three = DP2A.replace("ROW", "3").replace("READ", "1 + t")
    got = _chosen(three, "nvidia.sm61")
    assert got == ["nvidia.dp2a.lo_s32"]
    call_hi = """kernel h {
  in A: i16[1, 2]
  in B: i8[1, 4]
  inout c: i32[1]
  call nvidia.dp2a.hi_s32(a = (t) -> A[0, t], b = (t) -> B[0, t], c = () -> c[0])
}"""
    one = low.replace("W = 8", "W = 1")
    inputs = {"A": np.array([[3, 5]], np.int16), "B": np.array([[1, 2, 7, 11]], np.int8),
              "c": np.array([0], np.int32)}
    hi = run(kernel(call_hi, LIB.as_dict()), inputs, library=LIB.as_dict())["c"]
    prog = run(kernel(one, LIB.as_dict()), inputs, library=LIB.as_dict())["c"]
    assert int(hi[0]) == 3 * 7 + 5 * 11 and int(prog[0]) == 3 * 1 + 5 * 2


def test_a_call_the_kernel_already_has_is_not_widened() -> None:
    """Only the calls a rewrite makes against a narrowed intrinsic are widened: the
    kernel's own call of dp2a.hi (on the whole word already) stays as written."""
    text = """kernel own(W = 8) {
  in A: i16[W, 2]
  in B: i8[W, 4]
  inout c: i32[W]
  inout r: i32[1]
  call nvidia.dp2a.hi_s32(a = (t) -> A[0, t], b = (t) -> B[0, t], c = () -> r[0])
  for w in 0..W {
    for t in 0..2 {
      c[w] += i32(A[w, t]) * i32(B[w, 2 + t])
    }
  }
}"""
    k = kernel(text, LIB.as_dict())
    result = TensorizePass(targets=("nvidia.sm61",)).run(k, LIB)
    assert [f.chosen.intrinsic for f in result.fragments if f.chosen] == [
        "nvidia.dp2a.hi_s32"]
    assert result.rewritten.body[0] == k.body[0]
    assert result.checked_by_execution
