"""Register blocking (unroll-and-jam) keeps the kernel's meaning, and only where legal."""

from __future__ import annotations

import tensorize
from tensorize.backend.blocking import block_factor, unroll_and_jam
from tensorize.backend.packing import pack_operands
from tensorize.ir import interp
from tensorize.ir.nodes import For

LIB = tensorize.load_library()
L = LIB.as_dict()

GEMM = """
kernel gemm_nt(M = 7, N = 16, K = 4) {
  in A: u8[M, K]
  in B: i8[N, K]
  out C: i32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(B[j, k])
      }
    }
  }
}
"""


def test_factor_from_the_register_model() -> None:
    assert block_factor(L["x86.avx2.dot_16x2_u8i8_bcast"]) == 6  # 2 ymm per call: 12 + 4
    assert block_factor(L["x86.amx.tdpbusd"]) == 1  # a 1 KiB tile does not fit


def test_blocked_kernel_equals_the_rewrite_with_a_tail() -> None:
    fn = tensorize.parse(GEMM).kernels[0]
    rewritten = tensorize.tensorize(fn, LIB, targets=["x86.avx2"]).rewritten
    packed, _ = pack_operands(rewritten, L)
    blocked, count = unroll_and_jam(packed, L)
    assert count == 1
    loops = [s for s in blocked.body if isinstance(s, For)]
    assert any(s.var == "i_b" for s in loops)  # 7 rows: one block of 6, a tail of 1
    inputs = interp.random_inputs(fn, {}, 2)
    want = interp.run(rewritten, inputs, library=L)
    got = interp.run(blocked, inputs, library=L)
    assert interp.checksum(got["C"]) == interp.checksum(want["C"])
    proof = tensorize.prove(rewritten, blocked, library=L, timeout=60)
    assert type(proof).__name__ == "Proved"


def test_a_loop_whose_iterations_depend_is_not_jammed() -> None:
    text = """
kernel chain {
  in A: u8[8, 2]
  in B: i8[16, 2]
  inout C: i32[16]
  for i in 0..8 {
    call x86.avx2.dot_16x2_u8i8_bcast(a = (k) -> A[i, k], b = B, c = C)
  }
}
"""
    fn = tensorize.parse(text, library=L).kernels[0]
    assert unroll_and_jam(fn, L)[1] == 0  # every iteration accumulates into C
    nest = """
kernel chain2 {
  in A: u8[8, 2]
  in B: i8[16, 2]
  inout C: i32[16]
  for i in 0..8 {
    for r in 0..2 {
      call x86.avx2.dot_16x2_u8i8_bcast(a = (k) -> A[i, k], b = B, c = C)
    }
  }
}
"""
    fn2 = tensorize.parse(nest, library=L).kernels[0]
    assert unroll_and_jam(fn2, L)[1] == 0


SGEMM = """
kernel sgemm(M = 4, N = 32, K = 8) {
  in A: f32[M, K]
  in B: f32[K, N]
  out C: f32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0.0
      for k in 0..K {
        C[i, j] += B[k, j] * A[i, k]
      }
    }
  }
}
"""


def test_a_column_strip_read_along_the_reduction_is_packed() -> None:
    from tensorize.backend.packing import check_packing

    fn = tensorize.parse(SGEMM).kernels[0]
    rewritten = tensorize.tensorize(fn, LIB, targets=["x86.fma"], fp="real").rewritten
    packed, info = pack_operands(rewritten, L)
    assert [(p.source, p.param) for p in info] == [("B", "a")]  # rows of B, 32 apart
    assert check_packing(rewritten, packed, L) == []
    inputs = interp.random_inputs(fn, {}, 4)
    want = interp.run(rewritten, inputs, library=L)
    got = interp.run(unroll_and_jam(packed, L)[0], inputs, library=L)
    assert interp.checksum(got["C"]) == interp.checksum(want["C"])
