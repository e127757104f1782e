"""Arm models (NEON, SVE, SME), from the Arm ARM pseudocode.

Vector operands are taken as the register's elements in order (the spec arrays flattened)
and extended as each instruction's pseudocode says (SInt or UInt of the element bits).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.spec_models import exact, model, wrap
from tests.spec_models.x86 import as_dtype, ext, raw


def dot_elements(a: np.ndarray, b: np.ndarray, c: np.ndarray, a_signed: bool,
                 b_signed: bool, index_group: bool = False) -> list[int]:
    """SDOT/UDOT/USDOT/SUDOT: res = Elem[operand3, e] + sum over i < 4 of
    element1[4e + i] * element2[4e + i] (or of the indexed group when by element)."""
    ra, rb, dest = raw(a, 8), raw(b, 8), raw(c, 32)
    out = []
    for e, d in enumerate(dest):
        total = d
        for i in range(4):
            bi = i if index_group else 4 * e + i
            total += ext(ra[4 * e + i], 8, a_signed) * ext(rb[bi], 8, b_signed)
        out.append(wrap(total, 32, False))
    return out


def _dot(a_signed: bool, b_signed: bool, lane: bool = False) -> Any:
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        return {"c": as_dtype(dot_elements(a, b, c, a_signed, b_signed, lane), c)}
    return fn


model("arm.neon.udot_lane")(_dot(False, False, lane=True))
model("arm.neon.usdot_lane")(_dot(False, True, lane=True))
model("arm.neon.sudot_lane")(_dot(True, False, lane=True))
for vl in (128, 256, 512):
    model(f"arm.sve{vl}.sdot")(_dot(True, True))
    model(f"arm.sve{vl}.udot")(_dot(False, False))
    model(f"arm.sve{vl}.usdot")(_dot(False, True))


def _mmla(a_signed: bool, b_signed: bool) -> Any:
    """SMMLA/UMMLA/USMMLA per 128-bit segment: the 2x8 matrix in the first source times the
    transpose of the 2x8 matrix in the second, added to the 2x2 matrix of the destination."""
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        ra, rb, dest = raw(a, 8), raw(b, 8), raw(c, 32)
        out = []
        for seg in range(len(dest) // 4):
            for i in range(2):
                for j in range(2):
                    acc = dest[4 * seg + 2 * i + j]
                    for k in range(8):
                        acc += (ext(ra[16 * seg + 8 * i + k], 8, a_signed)
                                * ext(rb[16 * seg + 8 * j + k], 8, b_signed))
                    out.append(wrap(acc, 32, False))
        return {"c": as_dtype(out, c)}
    return fn


for vl in (128, 256, 512):  # one, two or four 128-bit segments
    model(f"arm.sve{vl}.smmla")(_mmla(True, True))
    model(f"arm.sve{vl}.ummla")(_mmla(False, False))
    model(f"arm.sve{vl}.usmmla")(_mmla(False, True))


def _fmla(fmt: str) -> Any:
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        got = [exact.fma(x, y, z, fmt) for x, y, z in
               zip(a.reshape(-1), b.reshape(-1), c.reshape(-1))]
        return {"c": exact.array(got, fmt, c.shape)}
    return fn


model("arm.neon.fmla", "arm.sve128.fmla", "arm.sve256.fmla", "arm.sve512.fmla")(_fmla("f32"))
model("arm.neon.fmla_f16")(_fmla("f16"))
model("arm.neon.fmla_f64")(_fmla("f64"))


@model("arm.neon.bfdot", kind="real")
def _bfdot(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, Any]:
    fa, fb, out = exact.fractions(a), exact.fractions(b), exact.fractions(c)
    for e in range(4):
        out[e] = out[e] + fa[e, 0] * fb[e, 0] + fa[e, 1] * fb[e, 1]
    return {"c": out}


def _fmmla_real(k: int) -> Any:
    """BFMMLA / FMMLA: per segment, C[2,2] += A[2,k] B^T[k,2], as an exact value."""
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, Any]:
        fa = exact.fractions(a).reshape(-1)
        fb = exact.fractions(b).reshape(-1)
        out = exact.fractions(c).reshape(-1)
        for seg in range(out.size // 4):
            for i in range(2):
                for j in range(2):
                    out[4 * seg + 2 * i + j] += sum(
                        fa[2 * k * seg + k * i + t] * fb[2 * k * seg + k * j + t]
                        for t in range(k))
        return {"c": out.reshape(c.shape)}
    return fn


for vl in (128, 256, 512):
    model(f"arm.sve{vl}.bfmmla", kind="real")(_fmmla_real(4))
    model(f"arm.sve{vl}.fmmla", kind="real")(_fmmla_real(2))


@model("arm.sme512.fmopa")
def _fmopa(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """FMOPA (non-widening): ZA[row][col] = FPMulAdd(ZA[row][col], Zn[row], Zm[col])."""
    got = [exact.fma(a[r], b[q], c[r, q], "f32") for r in range(16) for q in range(16)]
    return {"c": exact.array(got, "f32", c.shape)}


@model("arm.sme512.fmopa_f16", "arm.sme512.bfmopa", kind="real")
def _fmopa_widening(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, Any]:
    """2-way widening outer product: ZA[r][q] += Zn[2r]*Zm[2q] + Zn[2r+1]*Zm[2q+1]."""
    fa, fb = exact.fractions(a).reshape(-1), exact.fractions(b).reshape(-1)
    out = exact.fractions(c)
    for r in range(16):
        for q in range(16):
            out[r, q] += fa[2 * r] * fb[2 * q] + fa[2 * r + 1] * fb[2 * q + 1]
    return {"c": out}


def _mopa4(a_signed: bool, b_signed: bool) -> Any:
    """SMOPA/UMOPA/USMOPA/SUMOPA (4-way): ZA[r][q] += sum over i < 4 of
    Zn.B[4r + i] * Zm.B[4q + i], modulo 2^32."""
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        ra, rb, dest = raw(a, 8), raw(b, 8), raw(c, 32)
        out = []
        for r in range(16):
            for q in range(16):
                acc = dest[16 * r + q] + sum(ext(ra[4 * r + i], 8, a_signed)
                                             * ext(rb[4 * q + i], 8, b_signed)
                                             for i in range(4))
                out.append(wrap(acc, 32, False))
        return {"c": as_dtype(out, c)}
    return fn


model("arm.sme512.smopa")(_mopa4(True, True))
model("arm.sme512.umopa")(_mopa4(False, False))
model("arm.sme512.usmopa")(_mopa4(False, True))
model("arm.sme512.sumopa")(_mopa4(True, False))
