"""The library API checks its arguments as the CLI does, and proves what it should."""

from __future__ import annotations

import math
import pickle
import re
import time
from pathlib import Path

import pytest

import tensorize
from tensorize import api
from tensorize.equivalence.results import Proved, Refuted, Unknown
from tensorize.errors import NotComparable, UsageError
from tests.conftest import EXAMPLES

SMALL = {"M": 2, "N": 16, "K": 8}


@pytest.fixture(scope="module")
def lib() -> tensorize.Library:
    return tensorize.load_library()


@pytest.fixture(scope="module")
def qmatmul(lib):
    module, callees = api.load_with_callees(EXAMPLES / "qmatmul.tz", lib)
    return module.get("qmatmul_nt"), callees


# -- argument checks --------------------------------------------------------------------
@pytest.mark.parametrize("fp", ["bogus", "IEEE", "", None, 1])
def test_tensorize_refuses_an_unknown_fp_mode(qmatmul, lib, fp) -> None:
    with pytest.raises(UsageError, match="ieee, real"):
        tensorize.tensorize(qmatmul[0], lib, fp=fp)


def test_prove_refuses_an_unknown_fp_mode(qmatmul) -> None:
    fn, callees = qmatmul
    with pytest.raises(UsageError, match="unknown float mode"):
        tensorize.prove(fn, fn, fp="bogus", library=callees)


def test_a_string_is_not_a_list_of_targets(qmatmul, lib) -> None:
    # "x86" would otherwise be read as the targets "x", "8", "6"
    with pytest.raises(UsageError, match="list of names"):
        tensorize.tensorize(qmatmul[0], lib, targets="x86")
    with pytest.raises(UsageError, match="list of names"):
        tensorize.tensorize(qmatmul[0], lib, intrinsics="x86.avx512_vnni.vpdpbusd")


def test_unknown_targets_and_intrinsics_list_the_valid_names(qmatmul, lib) -> None:
    with pytest.raises(UsageError, match=r"unknown target 'x86\.nope'.*x86\.avx512_vnni"):
        tensorize.tensorize(qmatmul[0], lib, targets=["x86.nope"])
    with pytest.raises(UsageError, match=r"unknown intrinsic 'nope'.*vpdpbusd"):
        tensorize.tensorize(qmatmul[0], lib, intrinsics=["nope"])


def test_a_target_family_prefix_is_valid(qmatmul, lib) -> None:
    result = tensorize.tensorize(qmatmul[0], lib, targets=["x86"], sizes=SMALL)
    assert result.changed
    assert all(f.chosen.intrinsic.startswith("x86.") for f in result.fragments if f.chosen)
    with pytest.raises(UsageError):  # a prefix of a name, not of a dotted family
        tensorize.tensorize(qmatmul[0], lib, targets=["x8"])


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -math.inf, 0, -1, 0.0, "10",
                                     True, 1e300])
def test_timeouts_must_be_finite_positive_numbers(qmatmul, lib, timeout) -> None:
    fn, callees = qmatmul
    with pytest.raises(UsageError, match="timeout"):
        tensorize.tensorize(fn, lib, timeout=timeout)
    with pytest.raises(UsageError, match="timeout"):
        tensorize.prove(fn, fn, timeout=timeout, library=callees)


@pytest.mark.parametrize(("check", "bad"), [(api.check_rlimit, -5), (api.check_rlimit, 2**40),
                                            (api.check_seed, -1), (api.check_seed, 2**64),
                                            (api.check_jobs, 0), (api.check_jobs, -1),
                                            (api.check_jobs, 10_000), (api.check_jobs, 1.5)])
def test_integer_options_have_ranges(check, bad) -> None:
    with pytest.raises(UsageError):
        check(bad)


# -- signatures -------------------------------------------------------------------------
PAIR = """kernel wide {{
  in a: {ta}
  out r: i32[4]
  for i in 0..4 {{ r[i] = i32(a[i]) }}
}}
kernel narrow {{
  in a: {tb}
  out r: i32[4]
  for i in 0..4 {{ r[i] = i32(a[i]) }}
}}
"""


@pytest.mark.parametrize(("ta", "tb", "why"), [
    ("i32[4]", "i16[8]", r"buffer 'a' is i32\[4\] in 'wide' but i16\[8\] in 'narrow'"),
    ("i32[4]", "i32[5]", r"i32\[5\]"),
    ("i32[4]", "u32[4]", r"u32\[4\]"),
])
def test_different_signatures_are_not_comparable(ta, tb, why) -> None:
    module = tensorize.parse(PAIR.format(ta=ta, tb=tb))
    start = time.perf_counter()
    with pytest.raises(NotComparable, match=why) as info:
        tensorize.prove(module.get("wide"), module.get("narrow"))
    assert info.value.exit_code == 1
    assert time.perf_counter() - start < 1.0  # at once: no solver, no execution


