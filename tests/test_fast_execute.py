"""The memo of batched whole-kernel runs (equivalence/execute.py) against fresh runs."""

from __future__ import annotations

import dataclasses

import numpy as np

from tensorize.equivalence import execute
from tensorize.ir import vector_exec
from tensorize.ir.nodes import Const
from tensorize.ir.traverse import Transformer
from tests.kernels import kernel

TEXT = """kernel k {
  in A: f32[4, 3]
  out C: f32[4]
  for i in 0..4 { C[i] = 0.0
    for k in 0..3 { C[i] += A[i, k] * 2.0 } }
}"""


def _runs(monkeypatch) -> list[int]:
    count = [0]
    original = vector_exec.VectorExec.run

    def run(self) -> None:  # type: ignore[no-untyped-def]
        count[0] += 1
        original(self)

    monkeypatch.setattr(vector_exec.VectorExec, "run", run)
    return count


def _sets(fn, seed: int) -> list[dict[str, np.ndarray]]:
    return list(execute.input_sets(fn, {}, seed, 2, ("mix",)))


def test_an_equal_kernel_on_equal_inputs_is_run_once(monkeypatch) -> None:
    count = _runs(monkeypatch)
    execute._BATCHED.clear()
    a, b = kernel(TEXT), kernel(TEXT)  # equal, not the same objects (other spans too)
    first = execute._run_batched(a, {}, _sets(a, 1), {})
    second = execute._run_batched(b, {}, _sets(b, 1), {})
    assert count[0] == 1 and first is not None and second is not None
    for x, y in zip(first, second):
        assert x["C"].tobytes() == y["C"].tobytes() and x["C"] is not y["C"]
    second[0]["C"][...] = 7  # a caller writing its copy changes nothing kept
    third = execute._run_batched(a, {}, _sets(a, 1), {})
    assert third is not None and third[0]["C"].tobytes() == first[0]["C"].tobytes()
    execute._run_batched(a, {}, _sets(a, 2), {})  # other inputs: run again
    assert count[0] == 2


class _Negate(Transformer):
    def visit_Const(self, node: Const) -> Const:
        if isinstance(node.value, float) and node.value == 0.0:
            return dataclasses.replace(node, value=-0.0)
        return node


def test_literals_that_compare_equal_are_not_the_same_kernel(monkeypatch) -> None:
    """``0.0 == -0.0``, so the nodes compare equal; the outputs differ in sign, and each
    kernel runs."""
    count = _runs(monkeypatch)
    execute._BATCHED.clear()
    a = kernel("""kernel k {
      in A: f32[4, 3]
      out C: f32[4]
      for i in 0..4 { C[i] = A[i, 0] * 0.0 }
    }""")
    b = _Negate()(a)
    assert a == b
    ones = [{"A": np.ones((4, 3), np.float32), "C": np.zeros(4, np.float32)}]
    ra = execute._run_batched(a, {}, ones, {})
    rb = execute._run_batched(b, {}, ones, {})
    assert count[0] == 2 and ra is not None and rb is not None
    assert ra[0]["C"].tobytes() != rb[0]["C"].tobytes()
