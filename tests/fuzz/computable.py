"""Which generated kernels an intrinsic of the bundled library can compute, by construction.

The generator knows the structure of every kernel it writes (which loops index which
buffer, the extents, the types, the form of the product, the reduction operator, the
float mode). :data:`TEMPLATES` describes each fixed-size contraction intrinsic of the
library the same way, from its specification: the lanes of its output (each indexing the
``a`` input, the ``b`` input or both), the extent of its reduction, its types and when its
arithmetic equals the program's (``any`` mode for integers, ``real`` for unordered or
fused float intrinsics, ``ordered`` for a float intrinsic that adds in the program's
order and rounding, so it also equals the program in ``ieee`` mode when each output
element's order of updates is kept). A kernel is *computable* when some template fits:
that is a fact about the kernel and the intrinsic, decided here without the engine, so
the campaign can count the computable kernels the engine misses.

Not counted (the oracle says "not computable" although a cleverer rewrite might exist):
a loop variable used as a value, an init that cannot move in front, any product form
but the plain widened one, ``min``/``max`` reductions (no intrinsic reduces so), AMX
tiles (their ``b`` operand is in the VNNI layout, which no generated kernel uses) and
the intrinsics that saturate or overwrite (``vpdpbusds``, ``vpmaddubsw``, ``vpmaddwd``,
``dot_16x4_pmadd``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """A contraction intrinsic: ``c[lanes] += sum over red of acc(a) * acc(b)``."""

    name: str
    a: str
    b: str
    acc: str
    lanes: tuple[tuple[int, str], ...]
    """(extent, which inputs the lane indexes: ``a``, ``b`` or ``ab``) per output dim."""
    red: int
    """The reduction extent of one call (1: none)."""
    mode: str
    """``any``, ``real`` (float, only in real mode) or ``ordered`` (float, adds in order)."""


def _t(name: str, types: str, lanes: str, red: int, mode: str = "any") -> Template:
    a, b, acc = types.split()
    dims = tuple((int(e), who) for e, who in (x.split(":") for x in lanes.split()))
    return Template(name, a, b, acc, dims, red, mode)


TEMPLATES = (
    _t("x86.avx512_vnni.vpdpbusd", "u8 i8 i32", "16:ab", 4),
    _t("x86.avx512_vnni.vpdpbusd_bcast", "u8 i8 i32", "16:b", 4),
    _t("x86.avx512_vnni.vpdpbusd_bcast_xmm", "u8 i8 i32", "4:b", 4),
    _t("x86.avx512_vnni.vpdpwssd", "i16 i16 i32", "16:ab", 2),
    _t("hexagon.hvx.vrmpy_ub_b", "u8 i8 i32", "32:ab", 4),
    _t("hexagon.hvx.vrmpy_ub_rt", "u8 u8 u32", "32:a", 4),
    _t("arm.neon.sdot", "i8 i8 i32", "4:ab", 4),
    _t("arm.neon.udot", "u8 u8 u32", "4:ab", 4),
    _t("arm.neon.usdot", "u8 i8 i32", "4:ab", 4),
    _t("arm.neon.sdot_lane", "i8 i8 i32", "4:a", 4),
    _t("arm.neon.smmla", "i8 i8 i32", "2:a 2:b", 8),
    _t("arm.neon.ummla", "u8 u8 u32", "2:a 2:b", 8),
    _t("arm.neon.usmmla", "u8 i8 i32", "2:a 2:b", 8),
    _t("ascend.cube.mmad_s8_s32", "i8 i8 i32", "16:a 16:b", 32),
    _t("gemmini.matmul_acc", "i8 i8 i32", "16:a 16:b", 16),
    _t("nvidia.mma.m16n8k32_s8_s32", "i8 i8 i32", "16:a 8:b", 32),
    _t("nvidia.dp4a.s32", "i8 i8 i32", "", 4),
    _t("ascend.cube.mmad_f16_f32", "f16 f16 f32", "16:a 16:b", 16, "real"),
    _t("nvidia.mma.m16n8k16_f16_f32", "f16 f16 f32", "16:a 8:b", 16, "real"),
    _t("nvidia.wmma.m16n16k16_f16_f32", "f16 f16 f32", "16:a 16:b", 16, "real"),
    _t("x86.avx512_bf16.vdpbf16ps", "bf16 bf16 f32", "16:ab", 2, "real"),
    # unordered: BFMMLA's products are summed in an order the manual leaves open
    _t("arm.neon.bfmmla", "bf16 bf16 f32", "2:a 2:b", 4, "real"),
    _t("arm.neon.fmla_lane", "f32 f32 f32", "4:a", 1, "real"),
    _t("x86.fma.vfmadd231ps", "f32 f32 f32", "16:ab", 1, "real"),
    _t("x86.fma.vfmadd231ps_bcast", "f32 f32 f32", "16:a", 1, "real"),
)
"""The fixed-size contraction intrinsics of ``intrinsic_specs/``, as the oracle sees them."""


@dataclass(frozen=True)
class Shape:
    """What the generator knows of one kernel."""

    ta: str
    tb: str
    tacc: str
    ext: dict[str, int]
    """Extent of each loop variable at the default sizes."""
    in_a: tuple[str, ...]
    """Loop variables that index A (in loop-variable terms, before renaming)."""
    in_b: tuple[str, ...]
    spatial: tuple[str, ...]
    red: tuple[str, ...]
    """Reduction variables, outer to inner."""
    order: tuple[str, ...]
    """Every loop of the update's nest, outer to inner."""
    plain: bool
    """``C op= acc(A) * acc(B)`` with op ``+``, no loop variable as a value, a hoistable
    init (or none)."""
    fp: str


