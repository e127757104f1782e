"""A counterexample is reported only once the interpreter confirms the two sides differ.

A solver's model can be an artefact: of an uninterpreted rounding (real mode), of a gap
in the translation, or of a query that dropped the constraints its claim does not
mention. Such a model must give ``unknown``, never ``refuted``.
"""

from __future__ import annotations

import pytest

from tensorize.equivalence import parametric, smtlib
from tensorize.equivalence import prove as prove_mod
from tensorize.equivalence.obligation import Obligation
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved, Refuted, Unknown
from tensorize.errors import EquivalenceError
from tensorize.smt import terms as T
from tensorize.smt.backend import Sat
from tests.kernels import kernel
from tests.random_pairs import reproduces

EXACT = """kernel k {{ in a: i32[2]
  out z: i32[2]
  {assume}
  for i in 0..2 {{ z[i] = {body} }} }}"""


def _bogus_check(backend, ob, config):
    """A query about nothing: its model says nothing about the inputs."""
    query = Obligation("bogus", [T.eq(T.var("unrelated", T.bv_sort(8)), T.bv_val(1, 8))])
    answer = backend.discharge(query, config)
    assert isinstance(answer, Sat) and answer.values == {"unrelated": 1}
    return answer, query


@pytest.mark.parametrize("fp", ["ieee", "real"])
def test_a_bogus_model_of_an_equivalent_pair_gives_unknown(fp: str, monkeypatch) -> None:
    # Equivalent in both modes, and not syntactically equal in either: however sums are
    # put in canonical order, only the (bogus) solver query can decide the pair.
    floats = """kernel k {{ in x: f32[3]
      out s: f32
      s = 0.0
      for k in 0..3 {{ s += {term} }} }}"""
    a = kernel(floats.format(term="x[k]"))
    b = kernel(floats.format(term="select(x[k] < 0.0, x[k], x[k])"))
    monkeypatch.setattr(prove_mod, "_check_each", _bogus_check)
    monkeypatch.setattr(prove_mod, "_abstract_proof", lambda *args: False)
    opts = ProveOptions(fp=fp, execution=False, parametric=False)  # type: ignore[arg-type]
    result = prove(a, b, options=opts)
    assert isinstance(result, Unknown), result
    assert "did not reproduce" in result.reason


def test_a_bogus_model_of_a_different_pair_is_still_not_a_refutation(monkeypatch) -> None:
    # The sides differ only at a == 77; the model's inputs do not have it.
    a = kernel(EXACT.format(assume="", body="a[i]"))
    b = kernel(EXACT.format(assume="", body="a[i] + select(a[i] == 77, 1, 0)"))
    monkeypatch.setattr(prove_mod, "_check_each", _bogus_check)
    result = prove(a, b, options=ProveOptions(execution=False, parametric=False))
    assert isinstance(result, Unknown), result
    monkeypatch.undo()
    honest = prove(a, b, options=ProveOptions(execution=False, parametric=False))
    assert isinstance(honest, Refuted) and 77 in honest.counterexample.values["a"]


def test_cross_checked_bogus_model_gives_unknown(monkeypatch) -> None:
    a = kernel(EXACT.format(assume="", body="a[i] * 2"))
    b = kernel(EXACT.format(assume="", body="a[i] + a[i]"))
    monkeypatch.setattr(prove_mod, "_check_each", _bogus_check)
    monkeypatch.setattr(smtlib, "solve_with_cvc5", lambda text, config: "sat")
    result = prove(a, b, options=ProveOptions(execution=False, parametric=False,
                                              cross_check=True))
    assert isinstance(result, Unknown), result


def test_a_solver_disagreement_is_an_error_not_a_refutation(monkeypatch) -> None:
    a = kernel(EXACT.format(assume="", body="a[i] * 2"))
    b = kernel(EXACT.format(assume="", body="a[i] + a[i] + select(a[i] == 5, 1, 0)"))
    monkeypatch.setattr(smtlib, "solve_with_cvc5", lambda text, config: "unsat")
    with pytest.raises(EquivalenceError, match="solvers disagree"):
        prove(a, b, options=ProveOptions(execution=False, parametric=False,
                                         cross_check=True))


