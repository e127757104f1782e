"""The interpreter against plain numpy, and the vectorised path against the scalar one."""

from __future__ import annotations

import itertools

import ml_dtypes
import numpy as np
import pytest

from tensorize.api import load, load_library
from tensorize.errors import InterpError
from tensorize.ir import interp
from tensorize.ir.types import SCALAR_TYPES
from tests.conftest import EXAMPLES
from tests.kernels import kernel

LIB = load_library()


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    """Bit-identical, except that any NaN equals any NaN (SMT has one NaN)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind in "iub":
        np.testing.assert_array_equal(a, b)
        return
    wide_a, wide_b = a.astype(np.float64), b.astype(np.float64)
    both_nan = np.isnan(wide_a) & np.isnan(wide_b)
    bits_a = a.reshape(-1).view(np.uint8).reshape(a.shape + (-1,))
    bits_b = b.reshape(-1).view(np.uint8).reshape(b.shape + (-1,))
    same = np.all(bits_a == bits_b, axis=-1) | both_nan
    where = np.argwhere(~same)[:5].tolist()
    assert same.all(), f"differ at {where}: {a[~same][:5]} vs {b[~same][:5]}"


def _run_both(fn, sizes, seed=0, library=None):
    inputs = interp.random_inputs(fn, sizes, seed)
    vec = interp.run(fn, inputs, sizes=sizes, library=library)
    sca = interp.run(fn, inputs, sizes=sizes, library=library, mode="scalar")
    for name in vec:
        assert_same(vec[name], sca[name])
    return inputs, vec


def test_qmatmul_nt_and_nn_match_numpy() -> None:
    module = load(EXAMPLES / "qmatmul.tz")
    nt, nn = module.get("qmatmul_nt"), module.get("qmatmul_nn")
    ins = interp.random_inputs(nt, seed=3)
    out = interp.run(nt, ins)["C"]
    np.testing.assert_array_equal(out, ins["A"].astype(np.int32) @ ins["B"].astype(np.int32).T)
    ins = interp.random_inputs(nn, seed=3)
    out = interp.run(nn, ins)["C"]
    np.testing.assert_array_equal(out, ins["A"].astype(np.int32) @ ins["B"].astype(np.int32))


def test_matmul_f32_matches_sequential_numpy() -> None:
    fn = load(EXAMPLES / "matmul_f32.tz").kernels[0]
    ins = interp.random_inputs(fn, seed=1)
    out = interp.run(fn, ins)["C"]
    a, b = ins["A"], ins["B"]
    ref = np.zeros((64, 64), np.float32)
    for k in range(64):  # the kernel's exact order: one rounding per += in f32
        ref = (ref + a[:, k:k + 1] * b[k:k + 1, :]).astype(np.float32)
    np.testing.assert_array_equal(out, ref)


def test_conv2d_matches_numpy() -> None:
    fn = load(EXAMPLES / "conv2d_nhwc.tz").kernels[0]
    ins = interp.random_inputs(fn, seed=2)
    out = interp.run(fn, ins)["Y"]
    x, f = ins["X"].astype(np.int64), ins["F"].astype(np.int64)
    ref = np.zeros((1, 16, 16, 32), np.int64)
    for rh, rw in itertools.product(range(3), range(3)):
        ref += np.einsum("nhwc,ck->nhwk", x[:, rh:rh + 16, rw:rw + 16, :], f[rh, rw])
    np.testing.assert_array_equal(out, ref.astype(np.int32))


def test_gemv_matches_numpy() -> None:
    module = load(EXAMPLES / "gemv.tz")
    q = module.get("gemv_q")
    ins = interp.random_inputs(q, seed=4)
    np.testing.assert_array_equal(interp.run(q, ins)["y"],
                                  ins["W"].astype(np.int32) @ ins["x"].astype(np.int32))
    f = module.get("gemv_f32")
    ins = interp.random_inputs(f, seed=4)
    ref = np.zeros(256, np.float32)
    for k in range(256):
        ref = (ref + ins["W"][:, k] * ins["x"][k]).astype(np.float32)
    np.testing.assert_array_equal(interp.run(f, ins)["y"], ref)


@pytest.mark.parametrize("example,sizes", [
    ("qmatmul.tz", {"M": 8, "N": 6, "K": 20}),
    ("matmul_f32.tz", {"M": 5, "N": 7, "K": 9}),
    ("conv2d_nhwc.tz", {"H": 6, "W": 5, "C": 4, "K": 3}),
    ("gemv.tz", {"M": 9, "K": 17}),
])
def test_vector_and_scalar_paths_agree_on_examples(example: str, sizes: dict) -> None:
    for fn in load(EXAMPLES / example).kernels:
        _run_both(fn, sizes)


def test_rewritten_kernel_equals_original() -> None:
    original = load(EXAMPLES / "qmatmul.tz").get("qmatmul_nt")
    rewritten = load(EXAMPLES / "qmatmul_vnni.tz", LIB).kernels[0]
    for sizes in ({}, {"M": 3, "N": 32, "K": 8}):
        ins = interp.random_inputs(original, sizes, seed=9)
        assert interp.random_inputs(rewritten, sizes, seed=9).keys() == ins.keys()
        a = interp.run(original, ins, sizes=sizes)["C"]
        b = interp.run(rewritten, ins, sizes=sizes, library=LIB)["C"]
        np.testing.assert_array_equal(a, b)
    small = {"M": 2, "N": 16, "K": 8}
    _run_both(rewritten, small, library=LIB)


INT_TYPES = [t for t in SCALAR_TYPES.values() if t.is_int]


def _edges(t) -> np.ndarray:
    values = {t.min, t.max, 0, 1, t.max - 1, t.min + 1}
    if t.is_signed:
        values |= {-1, -2}
    return np.array(sorted(values), dtype=t.np_dtype)


@pytest.mark.parametrize("t", INT_TYPES, ids=str)
@pytest.mark.parametrize("op", ["+", "-", "*", "&", "|", "^"])
def test_integer_wrap_matches_numpy_dtype_arithmetic(t, op: str) -> None:
    e = _edges(t)
    n = len(e)
    fn = kernel(f"""kernel k(N = {n}) {{
      in A: {t}[N]
      in B: {t}[N]
      out C: {t}[N, N]
      for i in 0..N {{ for j in 0..N {{ C[i, j] = A[i] {op} B[j] }} }}
    }}""")
    ufunc = {"+": np.add, "-": np.subtract, "*": np.multiply, "&": np.bitwise_and,
             "|": np.bitwise_or, "^": np.bitwise_xor}[op]
    with np.errstate(all="ignore"):
        expected = ufunc(e[:, None], e[None, :])
    for mode in ("vector", "scalar"):
        out = interp.run(fn, {"A": e, "B": e}, mode=mode)["C"]
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("src,dst", [(s, d) for s in INT_TYPES for d in INT_TYPES], ids=str)
def test_casts_wrap_and_saturate_like_numpy(src, dst) -> None:
    e = _edges(src)
    fn = kernel(f"""kernel k(N = {len(e)}) {{
      in A: {src}[N]
      out W: {dst}[N]
      out S: {dst}[N]
      for i in 0..N {{ W[i] = {dst}(A[i])
        S[i] = sat_{dst}(A[i]) }}
    }}""")
    wrapped = e.astype(dst.np_dtype)  # numpy's astype wraps
    clipped = np.array([min(max(int(v), dst.min), dst.max) for v in e], dtype=dst.np_dtype)
    for mode in ("vector", "scalar"):
        out = interp.run(fn, {"A": e}, mode=mode)
        np.testing.assert_array_equal(out["W"], wrapped)
        np.testing.assert_array_equal(out["S"], clipped)


def _float_edges(t) -> np.ndarray:
    finfo = ml_dtypes.finfo(t.np_dtype)
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, float(finfo.max), -float(finfo.max),
            float(finfo.tiny), float(finfo.smallest_subnormal), np.inf, -np.inf, np.nan, 3.0,
            1.0 + float(finfo.eps)]
    return np.array(vals, dtype=np.float64).astype(t.np_dtype)


@pytest.mark.parametrize("tname", ["f16", "bf16", "f32", "f64"])
@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_float_ops_scalar_reference_agrees_with_numpy(tname: str, op: str) -> None:
    t = SCALAR_TYPES[tname]
    e = _float_edges(t)
    rng = np.random.default_rng(5)
    e = np.concatenate([e, rng.standard_normal(10).astype(t.np_dtype)])
    n = len(e)
    fn = kernel(f"""kernel k(N = {n}) {{
      in A: {t}[N]
      in B: {t}[N]
      out C: {t}[N, N]
      for i in 0..N {{ for j in 0..N {{ C[i, j] = A[i] {op} B[j] }} }}
    }}""")
    ufunc = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[op]
    with np.errstate(all="ignore"):  # f32 then one more rounding: innocuous for 8/11 bits
        expected = ufunc(e[:, None].astype(np.float32), e[None, :].astype(np.float32))
    for mode in ("vector", "scalar"):
        out = interp.run(fn, {"A": e, "B": e}, mode=mode)["C"]
        if tname in ("f16", "bf16"):
            with np.errstate(all="ignore"):
                assert_same(out, expected.astype(t.np_dtype))
        ref = interp.run(fn, {"A": e, "B": e}, mode="scalar")["C"]
        assert_same(out, ref)


def test_conversion_to_bf16_rounds_once() -> None:
    x = np.array([1 + 2**-8 + 2**-30, -(1 + 2**-8 + 2**-30), 2**24 + 2**16 + 1], np.float64)
    fn = kernel("""kernel k { in A: f64[3]
      out B: bf16[3]
      for i in 0..3 { B[i] = bf16(A[i]) } }""")
    for mode in ("vector", "scalar"):
        out = interp.run(fn, {"A": x}, mode=mode)["B"].astype(np.float64)
        assert list(out) == [1 + 2**-7, -(1 + 2**-7), 2**24 + 2**17]


def test_float_to_int_truncates_and_saturates() -> None:
    x = np.array([1.9, -1.9, 1e10, -1e10, np.nan, np.inf, -np.inf, 127.5], np.float32)
    fn = kernel("""kernel k { in A: f32[8]
      out B: i8[8]
      for i in 0..8 { B[i] = i8(A[i]) } }""")
    for mode in ("vector", "scalar"):
        assert list(interp.run(fn, {"A": x}, mode=mode)["B"]) == \
            [1, -1, 127, -128, 0, 127, -128, 127]


def test_integer_division_semantics() -> None:
    a = np.array([7, -7, 7, -7, 5, -128], np.int8)
    b = np.array([2, 2, -2, -2, 0, -1], np.int8)
    fn = kernel("""kernel k { in A: i8[6]
      in B: i8[6]
      out Q: i8[6]
      out R: i8[6]
      for i in 0..6 { Q[i] = A[i] / B[i]
        R[i] = A[i] % B[i] } }""")
    for mode in ("vector", "scalar"):
        out = interp.run(fn, {"A": a, "B": b}, mode=mode)
        assert list(out["Q"]) == [3, -3, -3, 3, -1, -128]
        assert list(out["R"]) == [1, -1, 1, -1, 5, 0]


def test_random_inputs_respect_assume_and_depend_on_signature() -> None:
    fn = kernel("""kernel k(N = 1000) { in A: u8[N]
      in B: i8[N]
      out C: i32[N]
      assume A in 0..=127
      assume B in -3..3
      for i in 0..N { C[i] = i32(A[i]) + i32(B[i]) } }""")
    ins = interp.random_inputs(fn, seed=1)
    assert ins["A"].max() <= 127 and ins["B"].min() >= -3 and ins["B"].max() <= 2
    again = interp.random_inputs(fn, seed=1)
    np.testing.assert_array_equal(ins["A"], again["A"])
    other = interp.random_inputs(fn, seed=2)
    assert not np.array_equal(ins["A"], other["A"])


def test_assume_is_checked_on_entry() -> None:
    fn = kernel("""kernel k { in A: u8[2]
      out C: u8[2]
      assume A in 0..=127
      for i in 0..2 { C[i] = A[i] } }""")
    with pytest.raises(InterpError, match="breaks its assumption"):
        interp.run(fn, {"A": np.array([1, 200], np.uint8)})


def test_vectorised_path_really_vectorises() -> None:
    from tensorize.ir.vector_exec import VectorExec

    fn = load(EXAMPLES / "qmatmul.tz").get("qmatmul_nt")
    sizes = {"M": 4, "N": 4, "K": 4}
    ins = interp.random_inputs(fn, sizes)
    mem = {**ins, "C": np.zeros((4, 4), np.int32)}
    ex = VectorExec(fn, sizes, mem, interp.shapes_of(fn, sizes), {}, interp._call)
    ex.run()
    assert ex.vectorised >= 3  # i, j as axes and k as a reduction


def test_prefix_sum_is_not_vectorised_wrongly() -> None:
    fn = kernel("""kernel k(N = 50) { in A: i32[N]
      out S: i32[N]
      S[0] = A[0]
      for i in 1..N { S[i] = S[i - 1] + A[i] } }""")
    ins, out = _run_both(fn, {})
    np.testing.assert_array_equal(out["S"], np.cumsum(ins["A"], dtype=np.int32))


FLOAT_SUMS = {
    "inner": """kernel k {{ in A: {t}[5, 33]
      in B: {t}[33, 4]
      out C: {t}[5, 4]
      for i in 0..5 {{ for j in 0..4 {{
        C[i, j] = 0.5
        for k in 0..33 {{ C[i, j] += A[i, k] * B[k, j] }} }} }} }}""",
    "outer": """kernel k {{ in A: {t}[40, 3]
      inout C: {t}[3]
      for k in 0..40 {{ for j in 0..3 {{ C[j] = C[j] + A[k, j] }} }} }}""",
    "scalar": """kernel k {{ in x: {t}[257]
      in y: {t}[257]
      out s: {t}
      s = 0
      for n in 0..257 {{ s += x[n] * y[n] - x[n] }} }}""",
}


def _special(t: str, shape: tuple[int, ...], rng) -> np.ndarray:
    """Values where the order of additions shows: huge and tiny, cancellations,
    subnormals, signed zeros, infinities and NaN."""
    dt = np.dtype(t.replace("f", "float"))
    pool = np.array([1e30, -1e30, 1.0, -1.0, 3.0e-39, -0.0, 0.0, 1e-7, 7.5, np.inf,
                     -np.inf, np.nan, 16777216.0, 0.1], dtype=dt)
    return rng.choice(pool, size=shape).astype(dt)


@pytest.mark.parametrize("t", ["f32", "f64"])
@pytest.mark.parametrize("name", sorted(FLOAT_SUMS))
def test_ieee_sums_vectorise_in_loop_order(t: str, name: str) -> None:
    """An f32/f64 sum loop runs as one sequential accumulation (numpy's accumulate), bit
    for bit what the scalar interpreter computes one addition at a time, on values where
    any other order of additions would show."""
    from tensorize.ir.vector_exec import VectorExec

    fn = kernel(FLOAT_SUMS[name].format(t=t))
    rng = np.random.default_rng(11)
    shapes = interp.shapes_of(fn, {})
    for trial in range(6):
        ins = {b.name: (_special(t, shapes[b.name], rng) if trial % 2 else
                        rng.standard_normal(shapes[b.name]).astype(b.dtype.np_dtype) * 1e4)
               for b in fn.buffers if b.mode in ("in", "inout")}
        vec = interp.run(fn, ins)
        sca = interp.run(fn, ins, mode="scalar")
        for k in vec:
            assert_same(vec[k], sca[k])
    mem = {**{k: v.copy() for k, v in ins.items()},
           **{b.name: np.zeros(shapes[b.name], b.dtype.np_dtype) for b in fn.outputs}}
    ex = VectorExec(fn, {}, mem, shapes, {}, interp._call)
    ex.run()
    assert ex.vectorised >= 1


SCATTERS = {
    # iterations meet on an element (a transposed convolution), i8 wrapping
    "overlap_i8": """kernel k { in X: i8[9, 4]
      in F: i8[3, 4]
      inout Y: i8[19]
      for ih in 0..9 { for rh in 0..3 { for c in 0..4 {
        Y[2 * ih + rh] += X[ih, c] * F[rh, c] } } } }""",
    # a loop that appears in neither the index nor the term still counts each time
    "repeats": """kernel k { in X: i32[8]
      inout Y: i32[4]
      for a in 0..8 { for b in 0..3 { Y[a / 2] += X[a] } } }""",
    # a 0-d output: every update of the nest adds to its one element (a fuzz find)
    "scalar_out": """kernel k { in A: i8[8, 3]
      in B: i8[3, 8]
      out C: i32
      C = 0
      for k in 0..8 { for k2 in 0..3 { C += i32(A[k, k2]) * i32(B[k2, k]) } } }""",
    # the term on the left, inside an independent loop
    "left_term": """kernel k { in X: u16[6, 5]
      inout Y: u16[3, 9]
      for j in 0..3 { for a in 0..5 { for b in 0..5 {
        Y[j, a + b] = X[j, b] + Y[j, a + b] } } } }""",
}


@pytest.mark.parametrize("name", sorted(SCATTERS))
def test_integer_accumulations_that_meet_run_as_one_scatter_add(name: str) -> None:
    """Wrapping integer sums commute, so a nest whose iterations add into shared elements
    runs as one scatter-add; it equals the scalar run, repeats and wrapping included."""
    from tensorize.ir.vector_exec import VectorExec

    fn = kernel(SCATTERS[name])
    for seed in range(3):
        ins, _ = _run_both(fn, {}, seed)
    shapes = interp.shapes_of(fn, {})
    mem = {b.name: np.array(ins[b.name], copy=True) if b.name in ins
           else np.zeros(shapes[b.name], b.dtype.np_dtype) for b in fn.buffers}
    ex = VectorExec(fn, {}, mem, shapes, {}, interp._call)
    done: list[bool] = []
    original = ex.scatter

    def scatter(*args: object) -> bool:
        done.append(original(*args))  # type: ignore[arg-type]
        return done[-1]

    ex.scatter = scatter  # type: ignore[method-assign]
    ex.run()
    assert any(done) and ex.vectorised >= 1


def test_a_float_accumulation_that_meets_is_not_scattered() -> None:
    """IEEE sums do not commute: the same nest in f32 keeps its order (scalar == vector on
    values where the order shows)."""
    fn = kernel("""kernel k { in X: f32[9, 4]
      in F: f32[3, 4]
      inout Y: f32[19]
      for ih in 0..9 { for rh in 0..3 { for c in 0..4 {
        Y[2 * ih + rh] += X[ih, c] * F[rh, c] } } } }""")
    rng = np.random.default_rng(0)
    ins = {"X": rng.choice(np.array([1e30, -1e30, 1.0, 1e-7], np.float32), (9, 4)),
           "F": rng.choice(np.array([1.0, -1.0, 3.5], np.float32), (3, 4)),
           "Y": np.zeros(19, np.float32)}
    vec = interp.run(fn, ins)["Y"]
    sca = interp.run(fn, ins, mode="scalar")["Y"]
    assert_same(vec, sca)


def test_a_guard_that_no_iteration_changes_does_not_stop_vectorising() -> None:
    """``if k < 3`` inside the loops over i and j depends only on the outer k: the i and
    j loops still run as array axes (a fuzz kernel took minutes one iteration at a time),
    and the result equals the scalar run; a guard on i keeps them sequential."""
    from tensorize.ir.vector_exec import VectorExec

    # vectorised loops: the init's i and j, then per k iteration i and j (k < 3: 2 + 4 x 2)
    # or, with a guard on i, j alone in each of the 4 x 6 iterations of k and i
    for guard, count in (("k < 3", 2 + 4 * 2), ("i < 3", 2 + 4 * 6)):
        fn = kernel(f"""kernel k {{ in A: u8[4, 6]
          in B: i8[5, 4]
          out C: i32[6, 5]
          for i in 0..6 {{ for j in 0..5 {{ C[i, j] = 0 }} }}
          for k in 0..4 {{ for i in 0..6 {{ for j in 0..5 {{
            if {guard} {{ C[i, j] = C[i, j] + i32(i16(A[k, i]) * i16(B[j, k])) }} }} }} }} }}""")
        ins, _ = _run_both(fn, {}, 1)
        shapes = interp.shapes_of(fn, {})
        mem = {b.name: np.array(ins[b.name], copy=True) if b.name in ins
               else np.zeros(shapes[b.name], b.dtype.np_dtype) for b in fn.buffers}
        ex = VectorExec(fn, {}, mem, shapes, {}, interp._call)
        ex.run()
        assert ex.vectorised == count, (guard, ex.vectorised)
