"""Every bundled spec against its independent numpy model; check-spec; the library."""

from __future__ import annotations

import time

import numpy as np
import pytest

import tensorize
from tensorize.intrinsics.check_spec import RUN_SIZE, lint
from tensorize.ir import interp
from tests.conftest import ROOT, TESTS
from tests.intrinsic_models import MODELS
from tests.test_interp import assert_same

LIB = tensorize.load_library()
SPECS = sorted(fn.name for fn in LIB)


def _sizes(fn):
    return {p.name: RUN_SIZE + 3 for p in fn.params if p.default is None}


def _edge_inputs(fn, sizes, pattern: str) -> dict[str, np.ndarray]:
    bound = interp.bind_sizes(fn, sizes)
    out = {}
    for b in fn.inputs:
        shape = interp.buffer_shape(b, bound)
        t = b.dtype
        if t.is_int:
            value = {"min": t.min, "max": t.max}[pattern]
            out[b.name] = np.full(shape, value, dtype=t.np_dtype)
        else:
            out[b.name] = np.full(shape, {"min": -3.0, "max": 2.5}[pattern]).astype(t.np_dtype)
    return out


def test_library_size_and_targets() -> None:
    assert len(LIB) >= 30
    assert len(LIB.targets) >= 6
    for fn in LIB:
        assert fn.name and fn.target and fn.summary and fn.cost > 0
        assert fn.meta_value("manual"), fn.name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_spec_matches_independent_model(name: str) -> None:
    # the first forty specs; tests/test_spec_models.py checks the rest, and that every
    # spec has a model in one place or the other
    fn = LIB[name]
    sizes = _sizes(fn)
    cases = [interp.random_inputs(fn, sizes, seed=s) for s in range(3)]
    cases += [_edge_inputs(fn, sizes, p) for p in ("min", "max")]
    for inputs in cases:
        got = interp.run(fn, inputs, sizes=sizes, library=LIB)
        expected = MODELS[name](**inputs)
        for key, value in expected.items():
            assert_same(got[key], np.asarray(value).reshape(got[key].shape).astype(
                got[key].dtype))


def test_every_model_has_a_spec() -> None:
    assert set(MODELS) <= set(SPECS)


def test_bundled_specs_pass_check_spec(cli) -> None:
    files = sorted(str(p) for p in (ROOT / "intrinsic_specs").rglob("*.tz"))
    result = cli(["check-spec", *files])
    assert result.code == 0, result.err
    assert f"{len(LIB)} checked, 0 with problems" in result.out


def test_check_spec_lints_point_at_the_line(cli, tmp_path) -> None:
    spec = tmp_path / "bad.tz"
    spec.write_text("""intrinsic my.bad {
  summary "a spec with every mistake"
  target  my
  cost    1.0
  in    a: u8[4]
  in    unused: u8[4]
  inout c: i32[4]
  out   d: i32[4]
  for i in 0..3 {
    for k in 0..4 {
      d[i] = i32(a[i])
    }
  }
  for i in 0..4 {
    c[i] = 0
  }
}
""")
    result = cli(["check-spec", str(spec), "--no-bundled"])
    assert result.code == 1
    err = result.err
    assert "bad.tz:6:9: warning: parameter 'unused' is never used" in err
    assert "'c' is inout but never read" in err
    assert "element(s) of 'd' are never written" in err
    assert "the body of loop 'k' does not depend on it" in err
    assert "has no 'manual'" in err
    assert "^" in err


def test_check_spec_reports_syntax_errors_with_position(cli, tmp_path) -> None:
    spec = tmp_path / "broken.tz"
    spec.write_text("intrinsic x.y {\n  in a: u8[4]\n  for i in 0..4 {\n}\n")
    result = cli(["check-spec", str(spec)])
    assert result.code == 2
    assert result.err.startswith(f"{spec}:")


def test_lint_clean_spec_has_no_findings() -> None:
    assert lint(LIB["x86.avx512_vnni.vpdpbusd"]) == []


def test_intrinsics_command_lists_the_library(cli) -> None:
    result = cli(["intrinsics"])
    assert result.code == 0
    assert f"{len(LIB)} intrinsics over {len(LIB.targets)} targets" in result.out
    x86 = cli(["intrinsics", "--target", "x86"])
    assert "x86.amx.tdpbusd" in x86.out and "arm.neon" not in x86.out
    assert cli(["intrinsics", "--target", "nosuch"]).code == 2


def test_load_library_with_extra_paths(tmp_path) -> None:
    extra = tmp_path / "mine.tz"
    extra.write_text("""intrinsic my.add4 {
  summary "adds"
  target my
  cost 0.5
  manual "mine"
  in a: i32[4]
  inout c: i32[4]
  for i in 0..4 { c[i] += a[i] }
}""")
    lib = tensorize.load_library([extra])
    assert "my.add4" in lib and len(lib) == len(LIB) + 1
    assert lib["my.add4"].cost == 0.5


def test_loading_the_library_is_fast_enough_to_measure() -> None:
    start = time.perf_counter()
    tensorize.load_library()
    assert time.perf_counter() - start < 30  # the real figure lives in bench/
    assert TESTS.exists()
