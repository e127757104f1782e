"""The tensorize pass: find candidates, prove them, validate the rewrites, choose.

``TensorizePass(...).run(kernel, library)`` is what ``tensorize apply`` and
``tensorize.tensorize`` call. Every rewrite it emits has a tile proof (the intrinsic
equals the program on one tile), a validated loop structure, and agreed with the
original in the interpreter where the sizes allowed a run.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from tensorize.canonical import canonical_text
from tensorize.equivalence.cache import ProofCache, memo_get, memo_put, obligation_key
from tensorize.equivalence.results import (
    Counterexample,
    FpMode,
    Proved,
    Refuted,
    Result,
    Unknown,
    Verdict,
    check_fp,
)
from tensorize.equivalence.solver import SolverConfig
from tensorize.errors import TensorizeError, UsageError
from tensorize.intrinsics.host import in_target, target_info
from tensorize.intrinsics.library import Library
from tensorize.ir.check import check_function
from tensorize.ir.layout import const_value, steps
from tensorize.ir.memo import by_identity
from tensorize.ir.nodes import Expr, For, Function, Stmt, View
from tensorize.ir.printer import format_function
from tensorize.ir.reduction import reduction_form
from tensorize.ir.sizes import bind_sizes
from tensorize.ir.traverse import calls
from tensorize.matcher.candidates import (
    Match,
    RejectReason,
    enumerate_candidates,
    instantiate,
    program_sites,
    reorder_refusal,
    tile_kernel,
    unordered,
)
from tensorize.matcher.distribute import Split, distribute
from tensorize.matcher.fragments import Fragment, fragments
from tensorize.matcher.nest import (
    NestMatch,
    instances,
    library_work,
    nest_candidates,
    nest_intrinsic,
    overwrites_outputs,
    zero_outputs,
)
from tensorize.matcher.window import Window, narrow, views_in_bounds
from tensorize.rewrite.apply import (
    apply_nest_plan,
    apply_plan,
    bake_sizes,
    generalise_fragment,
    without_empty_loops,
)
from tensorize.rewrite.plan import (
    NestPlan,
    NestRewrite,
    Plan,
    Rewrite,
    make_nest_plan,
    make_plan,
)

SCALAR_COST = 1.0
"""Cost of one scalar update instance, in the units of an intrinsic's ``cost``."""
LIBRARY_CALL_OVERHEAD = 64.0
"""What a library call costs before any work, in scalar updates (times its ``cost``)."""
LIBRARY_SPEEDUP = 16.0
"""How many scalar updates of work a library call does per unit of cost."""
SMALL_SIZE = 3
"""Library-call candidates are first tried with every size at most this (a filter)."""
PROGRAM_SIDE = "the program"
INTRINSIC_SIDE = "the intrinsic"
ORIGINAL_SIDE = "the original kernel"
REWRITE_SIDE = "the rewritten kernel"
"""How a counterexample names its two sides: every one the pass reports says which side
is the program (or the original kernel) and which the intrinsic (or the rewrite)."""
TILE_NAMES = "buffers named by the intrinsic's parameters, bound as the mapping says"
LAYOUT_COST = 0.25
"""Extra cost of a call, as a share of its own, when all its views are strided."""
CHAIN_ADD_COST = 4.0
"""Cost of one scalar update of an IEEE float sum into a single element: every add waits
for the one before (a chain the order of IEEE arithmetic forbids to split), so the loop
runs at the latency of a floating-point add, not at one update per cycle. 4 cycles:
SiFive P400 (LLVM RISCVSchedSiFiveP400.td, WriteFAdd32/WriteFMA32 Latency = 4), the
reference of the ``riscv.rvv`` costs."""


@dataclass(frozen=True)
class Attempt:
    """One candidate and what became of it."""

    intrinsic: str
    mapping: str
    status: Verdict
    cost: float
    calls: int
    tail: int
    reason: str = ""
    proof: Result | None = None
    strided: int = 0
    """Views of the call whose innermost dimension is not contiguous in memory."""
    tile: Function | None = field(default=None, repr=False, compare=False)
    """The tile kernel whose equality with the intrinsic was proved (for re-checks)."""
    sizes: tuple[tuple[str, int], ...] = ()
    """A library call's size parameters as bound (empty for a fixed-size intrinsic): the
    tile was proved against the intrinsic instantiated at these sizes."""
    checks: tuple[str, ...] = ()
    """The checks this rewrite passed: the tile proof, each validation check, execution."""
    widened: int = 0
    """Views of the call widened to an operand the intrinsic takes whole but reads only a
    window of (matcher/window.py): a last tie rule, the packed word taken as stored."""
    plan: Plan | NestPlan | None = field(default=None, repr=False, compare=False)
    """The plan of the rewrite (a whole nest's for a whole-nest call)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {
            "intrinsic": self.intrinsic, "mapping": self.mapping, "status": self.status,
            "cost": self.cost, "calls": self.calls, "tail_instances": self.tail,
            "reason": self.reason, "checks": list(self.checks)}
        if self.sizes:
            out["sizes"] = dict(self.sizes)
        if self.plan is not None:
            out["plan"] = self.plan.to_json()
        if self.proof is not None:
            out["proof"] = self.proof.to_json()
        return out


@dataclass(frozen=True)
class FragmentReport:
    """What happened to one fragment: the rewrite chosen, the alternatives, the rejections."""

    position: int
    instances: int
    scalar_cost: float
    chosen: Attempt | None
    alternatives: tuple[Attempt, ...]
    rejected: tuple[tuple[str, RejectReason, str], ...]
    """(intrinsic, kind, message) for pairs with no candidate."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "statement": self.position, "instances": self.instances,
            "scalar_cost": self.scalar_cost,
            "chosen": self.chosen.to_json() if self.chosen else None,
            "alternatives": [a.to_json() for a in self.alternatives],
            "rejected": [{"intrinsic": i, "kind": k, "reason": m} for i, k, m in self.rejected],
        }


