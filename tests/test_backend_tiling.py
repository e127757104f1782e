"""Cache tiling and thread placement keep the kernel's meaning, and apply only where legal."""

from __future__ import annotations

import numpy as np
import pytest

import tensorize
from tensorize.backend.blocking import unroll_and_jam
from tensorize.backend.build import missing_host_features
from tensorize.backend.emit import PARALLEL_MIN_WORK, emit_unit
from tensorize.backend.native import compile_kernel, schedule
from tensorize.backend.packing import check_packing, pack_operands
from tensorize.backend.parallel import parallel_loop
from tensorize.backend.tiling import MAX_TK, Caches, cache_tile, choose_tiles, host_caches
from tensorize.ir import interp
from tensorize.ir.nodes import For

LIB = tensorize.load_library()
L = LIB.as_dict()
TINY = Caches(l1=512, l2=2048)
"""Caches small enough that the test kernels are tiled along both loops."""

SGEMM = """
kernel sgemm(M = {m}, N = {n}, K = {k}) {{
  in A: f32[M, K]
  in B: f32[K, N]
  out C: f32[M, N]
  for i in 0..M {{
    for j in 0..N {{
      C[i, j] = 0.0
      for k in 0..K {{
        C[i, j] += B[k, j] * A[i, k]
      }}
    }}
  }}
}}
"""

IGEMM = """
kernel igemm(M = {m}, N = {n}, K = {k}) {{
  in A: u8[M, K]
  in B: i8[N, K]
  out C: i32[M, N]
  for i in 0..M {{
    for j in 0..N {{
      C[i, j] = 0
      for k in 0..K {{
        C[i, j] += i32(A[i, k]) * i32(B[j, k])
      }}
    }}
  }}
}}
"""


def _rewritten(text: str, target: str, fp: str = "ieee") -> tensorize.Function:
    fn = tensorize.parse(text).kernels[0]
    result = tensorize.tensorize(fn, LIB, targets=[target], fp=fp)
    assert result.rewritten is not fn
    return result.rewritten


def _blocked(fn: tensorize.Function) -> tensorize.Function:
    return unroll_and_jam(pack_operands(fn, L)[0], L)[0]


def _loops(fn: tensorize.Function) -> list[str]:
    out: list[str] = []

    def go(stmts: tuple[object, ...]) -> None:
        for s in stmts:
            if isinstance(s, For):
                out.append(s.var)
                go(s.body)

    go(fn.body)
    return out


def test_the_cost_model_fits_the_caches() -> None:
    # a 6x16 f32 micro-kernel: 24 bytes of A per step (reused along jo), 64 of packed B
    tiles = choose_tiles(64, 1024, (24, 64), Caches(32 * 1024, 512 * 1024))
    assert tiles.tk * 24 <= 16 * 1024 and 1024 % tiles.tk == 0 and tiles.tk <= MAX_TK
    assert tiles.tp * tiles.tk * 64 <= 256 * 1024 and 64 % tiles.tp == 0
    assert choose_tiles(7, 37, (24, 64), TINY).tk < 37  # a prime extent still gets a tile
    caches = host_caches()
    assert caches.l1 >= 4096 and caches.l2 >= caches.l1


def test_rows_a_power_of_two_apart_are_packed_with_padding() -> None:
    fn = _rewritten(SGEMM.format(m=12, n=16, k=512), "x86.fma", "real")
    packed, info = pack_operands(fn, L)
    assert ("A", "b") in [(p.source, p.param) for p in info]  # rows 2 KiB apart
    local = next(b for b in packed.buffers if b.name.startswith("pk_A"))
    assert [int(str(e.value)) for e in local.shape] == [12, 512 + 16]  # one line of padding
    assert check_packing(fn, packed, L) == []
    inputs = interp.random_inputs(fn, {}, 1)
    want = interp.run(fn, inputs, library=L)
    got = interp.run(packed, inputs, library=L)
    assert interp.checksum(got["C"]) == interp.checksum(want["C"])
    small = _rewritten(SGEMM.format(m=12, n=16, k=100), "x86.fma", "real")
    assert "A" not in [p.source for p in pack_operands(small, L)[1]]


@pytest.mark.parametrize("m,n,k", [(13, 112, 37), (6, 16, 41), (7, 80, 8)])
def test_tiled_f32_gemm_at_prime_extents_equals_the_untiled(m: int, n: int, k: int) -> None:
    fn = _rewritten(SGEMM.format(m=m, n=n, k=k), "x86.fma", "real")
    blocked = _blocked(fn)
    tiled, count = cache_tile(blocked, L, TINY)
    assert count >= 1
    assert any(v.endswith("_t") for v in _loops(tiled))
    inputs = interp.random_inputs(fn, {}, 3)
    want = interp.run(fn, inputs, library=L)
    got = interp.run(tiled, inputs, library=L)
    # each element's reduction keeps its order: bit-identical even in real mode
    assert interp.checksum(got["C"]) == interp.checksum(want["C"])


