"""x86 models, from the Intel SDM / Intrinsics Guide pseudocode.

Register operands are taken as raw little-endian bytes (the spec's ``[lanes, group]``
arrays are the register's elements in order) and extended as each instruction says, not
as the array's numpy type says.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from tests.spec_models import exact, ints, model, saturate, wrap


def raw(x: np.ndarray, width: int) -> list[int]:
    """The register's elements of ``width`` bits as unsigned ints (little-endian order)."""
    kind = {8: np.uint8, 16: np.uint16, 32: np.uint32}[width]
    return ints(np.ascontiguousarray(x).view(kind))


def ext(v: int, width: int, signed: bool) -> int:
    """SignExtend or ZeroExtend of a ``width``-bit element."""
    return v - (1 << width) if signed and v >> (width - 1) else v


def dot_dwords(src: np.ndarray, a: np.ndarray, b: np.ndarray, width: int, a_signed: bool,
               b_signed: bool, sat: str | None, bcast_a: bool = False) -> list[int]:
    """VPDP*: for each dword j, src.dword[j] + sum of the products of the j-th groups.

    ``sat``: None (wrap), "signed" (Saturate32) or "unsigned" (UnsignedSaturate32 of the
    zero-extended source dword).
    """
    group = 32 // width
    ra, rb = raw(a, width), raw(b, width)
    dest = raw(src, 32)
    out = []
    for j, d in enumerate(dest):
        total = 0
        for i in range(group):
            av = ra[i] if bcast_a else ra[group * j + i]
            total += ext(av, width, a_signed) * ext(rb[group * j + i], width, b_signed)
        if sat == "unsigned":
            out.append(saturate(d + total, 32, False))
        elif sat == "signed":
            out.append(saturate(ext(d, 32, True) + total, 32, True))
        else:
            out.append(wrap(d + total, 32, False))
    return out


def as_dtype(values: list[int], like: np.ndarray) -> np.ndarray:
    """Unsigned 32-bit results reinterpreted as ``like``'s dtype and shape."""
    arr = np.asarray([v & 0xFFFFFFFF for v in values], dtype=np.uint64).astype(np.uint32)
    return arr.view(like.dtype).reshape(like.shape)


def _vnni(width: int, a_signed: bool, b_signed: bool, sat: str | None,
          bcast: bool = False) -> Any:
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        return {"c": as_dtype(dot_dwords(c, a, b, width, a_signed, b_signed, sat, bcast), c)}
    return fn


for name, w, sa, sb, sat, bc in (
        ("x86.avx_vnni.vpdpbusd", 8, False, True, None, False),
        ("x86.avx_vnni.vpdpbusd_bcast", 8, False, True, None, True),
        ("x86.avx_vnni.vpdpbusds", 8, False, True, "signed", False),
        ("x86.avx_vnni.vpdpwssd", 16, True, True, None, False),
        ("x86.avx_vnni.vpdpwssds", 16, True, True, "signed", False),
        ("x86.avx_vnni_int8.vpdpbssd", 8, True, True, None, False),
        ("x86.avx_vnni_int8.vpdpbssds", 8, True, True, "signed", False),
        ("x86.avx_vnni_int8.vpdpbsud", 8, True, False, None, False),
        ("x86.avx_vnni_int8.vpdpbsuds", 8, True, False, "signed", False),
        ("x86.avx_vnni_int8.vpdpbuud", 8, False, False, None, False),
        ("x86.avx_vnni_int8.vpdpbuuds", 8, False, False, "unsigned", False),
        ("x86.avx_vnni_int16.vpdpwsud", 16, True, False, None, False),
        ("x86.avx_vnni_int16.vpdpwsuds", 16, True, False, "signed", False),
        ("x86.avx_vnni_int16.vpdpwusd", 16, False, True, None, False),
        ("x86.avx_vnni_int16.vpdpwusds", 16, False, True, "signed", False),
        ("x86.avx_vnni_int16.vpdpwuud", 16, False, False, None, False),
        ("x86.avx_vnni_int16.vpdpwuuds", 16, False, False, "unsigned", False),
        ("x86.avx512_vnni.vpdpbusd_ymm", 8, False, True, None, False),
        ("x86.avx512_vnni.vpdpbusd_xmm", 8, False, True, None, False),
        ("x86.avx512_vnni.vpdpwssd_xmm", 16, True, True, None, False),
        ("x86.avx512_vnni.vpdpbusd_bcast_ymm", 8, False, True, None, True),
        ("x86.avx512_vnni.vpdpwssds", 16, True, True, "signed", False),
        ("x86.avx512_vnni.vpdpwssd_ymm", 16, True, True, None, False),
        ("x86.avx_vnni.vpdpwssd_bcast", 16, True, True, None, True),
        ("x86.avx_vnni_int8.vpdpbssd_bcastd", 8, True, True, None, True),
        ("x86.avx_vnni_int8.vpdpbsud_bcast", 8, True, False, None, True),
        ("x86.avx_vnni_int8.vpdpbuud_bcast", 8, False, False, None, True),
        ("x86.avx_vnni_int16.vpdpwsud_bcast", 16, True, False, None, True),
        ("x86.avx_vnni_int16.vpdpwusd_bcast", 16, False, True, None, True),
        ("x86.avx_vnni_int16.vpdpwuud_bcast", 16, False, False, None, True)):
    model(name)(_vnni(w, sa, sb, sat, bc))