def test_different_buffer_names_or_modes_are_not_comparable() -> None:
    module = tensorize.parse("""kernel x { in a: i32[4]
      out r: i32[4]
      for i in 0..4 { r[i] = a[i] } }
    kernel y { in b: i32[4]
      out r: i32[4]
      for i in 0..4 { r[i] = b[i] } }
    kernel z { in a: i32[4]
      inout r: i32[4]
      for i in 0..4 { r[i] = a[i] } }""")
    with pytest.raises(NotComparable, match="only 'x' has a; only 'y' has b"):
        tensorize.prove(module.get("x"), module.get("y"))
    with pytest.raises(NotComparable, match="'out' in 'x' but 'inout' in 'z'"):
        tensorize.prove(module.get("x"), module.get("z"))


def test_cli_says_not_comparable_with_exit_1(cli, tmp_path: Path) -> None:
    src = tmp_path / "pair.tz"
    src.write_text(PAIR.format(ta="i32[4]", tb="i16[8]"))
    result = cli(["prove", f"{src}:wide", f"{src}:narrow"])
    assert result.code == 1, result.err
    assert result.out.startswith("not comparable: buffer 'a' is i32[4]")
    js = cli(["prove", f"{src}:wide", f"{src}:narrow", "--json"])
    assert js.code == 1 and '"status": "not comparable"' in js.out


# -- results travel between processes -----------------------------------------------------
def test_results_pickle(qmatmul) -> None:
    fn, callees = qmatmul
    other = tensorize.parse("""kernel k { in a: i32[4]
      out r: i32[4]
      for i in 0..4 { r[i] = a[i] + 1 } }
    kernel m { in a: i32[4]
      out r: i32[4]
      for i in 0..4 { r[i] = a[i] + 2 } }""")
    refuted = tensorize.prove(other.get("k"), other.get("m"))
    assert isinstance(refuted, Refuted)
    proved = tensorize.prove(other.get("k"), other.get("k"))
    for r in (refuted, proved, Unknown("ieee", 1.0, "x")):
        assert pickle.loads(pickle.dumps(r)) == r


# -- the wall-clock bound -----------------------------------------------------------------
def test_the_wall_timeout_bounds_the_whole_proof(qmatmul) -> None:
    fn, callees = qmatmul
    rewrite = tensorize.load(EXAMPLES / "qmatmul_vnni.tz", callees).get("qmatmul_nt")
    wrong = _mutate(rewrite, callees)
    start = time.monotonic()
    result = tensorize.prove(fn, wrong, library=callees, wall_timeout=1.5)
    elapsed = time.monotonic() - start
    assert isinstance(result, Unknown), result
    assert "time budget of 1.5 s ran out during" in result.reason
    assert elapsed <= 1.5 + 1.0


def test_the_wall_timeout_returns_the_child_result(qmatmul) -> None:
    fn, callees = qmatmul
    rewrite = tensorize.load(EXAMPLES / "qmatmul_vnni.tz", callees).get("qmatmul_nt")
    result = tensorize.prove(fn, rewrite, library=callees, wall_timeout=60)
    assert isinstance(result, Proved) and result.method == api.STRUCTURAL_METHOD


def test_errors_in_the_child_keep_their_diagnostic(tmp_path: Path) -> None:
    module = tensorize.parse("""kernel k { in a: i32[4]
      out r: i32[4]
      for i in 0..4 { r[i] = a[i] } }""")
    fn = module.get("k")
    with pytest.raises(tensorize.TensorizeError, match="unknown float mode"):
        tensorize.prove(fn, fn, fp="x", wall_timeout=5)
    assert isinstance(tensorize.prove(fn, fn, wall_timeout=30), Proved)


# -- the structural path --------------------------------------------------------------------
def _mutate(rewrite, callees):
    """The rewrite with the view of A off by one inside the tile (same signature)."""
    from tensorize.ir.printer import format_function

    text = format_function(rewrite)
    bad, count = re.subn(r"\(k\) -> A\[i, 4 ?\* ?ko \+ k\]", "(k) -> A[i, 4*ko + 3 - k]", text)
    assert count == 1, text
    return tensorize.parse(bad, "<mutant>", callees).get(rewrite.name)


def test_the_readme_pair_proves_fast(cli) -> None:
    start = time.perf_counter()
    result = cli(["prove", f"{EXAMPLES / 'qmatmul.tz'}:qmatmul_nt",
                  f"{EXAMPLES / 'qmatmul_vnni.tz'}:qmatmul_nt"])
    assert result.code == 0, result.out + result.err
    assert "tile proof + validated rewrite (same rewrite as apply)" in result.out
    assert time.perf_counter() - start <= 2.0 * 2  # 2 s on an idle machine; slack for CI


def test_apply_output_proves_structurally(qmatmul) -> None:
    fn, callees = qmatmul
    rewritten = tensorize.tensorize(fn, callees, intrinsics=[
        "x86.avx512_vnni.vpdpbusd_bcast"], sizes=SMALL).rewritten
    result = tensorize.prove(fn, rewritten, sizes=SMALL, library=callees)
    assert isinstance(result, Proved) and result.method == api.STRUCTURAL_METHOD
    assert "vpdpbusd_bcast" in result.obligation
    swapped = tensorize.prove(rewritten, fn, sizes_b=SMALL, library=callees)
    assert isinstance(swapped, Proved) and swapped.method == api.STRUCTURAL_METHOD


