"""SMT-LIB 2 export of proof obligations, and a cross-check with a second solver (cvc5).

Export goes through pysmt (parsed and printed back in its normal form) for the theories
pysmt supports (bit-vectors, integers, reals, uninterpreted functions); obligations over
IEEE floats, which pysmt does not model, are written with Z3's own printer. The
cross-check hands the same SMT-LIB text to cvc5 and reports any disagreement as an error.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from tensorize.errors import EquivalenceError
from tensorize.smt.backend import verdict
from tensorize.smt.solver import SolverConfig

if TYPE_CHECKING:
    from tensorize.equivalence.obligation import Obligation


def _z3_text(ob: Obligation) -> str:
    return ob.smt2()


def to_smtlib(ob: Obligation) -> tuple[str, str]:
    """(SMT-LIB text, the printer used: 'pysmt' or 'z3')."""
    raw = _z3_text(ob)
    if "FloatingPoint" not in raw and "RoundingMode" not in raw:
        try:
            # pysmt ships no type stubs
            from pysmt.smtlib.parser import SmtLibParser
            from pysmt.smtlib.printers import (
                to_smtlib as pysmt_print,
            )

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                script = SmtLibParser().get_script(io.StringIO(raw))
                formula = script.get_last_formula()
                decls = [cmd for cmd in script.commands if cmd.name in
                         ("declare-fun", "declare-const")]
                out = io.StringIO()
                for cmd in decls:
                    cmd.serialize(outstream=out, daggify=False)
                    out.write("\n")
                body = pysmt_print(formula, daggify=True)
            return f"{out.getvalue()}(assert {body})\n(check-sat)\n", "pysmt"
        except Exception:  # pysmt cannot read every construct Z3 prints; keep Z3's text
            pass
    return raw, "z3"


def export(ob: Obligation, directory: Path) -> Path:
    """Write one obligation as ``<directory>/<name>.smt2``; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    text, printer = to_smtlib(ob)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", ob.name)
    path = directory / f"{name}.smt2"
    header = (f"; tensorize proof obligation: {ob.name} ({ob.method})\n"
              f"; unsat means the two sides are equal; printed by {printer}\n")
    tmp = path.with_suffix(".smt2.tmp")
    tmp.write_text(header + text)
    tmp.replace(path)
    return path


def solve_with_cvc5(text: str, config: SolverConfig) -> str:
    """'sat', 'unsat' or 'unknown' from cvc5 on an SMT-LIB script."""
    from tensorize.smt.cvc5_backend import check_text

    return verdict(check_text(text, config, models=False))


def cross_check(ob: Obligation, mine: str, config: SolverConfig) -> str:
    """Re-solve with the other solver (cvc5 when Z3 gave ``mine``, Z3 when cvc5 did);
    raise :class:`EquivalenceError` if the two disagree. Returns what the cross-check
    found, in words for the result: the other's agreement, or that it did not decide
    (the cross-check of this obligation is then incomplete, and says so)."""
    if config.backend == "cvc5":
        from tensorize.smt.z3_backend import Z3Backend

        other_name, other = "z3", verdict(Z3Backend().discharge(ob, config))
    else:
        other_name, other = "cvc5", solve_with_cvc5(to_smtlib(ob)[0], config)
    if "unknown" not in (other, mine) and other != mine:
        raise EquivalenceError(f"solvers disagree on {ob.name}: {config.backend} says "
                               f"{mine}, {other_name} says {other}")
    if other == "unknown":
        return (f"{other_name} did not decide {ob.name}: not cross-checked "
                f"({config.backend} says {mine})")
    return f"{other_name} agrees ({other})"
