"""Every bundled spec against an independent model written from the vendor's pseudocode.

The models live in ``tests/spec_models`` (the specs added with the intrinsic-library issue)
and ``tests/intrinsic_models.py`` (the first forty). A ``bits`` model is compared bit for
bit with the interpreter on random inputs, on every combination of extreme integer inputs
(which is where saturation and wrapping show) and, for float specs, on inputs full of
special values (signed zeros, infinities, NaN, subnormals, the largest finite values). A
``real`` model is the exact value of a spec declared ``order unordered``, compared with
the real-mode interpreter.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

import tensorize
from tensorize.ir import interp
from tensorize.ir.nodes import Function
from tests.intrinsic_models import MODELS
from tests.spec_models import SPEC_MODELS
from tests.test_interp import assert_same

LIB = tensorize.load_library()
SPECS = LIB.as_dict()
SIZE = 5
"""The value of a spec's size parameters in these runs."""

SPECIALS = {
    "f16": [0.0, -0.0, np.inf, -np.inf, np.nan, 6.0e-8, -3.0e-5, 65504.0, -65504.0, 1.0,
            -1.5, 0.333],
    "bf16": [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0e-39, -2.0e-40, 3.0e38, -3.0e38, 1.0,
             -1.5, 0.333],
    "f32": [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0e-40, -2.0e-45, 3.4e38, -3.4e38, 1.0,
            -1.5, 1.1754944e-38],
    "f64": [0.0, -0.0, np.inf, -np.inf, np.nan, 5.0e-324, -1.0e-310, 1.7e308, -1.7e308, 1.0,
            -1.5, 0.1],
}


def _sizes(fn: Function) -> dict[str, int]:
    return {p.name: SIZE for p in fn.params if p.default is None}


def _order(fn: Function) -> str:
    return str(fn.meta_value("order") or "ordered")


def _edge_cases(fn: Function, sizes: dict[str, int]) -> list[dict[str, np.ndarray]]:
    """Every combination of each integer input at its type's minimum or maximum (floats
    at -3.0 or 2.5), at most 16 combinations."""
    bound = interp.bind_sizes(fn, sizes)
    inputs = list(fn.inputs)
    cases = []
    for choice in itertools.islice(itertools.product((0, 1), repeat=len(inputs)), 16):
        case = {}
        for b, pick in zip(inputs, choice):
            shape = interp.buffer_shape(b, bound)
            t = b.dtype
            lo, hi = (t.min, t.max) if t.is_int else (-3.0, 2.5)
            for a in fn.assumes:
                if a.buf == b.name:
                    lo, hi = a.lo, a.hi - (0 if a.inclusive or not t.is_int else 1)
            case[b.name] = np.full(shape, hi if pick else lo).astype(t.np_dtype)
        cases.append(case)
    return cases


def _special_cases(fn: Function, sizes: dict[str, int]) -> list[dict[str, np.ndarray]]:
    """Random inputs where the float buffers are drawn from special values."""
    bound = interp.bind_sizes(fn, sizes)
    cases = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        case = interp.random_inputs(fn, sizes, seed=100 + seed)
        for b in fn.inputs:
            if b.dtype.is_float:
                shape = interp.buffer_shape(b, bound)
                pool = np.asarray(SPECIALS[str(b.dtype)], dtype=np.float64)
                case[b.name] = rng.choice(pool, size=shape).astype(b.dtype.np_dtype)
        cases.append(case)
    return cases


def test_every_spec_has_an_independent_model() -> None:
    missing = [fn.name for fn in LIB if fn.name not in MODELS and fn.name not in SPEC_MODELS]
    assert not missing
    assert set(SPEC_MODELS) <= {fn.name for fn in LIB}
    assert not set(SPEC_MODELS) & set(MODELS)


def test_real_models_are_exactly_the_unordered_specs() -> None:
    """A spec whose rounding or order the vendor leaves open is declared unordered, and
    its model claims only the exact value; every other new spec is bit-exact."""
    for name, m in SPEC_MODELS.items():
        assert (m.kind == "real") == (_order(LIB[name]) == "unordered"), name


def test_every_spec_has_a_cost_and_its_source() -> None:
    for fn in LIB:
        assert fn.cost > 0, fn.name
        source = fn.meta_value("cost_source")
        assert isinstance(source, str) and len(source) > 20, fn.name


