"""The vector interpreter's fast paths against the numpy calls they replace, and its
batched runs against scalar runs of each input set."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorize.equivalence import execute
from tensorize.ir import interp
from tensorize.ir.types import SCALAR_TYPES
from tensorize.ir.vector_exec import MAX_AXES, VectorExec, _flat_index, _scatter_add
from tests.fuzz.generator import RandomChoices, generate
from tests.kernels import kernel

INT_TYPES = [t for t in SCALAR_TYPES.values() if t.is_int]


def _axis(n: int, d: int) -> np.ndarray:
    return VectorExec.axis(0, n, d)


@st.composite
def scatters(draw: st.DrawFn) -> tuple:
    """A buffer, an index tuple over loop axes (some loops absent from every index, some
    indices constant) and values, as the scatter of a nest builds them."""
    t = draw(st.sampled_from(INT_TYPES))
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(rank))
    nloops = draw(st.integers(1, 4))
    extents = [draw(st.integers(1, 4)) for _ in range(nloops)]
    loops = [_axis(n, d) for d, n in enumerate(extents)]
    idx = []
    for n in shape:
        users = draw(st.lists(st.integers(0, nloops - 1), max_size=2, unique=True))
        if not users:
            idx.append(draw(st.integers(0, n - 1)))
            continue
        e = sum(loops[u] for u in users)
        idx.append(e % n)  # in bounds, repeats allowed
    full = np.broadcast_shapes(*(np.shape(i) for i in idx), *(x.shape for x in loops))
    info = np.iinfo(t.np_dtype)
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    vshape = tuple(s if draw(st.booleans()) else 1 for s in full)
    vals = rng.integers(info.min, info.max, size=vshape, dtype=t.np_dtype, endpoint=True)
    arr = rng.integers(info.min, info.max, size=shape, dtype=t.np_dtype, endpoint=True)
    contiguous = draw(st.booleans())
    return t, arr, tuple(idx), vals, full, contiguous


@settings(max_examples=300, deadline=None)
@given(scatters())
def test_scatter_add_is_add_at(case: tuple) -> None:
    t, arr, idx, vals, full, contiguous = case
    expected = arr.copy()
    parts = np.broadcast_arrays(*idx, vals, np.zeros(full, dtype=np.int8))
    np.add.at(expected, tuple(parts[:len(idx)]), parts[len(idx)])
    got = arr.copy() if contiguous else np.asfortranarray(arr)
    if not contiguous and got.ndim > 1 and got.flags.c_contiguous:
        got = arr.copy()
    _scatter_add(got, idx, vals, full, t)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.integers(0, 1000))
def test_flat_index_is_ravel_multi_index(shape: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    idx = tuple(rng.integers(0, n, size=(1,) * d + (3,) + (1,) * (MAX_AXES - d - 1))
                if rng.random() < 0.7 else int(rng.integers(0, n))
                for d, n in enumerate(shape))
    arrays = np.broadcast_arrays(*(np.asarray(i) for i in idx))
    want = np.ravel_multi_index(tuple(arrays), tuple(shape))
    got = np.broadcast_to(_flat_index(idx, tuple(shape)), want.shape)
    assert np.array_equal(got, want)


STORES = {
    # a tiled store: each buffer index uses two loops
    "tiled": """kernel k { in A: i32[8, 6]
      out C: i32[8, 6]
      for io in 0..2 { for jo in 0..3 { for i in 0..4 { for j in 0..2 {
        C[4 * io + i, 2 * jo + j] = A[4 * io + i, 2 * jo + j] * 3 } } } } }""",
    # a transposed, strided store of a float value
    "transposed": """kernel k { in A: f16[4, 6]
      out C: f16[12, 4]
      for i in 0..4 { for j in 0..6 { C[2 * j, i] = A[i, j] + 1.0 } } }""",
}


@pytest.mark.parametrize("name", sorted(STORES))
def test_vectorised_stores_equal_the_scalar_run(name: str) -> None:
    fn = kernel(STORES[name])
    ins = interp.random_inputs(fn, {}, 5)
    vec, sca = interp.run(fn, ins), interp.run(fn, ins, mode="scalar")
    for k in vec:
        assert vec[k].tobytes() == sca[k].tobytes()


def test_fuzz_kernels_batched_equal_scalar_runs_per_set() -> None:
    """The batched vector run of all input sets (leading axis per set: scatters, stores,
    reductions over it) against a scalar run of each set alone."""
    compared = 0
    for seed in range(60):
        g = generate(RandomChoices(seed), allowed=("loopvar_value", "odd_init",
                                                    "unsigned_mixed", "empty_size1"))
        fn = kernel(g.text)
        if interp.estimate_work(fn, interp.bind_sizes(fn, {})) > 3_000:
            continue
        sets = list(execute.input_sets(fn, {}, seed, 2, ("min", "mix")))
        batched = execute._run_batched(fn, {}, sets, {})
        assert batched is not None
        for values, got in zip(sets, batched):
            ins = {k: v for k, v in values.items() if fn.decl(k).mode != "out"}
            outs = {k: v for k, v in values.items() if fn.decl(k).mode == "out"}
            want = interp.run(fn, ins, outputs=outs, mode="scalar")
            for k in want:
                assert got[k].tobytes() == want[k].tobytes(), (g.text, k)
        compared += 1
    assert compared >= 10


def test_a_shared_loop_analysis_is_redone_for_other_intrinsics() -> None:
    """Loop analyses are shared between executors, but only while the intrinsics they
    looked up are the same objects: the same loop under another library is analysed
    again (here the call's second view is written under one and only read under the
    other)."""
    import tensorize

    spec = """intrinsic t.x {{
      summary "x"
      target t
      cost 1.0
      in a: i32[2]
      {mode} c: i32[2]
      local e: i32[2]
      for i in 0..2 {{ {target}[i] = a[i] + 1 }}
    }}"""
    text = """kernel k {
      in A: i32[8]
      inout C: i32[8]
      for i in 0..4 { call t.x(a = (d) -> A[2 * i + d], c = (d) -> C[2 * i + d]) }
    }"""
    lib_out = {f.name: f for f in tensorize.parse(spec.format(mode="inout", target="c")).intrinsics}
    lib_in = {f.name: f for f in tensorize.parse(spec.format(mode="in", target="e")).intrinsics}
    fn = tensorize.parse(text, library=lib_out).kernels[0]
    loop = fn.body[0]
    shapes = interp.shapes_of(fn, {})

    def analysis(lib: dict) -> object:
        mem = {b.name: np.zeros(shapes[b.name], np.int32) for b in fn.buffers}
        return VectorExec(fn, {}, mem, shapes, lib, interp._call)._analyse(loop)

    first = analysis(lib_out)
    assert first is not None and "C" in first[0]
    again = analysis(dict(lib_out))  # another dict, the same intrinsic: shared
    assert again is first
    other = analysis(lib_in)
    assert other is not None and other[0] == {}
    assert analysis({}) is None  # no such intrinsic: nothing vectorises


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["f32", "f64"]), st.integers(0, 2), st.integers(1, 9),
       st.integers(1, 700), st.integers(0, 2**32))
def test_step_by_step_sums_are_the_accumulated_ones(tname: str, depth: int, n: int,
                                                    width: int, seed: int) -> None:
    """The step-by-step IEEE sum (large slices) and the one-accumulate sum give the same
    bits, on values where the order of additions shows (huge, tiny, subnormal, inf, NaN),
    up to the sign and payload of a NaN (SIMD loops propagate another operand's NaN),
    which the store that follows erases (one NaN: see tensorize.ir.numeric)."""
    from tensorize.ir import vector_exec
    from tensorize.ir.vector_ops import canonical_nan

    t = SCALAR_TYPES[tname]
    rng = np.random.default_rng(seed)
    pool = np.array([1e30, -1e30, 1.0, 1e-7, -3.5, 5e-324, 1e-45, np.inf, -np.inf, np.nan,
                     0.1, 2.0**-126, 65504.0, -0.0])
    shape = [2, 3, 2][:depth] + [n] + [width]
    values = rng.choice(pool, size=shape).astype(t.np_dtype)
    start_shape = shape[:depth] + [1] + shape[depth + 1:]
    start = rng.choice(pool, size=start_shape).astype(t.np_dtype)
    with np.errstate(all="ignore"):
        got = vector_exec._sequential_sum(start, values, depth, t)
        want = vector_exec._accumulated_sum(start, values, depth, t)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert canonical_nan(got, t).tobytes() == canonical_nan(want, t).tobytes()
    assert (values.size // n >= vector_exec.SEQUENTIAL_SLICE) == (width * int(
        np.prod(shape[:depth])) >= vector_exec.SEQUENTIAL_SLICE)
