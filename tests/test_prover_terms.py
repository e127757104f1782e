"""The prover on our own terms: what the translation to Z3 keeps, and where a fold is
required rather than hoped for."""

from __future__ import annotations

from dataclasses import replace

import pytest
import z3

from tensorize.equivalence.memory import Memory
from tensorize.equivalence.prove import ProveOptions, prove, unrolled_obligation
from tensorize.equivalence.unroll import Budget, SymExec
from tensorize.errors import EquivalenceError
from tensorize.ir.nodes import Binary, Const, For, If, Load, Var
from tensorize.ir.types import BOOL, I32, INDEX
from tensorize.smt import terms as T
from tensorize.smt.z3_backend import Translation, to_z3
from tests.kernels import kernel

BV8 = T.bv_sort(8)


def test_the_translation_keeps_names_and_operand_order() -> None:
    """Z3's search depends on both: the translation must not rename or reorder."""
    a, b = T.var("A[3]", BV8), T.var("B[0]", BV8)
    z = to_z3(T.bvadd(b, a))
    assert [str(z.arg(0)), str(z.arg(1))] == ["B[0]", "A[3]"]
    tr = Translation()
    t = T.and_(T.bv_cmp("bvslt", a, b), T.eq(a, b), T.TRUE)
    assert tr(t) is tr(t)  # memoised per term
    assert [c.decl().kind() for c in tr(t).children()] == [z3.Z3_OP_SLT, z3.Z3_OP_EQ,
                                                           z3.Z3_OP_TRUE]


def test_an_obligation_holds_our_terms_and_prints_as_smtlib() -> None:
    left = kernel("""kernel k { in a: i8[2]
      out z: i32[2]
      for i in 0..2 { z[i] = i32(a[i]) * i32(3) } }""")
    right = kernel("""kernel k { in a: i8[2]
      out z: i32[2]
      for i in 0..2 { z[i] = i32(a[i]) + i32(a[i]) + i32(a[i]) } }""")
    ob = unrolled_obligation(left, {}, right, {}, {}, ProveOptions(shortcuts=False))
    assert all(isinstance(t, T.Term) and t.sort is T.BOOL for t in ob.assertions)
    assert len(ob.outputs) == 2
    text = ob.smt2()
    assert "(declare-fun |a[0]| () (_ BitVec 8))" in text and "bvmul" in text


def test_an_unrolled_condition_that_does_not_fold_stops_the_proof() -> None:
    """Conditions are affine in indices, so unrolled they fold to a literal; one that does
    not (a data-dependent condition, which the checker refuses) is an error, not the
    else branch (what the Z3 version took)."""
    fn = kernel("""kernel k { in a: i32[2]
      out z: i32[2]
      for i in 0..2 { if i < 1 { z[i] = a[i] } else { z[i] = i32(0) } } }""")
    loop = fn.body[0]
    assert isinstance(loop, For) and isinstance(loop.body[0], If)
    data = Binary("<", Load("a", (Var("i", INDEX),), I32), Const(1, I32), BOOL)
    bad = replace(fn, body=(replace(loop, body=(replace(loop.body[0], cond=data),)),))
    SymExec(fn, {}, Memory("ieee"), {}, Budget(100), side=0).run()  # folds: fine
    with pytest.raises(EquivalenceError, match="not constant"):
        SymExec(bad, {}, Memory("ieee"), {}, Budget(100), side=0).run()


@pytest.mark.parametrize("kw", [{}, {"shortcuts": False}, {"parametric": False}])
def test_comparisons_of_concrete_indices_are_operands_like_any_condition(kw) -> None:
    """Unrolled, ``i < 1`` is a Python bool and ``i`` a Python int; compared with, or
    cast like, data they must become terms (Z3 coerced them; our constructors check
    sorts), and a select of index values stays an index value."""
    pairs = [("(i < 1) == (a[i] < i32(0))",
              "select(i < 1, a[i] < i32(0), !(a[i] < i32(0)))", "bool"),
             ("i32(i < 1) + a[i]", "a[i] + select(i < 1, i32(1), i32(0))", "i32"),
             ("a[i] + i32(select(i < 1, i, 0))", "a[i] + i32(i) - i32(i)", "i32")]
    for left, right, t in pairs:
        a, b = (kernel(f"""kernel k {{ in a: i32[2]
          out z: {t}[2]
          for i in 0..2 {{ z[i] = {body} }} }}""") for body in (left, right))
        result = prove(a, b, options=ProveOptions(execution=False, **kw))
        assert result.status == "proved", (left, result)
