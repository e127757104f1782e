"""The per-element prover answers without a solver query when the two sides are one term
and every index is in bounds by interval arithmetic (``parametric._bounded``); the
bounds decide, and the answer is the solver's."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorize.equivalence import parametric
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved, Refuted
from tensorize.smt import terms as T
from tests.conftest import ROOT
from tests.kernels import kernel

SUM = """kernel k {{ in x: i32[5]
  out s: i32[1]
  s[0] = i32(0)
  for {v} in {lo}..{hi} {{ s[0] += x[{index}] }} }}"""

NO_EXECUTION = ProveOptions(execution=False)
PLAIN = ProveOptions(execution=False, shortcuts=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 4), st.integers(1, 4)),
                min_size=1, max_size=3),
       st.integers(-6, 6), st.integers(-8, 8), st.integers(0, 10))
def test_bounded_is_exact_on_linear_values(vars_, const, lo, width) -> None:
    """``_bounded`` says "in bounds" exactly when every point of the (non-empty) box is."""
    box, value = {}, T.int_val(const)
    for n, (coeff, start, extent) in enumerate(vars_):
        x = T.var(f"x{n}", T.INT)
        box[x] = (start, start + extent)
        value = T.add(value, T.mul(T.int_val(coeff), x))
    hi = lo + width
    points = itertools.product(*(range(a, b) for a, b in box.values()))
    coeffs = [c for c, _s, _e in vars_]
    truth = all(lo <= const + sum(c * p for c, p in zip(coeffs, point)) < hi
                for point in points)
    assert parametric._bounded(value, lo, hi, box) == truth


def test_a_value_outside_the_box_variables_is_left_to_the_solver() -> None:
    x, y = T.var("x", T.INT), T.var("y", T.INT)
    box = {x: (0, 4)}
    assert parametric._bounded(T.add(x, T.int_val(1)), 0, 5, box)
    assert not parametric._bounded(T.add(x, y), 0, 100, box)  # y is not bounded
    assert not parametric._bounded(T.mul(x, x), 0, 100, box)  # not linear


@pytest.mark.parametrize(("v", "lo", "hi", "index", "proved"), [
    ("i", 0, 4, "i", True),          # the same sum
    ("j", 0, 4, "3 - j", True),      # reversed
    ("j", 1, 5, "j - 1", True),      # shifted loop, same elements
    ("j", 0, 4, "j + 1", False),     # x[1..5) is not x[0..4): the map j = i - 1 leaves
    ("j", 1, 5, "j", False),         # the box at one end, and only the bounds show it
])
def test_the_shortcut_agrees_with_the_solver(v, lo, hi, index, proved) -> None:
    left = kernel(SUM.format(v="i", lo=0, hi=4, index="i"))
    right = kernel(SUM.format(v=v, lo=lo, hi=hi, index=index))
    quick, plain = prove(left, right, options=NO_EXECUTION), prove(left, right, options=PLAIN)
    assert isinstance(quick, Proved) == isinstance(plain, Proved) == proved
    if proved:
        assert "interval arithmetic" in quick.obligation  # no query was made
    else:
        assert isinstance(quick, Refuted)


def test_without_the_bounds_the_shortcut_would_prove_a_false_pair(monkeypatch) -> None:
    """The mutation the tests above must catch: bounds taken for granted."""
    left = kernel(SUM.format(v="i", lo=0, hi=4, index="i"))
    right = kernel(SUM.format(v="j", lo=0, hi=4, index="j + 1"))
    monkeypatch.setattr(parametric, "_bounded", lambda *args: True)
    assert isinstance(prove(left, right, options=NO_EXECUTION), Proved)


def test_a_cold_apply_of_the_example_imports_no_solver(tmp_path) -> None:
    """Its tile proofs are all one term on both sides: Z3 is not even imported."""
    script = ("import sys\nfrom tensorize.cli import main\n"
              "code = main(['apply', 'examples/qmatmul.tz', '--no-cache', '-o', sys.argv[1]])\n"
              "assert code == 0 and 'z3' not in sys.modules, (code, 'z3' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out.tz")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "call x86." in (tmp_path / "out.tz").read_text()
