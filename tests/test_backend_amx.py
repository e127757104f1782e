"""AMX calls are emitted through their templates, compile, and never run on a CPU without
AMX: there the back end stops with a clear error (exit 2) before loading anything."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorize
from tensorize.backend.build import BuildError, missing_host_features
from tensorize.backend.emit import emit_unit
from tensorize.backend.native import compile_kernel
from tensorize.ir import interp

L = tensorize.load_library().as_dict()

AMX_GEMM = """
kernel amx_gemm {
  in A: u8[32, 128]
  in Bv: i8[32, 128]
  inout C: i32[32, 32]
  for mi in 0..2 {
    for ni in 0..2 {
      for ki in 0..2 {
        call x86.amx.tdpbusd(a = (r, d, e) -> A[16 * mi + r, 64 * ki + 4 * d + e],
                             b = (r, d, e) -> Bv[16 * ki + r, 64 * ni + 4 * d + e],
                             c = (r, c) -> C[16 * mi + r, 16 * ni + c])
      }
    }
  }
}
"""
"""A 32x32x128 u8 x i8 GEMM on AMX tiles, ``B`` given in the VNNI layout."""


def _kernel() -> tensorize.Function:
    return tensorize.parse(AMX_GEMM, library=L).kernels[0]


def test_amx_calls_go_through_the_template() -> None:
    unit = emit_unit([_kernel()], L, {})
    assert unit.templates_used == ("x86.amx.tdpbusd",) and unit.inlined == ()
    assert "_tile_dpbusd(2, 0, 1)" in unit.source and "tz_amx_begin();" in unit.source
    assert "ARCH_REQ_XCOMP_PERM" in unit.source  # the OS permission is requested
    assert set(unit.features) == {"amx-tile", "amx-int8"}


def test_amx_kernel_compiles_with_plain_flags(tmp_path: Path) -> None:
    """gcc >= 11 knows AMX; the target attribute enables it on the one function."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (cc)")
    unit = emit_unit([_kernel()], L, {}, header_name="k.h")
    (tmp_path / "k.h").write_text(unit.header)
    (tmp_path / "k.c").write_text(unit.source)
    proc = subprocess.run([cc, "-O3", "-march=native", "-c", str(tmp_path / "k.c"), "-o",
                           str(tmp_path / "k.o")], capture_output=True, text=True)
    if proc.returncode != 0 and "amx" in proc.stderr and "unknown" in proc.stderr:
        pytest.skip(f"this compiler does not know AMX: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr


def test_amx_runs_or_is_refused_before_loading() -> None:
    fn = _kernel()
    missing = missing_host_features(["x86.amx"])
    if missing:
        with pytest.raises(BuildError) as err:
            compile_kernel(fn, L)
        assert "amx_tile" in err.value.message and err.value.exit_code == 2
        pytest.skip(f"AMX run not possible: this CPU lacks {', '.join(missing)} (the "
                    "refusal was checked)")
    inputs = interp.random_inputs(fn, {}, 7)
    want = interp.run(fn, inputs, library=L)
    native = compile_kernel(fn, L)
    arrays = {k: v.copy() for k, v in inputs.items()}
    native(**arrays)
    assert np.array_equal(arrays["C"], want["C"])


def test_cli_run_without_amx_exits_2(tmp_path: Path) -> None:
    if not missing_host_features(["x86.amx"]):
        pytest.skip("this CPU has AMX: nothing to refuse")
    src = tmp_path / "amx.tz"
    src.write_text(AMX_GEMM)
    proc = subprocess.run([sys.executable, "-m", "tensorize", "run", str(src), "--backend", "c"],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "amx_tile" in proc.stderr
    assert "Traceback" not in proc.stderr
