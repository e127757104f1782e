"""The soundness check of one generated kernel: every rewrite agrees with the original.

A rewrite must (1) agree with the original in the interpreter on random and edge-value
inputs (the exact real-mode interpreter in real mode), and (2) have its tile proof
re-proved with cvc5 from the SMT-LIB obligations (a disagreement raises).
"""

from __future__ import annotations

from dataclasses import dataclass

from tensorize.api import parse
from tensorize.equivalence.execute import refute_by_execution
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved
from tensorize.equivalence.solver import SolverConfig
from tensorize.errors import EquivalenceError
from tensorize.rewrite.apply import bake_sizes
from tensorize.rewrite.engine import TensorizePass


@dataclass
class Outcome:
    """What happened to one kernel."""

    rewrites: int
    disagreement: str | None = None


def check_kernel(text: str, fp: str, library, cross_check: bool = True) -> Outcome:
    """Tensorize ``text`` with the whole library and check every rewrite it emits."""
    kernel = parse(text, "<fuzz>", library).kernels[0]
    tpass = TensorizePass(fp=fp, solver=SolverConfig(timeout_ms=5000))  # type: ignore[arg-type]
    result = tpass.run(kernel, library)
    chosen = [f.chosen for f in result.fragments if f.chosen]
    if not chosen:
        return Outcome(0)
    original = bake_sizes(kernel, result.sizes)
    cex = refute_by_execution(original, {}, result.rewritten, {}, dict(library), fp, seed=17,
                              randoms=3)
    if cex is not None:
        return Outcome(len(chosen), "interpreter disagrees:\n" + cex.describe())
    if cross_check:
        for attempt in chosen:
            assert attempt.tile is not None
            opts = ProveOptions(fp=fp, cross_check=True, execution=False)  # type: ignore[arg-type]
            try:
                again = prove(attempt.tile, library[attempt.intrinsic], options=opts)
            except EquivalenceError as exc:
                return Outcome(len(chosen), f"cvc5: {exc.message}")
            if not isinstance(again, Proved):
                return Outcome(len(chosen), f"the tile proof did not replay: {again}")
    return Outcome(len(chosen))