@dataclass(frozen=True)
class TensorizeResult:
    """The rewritten kernel with its matches, proofs and alternatives."""

    kernel: Function
    rewritten: Function
    fragments: tuple[FragmentReport, ...]
    sizes: dict[str, int]
    seconds: float
    checked_by_execution: bool
    stages: dict[str, float] = field(default_factory=dict)
    """Seconds spent per stage: candidates, proofs, validation, execution."""
    generalise: _Generalise | None = field(default=None, repr=False, compare=False)
    """What :attr:`general` is made from (None: the rewrite holds only at ``sizes``)."""

    @functools.cached_property
    def general(self) -> tuple[int | Stmt, ...] | None:
        """The rewritten body in the kernel's own size parameters: each top-level
        statement is the kernel's own (by position) or a statement of a rewrite; None
        when the rewrite holds only at ``sizes`` (see :meth:`faithful`). Made when first
        asked (a decision does not need it; printing the rewrite does)."""
        return self.generalise.general(self.kernel) if self.generalise else None

    def faithful(self) -> Function:
        """The rewritten kernel as the user wrote it: its size parameters (their defaults
        the sizes it was tensorized at), comments and names kept, its tile counts and
        tails computed from the sizes. The kernel itself when nothing was rewritten;
        :attr:`rewritten` (sizes fixed) when the rewrite holds only at these sizes."""
        if not self.changed:
            return self.kernel
        if self.general is None:
            return self.rewritten
        return _general_kernel(self.kernel, self.sizes, self.general)

    @property
    def coverage(self) -> float:
        """Share of the kernel's update instances computed by intrinsic calls."""
        total = sum(f.instances for f in self.fragments) or 0
        done = sum(f.instances - (f.chosen.tail if f.chosen else f.instances)
                   for f in self.fragments)
        return done / total if total else 0.0

    @property
    def cost(self) -> float:
        """The chosen total cost of the tensorizable fragments."""
        return sum(f.chosen.cost if f.chosen else f.scalar_cost for f in self.fragments)

    @property
    def changed(self) -> bool:
        """Whether any fragment was rewritten."""
        return any(f.chosen for f in self.fragments)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the `apply --report` format)."""
        return {"kernel": self.kernel.name, "sizes": self.sizes, "changed": self.changed,
                "coverage": round(self.coverage, 6), "cost": self.cost,
                "seconds": round(self.seconds, 6),
                "checked_by_execution": self.checked_by_execution,
                "stages": {k: round(v, 6) for k, v in self.stages.items()},
                "counts": self.counts(),
                "fragments": [f.to_json() for f in self.fragments]}

    def counts(self) -> dict[str, int]:
        """Candidates by outcome (refutations split by how they were found)."""
        out = {"candidates": 0, "refuted_by_execution": 0, "refuted_by_solver": 0,
               "proved": 0, "unknown": 0, "invalid": 0, "unchecked": 0}
        for f in self.fragments:
            for a in ([f.chosen] if f.chosen else []) + list(f.alternatives):
                out["candidates"] += 1
                if a.status is Verdict.REFUTED:
                    found = getattr(getattr(a.proof, "counterexample", None), "found_by", "")
                    out["refuted_by_execution" if found == "execution"
                        else "refuted_by_solver"] += 1
                elif a.status in out:
                    out[a.status] += 1
        return out


@dataclass(frozen=True)
class TensorizePass:
    """The pass: its options as a frozen object, the shape of an xDSL ``ModulePass``
    (a ``name``, typed options, :meth:`apply`); the CLI, the Python API and the xDSL
    pass (frontends/xdsl_pass.py) build the same object."""

    name: ClassVar[str] = "tensorize"
    targets: tuple[str, ...] = ()
    intrinsics: tuple[str, ...] = ()
    fp: FpMode = FpMode.IEEE
    solver: SolverConfig = field(default_factory=SolverConfig)
    execution_check: bool = True
    cache: ProofCache | None = None
    """A persistent proof cache for tile proofs (None: no cache)."""
    exhaustive: bool = False
    """Check every candidate (``explain``); otherwise a candidate no choice can depend on
    is left unchecked (:meth:`_fragment`): same choices, less work."""
    library: Mapping[str, Function] | None = field(default=None, repr=False,
                                                   compare=False)
    """The intrinsics :meth:`apply` matches against (:meth:`run` takes them instead)."""

    def __post_init__(self) -> None:
        check_fp(self.fp)
        for what, names in (("targets", self.targets), ("intrinsics", self.intrinsics)):
            if not isinstance(names, tuple) or not all(isinstance(n, str) for n in names):
                raise UsageError(f"{what} must be a tuple of names, got {names!r}")

    def selected(self, library: Iterable[Function]) -> list[Function]:
        """The intrinsics this pass may use."""
        out = []
        for fn in library:
            if self.intrinsics and fn.name not in self.intrinsics:
                continue
            if self.targets and not any(in_target(fn.target, t)
                                        for t in self.targets):
                continue
            out.append(fn)
        return out

    def apply(self, kernel: Function, sizes: Mapping[str, int] | None = None
              ) -> TensorizeResult:
        """Tensorize one checked kernel against the pass's own :attr:`library`."""
        if self.library is None:
            raise UsageError("this TensorizePass has no library: give it one "
                             "(TensorizePass(library=...)) or call run(kernel, library)")
        return self.run(kernel, self.library, sizes)

    def run(self, kernel: Function, library: Mapping[str, Function] | Any,
            sizes: Mapping[str, int] | None = None) -> TensorizeResult:
        """Tensorize one checked kernel (a stored decision when the cache has one)."""
        start = time.perf_counter()
        key = self._decision_key(kernel, library, sizes)
        if key is not None and self.cache is not None:
            found = self.cache.get_decision(key)
            if isinstance(found, TensorizeResult):
                return replace(found, kernel=kernel, seconds=time.perf_counter() - start,
                               stages={**dict.fromkeys(found.stages, 0.0),
                                       "lookup": time.perf_counter() - start})
        result = self._run(kernel, library, sizes, {})
        if key is not None and self.cache is not None:
            self.cache.put_decision(key, result)
        return result

    # -- the decision cache (one stored result per kernel, options, library, engine) -----
    def _decision_key(self, kernel: Function, library: Mapping[str, Function] | Any,
                      sizes: Mapping[str, int] | None) -> str | None:
        """The key of this pass's decision on ``kernel`` (None without a cache).

        It covers the kernel's text, the sizes, every option of the pass, the text of
        every intrinsic of the library (which the rewrite is checked against; for a
        library still as loaded, the hash of its files, which fixes those texts) and, through
        :func:`obligation_key`, the engine's own source. Renamed copies of a kernel miss
        here, but hit the normalised caches of each proof, validation and run.
        """
        if self.cache is None:
            return None
        options = repr((self.targets, self.intrinsics, self.fp, self.solver,
                        self.execution_check, self.exhaustive,
                        sorted((sizes or {}).items())))
        digest = library.fingerprint() if isinstance(library, Library) else None
        if digest is None:
            lib = dict(library)
            specs = "\n".join(_text_of(lib[name]) for name in sorted(lib))
        else:  # stands for the same texts: the files they were loaded from
            specs = f"files {digest}"
        return obligation_key(_text_of(kernel), specs, f"decision {options}")

    def _run(self, kernel: Function, library: Mapping[str, Function] | Any,
             sizes: Mapping[str, int] | None, proofs: dict[tuple[str, str], Result]
             ) -> TensorizeResult:
        """:meth:`run`, with tile proofs memoised in ``proofs`` (shared with reruns)."""
        start = time.perf_counter()
        stages = {"candidates": 0.0, "proofs": 0.0, "validation": 0.0, "execution": 0.0}
        bound = bind_sizes(kernel, sizes)
        baked = bake_sizes(kernel, bound)
        lib = dict(library)
        intrinsics = self.selected(lib.values())
        # an intrinsic reading a constant-offset window of a parameter is matched in its
        # narrowed form, and its calls widened back (matcher/window.py)
        matched = [_narrowed(i) or i for i in intrinsics]
        reports = []
        chosen: dict[int, Rewrite] = {}
        # epilogues are split from their reductions (matcher/distribute.py) ...
        split, splits = distribute(baked)
        families = frozenset(_family(i.target) for i in intrinsics) - {ANY_FAMILY}
        tried = [(frag, *self._fragment(frag, split, matched, proofs, stages, families))
                 for frag in fragments(split, {})]
        # one machine family per kernel (library calls go with any) unless the user named
        # targets of several: the family whose choices cost least
        family = _best_family(tried, mixing=len({_family(t) for t in self.targets}
                                                - {ANY_FAMILY}) > 1, fp=self.fp)
        for frag, attempts, rejected in tried:
            report, pick = _pick(frag, attempts, rejected, family, self.fp)
            reports.append(report)
            if pick is not None:
                chosen[frag.position] = pick
        # whole nests one call computes (matcher/nest.py), against what their parts got
        reports, nests = self._nests(baked, split, splits, intrinsics, proofs, stages,
                                     family, reports, chosen)
        # ... and put back together where no part of them was rewritten
        kept = frozenset(x.original for x in splits if set(x.parts) & set(chosen))
        final = splits
        if kept != {x.original for x in splits}:
            split, again = distribute(baked, only=kept)
            final = again
            before, after = _places(len(baked.body), splits), _places(len(baked.body), again)
            moved = {}
            for original, places in before.items():
                targets = after[original]
                for n, place in enumerate(places):
                    moved[place] = targets[n] if len(targets) == len(places) else targets[0]
            chosen = {moved[pos]: pick for pos, pick in chosen.items()}
            reports = [replace(r, position=moved[r.position]) for r in reports]
        # each fragment, and each whole nest (its parts not split any more), becomes the
        # statements of its rewrite
        where = _places(len(baked.body), final)
        replaced = {p: rw.statements for p, rw in chosen.items()} | {
            where[o][0]: rw.statements for o, rw in nests.items()}
        rewritten = _rewrite_kernel(split, replaced)
        rewritten = check_function(rewritten, lib)  # the IR is checked again
        general = None if kept or nests else _Generalise(
            self.fp, dict(bound), dict(chosen), rewritten,
            {n: lib[n] for n in _called(rewritten) if n in lib})
        executed = False
        if (chosen or nests) and self.execution_check:
            from tensorize.equivalence.execute import EXECUTION_LIMIT, work

            t0 = time.perf_counter()
            # a run in the interpreter, at full size or at reduced sizes that keep the
            # rewrite's shape: the tile proofs and the validation are the guarantee.
            # The runs are seeded, so an agreement is a fact worth remembering.
            fact = obligation_key(canonical_text(baked), canonical_text(rewritten),
                                  f"agrees-in-interpreter {self.fp}")
            if self.cache is not None and self.cache.has_fact(fact):
                done, cex = "agreed (cached)", None
            elif nests and work(baked, {}) > EXECUTION_LIMIT:
                done, cex = ("skipped: a whole-nest call is run only at full size, above "
                             f"the execution limit ({EXECUTION_LIMIT} instances)"), None
            else:
                done, cex = self._execution_check(kernel, bound, baked, rewritten, chosen,
                                                  lib, proofs)
                if cex is None and not done.startswith("skipped") and self.cache is not None:
                    self.cache.add_fact(fact)
            stages["execution"] += time.perf_counter() - t0
            executed = cex is None and not done.startswith("skipped")
            if cex is not None:  # never emitted: report and keep the original
                reports = [_drop(r, f"the rewritten kernel disagrees with the original in "
                                 f"the interpreter ({done}):\n"
                                 + cex.describe(ORIGINAL_SIDE, REWRITE_SIDE))
                           for r in reports]
                rewritten = baked
            else:
                reports = [_with_check(r, f"execution {done}") for r in reports]
        return TensorizeResult(kernel, rewritten, tuple(reports), bound,
                               time.perf_counter() - start, executed, stages,
                               general if rewritten is not baked else None)

    def _execution_check(self, kernel: Function, bound: Mapping[str, int], baked: Function,
                         rewritten: Function,
                         chosen: Mapping[int, Rewrite],
                         lib: Mapping[str, Function], proofs: dict[tuple[str, str], Result]
                         ) -> tuple[str, Counterexample | None]:
        """Run the rewrite against the original: (what ran, a counterexample or None).

        At full size when the work allows; otherwise the pass is run again at reduced
        sizes (the size parameters shrunk, keeping their remainders modulo the tiles, so
        that full tiles and every tail still occur) and that rewrite, which must have the
        same shape, is run against the original at those sizes.
        """
        from tensorize.equivalence.execute import EXECUTION_LIMIT, refute_by_execution, work

        if work(baked, {}) <= EXECUTION_LIMIT:
            runnable, how = _runnable(rewritten, lib)
            cex = refute_by_execution(baked, {}, runnable, {}, lib, self.fp, randoms=2,
                                      patterns=("mix", "max"), batched=True)
            return f"at full size{how}", cex
        if not kernel.params:
            return ("skipped: the kernel has no size parameters to shrink and is above the "
                    f"execution limit ({EXECUTION_LIMIT} instances)"), None
        expected = {pos: (rw.intrinsic.name, _mapping_shape(rw.plan.match.describe()))
                    for pos, rw in chosen.items()}
        period = math.lcm(*(g.extent for rw in chosen.values() for g in rw.plan.groups))
        narrowed = replace(self, targets=(), execution_check=False,
                           intrinsics=tuple(sorted({i for i, _m in expected.values()})))
        for copies in (1, 2, 3):
            small = {name: min(value, period * copies + value % period)
                     for name, value in bound.items()}
            small_baked = bake_sizes(kernel, small)
            if small == dict(bound) or work(small_baked, {}) > EXECUTION_LIMIT:
                continue
            again = narrowed._run(kernel, lib, small, proofs)
            got = {f.position: (f.chosen.intrinsic, _mapping_shape(f.chosen.mapping))
                   for f in again.fragments if f.chosen}
            if got != expected:
                continue
            sizes_text = ", ".join(f"{k}={v}" for k, v in small.items())
            runnable, how = _runnable(again.rewritten, lib)
            cex = refute_by_execution(small_baked, {}, runnable, {}, lib, self.fp,
                                      randoms=2, patterns=("mix", "max"), batched=True)
            return f"at reduced sizes {sizes_text}{how}", cex
        return ("skipped: no reduced sizes within the execution limit reproduce the "
                "rewrite's shape"), None

    def _nests(self, baked: Function, split: Function, splits: list[Split],
               intrinsics: list[Function], proofs: dict[tuple[str, str], Result],
               stages: dict[str, float], family: str | None, reports: list[FragmentReport],
               chosen: dict[int, Rewrite]
               ) -> tuple[list[FragmentReport], dict[int, NestRewrite]]:
        """Whole top-level nests of ``baked`` computed by one call of a whole-nest
        intrinsic (:mod:`tensorize.matcher.nest`): the reports (a chosen nest replaces the
        reports of its parts in ``split``, whose choices it drops from ``chosen``) and the
        chosen nests by original position. A nest is chosen when its proved call costs
        less than its parts as they were decided (chosen rewrites, else scalar code)."""
        eligible = [i for i in intrinsics if nest_intrinsic(i)
                    and (family is None or _family(i.target) in (family, ANY_FAMILY))]
        picked: dict[int, NestRewrite] = {}
        if not eligible:
            return reports, picked
        places = _places(len(baked.body), splits)
        for original, stmt in enumerate(baked.body):
            if not isinstance(stmt, For):
                continue  # no nest (nest_candidates finds none either)
            attempts: list[tuple[Attempt, NestRewrite]] = []
            for intr in eligible:
                if unordered(intr) and self.fp != FpMode.REAL and any(
                        b.dtype.is_float for b in intr.buffers if b.mode != "in"):
                    continue  # its order of float arithmetic is not its body's
                t0 = time.perf_counter()
                cands, _why = nest_candidates(stmt, original, baked, intr)
                stages["candidates"] += time.perf_counter() - t0
                attempts.extend(self._nest_attempt(c, stmt, baked, intr, proofs, stages)
                                for c in cands)
            if not attempts:
                continue
            parts = places[original]
            by_pos = {r.position: r for r in reports}
            # the parts as decided, plus what stays scalar code in any case (a fragment's
            # init, an epilogue that is no fragment)
            alternative = 0.0
            for p in parts:
                r = by_pos.get(p)
                rest = instances(split.body[p]) - (r.instances if r is not None else 0)
                alternative += max(rest, 0) * SCALAR_COST
                if r is not None:
                    alternative += r.chosen.cost if r.chosen is not None else r.scalar_cost
            good = [(a, c) for a, c in attempts if a.status == Verdict.PROVED]
            best = min(good, key=lambda x: x[0].cost, default=None)
            mine = tuple(a for a, _c in attempts if best is None or a is not best[0])
            if best is None or best[0].cost >= alternative:
                first = by_pos.get(parts[0])
                if first is not None:  # tried and reported, not chosen
                    reports = [replace(r, alternatives=r.alternatives + mine)
                               if r is first else r for r in reports]
                elif len(parts) == 1:  # no fragment there: the nest's own report
                    reports.append(FragmentReport(parts[0], instances(stmt), alternative,
                                                  None, mine, ()))
                    reports.sort(key=lambda r: r.position)
                continue
            older: tuple[Attempt, ...] = ()
            for p in parts:
                r = by_pos.get(p)
                if r is not None:
                    older += ((r.chosen,) if r.chosen is not None else ()) + r.alternatives
            rejected = tuple(x for p in parts if p in by_pos for x in by_pos[p].rejected)
            for p in parts:
                chosen.pop(p, None)
            reports = [r for r in reports if r.position not in parts]
            reports.append(FragmentReport(parts[0], best[1].plan.match.instances,
                                          alternative, best[0],
                                          mine + older, rejected))
            reports.sort(key=lambda r: r.position)
            picked[original] = best[1]
        return reports, picked

    def _nest_attempt(self, cand: NestMatch, stmt: For, kernel: Function,
                      intr: Function, proofs: dict[tuple[str, str], Result],
                      stages: dict[str, float]) -> tuple[Attempt, NestRewrite]:
        """Plan, prove and check one whole-nest match: its plan made into statements
        (rewrite/plan.py, rewrite/apply.py), the nest kernel equal to the intrinsic (at
        the match's sizes), the intrinsic's result independent of the initial contents of
        its ``out`` buffers (a call starts them at zero), its own ``assume``s holding, and
        the statements validated against the nest (rewrite/validate_nest.py)."""
        from tensorize.equivalence.execute import work
        from tensorize.equivalence.prove import ProveOptions
        from tensorize.rewrite.validate_nest import validate_nest

        inst = instantiate(intr, cand.sizes) if cand.sizes else intr
        plan = make_nest_plan(cand, stmt, inst)
        rewrite = NestRewrite(plan, inst, apply_nest_plan(plan, stmt))
        cost = intr.cost * cand.calls
        if cand.sizes:  # a library call: an overhead, then work in proportion to its size
            cost *= LIBRARY_CALL_OVERHEAD + library_work(cand) / LIBRARY_SPEEDUP
        cost += cand.tail_instances * SCALAR_COST  # a lane block's scalar tail
        base = Attempt(intrinsic=intr.name, mapping=cand.describe(), status=Verdict.PROVED,
                       cost=cost, calls=cand.calls, tail=cand.tail_instances, tile=cand.tile,
                       sizes=tuple(cand.sizes), plan=plan)
        budget = ProveOptions().unroll_budget
        if (reduction_form(cand.tile, {}) is None or reduction_form(inst, {}) is None) \
                and work(cand.tile, {}) + work(inst, {}) > budget:
            # no per-element proof for this form, and the unrolled one would refuse: a
            # refutation alone could not make a rewrite, so nothing is run
            return replace(base, status=Verdict.UNKNOWN, reason="nest proof: not in a form "
                           f"proved per element, and more than {budget} statement instances "
                           "to unroll"), rewrite
        result = self._tile_result(cand.tile, inst, proofs, stages)
        failed = _unproved(result, "the intrinsic differs from the program's nest",
                           "nest proof", base)
        if failed is not None:
            return failed, rewrite
        assert isinstance(result, Proved), "what did not prove was returned above"
        # a call starts its out buffers at zero: the intrinsic must overwrite them (by its
        # form, else proved: the intrinsic equals itself started from zero)
        overwritten = "by its form"
        if not overwrites_outputs(inst):
            zero = self._tile_result(inst, zero_outputs(inst), proofs, stages)
            if not isinstance(zero, Proved):
                return replace(base, status=Verdict.UNKNOWN if not isinstance(zero, Refuted)
                               else Verdict.INVALID, proof=result,
                               reason="the intrinsic's result may depend on the initial "
                               "contents of its out buffers, which a call starts at zero"
                               ), rewrite
            overwritten = zero.method
        for a in inst.assumes:  # the intrinsic's own preconditions must hold
            if not any(x.buf == a.buf and a.contains(x.lo, x.hi)
                       for x in cand.tile.assumes):
                return replace(base, status=Verdict.INVALID, reason=f"the intrinsic assumes "
                               f"{a.buf} in {a.lo}..{a.hi}; the program does not",
                               proof=result), rewrite
        t0 = time.perf_counter()
        check = validate_nest(plan, rewrite.statements, stmt, kernel, inst)
        stages["validation"] += time.perf_counter() - t0
        if not check.ok:
            return replace(base, status=Verdict.INVALID, reason="; ".join(check.failures),
                           proof=result), rewrite
        checks = (f"tile proof ({result.method})",
                  f"out buffers overwritten whole ({overwritten})",
                  *(f"validation: {c}" for c in check.checks))
        return replace(base, proof=result, checks=checks), rewrite

    def _fragment(self, frag: Fragment, kernel: Function, intrinsics: list[Function],
                  proofs: dict[tuple[str, str], Result], stages: dict[str, float],
                  families: frozenset[str] = frozenset()
                  ) -> tuple[list[tuple[Attempt, Rewrite]], list[tuple[str, RejectReason, str]]]:
        """Every match of ``frag`` with what became of it (the attempt, and the rewrite
        its plan makes), in the matcher's order, and the rejected pairs.

        Unless the pass is :attr:`exhaustive`, the matches are checked in the order of
        preference (:func:`_preference`: cost, then the tie rules) and a match is left
        :attr:`~Verdict.UNCHECKED` once no choice can depend on it: it costs no less
        than the scalar loop, or a preferred match of its machine family (or a library
        call, which goes with any) was proved already (for a library call: of every
        family in ``families``, the machine families of the pass's intrinsics, when
        there is one). The choices
        :func:`_pick` and :func:`_best_family` make are the same as when every match is
        checked: each family's first proved match in that order is its pick.
        """
        entries: list[tuple[Attempt, Rewrite, Function]] = []
        rejected = []
        for intr in intrinsics:
            t0 = time.perf_counter()
            enum = enumerate_candidates(frag, intr, kernel, self.fp)
            stages["candidates"] += time.perf_counter() - t0
            if not enum.candidates:
                for r in enum.rejections[:1]:
                    rejected.append((intr.name, r.kind, r.message))
                continue
            known = _WINDOWS.get(id(intr))
            windows = known[1] if known is not None and known[0] is intr else ()
            for cand in enum.candidates:
                # a library call: the intrinsic at the candidate's sizes
                called = instantiate(intr, cand.sizes) if cand.sizes else intr
                plan = make_plan(cand, frag.form, called, windows)
                rewrite = Rewrite(plan, frag, called, apply_plan(plan, frag.form))
                entries.append((self._costed(rewrite, kernel), rewrite, intr))
        order = list(range(len(entries)))
        if not self.exhaustive:
            order.sort(key=lambda n: _preference(entries[n][0], entries[n][1], frag))
        scalar = scalar_cost(frag, self.fp)
        proved: set[str] = set()
        done: dict[int, Attempt] = {}
        for n in order:
            base, rewrite, intr = entries[n]
            family = _family(rewrite.intrinsic.target)
            if not self.exhaustive and (base.cost >= scalar or ANY_FAMILY in proved or (
                    family in proved if family != ANY_FAMILY
                    else bool(families) and families <= proved)):
                done[n] = replace(base, status=Verdict.UNCHECKED, reason=(
                    "not checked: it costs no less than the scalar loop"
                    if base.cost >= scalar else "not checked: a preferred candidate of "
                    "this fragment was proved (tensorize explain checks every one)"))
                continue
            wrong = self._wrong_when_small(rewrite.plan.match, frag, intr, kernel, proofs,
                                           stages)
            done[n] = (replace(wrong, plan=rewrite.plan) if wrong is not None
                       else self._attempt(base, rewrite, kernel, proofs, stages))
            if done[n].status == Verdict.PROVED:
                proved.add(family)
        return [(done[n], entries[n][1]) for n in range(len(entries))], rejected

    def _wrong_when_small(self, cand: Match, frag: Fragment, intr: Function,
                          kernel: Function, proofs: dict[tuple[str, str], Result],
                          stages: dict[str, float]) -> Attempt | None:
        """A refuted attempt when a library call's candidate, shrunk to sizes of at most
        3, already differs from the program (a wrong pairing or layout), else None.

        Only a filter: it drops candidates, so it can never make a wrong rewrite; it
        spares a proof at full size that may run long before it gives up. It runs the
        small tile only (a refutation the interpreter finds and confirms), no solver: a
        candidate it keeps is proved at full size anyway.
        """
        from tensorize.equivalence.execute import refute_by_execution
        from tensorize.equivalence.prove import ProveOptions

        if not cand.sizes:
            return None
        def shrink(v: int) -> int:
            return min(v, SMALL_SIZE)
        small = replace(
            cand, sizes=tuple((n, shrink(v)) for n, v in cand.sizes),
            groups=tuple(replace(g, extent=shrink(g.extent)) for g in cand.groups),
            dims=tuple((p, tuple(replace(g, extent=shrink(g.extent)) for g in gs))
                       for p, gs in cand.dims))
        inst = instantiate(intr, small.sizes)
        tile = tile_kernel(small, frag, inst, kernel)
        key = (format_function(tile), intr.name + " (small, executed)")
        if key not in proofs:
            t0 = time.perf_counter()
            opts = ProveOptions(fp=self.fp, solver=self.solver)
            cex = refute_by_execution(tile, {}, inst, {}, {}, opts.fp, opts.seed,
                                      opts.randoms)
            proofs[key] = (Refuted(opts.fp, time.perf_counter() - t0, cex) if cex is not None
                           else Unknown(opts.fp, time.perf_counter() - t0,
                                        "not refuted by execution at small sizes"))
            stages["proofs"] += time.perf_counter() - t0
        result = proofs[key]
        if not isinstance(result, Refuted):
            return None
        return Attempt(intrinsic=intr.name, mapping=cand.describe(), status=Verdict.REFUTED,
                       cost=math.inf, calls=cand.calls, tail=0, proof=result,
                       reason="the call differs from the program already at sizes "
                       f"{', '.join(f'{n}={v}' for n, v in small.sizes)} ({TILE_NAMES}):\n"
                       + result.counterexample.describe(PROGRAM_SIDE, INTRINSIC_SIDE))

    def _costed(self, rewrite: Rewrite, kernel: Function) -> Attempt:
        """The attempt of ``rewrite`` before any check: what it costs, its layout (the
        tie rules), its status a placeholder that :meth:`_attempt` settles."""
        plan, frag, intr = rewrite.plan, rewrite.fragment, rewrite.intrinsic
        cand = plan.match
        tail = sum(math.prod(x.extent for x in box) for box in plan.tails)
        strided, views = _layout(rewrite.statements, kernel)
        # a strided or gathered view costs more than a contiguous one (LAYOUT_COST more
        # per call when every view is)
        per_call = intr.cost * (1.0 + LAYOUT_COST * strided / max(views, 1))
        if cand.sizes:  # a library call: an overhead, then work in proportion to its size
            per_call *= LIBRARY_CALL_OVERHEAD + math.prod(
                g.extent for g in cand.groups) / LIBRARY_SPEEDUP
        # the tail runs as the scalar code does (a chained float sum at its latency)
        cost = cand.calls * per_call + tail * scalar_cost(frag, self.fp) / max(
            frag.instances, 1)
        return Attempt(intrinsic=intr.name, mapping=cand.describe(),
                       status=Verdict.UNCHECKED, cost=cost, calls=cand.calls, tail=tail,
                       strided=strided, sizes=tuple(cand.sizes),
                       widened=len(plan.windows) * cand.calls, plan=plan)

    def _attempt(self, base: Attempt, rewrite: Rewrite, kernel: Function,
                 proofs: dict[tuple[str, str], Result], stages: dict[str, float]) -> Attempt:
        """Prove and check one rewrite (``base``: its attempt as costed): the tile proof,
        the intrinsic's own preconditions, the validation of the statements its plan
        makes (as proved: of the narrowed intrinsic) and, for a windowed parameter, the
        widened views in bounds."""
        from tensorize.rewrite.validate import Validation, validate

        plan, frag, intr = rewrite.plan, rewrite.fragment, rewrite.intrinsic
        # as proved: of the narrowed intrinsic (the same statements without a window)
        stmts = apply_plan(plan, frag.form, widened=False) if plan.windows \
            else rewrite.statements
        tile = tile_kernel(plan.match, frag, intr, kernel)
        base = replace(base, status=Verdict.PROVED, tile=tile)
        if plan.windows and not views_in_bounds(rewrite.statements, _WINDOWS[id(intr)][2],
                                                kernel):
            return replace(base, status=Verdict.INVALID, reason="the intrinsic's whole "
                           "operand (its windowed parameter widened) would read outside "
                           "the buffer")
        result = self._tile_result(tile, intr, proofs, stages)
        failed = _unproved(result, "the intrinsic differs from the program on a tile",
                           "tile proof", base)
        if failed is not None:
            return failed
        assert isinstance(result, Proved), "what did not prove was returned above"
        for a in intr.assumes:  # the intrinsic's own preconditions must hold
            if not any(x.buf == a.buf and a.contains(x.lo, x.hi) for x in tile.assumes):
                return replace(base, status=Verdict.INVALID, reason=f"the intrinsic assumes "
                               f"{a.buf} in {a.lo}..{a.hi}; the program does not",
                               proof=result)
        t0 = time.perf_counter()
        fact = (_validation_fact(kernel, frag, stmts, tile, self.fp)
                if self.cache is not None else None)  # the key costs a canonicalisation
        if self.cache is not None and fact is not None and self.cache.has_fact(fact):
            check = Validation(())
        else:
            w_type = kernel.decl(frag.form.buf).dtype
            check = validate(frag.form, stmts, intr, tile, plan, w_type=w_type,
                             assumes=kernel.assumes, fp=self.fp, config=self.solver)
            if check.ok and self.cache is not None and fact is not None:
                self.cache.add_fact(fact)
        stages["validation"] += time.perf_counter() - t0
        if not check.ok:
            return replace(base, status=Verdict.UNKNOWN if check.unknown else Verdict.INVALID,
                           reason="; ".join(check.failures), proof=result)
        checks = (f"tile proof ({result.method})",) + tuple(
            f"validation: {c}" for c in check.checks)
        return replace(base, proof=result, checks=checks)

    def _tile_result(self, tile: Function, intr: Function,
                     proofs: dict[tuple[str, str], Result], stages: dict[str, float]
                     ) -> Result:
        """The tile proof of ``tile`` against ``intr``: from this run, from this process
        (same tile text), from the persistent cache (same tile text up to the names of its
        loops, so a renamed kernel finds it), or proved now. Proofs and refutations are
        remembered, ``unknown`` never."""
        from tensorize.equivalence.prove import ProveOptions, prove

        key = (format_function(tile), intr.name)
        result = proofs.get(key)
        if result is not None:
            return result
        local = obligation_key(key[0], _text_of(intr), self.fp)
        result = memo_get(local)
        if result is None and self.cache is not None:
            shared = obligation_key(canonical_text(tile), _text_of(intr), self.fp)
            result = self.cache.get_result(shared)
            if result is not None:
                result = _as_cached(result)
        if result is None:
            opts = ProveOptions(fp=self.fp, solver=self.solver)
            t0 = time.perf_counter()
            result = prove(tile, intr, options=opts)
            stages["proofs"] += time.perf_counter() - t0
            if self.cache is not None:
                self.cache.put_result(shared, result)
        memo_put(local, result)
        proofs[key] = result
        return result