@pytest.mark.parametrize("name", sorted(n for n, m in SPEC_MODELS.items() if m.kind == "bits"))
def test_spec_is_bit_exact_with_its_model(name: str) -> None:
    fn = LIB[name]
    sizes = _sizes(fn)
    cases = [interp.random_inputs(fn, sizes, seed=s) for s in range(3)]
    cases += _edge_cases(fn, sizes)
    if any(b.dtype.is_float for b in fn.inputs):
        cases += _special_cases(fn, sizes)
    for inputs in cases:
        got = interp.run(fn, inputs, sizes=sizes, library=SPECS)
        expected = SPEC_MODELS[name].fn(**inputs)
        assert set(expected) == set(got)
        for key, value in expected.items():
            want = np.asarray(value)
            assert want.dtype == got[key].dtype, (key, want.dtype, got[key].dtype)
            assert_same(got[key], want.reshape(got[key].shape))


@pytest.mark.parametrize("name", sorted(n for n, m in SPEC_MODELS.items() if m.kind == "real"))
def test_unordered_spec_has_the_exact_value_of_its_model(name: str) -> None:
    fn = LIB[name]
    sizes = _sizes(fn)
    cases = [interp.random_inputs(fn, sizes, seed=s) for s in range(2)]
    cases += _edge_cases(fn, sizes)[:2]
    for inputs in cases:
        got = interp.run(fn, inputs, sizes=sizes, library=SPECS, mode="real")
        expected = SPEC_MODELS[name].fn(**inputs)
        assert set(expected) == set(got)
        for key, value in expected.items():
            want = np.asarray(value, dtype=object).reshape(got[key].shape)
            for idx, v in np.ndenumerate(got[key]):
                item = want[idx]
                expected_value = item if isinstance(item, Fraction) else Fraction(int(item))
                assert Fraction(v) == expected_value, (key, idx, v, expected_value)


def test_a_wrong_model_is_caught() -> None:
    """The comparison can fail: vpdpbssds' model without saturation disagrees at the edge."""
    fn = LIB["x86.avx_vnni_int8.vpdpbssds"]
    wrapping = SPEC_MODELS["x86.avx_vnni_int8.vpdpbssd"].fn
    edge: dict[str, np.ndarray] = {"a": np.full((8, 4), 127, np.int8),
                                   "b": np.full((8, 4), 127, np.int8),
                                   "c": np.full(8, 2**31 - 1, np.int32)}
    got = interp.run(fn, edge, library=SPECS)["c"]
    assert (got == 2**31 - 1).all()
    assert not np.array_equal(got, wrapping(**edge)["c"])


def test_intrinsics_command_shows_cost_source_and_host(cli) -> None:  # type: ignore[no-untyped-def]  # the cli fixture is untyped
    result = cli(["intrinsics"])
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[-1] == f"{len(LIB)} intrinsics over {len(LIB.targets)} targets"
    row = next(i for i, ln in enumerate(lines) if ln.startswith("nvidia.wgmma.m64n8k16_f16_f32 "))
    assert lines[row].split()[1:4] == ["nvidia.sm90a", "16", "no"]
    assert lines[row + 1].split()[0] == "cost:" and "H100" in lines[row + 1]
    blas = next(ln for ln in lines if ln.startswith("blas.sgemm "))
    assert blas.split()[1:4] == ["blas", "1", "yes"]  # library calls run on any host
    assert sum(ln.lstrip().startswith("cost: ") for ln in lines) == len(LIB)


def test_intrinsics_command_has_a_row_for_every_spec(cli) -> None:  # type: ignore[no-untyped-def]  # the cli fixture is untyped
    """Every spec's row names its target, its cost and whether this host runs it, and is
    followed by its cost source."""
    from tensorize.intrinsics.host import host_supports

    lines = cli(["intrinsics"]).out.splitlines()
    rows = {ln.split()[0]: i for i, ln in enumerate(lines) if ln and not ln[0].isspace()}
    for fn in LIB:
        i = rows[fn.name]
        name, target, cost, host = lines[i].split()[:4]
        assert (target, float(cost)) == (fn.target, fn.cost), fn.name
        assert host == ("yes" if host_supports(fn.target) else "no"), fn.name
        assert lines[i + 1].split(None, 1) == ["cost:", str(fn.meta_value("cost_source"))]
