"""Accelerator models: Gemmini, Ascend (cube and vector), Hexagon HVX."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from tests.spec_models import exact, ints, model, saturate, wrap
from tests.spec_models.gpu import real_mma
from tests.spec_models.x86 import as_dtype, ext, raw


@model("gemmini.matmul_preload")
def _preload(a: np.ndarray, b: np.ndarray, d: np.ndarray) -> dict[str, np.ndarray]:
    """compute_preloaded: C = A x B + D (D preloaded into the accumulator)."""
    total = a.astype(np.int64) @ b.astype(np.int64) + d.astype(np.int64)
    return {"c": as_dtype([wrap(int(v), 32, False) for v in total.reshape(-1)], d)}


def _round_half_even(x: float) -> int:
    f = math.floor(x)
    r = Fraction(x) - f
    return f + (1 if r > Fraction(1, 2) or (r == Fraction(1, 2) and f % 2) else 0)


def _scale_to_i8(x: int, scale: float) -> int:
    """The float scale unit: x * scale rounded to f32, then to the nearest integer (ties to
    even), clipped to int8. NaN (0 * inf) gives 0."""
    prod = exact.mul(float(x), float(scale), "f32")
    if math.isnan(prod):
        return 0
    if math.isinf(prod):
        return 127 if prod > 0 else -128
    return saturate(_round_half_even(prod), 8, True)


@model("gemmini.mvin_scaled")
def _mvin(x: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    return {"o": np.asarray([_scale_to_i8(v, float(scale)) for v in ints(x)],
                            dtype=np.int8).reshape(x.shape)}


@model("gemmini.mvout_relu")
def _mvout_relu(acc: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    return {"o": np.asarray([max(_scale_to_i8(v, float(scale)), 0) for v in ints(acc)],
                            dtype=np.int8).reshape(acc.shape)}


model("ascend.cube.mmad_bf16_f32", kind="real")(real_mma)


def _vec(op: str, fmt: str) -> Any:
    def fn(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        f = exact.add if op == "add" else exact.mul
        got = [f(x, y, fmt) for x, y in zip(a.reshape(-1), b.reshape(-1))]
        return {"c": exact.array(got, fmt, a.shape)}
    return fn


model("ascend.vector.vadd_f32")(_vec("add", "f32"))
model("ascend.vector.vmul_f32")(_vec("mul", "f32"))
model("ascend.vector.vadd_f16")(_vec("add", "f16"))


@model("ascend.vector.vmuls_f32")
def _vmuls(a: np.ndarray, s: np.ndarray) -> dict[str, np.ndarray]:
    return {"c": exact.array([exact.mul(x, s, "f32") for x in a.reshape(-1)], "f32", a.shape)}


@model("ascend.vector.vmla_f32", kind="real")
def _vmla(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, Any]:
    return {"c": exact.fractions(c) + exact.fractions(a) * exact.fractions(b)}


def _vrmpy(a_signed: bool, b_signed: bool, scalar: bool) -> Any:
    """Vx.w[i] += sum over j < 4 of Vu.w[i].b[j] * (Vv.w[i].b[j] or Rt.b[j])."""
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        ra, rb, dest = raw(a, 8), raw(b, 8), raw(c, 32)
        out = [wrap(d + sum(ext(ra[4 * i + j], 8, a_signed)
                            * ext(rb[j if scalar else 4 * i + j], 8, b_signed)
                            for j in range(4)), 32, False) for i, d in enumerate(dest)]
        return {"c": as_dtype(out, c)}
    return fn


model("hexagon.hvx.vrmpy_b_b")(_vrmpy(True, True, False))
model("hexagon.hvx.vrmpy_ub_ub")(_vrmpy(False, False, False))
model("hexagon.hvx.vrmpy_ub_rt_b")(_vrmpy(False, True, True))


@model("hexagon.hvx.vdmpy_h_h_sat")
def _vdmpyhvsat(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """accum = Vu.w[i].h[0]*Vv.w[i].h[0] + Vu.w[i].h[1]*Vv.w[i].h[1];
    Vx.w[i] = sat32(Vx.w[i] + accum)."""
    ra, rb, dest = raw(a, 16), raw(b, 16), raw(c, 32)
    out = []
    for i, d in enumerate(dest):
        accum = sum(ext(ra[2 * i + h], 16, True) * ext(rb[2 * i + h], 16, True) for h in range(2))
        out.append(saturate(ext(d, 32, True) + accum, 32, True))
    return {"c": as_dtype(out, c)}


@model("hexagon.hvx.vdmpy_ub_rt_b")
def _vdmpybus(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """Vx.h[i] += Vu.uh[i].ub[0] * Rt.b[(2i) % 4] + Vu.uh[i].ub[1] * Rt.b[(2i+1) % 4]."""
    ra, rb, dest = raw(a, 8), raw(b, 8), raw(c, 16)
    out = [wrap(d + ra[2 * i] * ext(rb[(2 * i) % 4], 8, True)
                + ra[2 * i + 1] * ext(rb[(2 * i + 1) % 4], 8, True), 16, False)
           for i, d in enumerate(dest)]
    return {"c": np.asarray(out, dtype=np.uint16).view(np.int16).reshape(c.shape)}


@model("hexagon.hvx.vmpa_ub_rt_b")
def _vmpabus(u: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """Vxx.v[0].h[i] += Vuu.v[0].uh[i].ub[0]*Rt.b[0] + Vuu.v[1].uh[i].ub[0]*Rt.b[1];
    Vxx.v[1].h[i] += Vuu.v[0].uh[i].ub[1]*Rt.b[2] + Vuu.v[1].uh[i].ub[1]*Rt.b[3]
    (u is the register pair: the 128 bytes of Vuu.v[0], then the 128 of Vuu.v[1])."""
    ru, rb, dest = raw(u, 8), raw(b, 8), raw(c, 16)
    r0, r1 = ru[:128], ru[128:]
    rt = [ext(v, 8, True) for v in rb]
    out = list(dest)
    for i in range(64):
        out[i] = wrap(dest[i] + r0[2 * i] * rt[0] + r1[2 * i] * rt[1], 16, False)
        out[64 + i] = wrap(dest[64 + i] + r0[2 * i + 1] * rt[2] + r1[2 * i + 1] * rt[3], 16,
                           False)
    return {"c": np.asarray(out, dtype=np.uint16).view(np.int16).reshape(c.shape)}