def test_a_per_element_model_is_never_a_refutation(monkeypatch) -> None:
    """The per-element prover has no counterexamples: a model sends it to unrolling."""
    spec = """kernel k {{ in a: i32[4, 3]
      out z: i32[4]
      for i in 0..4 {{ z[i] = 0
        for k in 0..3 {{ z[i] += a[i, {index}] }} }} }}"""
    a, b = kernel(spec.format(index="k")), kernel(spec.format(index="2 - k"))
    class AlwaysSat:
        def discharge(self, ob, config):
            return Sat({})

    monkeypatch.setattr(parametric, "backend_for", lambda config: AlwaysSat())
    # one term on both sides would be proved without a query: make the solver answer
    monkeypatch.setattr(parametric, "_bounded", lambda *args: False)
    result = prove(a, b, options=ProveOptions(execution=False))
    assert isinstance(result, Proved) and result.method == "unroll", result


def test_real_mode_rounding_artefact_is_unknown() -> None:
    # Was refuted "z[0]: left gives 3, right gives 4" on x = 2.0: the two uninterpreted
    # roundings to f16 may differ for the solver, never in real arithmetic.
    a = kernel("""kernel k { in x: f32[2]
      out z: f16[2]
      for i in 0..2 { z[i] = f16(x[i]) } }""")
    b = kernel("""kernel k { in x: f32[2]
      out z: f16[2]
      for i in 0..2 { z[i] = f16(f32(f16(x[i]))) } }""")
    for path in ({"parametric": False}, {}):
        result = prove(a, b, options=ProveOptions(fp="real", **path))  # type: ignore[arg-type]
        assert isinstance(result, Unknown), result
        assert "did not reproduce" in result.reason


def test_a_model_of_one_output_is_completed_to_meet_every_assumption() -> None:
    # The query of z[1] mentions only a[1]; a[0] was left at 0, which breaks the
    # assumption, and the confirmation run crashed (an InterpError traceback).
    a = kernel(EXACT.format(assume="assume a in 5..=9", body="a[i]"))
    b = kernel(EXACT.format(assume="assume a in 5..=9",
                            body="a[i] + select(i32(i) == 1 && a[i] == 7, 1, 0)"))
    result = prove(a, b, options=ProveOptions(execution=False))
    assert isinstance(result, Refuted), result
    assert all(5 <= v <= 9 for v in result.counterexample.values["a"])
    assert reproduces(a, b, result.counterexample.values)


def test_an_unread_buffer_gets_values_meeting_its_assumption() -> None:
    text = """kernel k {{ in a: i16[2]
      in b: i32[2]
      out z: i8[2]
      assume a in -16385..=-16258
      for i in 0..2 {{ z[i] = {body} }} }}"""
    a = kernel(text.format(body="i8(b[i])"))
    b = kernel(text.format(body="min(max(i8(b[i]), i8(0)), i8(127))"))
    result = prove(a, b, options=ProveOptions(execution=False))
    assert isinstance(result, Refuted), result
    assert reproduces(a, b, result.counterexample.values)


def test_inputs_breaking_the_right_sides_assumption_are_no_counterexample() -> None:
    # A proof is of equality under both sides' assumptions; execution "refuted" this pair
    # ("fails: input 'a' breaks its assumption") while the solver proved it.
    a = kernel(EXACT.format(assume="", body="a[i]"))
    b = kernel(EXACT.format(assume="assume a in 0..=10", body="a[i]"))
    for options in (ProveOptions(), ProveOptions(execution=False)):
        result = prove(a, b, options=options)
        assert isinstance(result, Proved), result
        assert "assume a in 0..=10" in result.assumptions
