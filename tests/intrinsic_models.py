"""Independent models of the bundled intrinsics, written in numpy from the manuals.

Each model takes the spec's inputs (same names) and returns its outputs. They share no
code with the interpreter: integer products are exact in int64 and wrapped at the end;
float models compute in float64 and round once to f32, which is exact for the bf16/f16
products and the sums of the random test values used here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Model = Callable[..., dict[str, np.ndarray]]
MODELS: dict[str, Model] = {}


def model(name: str) -> Callable[[Model], Model]:
    def register(fn: Model) -> Model:
        MODELS[name] = fn
        return fn
    return register


def _wrap32(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def _dot_groups(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum over the last axis of exact int64 products."""
    return np.sum(a.astype(np.int64) * b.astype(np.int64), axis=-1)


@model("x86.avx512_vnni.vpdpbusd")
@model("hexagon.hvx.vrmpy_ub_b")
@model("arm.neon.usdot")
@model("arm.neon.sdot")
@model("x86.avx512_vnni.vpdpwssd")
def _lane_dot(a, b, c):
    return {"c": _wrap32(c.astype(np.int64) + _dot_groups(a, b))}


@model("arm.neon.udot")
def _udot(a, b, c):
    return {"c": (c.astype(np.uint64) + _dot_groups(a, b).astype(np.uint64)).astype(np.uint32)}


@model("x86.avx512_vnni.vpdpbusd_bcast")
@model("x86.avx512_vnni.vpdpbusd_bcast_xmm")
@model("x86.avx2.dot_16x2_u8i8_bcast")
def _bcast_dot(a, b, c):
    return {"c": _wrap32(c.astype(np.int64) + _dot_groups(np.broadcast_to(a, b.shape), b))}


@model("arm.neon.sdot_lane")
def _lane_bcast(a, b, c):
    return {"c": _wrap32(c.astype(np.int64) + _dot_groups(a, np.broadcast_to(b, a.shape)))}


@model("hexagon.hvx.vrmpy_ub_rt")
def _vrmpy_rt(a, b, c):
    s = _dot_groups(a, np.broadcast_to(b, a.shape)).astype(np.uint64)
    return {"c": (c.astype(np.uint64) + s).astype(np.uint32)}


@model("x86.avx512_vnni.vpdpbusds")
def _dpbusds(a, b, c):
    total = c.astype(np.int64) + _dot_groups(a, b)
    return {"c": np.clip(total, -2**31, 2**31 - 1).astype(np.int32)}


@model("x86.avx512_bw.vpmaddubsw")
def _maddubs(a, b):
    return {"c": np.clip(_dot_groups(a, b), -32768, 32767).astype(np.int16)}


@model("x86.avx512_bw.vpmaddwd")
def _maddwd(a, b):
    return {"c": _wrap32(_dot_groups(a, b))}


@model("x86.avx512_bw.dot_16x4_pmadd")
def _pmadd_pair(a, b, c):
    prods = a.astype(np.int64)[None, :] * b.astype(np.int64)
    lo = np.clip(prods[:, 0] + prods[:, 1], -32768, 32767)
    hi = np.clip(prods[:, 2] + prods[:, 3], -32768, 32767)
    return {"c": _wrap32(c.astype(np.int64) + lo + hi)}


def _f32(x):
    return np.asarray(x).astype(np.float64)


@model("x86.avx512_bf16.vdpbf16ps")
def _dpbf16(a, b, c):
    acc = _f32(c)
    acc = (acc + _f32(a[:, 1]) * _f32(b[:, 1])).astype(np.float32).astype(np.float64)
    acc = (acc + _f32(a[:, 0]) * _f32(b[:, 0])).astype(np.float32)
    return {"c": acc}


@model("x86.avx512_bf16.vdpbf16ps_bcast")
def _dpbf16_bcast(a, b, c):
    acc = _f32(c)
    acc = (acc + _f32(b[:, 1]) * _f32(a[1])).astype(np.float32).astype(np.float64)
    acc = (acc + _f32(b[:, 0]) * _f32(a[0])).astype(np.float32)
    return {"c": acc}


@model("x86.fma.vfmadd231ps")
def _fma(a, b, c):
    return {"c": (_f32(a) * _f32(b) + _f32(c)).astype(np.float32)}