def test_a_modified_rewrite_is_not_proved_by_the_structural_path(qmatmul) -> None:
    fn, callees = qmatmul
    good = tensorize.tensorize(fn, callees, intrinsics=["x86.avx512_vnni.vpdpbusd_bcast"],
                               sizes=SMALL).rewritten
    bad = _mutate(good, callees)
    from tensorize.ir.interp import bind_sizes

    assert api.structural_proof(fn, bind_sizes(fn, SMALL), bad, {}, callees, "ieee",
                                api.solver_config()) is None
    result = tensorize.prove(fn, bad, sizes=SMALL, library=callees)
    assert not isinstance(result, Proved)
    assert isinstance(result, Refuted | Unknown)


def test_a_rewrite_with_a_loop_bound_off_by_one_is_refuted(qmatmul) -> None:
    from tensorize.ir.printer import format_function

    fn, callees = qmatmul
    good = tensorize.tensorize(fn, callees, intrinsics=["x86.avx512_vnni.vpdpbusd_bcast"],
                               sizes=SMALL).rewritten
    text = format_function(good)
    assert "for ko in 0..2" in text
    bad = tensorize.parse(text.replace("for ko in 0..2", "for ko in 0..1"), "<m>", callees)
    result = tensorize.prove(fn, bad.get(good.name), sizes=SMALL, library=callees)
    assert isinstance(result, Refuted)


def test_the_structural_path_is_skipped_when_both_sides_call(qmatmul) -> None:
    fn, callees = qmatmul
    good = tensorize.tensorize(fn, callees, intrinsics=["x86.avx512_vnni.vpdpbusd_bcast"],
                               sizes=SMALL).rewritten
    assert api.structural_proof(good, {}, good, {}, callees, "ieee",
                                api.solver_config()) is None


# -- specs that fail check-spec --------------------------------------------------------------
BAD_SPEC = """intrinsic my.unused {
  summary "c += a, with a parameter it never uses"
  target my
  cost 1.0
  manual "none"
  in a: i32[4]
  in b: i32[4]
  inout c: i32[4]
  for i in 0..4 { c[i] += a[i] }
}
"""


def test_a_spec_failing_check_spec_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "bad.tz"
    spec.write_text(BAD_SPEC)
    with pytest.raises(tensorize.TensorizeError, match="parameter 'b' is never used"):
        api.load_specs([spec])
    good = tmp_path / "good.tz"
    good.write_text(BAD_SPEC.replace("in b: i32[4]\n", "").replace("with a parameter it "
                                                                  "never uses", "plain"))
    assert "my.unused" in api.load_specs([good])


def test_apply_refuses_a_spec_failing_check_spec(cli, tmp_path: Path) -> None:
    spec = tmp_path / "bad.tz"
    spec.write_text(BAD_SPEC)
    result = cli(["apply", str(EXAMPLES / "gemv.tz"), "--specs", str(spec)])
    assert result.code == 2
    assert re.match(rf"{re.escape(str(spec))}:7:6: error: spec 'my.unused' fails check-spec: "
                    "parameter 'b' is never used\n  in b: i32\\[4\\]\n     \\^$", result.err)
    assert result.out == ""


def test_every_error_survives_pickling() -> None:
    """Errors cross process boundaries (``--jobs`` workers, the deadline's child): one that
    does not unpickle kills the pool's result thread and hangs the command."""
    import pickle

    from tensorize import errors
    from tensorize.errors import Source, Span

    span = Span(Source("f.tz", "kernel k {}\n"), 1, 8)
    made = [errors.CheckError([("first", span), ("second", None)]),
            errors.RenderedError("f.tz:1:1: error: x", 3)]
    made += [cls("message", span) for cls in (
        errors.TensorizeError, errors.UsageError, errors.InputError, errors.ParseError,
        errors.InterpError, errors.EquivalenceError, errors.NotComparable, errors.TooLarge,
        errors.NotReal)]
    for e in made:
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e)
        assert back.render() == e.render() and back.exit_code == e.exit_code
    assert issubclass(errors.NotReal, ArithmeticError)


def test_the_lazy_facade_names_what_the_type_checker_sees() -> None:
    """``tensorize.api`` (and the package) list each public name twice, as imports for the
    type checker and in the table read at run time: the two must agree, and every public
    name must resolve."""
    import ast
    import importlib

    import tensorize
    import tensorize.api as api

    for module in (api, tensorize):
        tree = ast.parse(Path(module.__file__).read_text())
        guarded = next(n for n in tree.body if isinstance(n, ast.If)
                       and isinstance(n.test, ast.Name) and n.test.id == "TYPE_CHECKING")
        seen = {a.asname or a.name: n.module for n in guarded.body
                if isinstance(n, ast.ImportFrom) for a in n.names}
        assert seen == module._LAZY, module.__name__
        for name in module.__all__:
            assert getattr(module, name) is not None, name
        for name, home in module._LAZY.items():
            assert getattr(module, name) is getattr(importlib.import_module(home), name)
