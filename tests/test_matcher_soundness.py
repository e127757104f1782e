"""Soundness of matching and rewriting: loop variables as values, inits, hygiene, cache."""

from __future__ import annotations

import dataclasses

import pytest

import tensorize
from tensorize.equivalence import cache
from tensorize.equivalence.execute import refute_by_execution
from tensorize.errors import UsageError
from tensorize.ir.printer import format_function
from tensorize.rewrite.apply import bake_sizes
from tensorize.rewrite.engine import TensorizePass
from tests.kernels import kernel

LIB = tensorize.load_library()
VNNI = ["x86.avx512_vnni"]

MATMUL = """kernel k(M = 4, N = 32, K = 8) {{
  in  A: u8[M, K]
  in  B: i8[N, K]
  out C: i32[M, N]
  for {i} in 0..M {{
    for {j} in 0..N {{
      C[{i}, {j}] = 0
      for {k} in 0..K {{
        C[{i}, {j}] += {term}
      }}
    }}
  }}
}}"""


def _agrees(result) -> None:
    original = bake_sizes(result.kernel, result.sizes)
    cex = refute_by_execution(original, {}, result.rewritten, {}, LIB.as_dict(), "ieee",
                              seed=3, randoms=4)
    assert cex is None, cex.describe()


@pytest.mark.parametrize("term", [
    "i32(A[i, k]) * i32(B[j, k]) * i32(j)",          # a tile variable used as a value
    "i32(A[i, k]) * i32(B[j, k]) + i32(i)",          # an outer (non-tile) variable
    "select(k < 6, i32(A[i, k]) * i32(B[j, k]), 0)",  # a padding mask on the reduction
    "i32(A[i, k]) * i32(B[j, k]) * i32(k / 4)",
])
def test_loop_variable_as_value_is_refused_not_crashed(term: str) -> None:
    k = kernel(MATMUL.format(i="i", j="j", k="k", term=term), LIB)
    result = tensorize.tensorize(k, LIB, targets=VNNI)
    assert not result.changed
    reasons = [m for f in result.fragments for _i, _k, m in f.rejected]
    assert any("as a value" in m for m in reasons), reasons


@pytest.mark.parametrize("names", [("jo", "j", "ko"), ("i", "jo", "k"), ("a", "b", "c"),
                                   ("k_1", "j", "k"), ("io", "i", "c")])
def test_generated_names_never_collide(names: tuple[str, str, str]) -> None:
    """Loops named like the rewriter's own names (tile loops, view dims, intrinsic params)."""
    i, j, k = names
    term = f"i32(A[{i}, {k}]) * i32(B[{j}, {k}])"
    kern = kernel(MATMUL.format(i=i, j=j, k=k, term=term), LIB)
    result = tensorize.tensorize(kern, LIB, targets=VNNI)
    assert result.changed
    text = format_function(result.rewritten)
    again = tensorize.parse(text, "<rewritten>", LIB.as_dict()).kernels[0]
    assert again == result.rewritten
    _agrees(result)


def test_cached_proofs_belong_to_one_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proof cached by another engine (another source fingerprint) is never served."""
    key = cache.obligation_key("left", "right", "ieee")
    monkeypatch.setattr(cache, "engine_fingerprint", lambda: "another engine")
    assert cache.obligation_key("left", "right", "ieee") != key


def test_pass_options_are_checked() -> None:
    with pytest.raises(UsageError):
        TensorizePass(fp="bogus")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        TensorizePass(targets="x86")  # type: ignore[arg-type]


def test_large_kernel_is_executed_at_reduced_sizes() -> None:
    """Above the execution limit the rewrite is still run, at sizes that keep its shape."""
    term = "i32(A[i, k]) * i32(B[j, k])"
    k = kernel(MATMUL.format(i="i", j="j", k="k", term=term), LIB)
    result = tensorize.tensorize(k, LIB, targets=VNNI, sizes={"M": 512, "N": 512, "K": 66})
    assert result.changed and result.checked_by_execution
    checks = result.fragments[0].chosen.checks
    assert any(c.startswith("execution at reduced sizes") and "K=18" in c for c in checks)
    assert any(c == "validation: views" for c in checks)


@pytest.mark.parametrize(("m", "n", "k"), [(3, 35, 10), (5, 17, 7), (1, 33, 6)])
def test_tails_in_two_dimensions(m: int, n: int, k: int) -> None:
    """Extents that the tile divides in neither dimension: calls plus two tail boxes."""
    term = "i32(A[i, k]) * i32(B[j, k])"
    kern = kernel(MATMUL.format(i="i", j="j", k="k", term=term), LIB)
    result = tensorize.tensorize(kern, LIB, intrinsics=("x86.avx512_vnni.vpdpbusd_bcast",),
                                 sizes={"M": m, "N": n, "K": k})
    assert result.changed
    chosen = result.fragments[0].chosen
    full = (n // 16 * 16) * (k // 4 * 4) * m
    assert chosen.tail == m * n * k - full
    assert "j in" in chosen.mapping and "k in" in chosen.mapping
    _agrees(result)


def test_the_execution_check_is_remembered(tmp_path) -> None:
    """A seeded run that agreed is a fact: a second run looks it up instead of running."""
    from tensorize.equivalence.cache import ProofCache

    term = "i32(A[i, k]) * i32(B[j, k])"
    kern = kernel(MATMUL.format(i="i", j="j", k="k", term=term), LIB)
    first = TensorizePass(targets=tuple(VNNI), cache=ProofCache(tmp_path / "c.sqlite")).run(
        kern, LIB)
    # another kernel name: not the stored decision, but the same seeded run
    renamed = dataclasses.replace(kern, name="renamed")
    again = TensorizePass(targets=tuple(VNNI), cache=ProofCache(tmp_path / "c.sqlite")).run(
        renamed, LIB)
    assert first.fragments[0].chosen.checks[-1].startswith("execution at full size")
    assert again.fragments[0].chosen.checks[-1] == "execution agreed (cached)"
    assert again.rewritten == dataclasses.replace(first.rewritten, name="renamed")
