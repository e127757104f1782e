"""The C back end computes exactly what the interpreter computes, on edge values.

Generated kernels apply every operator, built-in and cast of the language to every type,
on inputs holding the extremes (INT_MIN, -1, 0, MAX, -128 * -128), NaN, infinities,
-0.0, subnormals and random values; the compiled code must leave the same bytes.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import tensorize
from tensorize.backend.native import compile_kernel
from tensorize.ir import interp
from tensorize.ir import vector_ops as vo
from tensorize.ir.types import SCALAR_TYPES, DType

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")

LIB = tensorize.load_library().as_dict()
N = 96
INTS = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"]
FLOATS = ["f16", "bf16", "f32", "f64"]
SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, -1.0, 0.5, 2.5, -2.5, 3.5, 1e-40, -1e-40,
           1e-310, 6e-8, 65504.0, 65520.0, 3.0e38, 1e300, -1e300, 2.0**31, -2.0**31 - 1.0,
           2.0**63, 2.0**64, -2.0**63, 4097.0, 0.1, 1.0 / 3.0]


def _values(t: DType, rng: np.random.Generator, small: bool = False) -> np.ndarray:
    if t.is_int:
        edges = [t.min, t.min + 1, -1, 0, 1, 2, t.max - 1, t.max, -128, 127, 128, 255,
                 t.bits - 1, t.bits, t.bits + 1]
        edges = [v for v in edges if t.min <= v <= t.max]
        rand = rng.integers(t.min, t.max, size=N - len(edges), dtype=t.np_dtype,
                            endpoint=True)
        if small:
            rand = (rand.astype(object) % (t.bits + 2)).astype(t.np_dtype)
        vals = np.concatenate([np.array(edges, dtype=object).astype(t.np_dtype), rand])
        rng.shuffle(vals)
        return vals
    specials = vo.to_float(np.array(SPECIAL, dtype=np.float64), t)
    rand = vo.to_float(rng.uniform(-4, 4, size=N - len(specials)) *
                       10.0 ** rng.integers(-8, 8, size=N - len(specials)), t)
    vals = np.concatenate([specials, rand]).astype(t.np_dtype)
    rng.shuffle(vals)
    return vals


def _check(text: str, seed: int = 0) -> None:
    module = tensorize.parse(text, library=LIB)
    for fn in module.kernels:
        rng = np.random.default_rng(seed)
        inputs = {b.name: _values(b.dtype, rng, small=b.name.startswith("S"))
                  for b in fn.inputs}
        want = interp.run(fn, inputs, library=LIB)
        native = compile_kernel(fn, LIB)
        arrays = {b.name: inputs[b.name].copy() if b.name in inputs else
                  np.zeros(N, dtype=b.dtype.np_dtype) for b in fn.buffers}
        native(**arrays)
        for b in fn.outputs:
            if interp.checksum(arrays[b.name]) != interp.checksum(want[b.name]):
                bad = np.flatnonzero(arrays[b.name].view(np.uint8).reshape(N, -1).any(1) !=
                                     want[b.name].view(np.uint8).reshape(N, -1).any(1))
                diff = np.flatnonzero([x.tobytes() != y.tobytes() for x, y in
                                       zip(arrays[b.name], want[b.name])])[:3]
                raise AssertionError(
                    f"{fn.name}.{b.name}: C {arrays[b.name][diff]} vs interpreter "
                    f"{want[b.name][diff]} at {diff} (inputs "
                    f"{ {k: v[diff] for k, v in inputs.items()} }) {bad[:0]}")


def _kernel(name: str, ins: list[tuple[str, str]], outs: list[tuple[str, str, str]]) -> str:
    lines = [f"kernel {name} {{"]
    lines += [f"  in {n}: {t}[{N}]" for n, t in ins]
    lines += [f"  out {n}: {t}[{N}]" for n, t, _ in outs]
    lines.append(f"  for i in 0..{N} {{")
    lines += [f"    {n}[i] = {e}" for n, _, e in outs]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("t", INTS)
def test_integer_operators(t: str) -> None:
    outs = []
    for k, op in enumerate(["+", "-", "*", "/", "%", "&", "|", "^"]):
        outs.append((f"O{k}", t, f"X[i] {op} Y[i]"))
    outs += [("L0", t, "X[i] << S[i]"), ("L1", t, "X[i] >> S[i]"), ("L2", t, "X[i] << Y[i]"),
             ("L3", t, "X[i] >> Y[i]"), ("U0", t, "-X[i]"), ("U1", t, "~X[i]"),
             ("U2", t, "abs(X[i])"), ("M0", t, "min(X[i], Y[i])"), ("M1", t, "max(X[i], Y[i])"),
             ("C0", "bool", "X[i] < Y[i] || X[i] == Y[i] && !(X[i] >= S[i])"),
             ("C1", t, "select(X[i] <= Y[i], X[i] * X[i], Y[i] / X[i])"),
             ("C2", t, "X[i] / 0"), ("C3", t, "X[i] % 0")]
    _check(_kernel(f"ops_{t}", [("X", t), ("Y", t), ("S", t)], outs))


@pytest.mark.parametrize("t", FLOATS)
def test_float_operators(t: str) -> None:
    outs = [(f"O{k}", t, f"X[i] {op} Y[i]") for k, op in enumerate(["+", "-", "*", "/"])]
    outs += [("U0", t, "-X[i]"), ("U1", t, "abs(X[i])"), ("M0", t, "min(X[i], Y[i])"),
             ("M1", t, "max(X[i], Y[i])"), ("F0", t, "fma(X[i], Y[i], Z[i])"),
             ("F1", t, "fma(X[i], X[i], -Y[i])"), ("R0", t, "rint(X[i])"),
             ("C0", "bool", "X[i] < Y[i] || X[i] != Z[i]"),
             ("C1", t, "select(X[i] >= Y[i], X[i], Z[i]) * 3.0 + 0.1"),
             ("D0", t, "X[i] * Y[i] + Z[i]"), ("D1", t, "X[i] / 0.0")]
    _check(_kernel(f"fops_{t}", [("X", t), ("Y", t), ("Z", t)], outs))


@pytest.mark.parametrize("src", INTS + FLOATS + ["bool"])
def test_casts(src: str) -> None:
    outs = []
    for k, dst in enumerate(INTS + FLOATS + ["bool"]):
        if dst == "bool" and src in FLOATS:
            continue
        outs.append((f"T{k}", dst, f"{dst}(X[i])"))
        if dst in INTS and src in INTS:
            outs.append((f"S{k}", dst, f"sat_{dst}(X[i])"))
        if dst in INTS and src in FLOATS:
            outs.append((f"S{k}", dst, f"sat_{dst}(X[i])"))
    outs.append(("IX", "i64", "i64(i) * 3"))
    outs.append(("IF", "f16", "f16(i) + f16(i * 1000)"))
    _check(_kernel(f"casts_{src}", [("X", src)], outs))


def test_index_conversions_and_quasi_affine() -> None:
    text = """
kernel quasi {
  in A: i32[24]
  out B: i32[24]
  out C: u8[24]
  out D: bf16[24]
  for i in 0..24 {
    B[(i * 5) % 24] = A[i / 4 * 4 + i % 4] + i32(i)
    C[i] = sat_u8(i32(i * 20 - 100))
    D[i] = bf16(i * 12345678) + bf16(i64(A[i]) * 99991)
  }
}
"""
    module = tensorize.parse(text, library=LIB)
    fn = module.kernels[0]
    inputs = interp.random_inputs(fn, {}, 3)
    want = interp.run(fn, inputs, library=LIB)
    native = compile_kernel(fn, LIB)
    arrays = {"A": inputs["A"].copy(), "B": np.zeros(24, np.int32), "C": np.zeros(24, np.uint8),
              "D": np.zeros(24, SCALAR_TYPES["bf16"].np_dtype)}
    native(**arrays)
    for name in ("B", "C", "D"):
        assert interp.checksum(arrays[name]) == interp.checksum(want[name]), name
