"""``assume`` ranges: exact in proofs, and all of them respected by ``run``'s inputs."""

from __future__ import annotations

import numpy as np
import pytest

from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved, Refuted
from tensorize.errors import InterpError
from tensorize.ir import interp, numeric
from tensorize.ir.types import SCALAR_TYPES
from tests.kernels import kernel


def _pair(t: str, assumes: str, changed: str) -> tuple:
    """``C = A`` and ``C = select(changed, 0, A)``: they differ exactly where ``changed``."""
    head = f"kernel NAME(N = 4) {{\n  in A: {t}[N]\n  out C: {t}[N]\n{assumes}\n"
    same = kernel(head.replace("NAME", "same") + "  for i in 0..N { C[i] = A[i] }\n}\n")
    other = kernel(head.replace("NAME", "other") +
                   f"  for i in 0..N {{ C[i] = select({changed}, 0, A[i]) }}\n}}\n")
    return same, other


@pytest.mark.parametrize("parametric", [True, False])
def test_exclusive_end_is_excluded_and_inclusive_end_included(parametric: bool) -> None:
    same, other = _pair("i32", "  assume A in 0..10", "A[i] == 10")
    assert isinstance(prove(same, other, options=ProveOptions(parametric=parametric)), Proved)
    same, other = _pair("i32", "  assume A in 0..=10", "A[i] == 10")
    result = prove(same, other, options=ProveOptions(parametric=parametric))
    assert isinstance(result, Refuted), result
    same, other = _pair("i32", "  assume A in 0..=10", "A[i] == -1")
    assert isinstance(prove(same, other, options=ProveOptions(parametric=parametric)), Proved)


@pytest.mark.parametrize("parametric", [True, False])
def test_every_assume_on_a_buffer_holds_in_proofs(parametric: bool) -> None:
    """Two assumes intersect; the proof used to keep only the last one per buffer."""
    same, other = _pair("i32", "  assume A in 0..10\n  assume A in -5..=100", "A[i] >= 10")
    assert isinstance(prove(same, other, options=ProveOptions(parametric=parametric)), Proved)
    same, other = _pair("i32", "  assume A in 0..10\n  assume A in -5..=100", "A[i] == 9")
    assert isinstance(prove(same, other, options=ProveOptions(parametric=parametric)),
                      Refuted)


@pytest.mark.parametrize("parametric", [True, False])
def test_a_float_bound_between_two_values_is_exact(parametric: bool) -> None:
    """0.1 is not an f16: f16(0.1) = 0.0999755859375 < 0.1 satisfies ``X in 0..0.1``.

    The proof used to compare against 0.1 rounded to f16 and so excluded that value:
    a false proof of two kernels that differ exactly there.
    """
    same, other = _pair("f16", "  assume A in 0..0.1", "A[i] >= 0.0999755859375")
    result = prove(same, other, options=ProveOptions(parametric=parametric))
    assert isinstance(result, Refuted), result
    same, other = _pair("f16", "  assume A in 0..0.0999755859375", "A[i] >= 0.0999755859375")
    assert isinstance(prove(same, other, options=ProveOptions(parametric=parametric)), Proved)


def test_unsigned_assume_near_the_top_of_the_type() -> None:
    same, other = _pair("u8", "  assume A in 200..=255", "A[i] < 200")
    assert isinstance(prove(same, other), Proved)
    same, other = _pair("u8", "  assume A in 200..255", "A[i] == 255")
    assert isinstance(prove(same, other), Proved)


def test_run_draws_satisfy_every_assume_and_reach_both_ends() -> None:
    fn = kernel("""
kernel k(N = 64) {
  in A: i8[N]
  in X: f16[N]
  out C: i8[N]
  assume A in -100..=50
  assume A in 3..20
  assume X in 0..0.1
  for i in 0..N { C[i] = A[i] }
}
""")
    for seed in range(5):
        ins = interp.random_inputs(fn, seed=seed)
        a = ins["A"].astype(int)
        assert a.min() == 3 and a.max() == 19, sorted(set(a.tolist()))
        x = ins["X"].astype(np.float64)
        assert x.min() == 0.0 and x.max() == 0.0999755859375
        interp.check_assumptions(fn, ins)  # the run's own check agrees


def test_disjoint_assumes_are_a_clear_error() -> None:
    fn = kernel("""
kernel k(N = 4) {
  in A: u8[N]
  out C: u8[N]
  assume A in 0..10
  assume A in 10..=20
  for i in 0..N { C[i] = A[i] }
}
""")
    with pytest.raises(InterpError, match="satisfies all its assumptions"):
        interp.random_inputs(fn)


def test_check_assumptions_is_exact_for_narrow_floats() -> None:
    """f16(0.1) < 0.1, so it satisfies ``0..0.1`` (numpy compared in f16 and refused it)."""
    fn = kernel("""
kernel k(N = 2) {
  in X: f16[N]
  out C: f16[N]
  assume X in 0..0.1
  for i in 0..N { C[i] = X[i] }
}
""")
    interp.check_assumptions(fn, {"X": np.asarray([0.0, 0.1], dtype=np.float16)})
    with pytest.raises(InterpError):
        interp.check_assumptions(fn, {"X": np.asarray([0.0, np.nan], dtype=np.float16)})


def test_assumed_bounds_are_the_extreme_values_of_the_type() -> None:
    f16, u8, bf16 = SCALAR_TYPES["f16"], SCALAR_TYPES["u8"], SCALAR_TYPES["bf16"]
    assert numeric.assumed_bounds(u8, [(0, 128, False), (5, 200, True)]) == (5, 127)
    assert numeric.assumed_bounds(u8, [(0, 5, False), (5, 9, True)]) is None
    assert numeric.assumed_bounds(f16, [(0, 0.1, True)]) == (0.0, 0.0999755859375)
    assert numeric.assumed_bounds(f16, [(0.1, 1e6, True)]) == (0.10003662109375, 65504.0)
    assert numeric.assumed_bounds(bf16, [(-1, 1, False)]) == (-1.0, 0.99609375)


DISJOINT = """kernel k(N = 4) {
  in A: u8[N]
  out C: u8[N]
  assume A in 0..10
  assume A in 10..=20
  for i in 0..N { C[i] = A[i] >> 1 }
}
"""


def test_run_with_disjoint_assumes_is_a_positioned_error(cli, tmp_path) -> None:
    path = tmp_path / "disjoint.tz"
    path.write_text(DISJOINT)
    result = cli(["run", str(path)])
    assert result.code == 2, result
    assert result.err.startswith(f"{path}:5:10: error: no u8 value of 'A' satisfies"), result.err
    path.write_text(DISJOINT.replace("10..=20", "5..=20"))
    result = cli(["run", str(path)])
    assert result.code == 0, result.err