_WINDOWS: dict[int, tuple[Function, tuple[Window, ...], Function]] = {}
"""Narrowed intrinsics by identity: (the narrowed function, its windows, the real one)."""


@dataclass(frozen=True)
class _Generalise:
    """A rewrite at fixed sizes, and what is needed to write it in the kernel's size
    parameters (:attr:`TensorizeResult.general`)."""

    fp: str
    bound: dict[str, int]
    chosen: dict[int, Rewrite]
    rewritten: Function
    callees: dict[str, Function]

    def general(self, kernel: Function) -> tuple[int | Stmt, ...] | None:
        """The rewrite in the kernel's size parameters, or None. Kept only if, at the
        bound sizes and without the loops that then run no iteration, it is exactly the
        rewrite that was validated and checked."""
        if not self.chosen:
            return None
        params = frozenset(p.name for p in kernel.params)
        parts: list[int | Stmt] = []
        for position in range(len(kernel.body)):
            if position not in self.chosen:
                parts.append(position)
                continue
            rw = self.chosen[position]
            w_type = kernel.decl(rw.fragment.form.buf).dtype
            ordered = reorder_refusal(rw.fragment.form, w_type, self.fp) is not None
            stmts = generalise_fragment(rw.plan, rw.fragment, kernel.body[position], params,
                                        ordered)
            if stmts is None:
                return None
            parts.extend(stmts)
        try:
            general = check_function(_general_kernel(kernel, self.bound, tuple(parts)),
                                     self.callees)
        except TensorizeError:
            return None
        at_sizes = bake_sizes(general, self.bound)
        if without_empty_loops(at_sizes.body) != self.rewritten.body:
            return None
        return tuple(parts)


