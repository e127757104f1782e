"""Library-call models (BLAS, oneDNN), from the reference routines' definitions."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.spec_models import exact, ints, model, wrap
from tests.spec_models.x86 import as_dtype


@model("blas.sscal", "blas.dscal")
def _scal(alpha: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    fmt = "f32" if x.dtype == np.float32 else "f64"
    return {"x": exact.array([exact.mul(alpha, v, fmt) for v in x], fmt, x.shape)}


@model("blas.scopy", "blas.dcopy")
def _copy(x: np.ndarray) -> dict[str, np.ndarray]:
    return {"y": np.array(x, copy=True)}


@model("blas.sasum", "blas.dasum", kind="real")
def _asum(x: np.ndarray, r: np.ndarray) -> dict[str, Any]:
    """The sum of |x| added to the accumulator r (r += sasum(x))."""
    total = exact.as_fraction(r) + sum(abs(v) for v in exact.fractions(x))
    return {"r": np.asarray(total, dtype=object)}


@model("blas.sger", "blas.dger", kind="real")
def _ger(alpha: np.ndarray, x: np.ndarray, y: np.ndarray, A: np.ndarray) -> dict[str, Any]:
    al = exact.as_fraction(alpha)
    fx, fy = exact.fractions(x), exact.fractions(y)
    return {"A": exact.fractions(A) + al * np.outer(fx, fy)}


@model("blas.sgemv_t", "blas.dgemv_t", kind="real")
def _gemv_t(A: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """y += A^T x (alpha = beta = 1)."""
    return {"y": exact.fractions(y) + exact.fractions(A).T.dot(exact.fractions(x))}


@model("blas.sgemm_nt", "blas.dgemm_nt", kind="real")
def _gemm_nt(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> dict[str, Any]:
    """C += A B^T (alpha = beta = 1)."""
    return {"C": exact.fractions(C) + exact.fractions(A).dot(exact.fractions(B).T)}


@model("blas.sgemm_batch_strided", "blas.dgemm_batch_strided", kind="real")
def _gemm_batch(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> dict[str, Any]:
    """C[g] += A[g] B[g] for every g (alpha = beta = 1)."""
    fa, fb, fc = exact.fractions(A), exact.fractions(B), exact.fractions(C)
    out = fc.copy()
    for g in range(C.shape[0]):
        out[g] = fc[g] + fa[g].dot(fb[g])
    return {"C": out}


@model("onednn.gemm_u8s8s32")
def _gemm_u8s8s32(A: np.ndarray, ao: np.ndarray, B: np.ndarray, bo: np.ndarray,
                  C: np.ndarray) -> dict[str, np.ndarray]:
    """C += (A - ao)(B - bo) with alpha = beta = 1 and no C offset, in s32 (wrapping)."""
    m, k = A.shape
    n = B.shape[1]
    av, bv, cv = ints(A), ints(B), ints(C)
    out = [wrap(cv[i * n + j] + sum((av[i * k + t] - int(ao)) * (bv[t * n + j] - int(bo))
                              for t in range(k)), 32, False) for i in range(m) for j in range(n)]
    return {"C": as_dtype(out, np.zeros((m, n), dtype=np.int32))}


@model("onednn.gemm_s8s8s32")
def _gemm_s8s8s32(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> dict[str, np.ndarray]:
    """C += A B (alpha = beta = 1, no offsets), in s32 (wrapping)."""
    total = A.astype(np.int64) @ B.astype(np.int64) + C.astype(np.int64)
    return {"C": as_dtype([wrap(int(v), 32, False) for v in total.reshape(-1)],
                          np.zeros(total.shape, dtype=np.int32))}


@model("onednn.sgemm_bias_relu", kind="real")
def _bias_relu(A: np.ndarray, B: np.ndarray, bias: np.ndarray) -> dict[str, Any]:
    acc = exact.fractions(A).dot(exact.fractions(B)) + exact.fractions(bias)[None, :]
    out = np.empty(acc.shape, dtype=object)
    for idx, v in np.ndenumerate(acc):
        out[idx] = max(v, 0)
    return {"C": out}