def test_tiled_int8_gemm_is_proved_equal() -> None:
    fn = _rewritten(IGEMM.format(m=7, n=48, k=10), "x86.avx2")
    blocked = _blocked(fn)
    tiled, count = cache_tile(blocked, L, Caches(l1=64, l2=128))
    assert count >= 1
    loops = _loops(tiled)
    assert sum(v.endswith("_t") for v in loops) >= 2  # both loops blocked
    proof = tensorize.prove(blocked, tiled, library=L, timeout=120)
    assert type(proof).__name__ == "Proved"


def test_dependent_iterations_are_not_tiled() -> None:
    text = """
kernel chain {
  in A: u8[8, 64]
  in B: i8[16, 2]
  inout C: i32[16]
  for i in 0..8 {
    for r in 0..32 {
      call x86.avx2.dot_16x2_u8i8_bcast(a = (k) -> A[i, 2 * r + k], b = B, c = C)
    }
  }
}
"""
    fn = tensorize.parse(text, library=L).kernels[0]
    assert cache_tile(fn, L, TINY)[1] == 0  # every i accumulates into the same C


def test_a_nested_loop_with_a_shift_of_its_own_is_not_parallel() -> None:
    text = """
kernel shift {
  inout W: i32[40]
  for i in 0..4 {
    for j in 0..8 {
      W[j + i] = W[j] + 1
    }
  }
}
"""
    fn = tensorize.parse(text).kernels[0]
    inner = fn.body[0].body[0]
    assert isinstance(inner, For)
    assert not parallel_loop(inner, fn, {}, L, frozenset({"i"}))
    ok = """
kernel noshift {
  inout W: i32[4, 8]
  for i in 0..4 {
    for j in 0..8 {
      W[i, j] = W[i, j] + 1
    }
  }
}
"""
    fn2 = tensorize.parse(ok).kernels[0]
    inner2 = fn2.body[0].body[0]
    assert isinstance(inner2, For)
    assert parallel_loop(inner2, fn2, {}, L, frozenset({"i"}))


def test_small_work_forks_no_threads() -> None:
    tiny = _rewritten(IGEMM.format(m=32, n=32, k=32), "x86.avx2")
    unit = emit_unit([schedule(tiny, L)], L, {}, threads=2)
    assert "#pragma omp" not in unit.source and unit.parallel == ()
    big = tensorize.parse(IGEMM.format(m=256, n=256, k=256)).kernels[0]
    assert 256 ** 3 >= PARALLEL_MIN_WORK
    unit2 = emit_unit([big], L, {"M": 256, "N": 256, "K": 256}, threads=2)
    assert "#pragma omp parallel for" in unit2.source and unit2.parallel == ("igemm",)


def test_a_parallel_body_keeps_restrict_pointers() -> None:
    """gcc's outlined region reads the pointers from a struct, without restrict, and then
    stored the accumulators at every step (2 threads ran 5x slower than 1): the body is a
    function of its own with restrict parameters."""
    fn = _rewritten(SGEMM.format(m=96, n=256, k=256), "x86.fma", "real")
    unit = emit_unit([schedule(fn, L)], L, {}, threads=2)
    assert unit.parallel == ("sgemm",)
    assert "static __attribute__((noinline)) void sgemm_tz_par0(" in unit.source
    helper = unit.source.split("sgemm_tz_par0(", 1)[1].split(")", 1)[0]
    assert "float *restrict C" in helper and "const float *restrict A" in helper


@pytest.mark.skipif(bool(missing_host_features(["x86.fma", "x86.avx2"])),
                    reason="this CPU lacks FMA or AVX2: the compiled kernels cannot run here")
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_tiled_kernels_agree_with_the_interpreter(threads: int,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr("tensorize.backend.emit.PARALLEL_MIN_WORK", 0)  # threads at any size
    for text, target, fp, out in ((SGEMM.format(m=61, n=208, k=131), "x86.fma", "real", "C"),
                                  (IGEMM.format(m=67, n=96, k=202), "x86.avx2", "ieee", "C")):
        fn = _rewritten(text, target, fp)
        tiled = cache_tile(_blocked(fn), L, TINY)
        assert tiled[1] >= 1
        inputs = interp.random_inputs(fn, {}, 5)
        want = interp.run(fn, inputs, library=L)
        native = compile_kernel(fn, L, threads=threads, caches=TINY)
        arrays = {**{k: v.copy() for k, v in inputs.items()},
                  out: np.zeros(want[out].shape, want[out].dtype)}
        native(**arrays)
        assert interp.checksum(arrays[out]) == interp.checksum(want[out])
        assert (threads > 1) == bool(native.unit.parallel)