def _called(fn: Function) -> set[str]:
    """The names of the intrinsics ``fn`` calls."""
    return {c.name for c in calls(fn.body)}


def _rewrite_kernel(kernel: Function, replaced: Mapping[int, tuple[Stmt, ...]]
                    ) -> Function:
    """``kernel`` with each chosen fragment or nest, by position, replaced by the
    statements of its rewrite (exactly those that were validated, widened where the plan
    says)."""
    body: list[Stmt] = []
    for position, stmt in enumerate(kernel.body):
        body.extend(replaced.get(position, (stmt,)))
    return replace(kernel, body=tuple(body))


@by_identity()
def _narrowed(intr: Function) -> Function | None:
    """``intr`` narrowed to its windows (:func:`tensorize.matcher.window.narrow`), one
    object per intrinsic object (registered in :data:`_WINDOWS`), or None."""
    made = narrow(intr)
    if made is None:
        return None
    _WINDOWS[id(made[0])] = (made[0], made[1], intr)
    return made[0]


def _general_kernel(kernel: Function, sizes: Mapping[str, int],
                    parts: tuple[int | Stmt, ...]) -> Function:
    """``kernel`` with the body ``parts`` (positions are its own statements) and its size
    parameters' defaults set to ``sizes``."""
    body = tuple(kernel.body[p] if isinstance(p, int) else p for p in parts)
    params = tuple(replace(p, default=sizes.get(p.name, p.default)) for p in kernel.params)
    return replace(kernel, params=params, body=body)


