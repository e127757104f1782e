"""Proofs: are two kernels equal? ``prove`` (three-valued, under a deadline), the
structural path for a kernel and its own rewrite, and the outcome ``tensorize prove``
prints.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tensorize.api_checks import check_timeout, own_sizes, parse_sizes, solver_config
from tensorize.api_load import function_ref, load_specs
from tensorize.equivalence.results import Proved, Refuted, Result, check_fp, to_json_text
from tensorize.errors import NotComparable
from tensorize.ir.nodes import Function
from tensorize.outputs import check_output_dir

if TYPE_CHECKING:
    from tensorize.equivalence.results import FpMode
    from tensorize.equivalence.solver import SolverConfig

STRUCTURAL_METHOD = "tile proof + validated rewrite (same rewrite as apply)"

def _show_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def signature_difference(a: Function, sa: Mapping[str, int], b: Function,
                         sb: Mapping[str, int]) -> str | None:
    """Why two kernels cannot be compared at all (None if they can).

    Both must have the same buffers (by name) with the same mode and element type, and the
    same number of elements (a flattened layout of the same data is comparable).
    """
    from tensorize.ir import interp

    shapes_a, shapes_b = interp.shapes_of(a, sa), interp.shapes_of(b, sb)
    bufs_a = {x.name: x for x in a.buffers if x.mode != "local"}
    bufs_b = {x.name: x for x in b.buffers if x.mode != "local"}
    if set(bufs_a) != set(bufs_b):
        only_a, only_b = sorted(set(bufs_a) - set(bufs_b)), sorted(set(bufs_b) - set(bufs_a))
        parts = [f"only '{a.name}' has {', '.join(only_a)}"] if only_a else []
        parts += [f"only '{b.name}' has {', '.join(only_b)}"] if only_b else []
        return f"the kernels do not have the same buffers ({'; '.join(parts)})"
    for name, x in bufs_a.items():
        y = bufs_b[name]
        sx, sy = shapes_a[name], shapes_b[name]
        if x.mode != y.mode:
            return f"buffer '{name}' is '{x.mode}' in '{a.name}' but '{y.mode}' in '{b.name}'"
        if x.dtype != y.dtype or math.prod(sx) != math.prod(sy):
            return (f"buffer '{name}' is {x.dtype}{_show_shape(sx)} in '{a.name}' but "
                    f"{y.dtype}{_show_shape(sy)} in '{b.name}'")
    return None


def _has_calls(fn: Function) -> set[str]:
    from tensorize.ir.traverse import calls

    return {c.name for c in calls(fn.body)}


def structural_proof(a: Function, sa: Mapping[str, int], b: Function, sb: Mapping[str, int],
                     library: Mapping[str, Function], fp: FpMode, solver: SolverConfig,
                     ) -> Result | None:
    """Prove ``a == b`` when one side is what ``apply`` makes of the other (else None).

    When one side calls intrinsics and the other does not, the call-free side is run
    through the tensorize pass restricted to the intrinsics the calling side uses. Every
    rewrite that pass emits carries a tile proof (the intrinsic equals the program on one
    tile) and a validated loop structure, so the rewrite computes what the original does.
    If the calling side is that very rewrite (equal up to the names of loop variables and
    view dimensions, with sizes fixed), the two are equal; otherwise: None, and the
    caller falls back to the ordinary prover.
    """
    from tensorize.canonical import canonical_text
    from tensorize.rewrite.engine import TensorizePass

    calls_a, calls_b = _has_calls(a), _has_calls(b)
    if bool(calls_a) == bool(calls_b):
        return None
    plain, ps, calling, cs = (a, sa, b, sb) if calls_b else (b, sb, a, sa)
    used = calls_a | calls_b
    if not all(n in library for n in used):
        return None
    start = time.perf_counter()
    result = TensorizePass(intrinsics=tuple(sorted(used)), fp=fp, solver=solver).run(
        plain, library, ps)
    if not result.changed:
        return None
    if canonical_text(result.rewritten, {}) != canonical_text(calling, cs):
        return None
    obligations = [f"statement {f.position}: {f.chosen.intrinsic} ({f.chosen.mapping}): "
                   f"tile proof {getattr(f.chosen.proof, 'obligation', '?')} "
                   f"[{getattr(f.chosen.proof, 'method', '?')}], loop nest validated"
                   for f in result.fragments if f.chosen is not None]
    if result.checked_by_execution:
        obligations.append("the whole rewritten kernel agreed with the original in the "
                           "interpreter")
    return Proved(fp, time.perf_counter() - start, "; ".join(obligations),
                  STRUCTURAL_METHOD, ())


def _prove_now(a: Function, b: Function, sa: dict[str, int], sb: dict[str, int],
               library: Mapping[str, Function], fp: FpMode, solver: SolverConfig,
               structural: bool, options: Mapping[str, Any]) -> Result:
    from tensorize.equivalence.prove import ProveOptions
    from tensorize.equivalence.prove import prove as _prove

    if structural:
        found = structural_proof(a, sa, b, sb, library, fp, solver)
        if found is not None:
            return found
    opts = ProveOptions(fp=fp, solver=solver, **options)
    return _prove(a, b, sizes_a=sa, sizes_b=sb, library=library, options=opts)


def prove(a: Function, b: Function, *, fp: str = "ieee", timeout: float = 10.0,
          rlimit: int | None = None, sizes: Mapping[str, int] | None = None,
          sizes_a: Mapping[str, int] | None = None, sizes_b: Mapping[str, int] | None = None,
          library: Mapping[str, Function] | None = None, wall_timeout: float | None = None,
          wall_started: float | None = None, structural: bool = True, backend: str = "z3",
          **options: Any) -> Result:
    """Prove or refute that two checked kernels compute the same thing.

    Returns :class:`Proved`, :class:`Refuted` (with a counterexample) or :class:`Unknown`
    (never a proof). Raises :class:`NotComparable` at once when the signatures differ.
    ``timeout`` bounds each solver call; ``wall_timeout`` (seconds) bounds the whole call
    by running it in a forked process that is killed at the deadline (then: Unknown,
    naming the stage it was in); the budget counts from ``wall_started`` (a
    ``time.monotonic()`` value, default: now), so that a command can include the time it
    spent loading its files. ``sizes`` applies to both sides, ``sizes_a``/``sizes_b``
    to one. ``backend`` names the solver (``"z3"`` or ``"cvc5"``). ``options`` are further
    fields of :class:`ProveOptions`.
    """
    from tensorize.ir import interp

    fp_mode = check_fp(fp)
    solver = solver_config(timeout, rlimit, backend)
    sa = interp.bind_sizes(a, {**own_sizes(a, sizes), **(sizes_a or {})})
    sb = interp.bind_sizes(b, {**own_sizes(b, sizes), **(sizes_b or {})})
    reason = signature_difference(a, sa, b, sb)
    if reason is not None:
        raise NotComparable(reason, b.span)
    lib = dict(library or {})
    if wall_timeout is None:
        return _prove_now(a, b, sa, sb, lib, fp_mode, solver, structural, options)
    import multiprocessing

    from tensorize.deadline import run_with_deadline

    budget = check_timeout(wall_timeout, "wall_timeout")
    if "fork" not in multiprocessing.get_all_start_methods():  # no fork: solver timeouts only
        return _prove_now(a, b, sa, sb, lib, fp_mode, solver, structural, options)
    started = time.monotonic() if wall_started is None else wall_started
    return run_with_deadline(_prove_now, (a, b, sa, sb, lib, fp_mode, solver, structural,
                                          options), budget, fp_mode, started)


def describe_result(result: Result, left: str, right: str) -> str:
    """A readable account of a proof result."""
    if isinstance(result, Proved):
        lines = [f"proved: {left} == {right}  ({result.mode} mode, {result.method}, "
                 f"{result.time:.3f} s)", f"  obligation: {result.obligation}"]
        lines += [f"  using {x}" for x in result.assumptions]
        if result.cross_check:
            lines.append(f"  cross-check: {result.cross_check}")
        return "\n".join(lines)
    if isinstance(result, Refuted):
        cex = result.counterexample
        return (f"refuted: {left} != {right}  ({result.mode} mode, {result.time:.3f} s)\n"
                + cex.describe(left, right))
    return f"unknown: {left} vs {right}  ({result.mode} mode, {result.time:.3f} s): " \
        f"{result.reason}\n  (unknown is never a proof)"


@dataclass(frozen=True)
class ProveOutcome:
    """The answer of ``tensorize prove``: a result, or why the kernels are not comparable."""

    left: str
    right: str
    result: Result | None
    not_comparable: str = ""
    """The reason, when the signatures differ (then ``result`` is None)."""

    @property
    def exit_code(self) -> int:
        """0 proved, 1 refuted or not comparable, 3 unknown."""
        if self.result is None:
            return NotComparable.exit_code
        return {"proved": 0, "refuted": 1}.get(self.result.status, 3)

    def describe(self) -> str:
        """The readable account (one line or more, no final newline)."""
        if self.result is None:
            return f"not comparable: {self.not_comparable}"
        return describe_result(self.result, self.left, self.right)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``status`` first among the result's fields)."""
        if self.result is None:
            return {"status": "not comparable", "reason": self.not_comparable}
        return self.result.to_json()

    def json_text(self) -> str:
        """:meth:`to_json` as indented text with sorted keys."""
        if self.result is None:
            return json.dumps(self.to_json(), indent=2, sort_keys=True)
        return to_json_text(self.result)


