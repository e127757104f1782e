"""The equivalence engine: proofs, refutations with counterexamples, unknowns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import z3

import tensorize
from tensorize.api import load
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved, Refuted, Unknown
from tensorize.equivalence.solver import SolverConfig
from tensorize.smt import z3_backend
from tests.conftest import TESTS
from tests.kernels import kernel

VNNI = load(TESTS / "equiv" / "vnni.tz")
FLOATS = load(TESTS / "equiv" / "floats.tz")


def _prove(a: str, b: str, module=VNNI, **kw) -> object:
    return prove(module.get(a), module.get(b), options=ProveOptions(**kw))


EQUAL = ["commuted", "reordered", "reversed", "flattened", "longhand", "all_at_once"]


@pytest.mark.parametrize("variant", EQUAL)
def test_vnni_variants_are_proved(variant: str) -> None:
    result = _prove("spec", variant)
    assert isinstance(result, Proved), result
    assert result.method == "per-element"


@pytest.mark.parametrize("variant", EQUAL)
def test_vnni_variants_are_proved_by_unrolling_too(variant: str) -> None:
    result = _prove("spec", variant, parametric=False)
    assert isinstance(result, Proved), result
    assert result.method == "unroll"


@pytest.mark.parametrize("variant", ["signed_a", "off_by_one", "swapped", "narrow_acc"])
def test_wrong_candidates_die_by_execution_without_z3(variant: str, monkeypatch) -> None:
    def no_solver(*args, **kwargs):
        raise AssertionError("Z3 was called")

    monkeypatch.setattr(z3_backend, "make_solver", no_solver)
    monkeypatch.setattr(z3, "Solver", no_solver)
    result = _prove("spec", variant)
    assert isinstance(result, Refuted), result
    assert result.counterexample.found_by == "execution"
    assert result.counterexample.differences


def test_pmadd_is_refuted_with_a_u8_input_above_127() -> None:
    for kw in ({}, {"execution": False}):
        result = _prove("spec", "pmadd", **kw)
        assert isinstance(result, Refuted), result
        assert max(result.counterexample.values["a"]) > 127


def test_pmadd_is_proved_when_the_program_assumes_a_below_128() -> None:
    result = _prove("spec_small_a", "pmadd")
    assert isinstance(result, Proved), result
    assert "assume a in 0..=127" in result.assumptions


def test_solver_counterexample_reproduces_in_the_interpreter() -> None:
    result = _prove("spec", "pmadd", execution=False)
    assert result.counterexample.found_by == "solver"
    d = result.counterexample.differences[0]
    assert d.left != d.right


def test_reordered_f32_sum_real_vs_ieee() -> None:
    real = _prove("sum_fwd", "sum_rev", FLOATS, fp="real")
    assert isinstance(real, Proved), real
    ieee = _prove("sum_fwd", "sum_rev", FLOATS, fp="ieee")
    assert isinstance(ieee, Refuted), ieee
    d = ieee.counterexample.differences[0]
    assert d.buffer == "s" and d.left != d.right


@pytest.mark.parametrize("fp", ["ieee", "real"])
def test_f16_accumulator_is_not_an_f32_accumulator(fp: str) -> None:
    result = _prove("dot_f32acc", "dot_f16acc", FLOATS, fp=fp)
    assert isinstance(result, Refuted), result


def test_f16_accumulator_refuted_by_the_solver_too() -> None:
    a, b = FLOATS.get("dot_f32acc"), FLOATS.get("dot_f16acc")
    result = prove(a, b, sizes_a={"N": 2}, sizes_b={"N": 2},
                   options=ProveOptions(fp="ieee", execution=False))
    assert isinstance(result, Refuted), result


def test_f16_accumulator_in_real_mode_without_execution_is_never_proved() -> None:
    # The solver sees f16 roundings as uninterpreted functions: its model may differ only
    # there. It is a refutation only if the exact real-mode interpreter confirms it.
    a, b = FLOATS.get("dot_f32acc"), FLOATS.get("dot_f16acc")
    result = prove(a, b, sizes_a={"N": 2}, sizes_b={"N": 2},
                   options=ProveOptions(fp="real", execution=False))
    assert not isinstance(result, Proved), result
    if isinstance(result, Unknown):
        assert "did not reproduce" in result.reason
    else:
        import numpy as np

        from tensorize.equivalence.execute import translate_inputs
        from tensorize.ir import interp

        values = {k: np.array(v, dtype=np.float16) for k, v in
                  result.counterexample.values.items()}
        out_a = interp.run(a, values, sizes={"N": 2}, mode="real")
        out_b = interp.run(b, translate_inputs(values, b, {"N": 2}), sizes={"N": 2},
                           mode="real")
        assert out_a["s"].reshape(-1)[0] != out_b["s"].reshape(-1)[0]


def test_proof_cost_does_not_depend_on_size() -> None:
    mm = """kernel mm(M = 64, N = 64, K = 64) {{
      in A: u8[M, K]
      in B: i8[{b}]
      out C: i32[M, N]
      for i in 0..M {{ for j in 0..N {{
        C[i, j] = 0
        for k in 0..K {{ C[i, j] += i32({x}) * i32({y}) }} }} }}
    }}"""
    a = kernel(mm.format(b="K, N", x="A[i, k]", y="B[k, j]"))
    b = kernel(mm.format(b="K * N", x="B[(K - 1 - k) * N + j]", y="A[i, K - 1 - k]"))
    for size in (64, 4096):
        sizes = {"M": size, "N": size, "K": size}
        result = prove(a, b, sizes_a=sizes, sizes_b=sizes)
        assert isinstance(result, Proved), result
        assert result.method == "per-element"


def test_timeout_gives_unknown_never_a_proof() -> None:
    opts = dict(execution=False, parametric=False, solver=SolverConfig(timeout_ms=1, rlimit=1),
                shortcuts=False)  # the range shortcut alone proves it, without a solver
    result = _prove("spec_small_a", "pmadd", **opts)
    assert isinstance(result, Unknown), result
    assert "solver" in result.reason


def test_results_serialise_to_json() -> None:
    for result in (_prove("spec", "reversed"), _prove("spec", "off_by_one"),
                   _prove("spec_small_a", "pmadd", execution=False, parametric=False,
                          solver=SolverConfig(timeout_ms=1, rlimit=1))):
        text = json.dumps(result.to_json())
        assert json.loads(text)["status"] == result.status


def test_library_entry_point() -> None:
    result = tensorize.prove(VNNI.get("spec"), VNNI.get("flattened"))
    assert isinstance(result, Proved)


def test_smtlib_export_and_cvc5_cross_check(tmp_path: Path) -> None:
    for left, right, kw in [("spec", "reversed", {}),
                            ("spec_small_a", "pmadd", {"parametric": False}),
                            ("spec", "pmadd", {"execution": False, "parametric": False})]:
        result = _prove(left, right, smtlib_dir=str(tmp_path), cross_check=True, **kw)
        assert not isinstance(result, Unknown)
    files = sorted(tmp_path.glob("*.smt2"))
    assert len(files) == 3
    for f in files:
        solver = z3.Solver()
        solver.from_string(f.read_text())
        assert solver.check() in (z3.sat, z3.unsat)


def test_signature_mismatch_is_bad_input() -> None:
    other = kernel("""kernel k { in a: u8[4]
      in b: i8[15, 4]
      inout c: i32[16]
      for i in 0..15 { for k in 0..4 { c[i] += i32(a[k]) * i32(b[i, k]) } } }""")
    with pytest.raises(tensorize.TensorizeError, match="buffer 'b'"):
        prove(VNNI.get("spec"), other)


def test_cli_prove_exit_codes(cli) -> None:
    f = str(TESTS / "equiv" / "vnni.tz")
    ok = cli(["prove", f"{f}:spec", f"{f}:flattened"])
    assert ok.code == 0 and ok.out.startswith("proved:")
    bad = cli(["prove", f"{f}:spec", f"{f}:pmadd"])
    assert bad.code == 1 and "refuted:" in bad.out and "a = " in bad.out
    unknown = cli(["prove", f"{f}:spec_small_a", f"{f}:pmadd", "--timeout", "0.001"])
    assert unknown.code in (0, 3)  # tiny timeouts may still finish; never exit 1
    assert cli(["prove", f"{f}:spec", f"{f}:nosuch"]).code == 2
    js = cli(["prove", f"{f}:spec", f"{f}:off_by_one", "--json"])
    assert js.code == 1 and json.loads(js.out)["status"] == "refuted"
    f2 = str(TESTS / "equiv" / "floats.tz")
    assert cli(["prove", f"{f2}:sum_fwd", f"{f2}:sum_rev", "--fp", "real"]).code == 0
    assert cli(["prove", f"{f2}:sum_fwd", f"{f2}:sum_rev"]).code == 1


MAP = """kernel m(N = 4096) {{
  in A: {t}[N]
  in B: {t}[N]
  out Y: {t}[N]
  for i in 0..N {{ Y[{y}] = {body} }}
}}"""


def test_maps_are_proved_per_element_whatever_the_size() -> None:
    """A map (each element written once) is proved at one symbolic point, in IEEE mode
    too: nothing is reordered. The right side runs backwards and swaps the operands of a
    product (the reads are built from simplified offsets, so both sides' products are
    one term: before, the operand order followed term creation, and the swapped IEEE
    product was a bit-blasting query that timed out on a loaded machine)."""
    cases = [("u16", "A[i] * B[i] / 255", "B[N - 1 - i] * A[N - 1 - i] / 255"),
             ("f32", "A[i] * B[i] + A[i]", "B[N - 1 - i] * A[N - 1 - i] + A[N - 1 - i]")]
    for t, left, right in cases:
        a = kernel(MAP.format(t=t, y="i", body=left))
        b = kernel(MAP.format(t=t, y="N - 1 - i", body=right))
        result = prove(a, b)
        assert isinstance(result, Proved), result
        from tensorize.equivalence.parametric import prove_parametric

        assert result.method == "per-element", prove_parametric(
            a, {"N": 4096}, b, {"N": 4096}, ProveOptions(), 0.0)


@pytest.mark.parametrize("parametric", [True, False])
def test_map_that_differs_only_in_the_sign_of_zero_is_refuted(parametric: bool) -> None:
    """0 - x and -x differ at x = +0 (+0 against -0): the per-element check compares
    bits, not IEEE equality, so it must not prove them equal."""
    a = kernel(MAP.format(t="f32", y="i", body="0.0 - A[i]"))
    b = kernel(MAP.format(t="f32", y="i", body="-A[i]"))
    result = prove(a, b, options=ProveOptions(execution=False, parametric=parametric))
    assert isinstance(result, Refuted), result


def test_map_writing_a_permuted_element_is_refuted() -> None:
    """Y[i] = A[i] against Y[N-1-i] = A[i]: the per-element maps do not agree."""
    a = kernel(MAP.format(t="i32", y="i", body="A[i]"))
    b = kernel(MAP.format(t="i32", y="N - 1 - i", body="A[i]"))
    result = prove(a, b, sizes_a={"N": 8}, sizes_b={"N": 8},
                   options=ProveOptions(execution=False))
    assert isinstance(result, Refuted), result


def test_a_deep_chain_of_float_maxima_is_proved_without_recursion() -> None:
    """A running float maximum unrolls into a chain of 1024 nested selects, each reading
    the previous one twice; the range simplifier walked it recursively and crashed with
    a RecursionError (found proving softmax's MLIR round trip)."""
    text = """kernel p {{
      in X: f32[1024]
      out m: f32[1]
      m[0] = -inf
      for j in 0..1024 {{ m[0] = {body} }}
    }}"""
    a = kernel(text.format(body="max(m[0], X[j])"))
    b = kernel(text.format(body="max(m[0], X[j + 0])"))
    result = prove(a, b, options=ProveOptions(execution=False))
    assert isinstance(result, Proved), result
