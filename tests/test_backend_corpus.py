"""Corpus kernels compiled to C print the interpreter's checksums.

Unrewritten: every corpus kernel up to a work limit (so that the suite stays fast; the
full sweep is ``python -m bench.native --corpus``), one C file per corpus file. Rewritten:
the Arm rewrites run under qemu (skipped with the reason where it is absent), the x86
VNNI rewrites are compiled (this CPU may lack the instruction: then they are not run), and
an f32 GEMM rewritten to FMA in real mode runs here, at prime extents (tails) and on
threads.
"""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorize
from tensorize.backend.build import missing_host_features
from tensorize.backend.cross import arm_missing, run_arm
from tensorize.backend.emit import emit_unit
from tensorize.backend.native import compile_kernel, compile_many
from tensorize.backend.packing import pack_operands
from tensorize.intrinsics.library import Library
from tensorize.ir import interp
from tensorize.ir.nodes import Function

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.run import CORPUS, load_manifest  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")

LIMIT = 2_500_000
MATH = ("exp", "log", "sqrt", "tanh", "sin", "cos", "exp2", "log2")
FILES = sorted({e["file"] for e in load_manifest()})


@functools.cache
def _lib() -> Library:
    return tensorize.load_library()


@functools.cache
def _kernels(file: str) -> list[Function]:
    """The corpus kernels of one file small enough to run in the suite (loaded once)."""
    module = tensorize.load(CORPUS / file, _lib().as_dict())
    named = {e["kernel"] for e in load_manifest() if e["file"] == file}
    return [fn for fn in module.kernels
            if fn.name in named and interp.estimate_work(fn, {}) <= LIMIT]


def _arrays(fn: Function, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    inputs = interp.random_inputs(fn, {}, seed)
    shapes = interp.shapes_of(fn, interp.bind_sizes(fn, {}))
    arrays = {b.name: inputs[b.name].copy() if b.name in inputs else
              np.zeros(shapes[b.name], dtype=b.dtype.np_dtype)
              for b in fn.buffers if b.mode != "local"}
    return inputs, arrays


def _uses_math(fn: Function) -> bool:
    from tensorize.ir.nodes import Call
    from tensorize.ir.traverse import walk

    return any(isinstance(n, Call) and n.fn in MATH for s in fn.body for n in walk(s))


@pytest.mark.parametrize("file", FILES)
def test_unrewritten_corpus_kernels_match_the_interpreter(file: str) -> None:
    kernels = _kernels(file)
    if not kernels:
        return  # every kernel of this file is above the suite's size limit
    natives = compile_many(kernels, _lib().as_dict())
    for fn in kernels:
        inputs, arrays = _arrays(fn)
        want = interp.run(fn, inputs, library=_lib().as_dict())
        natives[fn.name](**arrays)
        for b in fn.outputs:
            same = interp.checksum(arrays[b.name]) == interp.checksum(want[b.name])
            if _uses_math(fn):  # libm and numpy may differ in the last place
                np.testing.assert_allclose(arrays[b.name].astype(np.float64),
                                           want[b.name].astype(np.float64), rtol=1e-5,
                                           atol=1e-6)
            else:
                assert same, f"{file}:{fn.name}.{b.name}"


def test_the_corpus_sample_is_broad() -> None:
    assert sum(len(_kernels(f)) for f in FILES) >= 20


def _rewrite(file: str, kernel: str, target: str, fp: str) -> Function:
    module = tensorize.load(CORPUS / file, _lib().as_dict())
    fn = module.get(kernel)
    assert fn is not None
    result = tensorize.tensorize(fn, _lib(), targets=[target], fp=fp)
    assert result.coverage > 0, kernel
    return result.rewritten


@pytest.mark.parametrize("kernel,intrinsic", [
    ("gemm_u8i8_nn_16x512x128", "arm.neon.usmmla"),
    ("gemm_i8i8_nn_16x512x128", "arm.neon.smmla"),
    ("gemm_f32_nn_16x512x128", "arm.neon.fmla_lane"),
])
def test_arm_rewrites_run_under_qemu(kernel: str, intrinsic: str) -> None:
    reason = arm_missing()
    if reason:
        pytest.skip(reason)
    fn = _rewrite("gemm.tz", kernel, "arm.neon", "real")  # NEON (the SME forms now win on "arm")
    unit = emit_unit([fn], _lib().as_dict(), {})
    assert intrinsic in unit.templates_used + unit.inlined
    inputs, arrays = _arrays(fn)
    want = interp.run(fn, inputs, library=_lib().as_dict())
    got = run_arm(unit, fn, interp.shapes_of(fn, {}), arrays)
    for b in fn.outputs:
        assert interp.checksum(got[b.name]) == interp.checksum(want[b.name]), b.name


def test_x86_vnni_rewrite_compiles_and_runs_where_the_cpu_can() -> None:
    fn = _rewrite("gemv.tz", "gemv_512x16", "x86", "ieee")
    unpacked = emit_unit([fn], _lib().as_dict(), {})
    assert unpacked.inlined == ("x86.avx512_vnni.vpdpbusd_bcast",)  # W's rows: not 16x4
    packed, info = pack_operands(fn, _lib().as_dict())
    assert [p.source for p in info] == ["W"]
    unit = emit_unit([packed], _lib().as_dict(), {})
    assert unit.templates_used == ("x86.avx512_vnni.vpdpbusd_bcast",)
    if missing_host_features(unit.targets):
        with pytest.raises(tensorize.TensorizeError, match="lacks avx512"):
            compile_kernel(fn, _lib().as_dict())
        return
    inputs, arrays = _arrays(fn)
    want = interp.run(fn, inputs, library=_lib().as_dict())
    compile_kernel(fn, _lib().as_dict())(**arrays)
    for b in fn.outputs:
        assert interp.checksum(arrays[b.name]) == interp.checksum(want[b.name])


SGEMM = """
kernel sgemm(M = {m}, N = {n}, K = {k}) {{
  in A: f32[M, K]
  in B: f32[K, N]
  out C: f32[M, N]
  for i in 0..M {{
    for j in 0..N {{
      C[i, j] = 0.0
      for k in 0..K {{
        C[i, j] += A[i, k] * B[k, j]
      }}
    }}
  }}
}}
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_fma_rewrite_with_prime_tails_runs_here(threads: int, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.setattr("tensorize.backend.emit.PARALLEL_MIN_WORK", 0)  # threads at any size
    if missing_host_features(["x86.fma"]):
        pytest.skip(f"this CPU lacks {', '.join(missing_host_features(['x86.fma']))}")
    module = tensorize.parse(SGEMM.format(m=37, n=41, k=19), library=_lib().as_dict())
    result = tensorize.tensorize(module.kernels[0], _lib(), targets=["x86.fma"], fp="real")
    fn = result.rewritten
    assert result.coverage > 0
    unit = emit_unit([fn], _lib().as_dict(), {}, threads=threads)
    assert any(n.startswith("x86.fma") for n in unit.templates_used + unit.inlined)
    inputs, arrays = _arrays(fn, seed=5)
    want = interp.run(fn, inputs, library=_lib().as_dict())
    native = compile_kernel(fn, _lib().as_dict(), threads=threads)
    native(**arrays)
    assert interp.checksum(arrays["C"]) == interp.checksum(want["C"])
    if threads > 1:
        assert native.unit.parallel == ("sgemm",)
