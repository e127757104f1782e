"""RISC-V V 1.0 models, from the spec's definitions of each instruction."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.spec_models import exact, ints, model, wrap


def _wmacc(sew: int, vs1_signed: bool, vs2_signed: bool) -> Any:
    """vd[i] = +(vs1[i] * vs2[i]) + vd[i] at 2*SEW, each source extended as the mnemonic
    says (vwmacc: both signed, vwmaccu: both unsigned, vwmaccsu: signed vs1 x unsigned
    vs2, vwmaccus: unsigned scalar x signed vs2)."""
    def extend(v: int, signed: bool) -> int:
        v &= (1 << sew) - 1
        return v - (1 << sew) if signed and v >> (sew - 1) else v

    def fn(a: Any, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        xs = ints(a) if np.ndim(a) else [int(a)] * b.size
        out = [wrap(d + extend(x, vs1_signed) * extend(y, vs2_signed), 2 * sew, False)
               for x, y, d in zip(xs, ints(b), ints(c))]
        kind = {16: np.uint16, 32: np.uint32}[2 * sew]
        return {"c": np.asarray(out, dtype=kind).view(c.dtype).reshape(c.shape)}
    return fn


model("riscv.rvv.vwmacc_vv_i8")(_wmacc(8, True, True))
model("riscv.rvv.vwmaccu_vv_u8")(_wmacc(8, False, False))
model("riscv.rvv.vwmaccsu_vv_i8")(_wmacc(8, True, False))
model("riscv.rvv.vwmaccus_vx_u8")(_wmacc(8, False, True))
model("riscv.rvv.vwmacc_vv_i16", "riscv.rvv.vwmacc_vx_i16")(_wmacc(16, True, True))


def _vfmacc(fmt: str) -> Any:
    """vd[i] = +(vs1[i] * vs2[i]) + vd[i], fused; widening forms convert the SEW operands to
    2*SEW first (exactly)."""
    def fn(a: Any, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        xs = list(np.asarray(a).reshape(-1)) if np.ndim(a) else [a] * b.size
        got = [exact.fma(x, y, z, fmt) for x, y, z in zip(xs, b.reshape(-1), c.reshape(-1))]
        return {"c": exact.array(got, fmt, c.shape)}
    return fn


model("riscv.rvv.vfwmacc_vv_f16", "riscv.rvv.vfwmacc_vf_f16",
      "riscv.rvv.vfmacc_vv_f32")(_vfmacc("f32"))


def _redsum(bits: int, signed: bool) -> Any:
    """vd[0] = vs1[0] + the sum of vs2[*] (extended to the destination width), wrapping;
    the specs pass the accumulator as vd = vs1 (``inout r``)."""
    def fn(v: np.ndarray, r: np.ndarray) -> dict[str, np.ndarray]:
        total = wrap(int(r) + sum(ints(v)), bits, signed)
        return {"r": np.asarray(total, dtype=np.asarray(r).dtype)}
    return fn


model("riscv.rvv.vredsum_vs_i32")(_redsum(32, True))
model("riscv.rvv.vwredsum_vs_i8")(_redsum(16, True))
model("riscv.rvv.vwredsumu_vs_u8")(_redsum(16, False))


@model("riscv.rvv.vfredosum_vs_f32", "riscv.rvv.vfwredosum_vs_f16")
def _fredosum(v: np.ndarray, r: np.ndarray) -> dict[str, np.ndarray]:
    """Ordered: (((vs1[0] + vs2[0]) + vs2[1]) + ...), each addition rounded to the
    destination SEW (f32 here); vs1 is the accumulator ``r``."""
    acc = float(r)
    for x in v.reshape(-1):
        acc = exact.add(acc, float(x), "f32")
    return {"r": np.asarray(acc, dtype=np.float32)}


@model("riscv.rvv.vfredusum_vs_f32", kind="real")
def _fredusum(v: np.ndarray, r: np.ndarray) -> dict[str, Any]:
    """Unordered: only the exact value is claimed (vs1 is the accumulator ``r``)."""
    return {"r": np.asarray(exact.as_fraction(r) + sum(exact.fractions(v).reshape(-1)),
                            dtype=object)}
