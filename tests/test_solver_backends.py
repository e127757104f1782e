"""The solver seam: Z3 and cvc5 back ends discharge the same obligations alike, their
models are read back as plain values, and the prover works the same on either."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tensorize.api import describe_result, load
from tensorize.api import prove as api_prove
from tensorize.equivalence import smtlib
from tensorize.equivalence.memory import Memory
from tensorize.equivalence.obligation import Obligation
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved, Refuted, Unknown
from tensorize.errors import EquivalenceError, UsageError
from tensorize.ir.types import I8, I32, U8
from tensorize.smt import terms as T
from tensorize.smt.backend import Sat, Undecided, Unsat, backend_for, verdict
from tensorize.smt.cvc5_backend import Cvc5Backend
from tensorize.smt.solver import SolverConfig
from tensorize.smt.z3_backend import Z3Backend
from tests.conftest import TESTS
from tests.kernels import kernel

pytest.importorskip("cvc5")

BACKENDS = ["z3", "cvc5"]
VNNI = load(TESTS / "equiv" / "vnni.tz")


BV8, BV64, F16_SORT = T.bv_sort(8), T.bv_sort(64), T.fp_sort(5, 11)


def _discharge(name: str, *assertions: T.Term, **config: int):
    cfg = SolverConfig(backend=name, **config)
    return backend_for(cfg).discharge(Obligation("t", list(assertions)), cfg)


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_for_picks_the_named_solver(name: str) -> None:
    backend = backend_for(SolverConfig(backend=name))
    assert backend.name == name
    assert isinstance(backend, Z3Backend if name == "z3" else Cvc5Backend)


def test_an_unknown_backend_is_bad_input() -> None:
    with pytest.raises(UsageError, match="unknown solver 'yices'"):
        backend_for(SolverConfig(backend="yices"))


@pytest.mark.parametrize("name", BACKENDS)
def test_bitvector_identity_is_unsat_and_a_wrong_one_has_a_model(name: str) -> None:
    x = T.var("x", BV8)
    twice, thrice = T.bvmul(x, T.bv_val(2, 8)), T.bvmul(x, T.bv_val(3, 8))
    assert isinstance(_discharge(name, T.distinct(twice, T.bvadd(x, x))), Unsat)
    answer = _discharge(name, T.distinct(thrice, T.bvadd(x, x)))
    assert isinstance(answer, Sat)
    v = answer.values["x"]
    assert isinstance(v, int) and (v * 3) % 256 != (2 * v) % 256
    pinned = _discharge(name, T.distinct(thrice, T.bvadd(x, x)),
                        T.bv_cmp("bvugt", x, T.bv_val(200, 8)))
    assert isinstance(pinned, Sat) and pinned.values["x"] > 200


@pytest.mark.parametrize("name", BACKENDS)
def test_float_models_are_bit_patterns_that_differ_when_run(name: str) -> None:
    # f16 addition is commutative (bit for bit), not associative: a model of the
    # second query must be inputs on which numpy's f16 sums differ.
    bits = [T.var(f"v{k}", T.bv_sort(16)) for k in range(3)]
    a, b, c = (T.fp_from_bv(v, F16_SORT) for v in bits)

    def plus(x: T.Term, y: T.Term) -> T.Term:
        return T.fp_arith("fp.add", T.RNE, x, y)

    assert isinstance(_discharge(name, T.not_(T.eq(plus(a, b), plus(b, a)))), Unsat)
    # a = 1.0 and b = 2**-11 (half an ulp of 1.0) pinned, c free: a quick search
    answer = _discharge(name, T.not_(T.eq(plus(plus(a, b), c), plus(a, plus(b, c)))),
                        T.eq(bits[0], T.bv_val(0x3C00, 16)),
                        T.eq(bits[1], T.bv_val(0x1000, 16)))
    assert isinstance(answer, Sat)
    x, y, z = (np.array([answer.values.get(f"v{k}", 0)], dtype=np.uint16).view(np.float16)
               for k in range(3))
    with np.errstate(all="ignore"):
        left, right = (x + y) + z, x + (y + z)
    assert left.view(np.uint16)[0] != right.view(np.uint16)[0]


@pytest.mark.parametrize("name", BACKENDS)
def test_free_float_variables_read_back_as_ieee_bits(name: str) -> None:
    f32 = T.fp_sort(8, 24)
    x = T.var("f", f32)
    answer = _discharge(name, T.eq(x, T.fp_val(1.5, f32)))
    assert isinstance(answer, Sat)
    assert answer.values["f"] == int(np.array([1.5], np.float32).view(np.uint32)[0])


@pytest.mark.parametrize("name", BACKENDS)
def test_reals_and_booleans_read_back_exactly(name: str) -> None:
    r, p = T.var("r", T.REAL), T.var("p", T.BOOL)
    answer = _discharge(name, T.eq(T.mul(r, T.real_val(3)), T.real_val(1)), p)
    assert isinstance(answer, Sat)
    assert answer.values["r"] == Fraction(1, 3) and answer.values["p"] is True


@pytest.mark.parametrize("name", BACKENDS)
def test_a_tiny_timeout_is_undecided_never_unsat(name: str) -> None:
    # factor a product of two 31-bit primes: no solver does it in a millisecond
    answer = _discharge(name, *_factoring(), timeout_ms=1, rlimit=1)
    assert isinstance(answer, Undecided), answer
    assert verdict(answer) == "unknown"


def _factoring() -> list[T.Term]:
    x, y = T.var("x", BV64), T.var("y", BV64)
    small = [T.bv_cmp("bvult", v, T.bv_val(2**32, 64)) for v in (x, y)] + \
        [T.bv_cmp("bvugt", v, T.bv_val(1, 64)) for v in (x, y)]
    return [T.eq(T.bvmul(x, y), T.bv_val(2147483647 * 2147483629, 64)), *small]


def test_the_z3_solver_kept_between_queries_keeps_its_limits() -> None:
    hard = Obligation("hard", _factoring())
    easy = Obligation("easy", [T.eq(T.var("x", BV64), T.bv_val(3, 64))])
    backend, tight = Z3Backend(), SolverConfig(timeout_ms=1, rlimit=1)
    assert isinstance(backend.discharge(hard, tight), Undecided)
    assert isinstance(backend.discharge(hard, tight), Undecided)  # reset kept the limits
    loose = SolverConfig()
    assert backend.discharge(easy, loose) == Sat({"x": 3})  # a new config: a new solver
    assert isinstance(backend.discharge(hard, tight), Undecided)


def test_an_obligation_cvc5_cannot_read_is_undecided() -> None:
    from tensorize.smt.cvc5_backend import check_text

    answer = check_text("(assert (frobnicate 1))", SolverConfig())
    assert isinstance(answer, Undecided) and "cvc5 cannot read" in answer.reason


def test_each_width_of_an_element_is_its_own_named_variable() -> None:
    # Models are read back by name: the u8 and the i32 reading of A's element 0 are two
    # variables and must not share one (cvc5 would see one name declared twice).
    memory = Memory("ieee")
    narrow = memory.initial("A", 0, U8)
    wide = memory.initial("A", 0, I32)
    same = memory.initial("A", 0, I8)
    assert narrow.name == "A[0]"  # the first keeps the plain name
    assert wide.name == "A[0]:32b"
    assert same is narrow


EXACT = """kernel k {{ in a: i32[2]
  out z: i32[2]
  for i in 0..2 {{ z[i] = {body} }} }}"""

F16 = """kernel k {{ in x: f16[3]
  out s: f16
  s = {body} }}"""


def _options(name: str, **kw) -> ProveOptions:
    return ProveOptions(solver=SolverConfig(backend=name), **kw)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("parametric", [True, False])
def test_the_prover_proves_with_either_backend(name: str, parametric: bool) -> None:
    result = prove(VNNI.get("spec"), VNNI.get("reversed"),
                   options=_options(name, execution=False, parametric=parametric))
    assert isinstance(result, Proved), result
    assert result.method == ("per-element" if parametric else "unroll")


@pytest.mark.parametrize("name", BACKENDS)
def test_a_solver_refutation_is_confirmed_with_either_backend(name: str) -> None:
    # the sides differ only at a == 77: no random run finds it, the solver's model does
    a = kernel(EXACT.format(body="a[i]"))
    b = kernel(EXACT.format(body="a[i] + select(a[i] == 77, 1, 0)"))
    result = prove(a, b, options=_options(name, execution=False, parametric=False))
    assert isinstance(result, Refuted), result
    assert result.counterexample.found_by == "solver"
    assert 77 in result.counterexample.values["a"]


@pytest.mark.parametrize("name", BACKENDS)
def test_a_float_refutation_is_confirmed_with_either_backend(name: str) -> None:
    # differ only on x[0] = -0.0 (-0 + +0 is +0): a quick model for either solver
    a = kernel(F16.format(body="x[0] + 0.0"))
    b = kernel(F16.format(body="x[0]"))
    result = prove(a, b, options=_options(name, execution=False, parametric=False))
    assert isinstance(result, Refuted), result
    assert result.counterexample.found_by == "solver"
    assert np.signbit(result.counterexample.values["x"][0])
    assert result.counterexample.values["x"][0] == 0
    same = kernel(F16.format(body="0.0 + x[0]"))
    assert isinstance(prove(a, same, options=_options(name, execution=False)), Proved)


@pytest.mark.parametrize("name", BACKENDS)
def test_real_mode_with_either_backend(name: str) -> None:
    a = kernel(F16.format(body="(x[0] + x[1]) + x[2]").replace("f16", "f32"))
    b = kernel(F16.format(body="x[0] + (x[1] + x[2])").replace("f16", "f32"))
    result = prove(a, b, options=_options(name, fp="real", execution=False))
    assert isinstance(result, Proved), result
    c = kernel(F16.format(body="x[0] + x[1]").replace("f16", "f32"))
    wrong = prove(a, c, options=_options(name, fp="real", execution=False,
                                         parametric=False))
    assert isinstance(wrong, Refuted), wrong


def test_cvc5_timeout_in_the_prover_is_unknown() -> None:
    config = SolverConfig(timeout_ms=1, rlimit=1, backend="cvc5")
    result = prove(VNNI.get("spec_small_a"), VNNI.get("pmadd"),
                   options=ProveOptions(solver=config, execution=False, parametric=False,
                                        shortcuts=False))
    assert isinstance(result, Unknown), result
    assert result.reason.startswith("solver: cvc5")


def test_cross_check_under_cvc5_re_solves_with_z3(monkeypatch) -> None:
    a = kernel(EXACT.format(body="a[i] * 2"))
    b = kernel(EXACT.format(body="a[i] + a[i] + select(a[i] == 5, 1, 0)"))
    monkeypatch.setattr(smtlib, "solve_with_cvc5", lambda text, config: "unsat")
    # under cvc5, the cross-check is Z3 (the patched cvc5 text route is not used) ...
    result = prove(a, b, options=_options("cvc5", execution=False, parametric=False,
                                          cross_check=True))
    assert isinstance(result, Refuted), result
    # ... and a disagreement is an error naming both
    monkeypatch.setattr(Z3Backend, "discharge", lambda self, ob, config: Unsat())
    with pytest.raises(EquivalenceError, match="cvc5 says sat, z3 says unsat"):
        prove(a, b, options=_options("cvc5", execution=False, parametric=False,
                                     cross_check=True))


def test_api_prove_takes_a_backend() -> None:
    result = api_prove(VNNI.get("spec"), VNNI.get("reversed"), backend="cvc5",
                       structural=False, execution=False)
    assert isinstance(result, Proved), result
    with pytest.raises(UsageError, match="unknown solver"):
        api_prove(VNNI.get("spec"), VNNI.get("reversed"), backend="yices")


@pytest.mark.parametrize("name", BACKENDS)
def test_cli_prove_takes_a_solver(cli, name: str) -> None:
    f = str(TESTS / "equiv" / "vnni.tz")
    result = cli(["prove", f"{f}:spec", f"{f}:reversed", "--solver", name, "--json"])
    assert result.code == 0, result.out + result.err
    assert '"status": "proved"' in result.out
    wrong = cli(["prove", f"{f}:spec", f"{f}:pmadd", "--solver", name])
    assert wrong.code == 1 and "refuted" in wrong.out, wrong.out + wrong.err


def test_cli_rejects_an_unknown_solver(cli) -> None:
    f = str(TESTS / "equiv" / "vnni.tz")
    result = cli(["prove", f"{f}:spec", f"{f}:reversed", "--solver", "yices"])
    assert result.code == 2 and "Traceback" not in result.err
    assert "yices" in result.err


def test_a_cross_check_that_does_not_decide_is_reported_not_silent(monkeypatch) -> None:
    """The second solver's answer is part of the proof's record: agreement is named, and
    an undecided cross-check says the obligation was not cross-checked."""
    a = kernel(EXACT.format(body="a[i] * 2"))
    b = kernel(EXACT.format(body="a[i] + a[i]"))
    opts = _options("z3", execution=False, parametric=False, cross_check=True)
    agreed = prove(a, b, options=opts)
    assert isinstance(agreed, Proved) and agreed.cross_check == "cvc5 agrees (unsat)"
    monkeypatch.setattr(smtlib, "solve_with_cvc5", lambda text, config: "unknown")
    undecided = prove(a, b, options=opts)
    assert isinstance(undecided, Proved)
    assert undecided.cross_check.startswith("cvc5 did not decide") and \
        "not cross-checked" in undecided.cross_check
    assert "cross-check: cvc5 did not decide" in describe_result(undecided, "a", "b")
    plain = prove(a, b, options=_options("z3", execution=False, parametric=False))
    assert isinstance(plain, Proved) and plain.cross_check == ""