def computable(s: Shape) -> str:
    """The name of an intrinsic that computes the kernel, or "" if none does."""
    if not s.plain or any(s.ext[v] == 0 for v in s.order):
        return ""
    for t in TEMPLATES:
        if t.acc != s.tacc:
            continue
        if t.mode == "real" and s.fp != "real":
            continue
        for a_is_a in (True, False):
            types = (s.ta, s.tb) if a_is_a else (s.tb, s.ta)
            if types != (t.a, t.b):
                continue
            in_p = {"a": set(s.in_a if a_is_a else s.in_b),
                    "b": set(s.in_b if a_is_a else s.in_a)}
            if _lanes_fit(t, s, in_p) and _reduction_fits(t, s):
                return t.name
    return ""


def _lanes_fit(t: Template, s: Shape, in_p: dict[str, set[str]]) -> bool:
    def fits(var: str, extent: int, who: str) -> bool:
        if s.ext[var] < extent or var not in s.spatial:
            return False
        if who == "ab":
            return var in in_p["a"] and var in in_p["b"]
        other = "b" if who == "a" else "a"
        return var in in_p[who] and var not in in_p[other]

    for combo in itertools.permutations(s.spatial, len(t.lanes)):
        if all(fits(v, e, who) for v, (e, who) in zip(combo, t.lanes)):
            return True
    return False


def _reduction_fits(t: Template, s: Shape) -> bool:
    if t.red == 1:
        return True
    live = [v for v in s.red if s.ext[v] > 1]
    ordered = t.mode == "ordered" and s.fp == "ieee"
    for v in s.red:  # one loop, a scalar tail for its remainder
        if s.ext[v] < t.red:
            continue
        # in order: the other reduction loops run once, or this one is innermost and
        # needs no tail
        if not ordered or live == [v] or (v == s.red[-1] and s.ext[v] % t.red == 0):
            return True
    for n in range(2, len(s.red) + 1):  # a fused suffix of the reduction loops
        total = 1
        for v in s.red[-n:]:
            total *= s.ext[v]
        if total >= t.red and total % t.red == 0:
            return True
    return False
