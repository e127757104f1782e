"""The cvc5 back end: the obligation, printed as SMT-LIB 2 text, parsed and solved by
cvc5's Python API (bit-vectors, IEEE floats, reals, integers, uninterpreted functions);
models read back as plain Python values.

cvc5 is optional (``pip install 'tensorize[cvc5]'``). It has no deterministic resource
limit: only ``timeout_ms`` bounds a query. f16 and bf16 need its experimental
floating-point solver, switched on here.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from tensorize.errors import EquivalenceError
from tensorize.smt.backend import Discharged, Query, Sat, SolverBackend, Undecided, Unsat, Value
from tensorize.smt.solver import SolverConfig


def _cvc5() -> Any:
    try:
        import cvc5
    except ImportError as exc:
        raise EquivalenceError("the cvc5 solver is not installed: "
                               "pip install 'tensorize[cvc5]'") from exc
    return cvc5


def check_text(text: str, config: SolverConfig, *, models: bool = True) -> Discharged:
    """Solve an SMT-LIB 2 script (its ``check-sat`` is ignored) with cvc5."""
    cvc5 = _cvc5()
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    solver.setOption("fp-exp", "true")
    solver.setOption("tlimit-per", str(max(1, int(config.timeout_ms))))
    solver.setOption("seed", str(int(config.seed)))
    if models:
        solver.setOption("produce-models", "true")
    solver.setLogic("ALL")
    parser = cvc5.InputParser(solver)
    try:
        parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6,
                              text.replace("(check-sat)", ""), "obligation")
        symbols = parser.getSymbolManager()
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            cmd.invoke(solver, symbols)
        result = solver.checkSat()
    except RuntimeError as exc:  # a construct cvc5 does not read: no answer, no proof
        first = (str(exc).strip().splitlines() or ["an error"])[0]
        return Undecided(f"cvc5 cannot read the obligation: {first}")
    if result.isUnsat():
        return Unsat()
    if not result.isSat():
        why = str(result.getUnknownExplanation()).rpartition(".")[2].lower()
        return Undecided(f"cvc5: {why}")
    if not models:
        return Sat()
    values: dict[str, Value] = {}
    for term in symbols.getDeclaredTerms():
        if term.getSort().isFunction():
            continue
        values[term.getSymbol()] = _python_value(solver.getValue(term))
    return Sat(values)


def _python_value(v: Any) -> Value:
    if v.isBitVectorValue():
        return int(v.getBitVectorValue(10))
    if v.isBooleanValue():
        return bool(v.getBooleanValue())
    if v.isRealValue():
        return Fraction(v.getRealValue())
    if v.isIntegerValue():
        return int(v.getIntegerValue())
    if v.isFloatingPointValue():
        _ebits, _sbits, bits = v.getFloatingPointValue()
        return int(bits.getBitVectorValue(10))
    return None


class Cvc5Backend(SolverBackend):
    """Discharges obligations with cvc5 (through SMT-LIB text printed by Z3)."""

    name = "cvc5"

    def discharge(self, obligation: Query, config: SolverConfig) -> Discharged:
        """Print the obligation and check it with cvc5."""
        from tensorize.smt.z3_backend import smt2

        return check_text(smt2(obligation.assertions), config)
