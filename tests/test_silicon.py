"""Specs against the silicon: the real x86 instruction, run by a small C program.

Runs where the CPU has the feature and gcc is present; skipped with the reason otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tensorize
from tensorize.ir import interp
from tests.conftest import TESTS
from tests.test_interp import assert_same

LIB = tensorize.load_library()
SOURCE = TESTS / "silicon" / "x86_check.c"
FLAGS = ["-O1", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni", "-mavx512bf16",
         "-mfma"]


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


CPU = _cpu_flags()

# spec name -> (C op name, CPU flags it needs)
CASES = {
    "x86.avx512_vnni.vpdpbusd": ("vpdpbusd", {"avx512_vnni"}),
    "x86.avx512_vnni.vpdpbusd_bcast": ("vpdpbusd_bcast", {"avx512_vnni"}),
    "x86.avx512_vnni.vpdpbusd_bcast_xmm": ("vpdpbusd_bcast_xmm", {"avx512_vnni", "avx512vl"}),
    "x86.avx512_vnni.vpdpbusds": ("vpdpbusds", {"avx512_vnni"}),
    "x86.avx512_vnni.vpdpwssd": ("vpdpwssd", {"avx512_vnni"}),
    "x86.avx512_bw.vpmaddubsw": ("vpmaddubsw", {"avx512bw"}),
    "x86.avx512_bw.vpmaddwd": ("vpmaddwd", {"avx512bw"}),
    "x86.avx512_bw.dot_16x4_pmadd": ("dot_16x4_pmadd", {"avx512bw"}),
    "x86.avx512_bf16.vdpbf16ps": ("vdpbf16ps", {"avx512_bf16"}),
    "x86.fma.vfmadd231ps": ("vfmadd231ps", {"avx512f", "fma"}),
    "x86.fma.vfmadd231ps_bcast": ("vfmadd231ps_bcast", {"avx512f", "fma"}),
}


@pytest.fixture(scope="module")
def binary(tmp_path_factory) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler on this machine")
    out = tmp_path_factory.mktemp("silicon") / "x86_check"
    proc = subprocess.run([gcc, *FLAGS, str(SOURCE), "-o", str(out)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f"the compiler cannot build AVX-512 code: {proc.stderr.strip()[:200]}")
    return out


def _normal_floats(arr: np.ndarray) -> np.ndarray:
    """The hardware flushes denormals (bf16 dot products): keep test values normal."""
    if arr.dtype.kind in "iub":
        return arr
    wide = arr.astype(np.float64)
    wide = np.where(np.abs(wide) < 1e-30, 0.5, wide)
    return wide.astype(arr.dtype)


def _edge(fn, pattern: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for b in fn.inputs:
        shape = interp.buffer_shape(b, {})
        t = b.dtype
        if t.is_int:
            choices = np.array([t.min, t.max, 0, 1, -1 if t.is_signed else 2, t.max - 1])
            vals = {"min": np.full(shape, t.min), "max": np.full(shape, t.max),
                    "mix": rng.choice(choices, size=shape)}[pattern]
            out[b.name] = vals.astype(t.np_dtype)
        else:
            vals = {"min": np.full(shape, -1.5), "max": np.full(shape, 3.0e4),
                    "mix": rng.choice([0.0, -0.0, 1.0, -2.5, 1e10, -3e-3], size=shape)}[pattern]
            out[b.name] = vals.astype(t.np_dtype)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_spec_matches_the_silicon(name: str, binary: Path) -> None:
    op, needs = CASES[name]
    missing = needs - CPU
    if missing:
        pytest.skip(f"this CPU lacks {', '.join(sorted(missing))}")
    fn = LIB[name]
    rng = np.random.default_rng(0)
    cases = [interp.random_inputs(fn, seed=s) for s in range(20)]
    cases += [_edge(fn, p, rng) for p in ("min", "max", "mix", "mix", "mix")]
    for inputs in cases:
        inputs = {k: _normal_floats(v) for k, v in inputs.items()}
        payload = b"".join(np.ascontiguousarray(inputs[b.name]).tobytes() for b in fn.inputs)
        proc = subprocess.run([str(binary), op], input=payload, capture_output=True,
                              timeout=30)
        assert proc.returncode == 0, proc.stderr.decode()
        got = interp.run(fn, inputs, library=LIB)
        (out_buf,) = fn.outputs
        silicon = np.frombuffer(proc.stdout, dtype=out_buf.dtype.np_dtype).reshape(
            got[out_buf.name].shape)
        assert_same(got[out_buf.name], silicon.copy())