def prove_files(left: str, right: str, *, specs: Sequence[str] = (), sets: Sequence[str] = (),
               signedness: Mapping[str, str] | None = None, fp: str = "ieee",
               timeout: float = 10.0, rlimit: int | None = None,
               started: float | None = None, smtlib_dir: str | None = None,
               cross_check: bool = False, backend: str = "z3") -> ProveOutcome:
    """``tensorize prove A.tz[:K] B.tz[:K]``: both kernels loaded (``.tz`` or ``.mlir``),
    the ``--set`` sizes applied to both, and :func:`prove` with ``timeout`` as both each
    solver call's timeout and the whole budget, counted from ``started``; each
    obligation written as SMT-LIB into ``smtlib_dir`` (created) when given; ``backend``
    the solver that discharges them."""
    if smtlib_dir:
        check_output_dir(smtlib_dir, "--smtlib", create=True)
    library = load_specs(specs)
    a, lib_a = function_ref(left, library, signedness)
    b, lib_b = function_ref(right, library, signedness)
    lib_a.update(lib_b)
    sizes = parse_sizes(list(sets))
    try:
        result = prove(a, b, fp=fp, timeout=timeout, rlimit=rlimit, sizes=sizes,
                       library=lib_a, wall_timeout=timeout, wall_started=started,
                       smtlib_dir=smtlib_dir, cross_check=cross_check, backend=backend)
    except NotComparable as exc:
        return ProveOutcome(a.name, b.name, None, exc.message)
    return ProveOutcome(a.name, b.name, result)

