"""Loop distribution: a reduction and its epilogue in one nest are split (where the
dependences allow) so that the reduction matches; unsplittable nests are left alone,
and a split that helps no match is put back."""

from __future__ import annotations

import tensorize
from tensorize.ir.nodes import CallStmt
from tensorize.ir.printer import format_function
from tensorize.ir.traverse import walk
from tensorize.matcher.distribute import distribute, split_epilogue
from tensorize.rewrite.apply import bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tests.kernels import kernel

LIB = tensorize.load_library()

TEMPLATE = """kernel epi(M = 32, N = 16, K = 16) {
  in  A: i8[M, K]
  in  B: i8[K, N]
  in  bias: i32[N]
  out C: i32[M, N]
  out D: i32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(B[k, j])
      }
      EPILOGUE
    }
  }
}"""


def _nest(epilogue: str):
    k = kernel(TEMPLATE.replace("EPILOGUE", epilogue), LIB)
    return bake_sizes(k, {"M": 32, "N": 16, "K": 16})


def test_bias_relu_epilogue_is_split_and_the_reduction_matches() -> None:
    k = kernel(TEMPLATE.replace("EPILOGUE", "C[i, j] = max(C[i, j] + bias[j], 0)"), LIB)
    result = TensorizePass(intrinsics=("gemmini.matmul_acc",)).run(k, LIB)
    chosen = [f for f in result.fragments if f.chosen]
    assert len(chosen) == 1 and chosen[0].chosen.intrinsic == "gemmini.matmul_acc"
    assert result.checked_by_execution
    last = result.rewritten.body[-1]
    assert "max(C[i, j] + bias[j], 0)" in format_function(result.rewritten)
    assert not any(isinstance(n, CallStmt) for n in walk(last))


def test_epilogues_that_break_the_dependence_rule_are_not_split() -> None:
    for epilogue in (
        "C[i, j] = max(C[i, 0], 0)",          # reads another element of C
        "D[i, j] = max(C[i, j], 0)",          # writes another buffer
        "C[i, 0] = C[i, 0] + 1",              # writes another element
    ):
        assert split_epilogue(_nest(epilogue).body[0]) is None, epilogue
    parts = split_epilogue(_nest("C[i, j] = max(C[i, j], 0)").body[0])
    assert parts is not None


def test_index_must_use_every_outer_loop() -> None:
    k = kernel("""kernel rows(M = 4, N = 4, K = 4) {
  in  A: i8[M, K]
  out C: i32[M]
  for i in 0..M {
    for j in 0..N {
      C[i] = 0
      for k in 0..K {
        C[i] += i32(A[i, k])
      }
      C[i] = C[i] * 2
    }
  }
}""", LIB)
    assert split_epilogue(bake_sizes(k, {"M": 4, "N": 4, "K": 4}).body[0]) is None


def test_a_split_that_helps_no_match_is_put_back() -> None:
    k = kernel(TEMPLATE.replace("EPILOGUE", "C[i, j] = max(C[i, j], 0)"), LIB)
    split, splits = distribute(bake_sizes(k, {"M": 32, "N": 16, "K": 16}))
    assert len(split.body) == 2 and splits[0].parts == (0, 1)
    # no intrinsic selected that computes it: the kernel comes back as it was
    result = TensorizePass(intrinsics=("x86.fma.vfmadd231ps",)).run(k, LIB)
    assert not result.changed
    assert format_function(result.rewritten) == \
        format_function(bake_sizes(k, {"M": 32, "N": 16, "K": 16}))
