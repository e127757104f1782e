"""GPU models (NVIDIA PTX, AMD CDNA/RDNA, Intel Xe): D = A x B + C.

Integer forms: exact products summed in Python ints, wrapped to 32 bits. Float forms are
declared unordered by their specs: the model is the exact real value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.spec_models import exact, ints, model, wrap
from tests.spec_models.x86 import as_dtype


def int_mma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """D[i][j] = C[i][j] + sum over k of A[i][k] * B[k][j] (A and B as their values)."""
    m, k = a.shape
    n = b.shape[1]
    av, bv, cv = ints(a), ints(b), ints(c)
    out = [wrap(cv[i * n + j] + sum(av[i * k + t] * bv[t * n + j] for t in range(k)), 32,
                False) for i in range(m) for j in range(n)]
    return {"c": as_dtype(out, c)}


def real_mma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, Any]:
    """The exact value of C + A x B."""
    fa, fb, fc = exact.fractions(a), exact.fractions(b), exact.fractions(c)
    return {"c": fc + fa.dot(fb)}


model("nvidia.mma.m16n8k32_u8_s32", "nvidia.mma.m16n8k32_u8s8_s32",
      "nvidia.mma.m16n8k32_s8u8_s32", "nvidia.mma.m16n8k64_s4_s32",
      "nvidia.mma.m16n8k64_u4_s32", "nvidia.wgmma.m64n8k32_s8_s32",
      "amd.mfma.i32_32x32x16_i8", "amd.mfma.i32_32x32x8_i8",
      "amd.wmma.i32_16x16x16_iu8_ss", "amd.wmma.i32_16x16x16_iu8_uu",
      "amd.wmma.i32_16x16x16_iu8_us", "intel.xmx.dpas_8x16x32_s8_s32",
      "intel.xmx.dpas_8x16x32_u8_s32")(int_mma)
model("nvidia.mma.m16n8k8_f16_f32", "nvidia.mma.m16n8k16_bf16_f32", "nvidia.mma.m8n8k4_f64",
      "nvidia.wgmma.m64n8k16_f16_f32", "nvidia.wgmma.m64n8k16_bf16_f32",
      "amd.mfma.f32_32x32x8_f16", "amd.mfma.f32_16x16x16_f16",
      "amd.mfma.f32_32x32x8_bf16_1k", "amd.mfma.f32_16x16x16_bf16_1k",
      "amd.mfma.f64_16x16x4_f64", "amd.wmma.f32_16x16x16_f16", "amd.wmma.f32_16x16x16_bf16",
      "intel.xmx.dpas_8x16x16_f16_f32", "intel.xmx.dpas_8x16x16_bf16_f32",
      kind="real")(real_mma)


def _byte(reg: int, i: int, signed: bool) -> int:
    v = (reg >> (8 * i)) & 0xFF
    return v - 256 if signed and v >= 128 else v


def _dp4a(a_signed: bool, b_signed: bool) -> Any:
    """dp4a: d = c + sum over i < 4 of a.byte[i] * b.byte[i] (from 32-bit registers)."""
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        ra = int(np.ascontiguousarray(a).view(np.uint32)[0])
        # the b register: .lo's spec passes only the two bytes it reads (bytes 0, 1)
        rb = int.from_bytes(np.ascontiguousarray(b).tobytes().ljust(4, b"\0"), "little")
        total = int(c) + sum(_byte(ra, i, a_signed) * _byte(rb, i, b_signed) for i in range(4))
        return {"c": as_dtype([wrap(total, 32, False)], np.asarray(c).reshape(1))
                .reshape(())}
    return fn


model("nvidia.dp4a.u32")(_dp4a(False, False))
model("nvidia.dp4a.s32_u32")(_dp4a(True, False))
model("nvidia.dp4a.u32_s32")(_dp4a(False, True))


def _dp2a(hi: bool) -> Any:
    """dp2a.lo/hi: d = c + a.h[0] * b.byte[i] + a.h[1] * b.byte[i + 1], i = 0 (.lo) or 2."""
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        ra = int(np.ascontiguousarray(a).view(np.uint32)[0])
        # the b register: .lo's spec passes only the two bytes it reads (bytes 0, 1)
        rb = int.from_bytes(np.ascontiguousarray(b).tobytes().ljust(4, b"\0"), "little")
        halves = [(ra >> (16 * h)) & 0xFFFF for h in range(2)]
        halves = [v - 65536 if v >= 32768 else v for v in halves]
        base = 2 if hi else 0
        total = int(c) + halves[0] * _byte(rb, base, True) + halves[1] * _byte(rb, base + 1,
                                                                               True)
        return {"c": as_dtype([wrap(total, 32, False)], np.asarray(c).reshape(1)).reshape(())}
    return fn


model("nvidia.dp2a.lo_s32")(_dp2a(False))
model("nvidia.dp2a.hi_s32")(_dp2a(True))
