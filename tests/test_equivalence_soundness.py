"""Soundness: the solver never proves what execution refutes (generated kernel pairs),
and never refutes without a counterexample the interpreter confirms."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tensorize.equivalence.execute import refute_by_execution
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved
from tensorize.errors import TensorizeError
from tensorize.ir.check import check_module
from tensorize.ir.nodes import Binary, Const, Load, Var
from tensorize.ir.syntax import ParsedModule
from tensorize.ir.traverse import Transformer
from tensorize.ir.types import INDEX
from tests.random_pairs import check_pair, elementwise_pair, product_pair, reduction_pair
from tests.strategies import kernels


class _Mutate(Transformer):
    """One small change: reverse k in X's index, bump a constant, or swap operands."""

    def __init__(self, which: int) -> None:
        self.which = which

    def visit_Load(self, node: Load):
        if self.which == 0 and node.buf == "X":
            k = Binary("-", Binary("-", Var("N"), Const(1, INDEX), INDEX), Var("k"), INDEX)
            return dataclasses.replace(node, index=(node.index[0], k))
        return self.generic(node)

    def visit_Const(self, node: Const):
        if self.which == 1 and isinstance(node.value, int) and not isinstance(node.value, bool):
            return dataclasses.replace(node, value=node.value + 1)
        return node

    def visit_Binary(self, node: Binary):
        node = self.generic(node)
        if self.which == 2 and node.op in ("+", "*", "-"):
            return dataclasses.replace(node, lhs=node.rhs, rhs=node.lhs)
        return node


@given(kernels(), st.integers(0, 2), st.sampled_from(["ieee", "real"]))
def test_no_proof_of_a_refutable_pair(k, which: int, fp: str) -> None:
    a = check_module(ParsedModule((k,))).kernels[0]
    try:  # the checker rejects a mutant that reads out of bounds for some sizes
        b = check_module(ParsedModule((_Mutate(which)(a),))).kernels[0]
        result = prove(a, b, options=ProveOptions(fp=fp, execution=False, unroll_budget=5000))
    except TensorizeError:
        return  # the mutant reads out of bounds: bad input, rightly rejected
    if isinstance(result, Proved):
        cex = refute_by_execution(a, {}, b, {}, {}, fp, seed=3, randoms=6)
        assert cex is None, (result, cex.describe())


PAIR_MAKERS = {"elementwise": elementwise_pair, "product": product_pair,
               "reduction": reduction_pair}


@settings(max_examples=45, deadline=None)
@given(st.sampled_from(sorted(PAIR_MAKERS)), st.integers(0, 2 ** 32 - 1))
def test_no_proof_of_a_refutable_pair_and_no_unconfirmed_refutation(kind: str,
                                                                    seed: int) -> None:
    """Integer pairs of every width, signed, unsigned and mixed, with casts, saturating
    casts, products and assumes; reductions that are empty (``K = 0``, a bound below the
    start), of size 1, or with differing inits. Never proved where execution finds a
    difference; never refuted unless the counterexample reproduces in the interpreter;
    a shortcut proof never contradicts the plain Z3 proof."""
    pair = PAIR_MAKERS[kind](random.Random(seed))
    checked = check_pair(pair)
    if checked is None:
        return  # rejected as bad input
    _verdicts, problem = checked
    assert problem is None, f"{pair.description}\n{problem}\n{pair.left}\n{pair.right}"