@model("x86.fma.vfmadd231ps_bcast")
@model("arm.neon.fmla_lane")
def _fma_bcast(a, b, c):
    return {"c": (_f32(a) * float(b) + _f32(c)).astype(np.float32)}


def _int_mm(a, b, c, unsigned=False):
    total = c.astype(np.int64) + a.astype(np.int64) @ b.astype(np.int64)
    if unsigned:
        return {"c": (total.astype(np.uint64) & 0xFFFFFFFF).astype(np.uint32)}
    return {"c": _wrap32(total)}


@model("x86.amx.tdpbusd")
def _tdpbusd(a, b, c):
    # B's VNNI layout [K/4, N, 4]: logical B[4*k4 + k, n] = b[k4, n, k]
    logical = b.reshape(16, 16, 4).transpose(0, 2, 1).reshape(64, 16)
    return _int_mm(a.reshape(16, 64), logical, c)


@model("x86.amx.tdpbf16ps")
def _tdpbf16(a, b, c):
    a, b = a.reshape(16, 32), b.reshape(16, 32)  # the SDM's tile rows of 32 bf16
    acc = c.astype(np.float32)
    for k in range(16):
        for parity in (0, 1):
            prod = _f32(a[:, 2 * k + parity])[:, None] * _f32(b[k, parity::2])[None, :]
            acc = (_f32(acc) + prod).astype(np.float32)
    return {"c": acc}


@model("arm.neon.smmla")
@model("arm.neon.usmmla")
def _mmla(a, b, c):
    return _int_mm(a, b.T, c)


@model("arm.neon.ummla")
def _ummla(a, b, c):
    return _int_mm(a, b.T, c, unsigned=True)


def _float_mm_seq(a, bt_rows, c):
    """c[i,j] += a[i,k] * b[k,j] in k order, one f32 rounding per step."""
    acc = c.astype(np.float32)
    for k in range(a.shape[1]):
        acc = (_f32(acc) + _f32(a[:, k])[:, None] * _f32(bt_rows[k])[None, :]).astype(np.float32)
    return {"c": acc}


@model("arm.neon.bfmmla")
def _bfmmla(a, b, c):
    return _float_mm_seq(a, b.T, c)


@model("nvidia.mma.m16n8k16_f16_f32")
@model("nvidia.wmma.m16n16k16_f16_f32")
@model("ascend.cube.mmad_f16_f32")
def _hmma(a, b, c):
    return _float_mm_seq(a, b, c)


@model("nvidia.mma.m16n8k32_s8_s32")
@model("ascend.cube.mmad_s8_s32")
@model("gemmini.matmul_acc")
def _imma(a, b, c):
    return _int_mm(a, b, c)


@model("nvidia.dp4a.s32")
def _dp4a(a, b, c):
    return {"c": _wrap32(np.int64(c) + _dot_groups(a, b))}


@model("gemmini.mvout_scaled")
def _mvout(acc, scale):
    scaled = (acc.astype(np.float32) * np.float32(scale)).astype(np.float32)
    return {"o": np.clip(np.rint(scaled.astype(np.float64)), -128, 127).astype(np.int8)}


def _seq_gemm(A, B, C, dtype):
    """C += A x B (the specs call BLAS with alpha = beta = 1), k in order."""
    acc = C.astype(dtype)
    for k in range(A.shape[1]):
        acc = (acc + A[:, k].astype(dtype)[:, None] * B[k][None, :]).astype(dtype)
    return acc


@model("blas.sgemm")
@model("blas.dgemm")
def _gemm(A, B, C):
    return {"C": _seq_gemm(A, B, C, C.dtype)}


@model("blas.sgemv")
@model("blas.dgemv")
def _gemv(A, x, y):
    return {"y": _seq_gemm(A, x[:, None], y[:, None], y.dtype)[:, 0]}


@model("blas.sdot")
@model("blas.ddot")
def _dot(x, y, r):
    acc = x.dtype.type(r)
    for i in range(x.shape[0]):
        acc = x.dtype.type(acc + x[i] * y[i])
    return {"r": np.asarray(acc, dtype=x.dtype)}


@model("blas.saxpy")
@model("blas.daxpy")
def _axpy(alpha, x, y):
    return {"y": (y + alpha * x).astype(y.dtype)}