def _tile_dp(a_signed: bool, b_signed: bool) -> Any:
    """TDPB[SU]D[SU]: tmp.dword[n] += sum over k, i of A.row[m].dword[k].byte[i] *
    B.row[k].dword[n].byte[i] (both tiles 16 rows of 64 bytes)."""
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        ra, rb, dest = raw(a, 8), raw(b, 8), raw(c, 32)
        out = []
        for m in range(16):
            for n in range(16):
                acc = dest[16 * m + n]
                for k in range(16):
                    for i in range(4):
                        acc += (ext(ra[64 * m + 4 * k + i], 8, a_signed)
                                * ext(rb[64 * k + 4 * n + i], 8, b_signed))
                out.append(acc)
        return {"c": as_dtype(out, c)}
    return fn


model("x86.amx.tdpbssd")(_tile_dp(True, True))
model("x86.amx.tdpbsud")(_tile_dp(True, False))
model("x86.amx.tdpbuud")(_tile_dp(False, False))


@model("x86.amx_fp16.tdpfp16ps", kind="real")
def _tdpfp16ps(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, Any]:
    """The exact value of c[m][n] + sum over k of the FP16 pair products (VNNI B)."""
    # the tiles as the SDM's rows of 32 FP16 (the spec declares them [16, 16, 2])
    fa, fb = exact.fractions(a.reshape(16, 32)), exact.fractions(b.reshape(16, 32))
    fc = exact.fractions(c)
    out = fc.copy()
    for m in range(16):
        for n in range(16):
            out[m, n] = fc[m, n] + sum(fa[m, 2 * k + p] * fb[k, 2 * n + p]
                                       for k in range(16) for p in range(2))
    return {"c": out}


def _fma_lanes(fmt: str, bcast: bool = False) -> Any:
    def fn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        bs = [b] * a.size if bcast else list(np.asarray(b).reshape(-1))
        got = [exact.fma(x, y, z, fmt) for x, y, z in zip(a.reshape(-1), bs, c.reshape(-1))]
        return {"c": exact.array(got, fmt, c.shape)}
    return fn


model("x86.avx512_fp16.vfmadd231ph", "x86.avx512_fp16.vfmadd231ph_ymm")(_fma_lanes("f16"))
model("x86.avx512_fp16.vfmadd231ph_bcast")(_fma_lanes("f16", bcast=True))
model("x86.fma.vfmadd231ps_ymm", "x86.fma.vfmadd231ps_xmm")(_fma_lanes("f32"))
model("x86.fma.vfmadd231ps_ymm_bcast")(_fma_lanes("f32", bcast=True))
model("x86.fma.vfmadd231pd_ymm")(_fma_lanes("f64"))


@model("x86.avx512_fp16.vfcmaddcph")
def _vfcmaddcph(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """SDM VFCMADDCPH, KL = 16 complex lanes, no writemask, src2 from a register:
    tmp[2i+0] := dest.fp16[2i+0] + src1.fp16[2i+0] * tsrc2.fp16[2i+0]
    tmp[2i+1] := dest.fp16[2i+1] + src1.fp16[2i+1] * tsrc2.fp16[2i+0]
    dest.fp16[2i+0] := tmp[2i+0] + src1.fp16[2i+1] * tsrc2.fp16[2i+1]
    dest.fp16[2i+1] := tmp[2i+1] - src1.fp16[2i+0] * tsrc2.fp16[2i+1]
    each line one FMA rounded to FP16 ("rounding at every FMA boundary")."""
    src1, src2, dest = (np.asarray(x).reshape(-1) for x in (a, b, c))
    out = []
    for i in range(16):
        tmp0 = exact.fma(src1[2 * i], src2[2 * i], dest[2 * i], "f16")
        tmp1 = exact.fma(src1[2 * i + 1], src2[2 * i], dest[2 * i + 1], "f16")
        out.append(exact.fma(src1[2 * i + 1], src2[2 * i + 1], tmp0, "f16"))
        # tmp - x*y with one rounding is fma(-x, y, tmp): negating x is exact
        out.append(exact.fma(-float(src1[2 * i]), src2[2 * i + 1], tmp1, "f16"))
    return {"c": exact.array(out, "f16", c.shape)}


def convert_fp32_to_bfloat16(x: float) -> int:
    """The SDM's convert_fp32_to_bfloat16 on the bit pattern of x (returns bf16 bits)."""
    bits: int = struct.unpack("<I", struct.pack("<f", x))[0]
    sign, expo, frac = bits >> 31, (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if expo == 0:                       # zero or denormal: a zero with the sign
        return sign << 15
    if expo == 0xFF and frac == 0:      # infinity
        return bits >> 16
    if expo == 0xFF:                    # NaN: quieted
        return (bits >> 16) | 0x40
    lsb = (bits >> 16) & 1
    return ((bits + 0x7FFF + lsb) >> 16) & 0xFFFF


def _bf16_from_bits(values: list[int]) -> np.ndarray:
    import ml_dtypes

    return np.asarray(values, dtype=np.uint16).view(ml_dtypes.bfloat16)


@model("x86.avx512_bf16.vcvtne2ps2bf16")
def _cvtne2(x: np.ndarray) -> dict[str, np.ndarray]:
    """dst.word[j] = convert(b.fp32[j]) for the low half, convert(a.fp32[j]) for the high,
    where the spec's one parameter x holds the source registers b (x[0..16]) and a
    (x[16..32])."""
    b, a = x[:16], x[16:]
    words = [convert_fp32_to_bfloat16(float(v)) for v in b] + \
        [convert_fp32_to_bfloat16(float(v)) for v in a]
    return {"c": _bf16_from_bits(words)}


@model("x86.avx512_bf16.vcvtneps2bf16")
def _cvtne(a: np.ndarray) -> dict[str, np.ndarray]:
    return {"c": _bf16_from_bits([convert_fp32_to_bfloat16(float(v)) for v in a])}