@by_identity()
def _text_of(fn: Function) -> str:
    """``format_function(fn)``, printed once per function object."""
    return format_function(fn)


def _as_cached(result: Result) -> Result:
    """A stored result, marked as read from the cache."""
    if isinstance(result, Proved) and not result.method.endswith("(cached)"):
        return replace(result, method=f"{result.method} (cached)", time=0.0)
    return result


def _validation_fact(kernel: Function, frag: Fragment, stmts: tuple[Stmt, ...],
                     tile: Function, fp: str) -> str:
    """The key of "these statements validly replace this fragment", up to the names of
    loop variables and view dimensions (a renamed copy of a kernel finds it)."""
    both = Function("kernel", "_", (), kernel.buffers, kernel.assumes, (),
                    (frag.stmt,) + tuple(stmts))
    return obligation_key(canonical_text(both), canonical_text(tile), f"valid-rewrite {fp}")


Tried = list[tuple[Fragment, list[tuple["Attempt", Rewrite]],
                   list[tuple[str, RejectReason, str]]]]
ANY_FAMILY = "*"
"""The family of library calls, which run beside any machine's instructions."""


def _layout(stmts: tuple[Stmt, ...], kernel: Function) -> tuple[int, int]:
    """(strided views, views) of the call among ``stmts``: a view is strided when its
    innermost dimension does not step by one element of its buffer (row-major), or is
    not linear (a fused group's division and remainder gather)."""
    strided = total = 0
    for node in calls(stmts):
        for arg in node.args:
            view = arg.value
            if not isinstance(view, View) or not view.dims:
                continue
            buf = kernel.buffer(view.buf)
            total += 1
            step = _step(view, buf.shape if buf is not None else ())
            strided += step != 1
    return strided, total


