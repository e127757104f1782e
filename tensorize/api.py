"""The library interface: what another compiler calls (and what the CLI is a layer over).

Every entry point validates its arguments the same way the command line does: an unknown
float mode, target or intrinsic, a timeout that is not a finite positive number, or a
string where a list of names is wanted is a :class:`UsageError` naming the valid values.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tensorize.equivalence.results import FP_MODES, check_fp
from tensorize.errors import CheckError, NotComparable, UsageError
from tensorize.intrinsics.host import host_supports, in_target
from tensorize.intrinsics.library import Library, load_library
from tensorize.ir.nodes import Function, Module

# numpy, the interpreter, the parser (lark) and the checker are imported where first used
if TYPE_CHECKING:
    import numpy as np

    from tensorize.equivalence.results import FpMode, Result
    from tensorize.equivalence.solver import SolverConfig
    from tensorize.ir import interp
    from tensorize.rewrite.engine import TensorizePass, TensorizeResult

__all__ = ["Library", "load_library", "load_specs", "parse", "load", "load_with_callees",
           "run", "find_function", "prove", "tensorize", "tensorize_file", "FileResult",
           "FP_MODES", "check_fp", "check_timeout", "check_names", "check_targets",
           "ALL_TARGETS", "host_targets", "command_targets",
           "check_intrinsics", "check_rlimit", "check_seed", "check_jobs", "solver_config",
           "signature_difference", "STRUCTURAL_METHOD"]

MAX_TIMEOUT = 10_000_000.0
"""The largest timeout accepted, in seconds (about 116 days; Z3 takes milliseconds in an
unsigned 32-bit field, so the solver's own timeout is clamped to that)."""
MAX_RLIMIT = 2**32 - 1
"""Z3's resource limit is an unsigned 32-bit number."""
MAX_SEED = 2**63 - 1
MAX_JOBS = 1024
STRUCTURAL_METHOD = "tile proof + validated rewrite (same rewrite as apply)"


# -- argument checks ------------------------------------------------------------------
def check_timeout(timeout: object, what: str = "timeout") -> float:
    """``timeout`` is a finite positive number of seconds (at most :data:`MAX_TIMEOUT`)."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise UsageError(f"{what} must be a number of seconds, got {timeout!r}")
    value = float(timeout)
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{what} must be a finite positive number of seconds, "
                         f"got {timeout!r}")
    if value > MAX_TIMEOUT:
        raise UsageError(f"{what} must be at most {MAX_TIMEOUT:g} seconds, got {timeout!r}")
    return value


def _check_int(value: object, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageError(f"{what} must be an integer, got {value!r}")
    if not lo <= int(value) <= hi:
        raise UsageError(f"{what} must be between {lo} and {hi}, got {value}")
    return int(value)


def check_rlimit(rlimit: object) -> int:
    """A Z3 resource limit: 0 (no limit) up to 2^32 - 1."""
    return _check_int(rlimit, "rlimit", 0, MAX_RLIMIT)


def check_seed(seed: object) -> int:
    """A random seed: 0 up to 2^63 - 1."""
    return _check_int(seed, "seed", 0, MAX_SEED)


def check_jobs(jobs: object) -> int:
    """A number of worker processes: 1 up to :data:`MAX_JOBS`."""
    return _check_int(jobs, "jobs", 1, MAX_JOBS)


def check_names(names: object, what: str) -> tuple[str, ...]:
    """A list of names; a plain string is refused (it would be read letter by letter)."""
    if names is None:
        return ()
    if isinstance(names, str | bytes):
        raise UsageError(f"{what} must be a list of names, not the string {names!r} "
                         f"(write [{names!r}])")
    try:
        items = tuple(cast("Iterable[object]", names))
    except TypeError:
        raise UsageError(f"{what} must be a list of names, got {names!r}") from None
    for item in items:
        if not isinstance(item, str) or not item:
            raise UsageError(f"{what}: {item!r} is not a name")
    return cast("tuple[str, ...]", items)


def _listing(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def check_targets(library: Iterable[Function], targets: object) -> tuple[str, ...]:
    """Each target names a target of the library or a prefix family of them (``x86``)."""
    names = check_names(targets, "targets")
    known = {fn.target for fn in library if fn.target}
    for t in names:
        if not any(in_target(k, t) for k in known):
            raise UsageError(f"unknown target '{t}' (valid: {_listing(known)}, or a family "
                             "prefix such as x86)")
    return names


ALL_TARGETS = "all"
"""The ``--target`` value that names every target of the library."""


def host_targets(library: Iterable[Function]) -> tuple[str, ...]:
    """The targets ``apply`` uses when none is named: every target of the library that the
    host CPU runs (library calls such as ``blas`` run anywhere), and every target of a spec
    the user loaded (``--specs``: asked for by loading it)."""
    bundled = set(load_library(()).keys())
    return tuple(sorted({fn.target for fn in library if fn.target and (
        host_supports(fn.target) or fn.name not in bundled)}))


def command_targets(library: Iterable[Function], targets: object,
                    intrinsics: object = ()) -> tuple[str, ...]:
    """The targets of a command's ``--target`` options, checked: ``all`` is every target
    of the library (the empty tuple); none named is :func:`host_targets`, unless
    intrinsics are named (``--intrinsic``), which select by name whatever their target.
    Deterministic runs (the bench, the tests) name their targets."""
    lib = list(library)
    names = check_names(targets, "targets")
    if ALL_TARGETS in names:
        if len(names) > 1:
            raise UsageError(f"--target {ALL_TARGETS} names every target; name no other "
                             "target with it")
        return ()
    if names or check_names(intrinsics, "intrinsics"):
        return check_targets(lib, names)
    found = host_targets(lib)
    if not found:
        raise UsageError("this host runs none of the library's targets; name one with "
                         f"--target, or --target {ALL_TARGETS}")
    return found


def check_intrinsics(library: Mapping[str, Function] | Library,
                     intrinsics: object) -> tuple[str, ...]:
    """Each name is an intrinsic of the library."""
    names = check_names(intrinsics, "intrinsics")
    for n in names:
        if n not in library:
            raise UsageError(f"unknown intrinsic '{n}' (valid: {_listing(library.keys())})")
    return names


def solver_config(timeout: float = 10.0, rlimit: int | None = None,
                  backend: str = "z3") -> SolverConfig:
    """The solver settings of a checked timeout (s), resource limit and back end."""
    from tensorize.equivalence.solver import SolverConfig, check_solver

    ms = max(1, min(int(check_timeout(timeout) * 1000), 2**32 - 1))
    if rlimit is None:
        return SolverConfig(timeout_ms=ms, backend=check_solver(backend))
    return SolverConfig(timeout_ms=ms, rlimit=check_rlimit(rlimit),
                        backend=check_solver(backend))


# -- loading --------------------------------------------------------------------------
def parse(text: str, name: str = "<input>", library: Mapping[str, Function] | None = None,
          ) -> Module:
    """Parse and type-check `.tz` text; calls may use intrinsics of ``library``."""
    from tensorize.ir.check import check_module
    from tensorize.ir.parser import parse as parse_text

    return check_module(parse_text(text, name), library)


def parse_path(path: str | Path) -> Module:
    """Read and parse one `.tz` file (untyped IR), from the parse store when these bytes
    under this name were parsed before by this engine (no parser is even imported then);
    a parse that succeeds is stored for the next process."""
    from tensorize.intrinsics.store import read_stored, stored_path, write_stored
    from tensorize.ir.nodes import Module

    try:
        data = Path(path).read_bytes()
    except OSError:
        data = None
    if data is None:  # the parser reports a missing or unreadable file
        from tensorize.ir.parser import parse_file

        return parse_file(path)
    where = stored_path("parse", (str(path).encode(), data))
    found = read_stored(where, lambda value: isinstance(value, Module))
    if isinstance(found, Module):
        return found
    from tensorize.ir.parser import decode
    from tensorize.ir.parser import parse as parse_source

    module = parse_source(decode(data, str(path)))  # the bytes the key was made of
    write_stored(where, module)
    return module


def load(path: str | Path, library: Mapping[str, Function] | None = None) -> Module:
    """Read, parse and type-check one `.tz` file."""
    from tensorize.ir.check import check_module

    return check_module(parse_path(path), library)


def load_with_callees(path: str | Path, library: Mapping[str, Function] | Library,
                      ) -> tuple[Module, dict[str, Function]]:
    """Read and check a file; also every intrinsic its calls may use (library + file)."""
    from tensorize.ir.check import check_module

    callees = dict(library.items()) if isinstance(library, Mapping) else library.as_dict()
    module = check_module(parse_path(path), callees)
    callees.update({f.name: f for f in module.intrinsics})
    return module, callees


def load_specs(paths: Iterable[str | Path] = (), *, bundled: bool = True) -> Library:
    """The library plus the specs under ``paths``, each of which must pass ``check-spec``.

    A user spec with a lint finding or whose own run fails is refused with its diagnostics
    (a :class:`CheckError`): a wrong spec would make every rewrite into it wrong. The
    bundled specs are checked by the test suite instead.
    """
    paths = list(paths)
    library = load_library(paths, bundled=bundled)
    if not paths:
        return library
    from tensorize.intrinsics.check_spec import check_spec  # runs specs: numpy, lark

    bundled_names = set(load_library(()).keys()) if bundled else set()
    problems: list[tuple[str, Any]] = []
    for fn in library:
        if fn.name in bundled_names:
            continue
        report = check_spec(fn, library.as_dict())
        for finding in report.findings:
            problems.append((f"spec '{fn.name}' fails check-spec: {finding.message}",
                             finding.span))
        if report.ran != "ok":
            problems.append((f"spec '{fn.name}' fails check-spec: its run {report.ran}",
                             fn.span))
    if problems:
        raise CheckError(problems)
    return library


def find_function(module: Module, name: str | None, kind: str = "kernel") -> Function:
    """The function called ``name``; without a name, the module's only kernel."""
    if name is not None:
        fn = module.get(name)
        if fn is None:
            known = ", ".join(f.name for f in module.functions)
            raise UsageError(f"no kernel or intrinsic named '{name}' (the file has: {known})")
        return fn
    candidates = module.kernels if kind == "kernel" else module.intrinsics
    if len(candidates) != 1:
        raise UsageError(f"the file has {len(candidates)} {kind}s; choose one by name")
    return candidates[0]


def run(fn: Function, inputs: Mapping[str, np.ndarray] | None = None, *, seed: int = 0,
        sizes: Mapping[str, int] | None = None, library: Mapping[str, Function] | None = None,
        mode: interp.Mode = "vector") -> dict[str, np.ndarray]:
    """Run a checked kernel; without inputs, on seeded random ones."""
    from tensorize.ir import interp

    if inputs is None:
        inputs = interp.random_inputs(fn, sizes, check_seed(seed))
    return interp.run(fn, inputs, sizes=sizes, library=library, mode=mode)


# -- prove ----------------------------------------------------------------------------
def _own(fn: Function, sizes: Mapping[str, int] | None) -> dict[str, int]:
    return {k: v for k, v in (sizes or {}).items() if any(p.name == k for p in fn.params)}


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
    from tensorize.ir.nodes import CallStmt
    from tensorize.ir.traverse import walk

    return {n.name for s in fn.body for n in walk(s) if isinstance(n, CallStmt)}


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
    from tensorize.equivalence.results import Proved
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
    sa = interp.bind_sizes(a, {**_own(a, sizes), **(sizes_a or {})})
    sb = interp.bind_sizes(b, {**_own(b, sizes), **(sizes_b or {})})
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


# -- tensorize ------------------------------------------------------------------------
def make_pass(library: Mapping[str, Function] | Library, *, targets: object = (),
              intrinsics: object = (), fp: str = "ieee", timeout: float = 10.0,
              rlimit: int | None = None, cache: bool = False) -> TensorizePass:
    """A checked :class:`TensorizePass` (the object ``apply`` and ``tensorize`` run)."""
    from tensorize.equivalence.cache import ProofCache, default_path
    from tensorize.rewrite.engine import TensorizePass

    lib = list(library.values()) if isinstance(library, Mapping) else list(library)
    return TensorizePass(targets=check_targets(lib, targets),
                         intrinsics=check_intrinsics(library, intrinsics),
                         fp=check_fp(fp), solver=solver_config(timeout, rlimit),
                         cache=ProofCache(default_path()) if cache else None)


def tensorize(kernel: Function, library: Mapping[str, Function] | Library | None = None, *,
              targets: Sequence[str] = (), intrinsics: Sequence[str] = (),
              fp: str = "ieee", sizes: Mapping[str, int] | None = None,
              timeout: float = 10.0, rlimit: int | None = None) -> TensorizeResult:
    """Rewrite a checked kernel with the intrinsics of ``library`` (the bundled one if None).

    Returns a frozen :class:`TensorizeResult`: ``.rewritten`` (a kernel whose sizes are
    fixed to ``sizes`` or the defaults), ``.fragments`` (per fragment: the chosen match,
    its proof, the alternatives and why the rest were rejected), ``.coverage``, ``.cost``
    and ``.to_json()``. ``targets`` and ``intrinsics`` are lists of names (a plain string
    is refused); unknown names are a :class:`UsageError`.
    """
    lib = library if library is not None else load_library()
    pass_ = make_pass(lib, targets=targets, intrinsics=intrinsics, fp=fp, timeout=timeout,
                      rlimit=rlimit)
    return pass_.run(kernel, lib, sizes)


@dataclass(frozen=True)
class FileResult:
    """What ``apply`` made of one file: the rewritten text, reports and summary lines."""

    path: str
    text: str
    reports: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0

    @property
    def changed(self) -> bool:
        """Whether any kernel of the file was rewritten."""
        return any(r["changed"] for r in self.reports)


def tensorize_file(path: str, library: Library, tpass: TensorizePass,
                   sizes: Mapping[str, int]) -> FileResult:
    """Tensorize every kernel of one file (the unit of ``apply``)."""
    from tensorize.ir.printer import format_module

    module, callees = load_with_callees(path, library)
    functions, reports, lines = [], [], []
    h0 = tpass.cache.hits if tpass.cache else 0
    m0 = tpass.cache.misses if tpass.cache else 0
    for fn in module.functions:
        if fn.kind != "kernel":
            functions.append(fn)
            continue
        result = tpass.run(fn, callees, _own(fn, sizes))
        functions.append(result.faithful())
        report = result.to_json()
        report["file"] = path
        reports.append(report)
        lines.append(summary_line(path, result))
    # the file's comments stay with the statements and declarations kept from it
    text = format_module(Module(tuple(functions), layout=module.layout))
    hits = tpass.cache.hits - h0 if tpass.cache else 0
    misses = tpass.cache.misses - m0 if tpass.cache else 0
    return FileResult(path, text, reports, lines, hits, misses)


def summary_line(path: str, result: TensorizeResult) -> str:
    """The readable account of one kernel's rewrite, as ``apply`` prints it."""
    from tensorize.equivalence.results import Proved

    parts = []
    for f in result.fragments:
        if f.chosen is None:
            parts.append(f"statement {f.position}: not rewritten")
            continue
        c = f.chosen
        proof = c.proof
        how = f"{proof.method}, {proof.time * 1e3:.0f} ms" if isinstance(proof, Proved) else ""
        tail = f", scalar tail of {c.tail} instances" if c.tail else ""
        parts.append(f"statement {f.position}: {c.intrinsic} x {c.calls} calls{tail} "
                     f"(proved: {how}; cost {c.cost:g} vs scalar {f.scalar_cost:g})")
    if not parts:
        parts.append("no reduction fragment to tensorize")
    return (f"{path}: {result.kernel.name}: coverage {result.coverage:.0%}, "
            f"{result.seconds:.2f} s\n    " + "\n    ".join(parts))


# -- native code: the C back end (tensorize/backend/) ---------------------------------
def compile(kernel: Function, library: Mapping[str, Function] | Library | None = None,
            threads: int = 1, sizes: Mapping[str, int] | None = None) -> Any:
    """Compile a checked kernel (rewritten or not) to native code through C.

    Returns a :class:`tensorize.backend.native.NativeKernel`: call it with numpy arrays by
    buffer name (``k(A=a, B=b, C=c)``); it writes the ``out``/``inout`` arrays in place.
    Every size is fixed (``sizes``, else the defaults). ``threads`` > 1 runs the outermost
    loop proven independent with OpenMP. Needs a C compiler (``cc`` or ``$CC``); a missing
    compiler or a CPU without a feature the intrinsics need is a UsageError naming it.
    """
    from tensorize.backend.native import compile_kernel

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UsageError(f"threads must be a positive integer, not {threads!r}")
    lib = _as_mapping(library)
    return compile_kernel(kernel, lib, threads=threads, sizes=_own(kernel, sizes))


def _as_mapping(library: Mapping[str, Function] | Library | None) -> dict[str, Function]:
    if library is None:
        return load_library().as_dict()
    if isinstance(library, Library):
        return library.as_dict()
    return dict(library)


def operation_count(kernel: Function, sizes: Mapping[str, int] | None = None,
                    library: Mapping[str, Function] | None = None) -> int | None:
    """Arithmetic operations of one run: each ``+ - * /`` of data counts 1, ``fma`` 2
    (so a multiply-accumulate counts 2), a call its intrinsic's own count; casts, loads,
    stores and comparisons count 0. None when a loop bound is not a constant."""
    from tensorize.ir import interp
    from tensorize.ir.affine import linear_form
    from tensorize.ir.nodes import Assign, Binary, Call, CallStmt, For, If
    from tensorize.ir.traverse import walk

    lib = dict(library or {})
    bound = interp.bind_sizes(kernel, sizes)
    total = 0
    stack: list[tuple[Any, int]] = [(s, 1) for s in kernel.body]
    while stack:
        s, trips = stack.pop()
        if isinstance(s, For):
            lo, hi = linear_form(s.lo, bound), linear_form(s.hi, bound)
            if lo is None or hi is None or lo.coeffs or hi.coeffs:
                return None
            stack.extend((b, trips * max(hi.const - lo.const, 0)) for b in s.body)
        elif isinstance(s, If):
            return None
        elif isinstance(s, Assign):
            ops = sum(1 if isinstance(n, Binary) and n.op in ("+", "-", "*", "/") and
                      n.dtype is not None and n.dtype.is_numeric else
                      2 if isinstance(n, Call) and n.fn == "fma" else 0
                      for n in walk(s.value))
            total += trips * ops
        elif isinstance(s, CallStmt) and s.name in lib:
            inner = operation_count(lib[s.name], {}, lib)
            if inner is None:
                return None
            total += trips * inner
        else:
            return None
    return total


def missing_features_for(targets: Sequence[str]) -> list[str]:
    """The CPU features (``/proc/cpuinfo`` names) this host lacks to run ``targets``."""
    from tensorize.backend.build import missing_host_features

    return missing_host_features(targets)


# -- MLIR (tensorize/frontends/, docs/mlir.md) ----------------------------------------
MLIR_SUFFIX = ".mlir"


def is_mlir(path: str | Path) -> bool:
    """Whether ``path`` is read by the MLIR front end (by its extension)."""
    return str(path).endswith(MLIR_SUFFIX)


def load_any(path: str | Path, library: Mapping[str, Function] | Library,
             signedness: Mapping[str, str] | None = None,
             ) -> tuple[Module, dict[str, Function]]:
    """The checked kernels of a `.tz` or `.mlir` file (chosen by extension), and every
    intrinsic their calls may use. An MLIR file gives one kernel per ``func.func`` that
    holds loops or linalg ops; ``signedness`` maps MLIR argument names to integer types
    where the operations do not decide (``{"A": "u8"}``)."""
    if not is_mlir(path):
        return load_with_callees(path, library)
    from tensorize.frontends.mlir_import import ImportOptions, import_module
    from tensorize.frontends.mlir_parse import read_mlir

    callees = dict(library.items()) if isinstance(library, Mapping) else library.as_dict()
    module = import_module(read_mlir(str(path)), ImportOptions(dict(signedness or {})),
                           callees)
    return module, callees


def import_mlir(text: str, name: str = "<mlir>",
                library: Mapping[str, Function] | Library | None = None,
                signedness: Mapping[str, str] | None = None) -> Module:
    """MLIR text as checked `.tz` kernels (see :func:`load_any`)."""
    from tensorize.frontends.mlir_import import ImportOptions, import_module
    from tensorize.frontends.mlir_parse import parse_mlir

    lib = library if library is not None else load_library()
    callees = dict(lib.items()) if isinstance(lib, Mapping) else lib.as_dict()
    return import_module(parse_mlir(text, name), ImportOptions(dict(signedness or {})),
                         callees)


def export_mlir(functions: Sequence[Function], sizes: Mapping[str, int] | None = None,
                library: Mapping[str, Function] | Library | None = None) -> str:
    """Checked kernels (plain or rewritten) as one MLIR module (``affine``/``arith``/
    ``memref``; calls as ``func.call`` on views; sizes fixed to ``sizes`` or defaults)."""
    from tensorize.frontends.mlir_export import export_module

    lib = library if library is not None else load_library()
    callees = dict(lib.items()) if isinstance(lib, Mapping) else lib.as_dict()
    return export_module(functions, sizes, callees)


def tensorize_any(path: str, library: Library, tpass: TensorizePass,
                  sizes: Mapping[str, int], signedness: Mapping[str, str] | None = None,
                  ) -> FileResult:
    """:func:`tensorize_file` for a `.tz` file; for an `.mlir` file, every function with
    loops is imported, tensorized, and (when rewritten) its body replaced in the module,
    which is printed whole (see :mod:`tensorize.frontends.mlir_apply`)."""
    if not is_mlir(path):
        return tensorize_file(path, library, tpass, sizes)
    from tensorize.frontends.mlir_apply import tensorize_mlir
    from tensorize.frontends.mlir_parse import read_mlir

    h0 = tpass.cache.hits if tpass.cache else 0
    m0 = tpass.cache.misses if tpass.cache else 0
    done = tensorize_mlir(read_mlir(path), library.as_dict(), tpass.run, sizes,
                          signedness or {})
    reports, lines = [], []
    for result in done.results:
        report = result.to_json()
        report["file"] = path
        reports.append(report)
        lines.append(summary_line(path, result))
    lines.extend(f"{path}: {note}" for note in done.notes)
    hits = tpass.cache.hits - h0 if tpass.cache else 0
    misses = tpass.cache.misses - m0 if tpass.cache else 0
    return FileResult(path, done.text, reports, lines, hits, misses)
