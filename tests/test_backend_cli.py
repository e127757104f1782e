"""The command line of the C back end: build, run --backend c, and its errors."""

from __future__ import annotations

import ctypes
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tensorize
from tensorize.backend.packing import check_packing, pack_operands
from tensorize.cli import main
from tensorize.ir import interp

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")

LIB = tensorize.load_library()

GEMM = """
kernel gemm_nt(M = 5, N = 16, K = 6) {
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


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_build_writes_c_and_header_with_the_promised_signature(tmp_path: Path) -> None:
    src = tmp_path / "g.tz"
    src.write_text(GEMM)
    code, _, err = _cli("build", str(src), "--set", "K=6", "-o", str(tmp_path / "g.c"))
    assert code == 0, err
    header = (tmp_path / "g.h").read_text()
    assert ("void gemm_nt(int64_t M, int64_t N, const uint8_t *A, const int8_t *B, "
            "int32_t *C);") in header
    # plain cc -O3 -march=native compiles it; it needs nothing of ours
    lib = tmp_path / "g.so"
    subprocess.run(["cc", "-O3", "-march=native", "-shared", "-fPIC", str(tmp_path / "g.c"),
                    "-o", str(lib)], check=True)
    fn = tensorize.parse(GEMM).kernels[0]
    sizes = {"M": 7, "N": 13, "K": 6}
    inputs = interp.random_inputs(fn, sizes, 0)
    want = interp.run(fn, inputs, sizes=sizes)
    c = np.zeros((7, 13), dtype=np.int32)
    f = ctypes.CDLL(str(lib)).gemm_nt
    f.argtypes = [ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                  ctypes.c_void_p]
    f(7, 13, inputs["A"].ctypes.data, inputs["B"].ctypes.data, c.ctypes.data)
    assert interp.checksum(c) == interp.checksum(want["C"])


def test_run_backend_c_prints_the_interpreters_lines(tmp_path: Path) -> None:
    src = tmp_path / "g.tz"
    src.write_text(GEMM)
    code, plain, _ = _cli("run", str(src), "--set", "M=13")
    assert code == 0
    code, native, err = _cli("run", str(src), "--set", "M=13", "--backend", "c")
    assert code == 0, err
    assert native == plain
    code, timed, _ = _cli("run", str(src), "--backend", "c", "--repeat", "3", "--threads", "2")
    assert code == 0
    lines = timed.splitlines()
    assert "ms per call over 3 calls (2 threads)" in lines[-1] and "GOPS" in lines[-1]


def test_rewritten_avx2_kernel_is_packed_and_runs(tmp_path: Path) -> None:
    fn = tensorize.parse(GEMM).kernels[0]
    result = tensorize.tensorize(fn, LIB, targets=["x86.avx2"])
    packed, info = pack_operands(result.rewritten, LIB.as_dict())
    assert [p.source for p in info] == ["B"]
    assert check_packing(result.rewritten, packed, LIB.as_dict()) == []
    inputs = interp.random_inputs(fn, {}, 1)
    a = interp.run(result.rewritten, inputs, library=LIB.as_dict())
    b = interp.run(packed, inputs, library=LIB.as_dict())
    assert interp.checksum(a["C"]) == interp.checksum(b["C"])
    proof = tensorize.prove(result.rewritten, packed, library=LIB.as_dict(), timeout=60)
    assert type(proof).__name__ == "Proved"
    if not tensorize.api.missing_features_for(["x86.avx2"]):
        native = tensorize.compile(result.rewritten, LIB)
        assert native.unit.templates_used == ("x86.avx2.dot_16x2_u8i8_bcast",)
        arrays = {"A": inputs["A"], "B": inputs["B"], "C": np.zeros((5, 16), np.int32)}
        native(**arrays)
        assert interp.checksum(arrays["C"]) == interp.checksum(a["C"])


def test_packing_check_rejects_a_wrong_copy() -> None:
    from dataclasses import replace

    from tensorize.ir.nodes import Assign, Binary, Const, For, Load
    from tensorize.ir.types import INDEX

    fn = tensorize.parse(GEMM).kernels[0]
    result = tensorize.tensorize(fn, LIB, targets=["x86.avx2"])
    packed, _ = pack_operands(result.rewritten, LIB.as_dict())
    # find the copy nest and shift the element it copies by one
    body = list(packed.body)
    for n, s in enumerate(body):
        inner = s
        path = []
        while isinstance(inner, For):
            path.append(inner)
            inner = inner.body[0]
        if isinstance(inner, Assign) and inner.buf.startswith("pk_"):
            load = inner.value
            assert isinstance(load, Load)
            bad_index = (load.index[0], Binary("+", load.index[1], Const(0, INDEX), INDEX))
            wrong = replace(inner, value=replace(load, index=(load.index[1], load.index[0])))
            same = replace(inner, value=replace(load, index=bad_index))
            for variant, expect_bad in ((wrong, True), (same, False)):
                new: object = variant
                for f in reversed(path):
                    new = replace(f, body=(new,))
                body[n] = new  # type: ignore[assignment]
                problems = check_packing(result.rewritten, replace(packed, body=tuple(body)),
                                         LIB.as_dict())
                assert bool(problems) == expect_bad, problems
            return
    raise AssertionError("no copy nest")


def test_missing_compiler_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    src = tmp_path / "g.tz"
    src.write_text(GEMM)
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("TENSORIZE_CACHE_DIR", str(tmp_path / "cache"))
    code, _, err = _cli("run", str(src), "--backend", "c")
    assert code == 2 and "no C compiler" in err


def test_missing_cpu_feature_is_refused_before_running(tmp_path: Path) -> None:
    text = """
kernel dot(N = 64) {
  in A: u8[N, 4]
  in B: i8[N, 16, 4]
  inout C: i32[N, 16]
  for n in 0..N {
    call x86.avx512_vnni.vpdpbusd_bcast(a = (k) -> A[n, k], b = (i, k) -> B[n, i, k],
                                        c = (i) -> C[n, i])
  }
}
"""
    src = tmp_path / "v.tz"
    src.write_text(text)
    missing = tensorize.api.missing_features_for(["x86.avx512_vnni"])
    code, out, err = _cli("run", str(src), "--backend", "c")
    if missing:
        assert code == 2 and "lacks" in err and "avx512" in err and out == ""
    else:
        assert code == 0


def test_usage_errors(tmp_path: Path) -> None:
    src = tmp_path / "g.tz"
    src.write_text(GEMM)
    assert _cli("run", str(src), "--repeat", "3")[0] == 2
    assert _cli("run", str(src), "--backend", "c", "--scalar")[0] == 2
    assert _cli("run", str(src), "--backend", "c", "--threads", "0")[0] == 2
    assert _cli("build", str(src), "-o", str(tmp_path / "g.txt"))[0] == 2
    assert _cli("build", str(src), "-o", str(tmp_path / "nodir" / "g.c"))[0] == 2


def test_compile_refuses_arrays_that_share_memory() -> None:
    text = "kernel inc(N = 8) {\n  in X: i32[N]\n  out Y: i32[N]\n  for i in 0..N {\n" \
        "    Y[i] = X[i] + 1\n  }\n}\n"
    native = tensorize.compile(tensorize.parse(text).kernels[0], LIB)
    x = np.arange(8, dtype=np.int32)
    with pytest.raises(tensorize.TensorizeError, match="share memory"):
        native(X=x, Y=x)
    y = np.zeros(8, np.int32)
    native(X=x, Y=y)
    assert list(y) == list(range(1, 9))