def _step(view: View, shape: tuple[Expr, ...]) -> int | None:
    """How many elements the view's innermost dimension steps by (None: not linear)."""
    extents = [const_value(e) for e in shape]
    known = [n for n in extents if n is not None]
    if len(known) != len(extents) or len(known) != len(view.index):
        return None
    moved = steps(view, view.dims[-1:], known)
    return None if moved is None else moved[0]


def _family(target: str) -> str:
    """The machine family of a target (``x86`` for ``x86.avx512_vnni``)."""
    info = target_info(target)
    if info is not None and info.machine == "any":
        return ANY_FAMILY
    return target.split(".")[0]


def scalar_cost(frag: Fragment, fp: str) -> float:
    """What the fragment costs left as scalar code: one unit per update instance, or
    :data:`CHAIN_ADD_COST` per update when it is an IEEE float sum (``+`` or ``fma``)
    into one element, a single chain of dependent adds."""
    form = frag.form
    if (fp == FpMode.IEEE and form.op in ("+", "fma") and form.body.dtype.is_float
            and math.prod(form.loop(v).extent for v in form.spatial) == 1):
        return frag.instances * CHAIN_ADD_COST
    return frag.instances * SCALAR_COST


def _unproved(result: Result, differs: str, proof: str, base: Attempt) -> Attempt | None:
    """The attempt (``base`` with its verdict) a tile (or nest) proof that did not prove
    makes: refuted, with ``differs`` and the counterexample, or unknown, with the
    ``proof``'s reason; None when it proved."""
    if isinstance(result, Refuted):
        return replace(base, status=Verdict.REFUTED, reason=f"{differs} ({TILE_NAMES}):\n"
                       + result.counterexample.describe(PROGRAM_SIDE, INTRINSIC_SIDE),
                       proof=result)
    if not isinstance(result, Proved):
        return replace(base, status=Verdict.UNKNOWN, reason=f"{proof}: {result.reason}",
                       proof=result)
    return None


