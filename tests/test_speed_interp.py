"""The interpreter's alias checks of a call's views: still exact, and fast when batched."""

from __future__ import annotations

import time

import numpy as np
import pytest

import tensorize
from tensorize.errors import InterpError

ADD = """
intrinsic t.add4 {
  summary "c[i] += a[i]"
  target t
  cost 1.0
  in a: i32[4]
  inout c: i32[4]
  for i in 0..4 { c[i] += a[i] }
}
"""


def _kernel(body: str, n: int = 8) -> tensorize.api.Function:
    text = ADD + f"""
kernel k {{
  in A: i32[{n}]
  out C: i32[{n}]
  {body}
}}"""
    module = tensorize.parse(text)
    return module.get("k"), {f.name: f for f in module.intrinsics}


def test_output_view_repeating_an_element_is_refused() -> None:
    k, lib = _kernel("call t.add4(a = (i) -> A[i], c = (i) -> C[i / 2])")
    with pytest.raises(InterpError, match="writes the same element"):
        tensorize.run(k, library=lib)


def test_output_view_overlapping_an_input_is_refused() -> None:
    text = ADD + """
kernel k {
  inout C: i32[8]
  call t.add4(a = (i) -> C[i + 3], c = (i) -> C[i])
}"""
    module = tensorize.parse(text)
    lib = {f.name: f for f in module.intrinsics}
    with pytest.raises(InterpError, match="overlap"):
        tensorize.run(module.get("k"), library=lib)


def test_disjoint_views_run() -> None:
    k, lib = _kernel("for t in 0..2 { call t.add4(a = (i) -> A[4 * t + i], "
                     "c = (i) -> C[4 * t + i]) }")
    a = np.arange(8, dtype=np.int32)
    assert list(tensorize.run(k, {"A": a}, library=lib)["C"]) == list(a)


def test_a_large_batched_call_checks_its_views_quickly() -> None:
    # 65536 batched calls of 4 lanes: numpy 2's np.unique took over a second here
    n = 4 * 65536
    k, lib = _kernel("for t in 0..65536 { call t.add4(a = (i) -> A[4 * t + i], "
                     "c = (i) -> C[4 * t + i]) }", n)
    a = np.arange(n, dtype=np.int32)
    start = time.perf_counter()
    out = tensorize.run(k, {"A": a}, library=lib)["C"]
    assert time.perf_counter() - start < 1.0
    assert np.array_equal(out, a)
