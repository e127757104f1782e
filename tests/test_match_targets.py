"""One machine family per kernel unless the user names several, and layout in the cost."""

from __future__ import annotations

import tensorize
from tests.kernels import kernel

LIB = tensorize.load_library()

TWO = """kernel two(P = 16, M = 4, K = 8, N = 16) {
  in  A: i16[P, M, K]
  in  B: i16[P, K]
  in  X: i8[N, K]
  in  Y: i8[K, N]
  out C: i32[P, M]
  out D: i32[N, N]
  for p in 0..P {
    for m in 0..M {
      C[p, m] = 0
      for k in 0..K {
        C[p, m] += i32(A[p, m, k]) * i32(B[p, k])
      }
    }
  }
  for i in 0..N {
    for j in 0..N {
      D[i, j] = 0
      for k in 0..K {
        D[i, j] += i32(X[i, k]) * i32(Y[k, j])
      }
    }
  }
}"""


def _families(result) -> set[str]:
    return {f.chosen.intrinsic.split(".")[0] for f in result.fragments if f.chosen}


def test_one_machine_family_unless_several_are_named() -> None:
    k = kernel(TWO, LIB)
    targets = ("x86.avx512_vnni", "arm.neon")
    mixed = tensorize.tensorize(k, LIB, targets=targets)
    assert _families(mixed) == {"x86", "arm"}  # named both: both used
    one = tensorize.tensorize(k, LIB, targets=("x86.avx512_vnni",))
    assert _families(one) == {"x86"}
    # the whole library, no target named: never two machines in one kernel
    default = tensorize.tensorize(k, LIB, intrinsics=(
        "x86.avx512_vnni.vpdpwssd", "arm.neon.smmla"))
    assert len(_families(default)) == 1
    costs = {f: tensorize.tensorize(k, LIB, intrinsics=(i,)).cost
             for f, i in (("x86", "x86.avx512_vnni.vpdpwssd"), ("arm", "arm.neon.smmla"))}
    assert default.cost == min(costs.values())