def operand_inversions(cand: Match, frag: Fragment) -> int:
    """How many pairs of the intrinsic's input parameters are bound to the program's
    reads in the opposite order (reads ordered as they appear in the update): 0 when
    parameter ``a`` takes the program's first operand, ``b`` the second, and so on."""
    order = {site: n for n, site in enumerate(program_sites(frag.form))}
    sites = dict(cand.sites)
    for p, members in cand.members:  # a family of reads: where its first member is read
        if members:
            sites[p] = members[0]
    places = [order.get((buf, sites[p]), len(order)) for p, buf in cand.pairing
              if p in sites]
    return sum(1 for m in range(len(places)) for n in range(m + 1, len(places))
               if places[m] > places[n])


def _preference(attempt: Attempt, rewrite: Rewrite, frag: Fragment
                ) -> tuple[float, int, int, int, int]:
    """The order in which the candidates of a fragment are preferred (see :func:`_pick`):
    cost, then fewer strided views, more loops fused into the innermost group, operands
    in the program's order, more views widened."""
    return (attempt.cost, attempt.strided, -len(rewrite.plan.groups[-1].vars),
            operand_inversions(rewrite.plan.match, frag), -attempt.widened)


def _pick(frag: Fragment, attempts: list[tuple[Attempt, Rewrite]],
          rejected: list[tuple[str, RejectReason, str]], family: str | None,
          fp: str = FpMode.IEEE) -> tuple[FragmentReport, Rewrite | None]:
    """The cheapest proved candidate of ``family`` (any, if None) if it beats scalar code
    (:func:`scalar_cost`).

    Ties go to the candidate with fewer strided or gathered views, then to the one whose
    innermost group fuses more loops, then to the one whose input parameters take the
    program's operands in their order (:func:`operand_inversions`: ``dp4a.u32_s32``, not
    its swapped twin ``dp4a.s32_u32``, for ``i32(A[u8]) * i32(B[i8])``), then to the one
    that takes packed operands whole through widened window views (``dp2a.hi_s32`` on
    the word ``B[w, 0..4]`` over ``dp2a.lo_s32`` on its bytes 2..4), then to the
    intrinsic met first.
    """
    scalar = scalar_cost(frag, fp)
    good = [(a, rw) for a, rw in attempts if a.status == "proved"
            and (family is None or _family(rw.intrinsic.target) in (family, ANY_FAMILY))]
    best = min(good, key=lambda x: _preference(x[0], x[1], frag), default=None)
    pick = None
    chosen = None
    if best is not None and best[0].cost < scalar:
        chosen, pick = best
    others = tuple(a for a, _rw in attempts if a is not chosen)
    return FragmentReport(frag.position, frag.instances, scalar, chosen, others,
                          tuple(rejected)), pick


def _best_family(tried: Tried, mixing: bool, fp: str = FpMode.IEEE) -> str | None:
    """The machine family whose intrinsics make the cheapest kernel (None: mix them)."""
    if mixing:
        return None
    families = sorted({_family(rw.intrinsic.target) for _f, attempts, _r in tried
                       for a, rw in attempts if a.status == "proved"} - {ANY_FAMILY})
    if len(families) <= 1:
        return None
    totals = []
    for family in families:
        total = 0.0
        for frag, attempts, rejected in tried:
            report, _pick_ = _pick(frag, attempts, rejected, family, fp)
            total += report.chosen.cost if report.chosen else report.scalar_cost
        totals.append((total, family))
    return min(totals)[1]


def _places(count: int, splits: list[Split]) -> dict[int, list[int]]:
    """Each original top-level position -> its positions after the ``splits``."""
    out: dict[int, list[int]] = {}
    by_original = {x.original: x for x in splits}
    place = 0
    for original in range(count):
        parts = by_original[original].parts if original in by_original else (place,)
        out[original] = list(parts)
        place += len(parts)
    return out


def _runnable(rewritten: Function, lib: Mapping[str, Function]) -> tuple[Function, str]:
    """What the execution check runs: the rewrite with its calls inlined where that
    computes exactly what the calls do (rewrite/inline.py: one vectorised pass instead of
    a batch per call), else the rewrite itself; and the words that say which."""
    from tensorize.rewrite.inline import NotInlined, inline_calls

    if not calls(rewritten.body):
        return rewritten, ""
    try:
        return inline_calls(rewritten, lib), ", calls inlined"
    except NotInlined:
        return rewritten, ""


def _mapping_shape(mapping: str) -> str:
    """A mapping's description without the tails' bounds (which change with the sizes)."""
    return re.sub(r" in -?\d+\.\.-?\d+", "", mapping)


def _with_check(report: FragmentReport, check: str) -> FragmentReport:
    if report.chosen is None:
        return report
    chosen = replace(report.chosen, checks=report.chosen.checks + (check,))
    return replace(report, chosen=chosen)


def _drop(report: FragmentReport, reason: str) -> FragmentReport:
    if report.chosen is None:
        return report
    failed = replace(report.chosen, status=Verdict.INVALID, reason=reason)
    return replace(report, chosen=None, alternatives=(failed,) + report.alternatives)
