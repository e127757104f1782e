"""The checks of the API's arguments, shared by the command line and every other caller.

An unknown float mode, target or intrinsic, a timeout that is not a finite positive
number, a string where a list of names is wanted, or a number out of its range is a
:class:`UsageError` naming the valid values. The command line's options are checked by the
same functions (``tensorize.cli`` converts the text, then calls these).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

from tensorize.errors import UsageError
from tensorize.intrinsics.host import host_supports, in_target
from tensorize.intrinsics.library import Library, load_library

if TYPE_CHECKING:
    from tensorize.equivalence.solver import SolverConfig
    from tensorize.ir.nodes import Function

MAX_TIMEOUT = 10_000_000.0
"""The largest timeout accepted, in seconds (about 116 days; Z3 takes milliseconds in an
unsigned 32-bit field, so the solver's own timeout is clamped to that)."""
MAX_RLIMIT = 2**32 - 1
"""Z3's resource limit is an unsigned 32-bit number."""
MAX_SEED = 2**63 - 1
MAX_JOBS = 1024
MAX_THREADS = 1024
MAX_REPEAT = 1_000_000
DEFAULT_TIMEOUT = 10.0
"""Each solver call's timeout (s) when no budget is given."""
ALL_TARGETS = "all"
"""The ``--target`` value that names every target of the library."""


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


def _check_int(value: object, what: str, lo: int, hi: int, got: str = "got") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageError(f"{what} must be an integer, got {value!r}")
    if not lo <= int(value) <= hi:
        raise UsageError(f"{what} must be between {lo} and {hi}, {got} {value}")
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


def check_threads(threads: object) -> int:
    """A number of OpenMP threads for native code (``--threads``): 1 up to 1024."""
    return _check_int(threads, "--threads", 1, MAX_THREADS, "not")


def check_repeat(repeat: object) -> int:
    """How many timed calls of native code (``--repeat``): 1 up to a million."""
    return _check_int(repeat, "--repeat", 1, MAX_REPEAT, "not")


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


def solver_config(timeout: float = DEFAULT_TIMEOUT, rlimit: int | None = None,
                  backend: str = "z3") -> SolverConfig:
    """The solver settings of a checked timeout (s), resource limit and back end."""
    from tensorize.equivalence.solver import SolverConfig, check_solver

    ms = max(1, min(int(check_timeout(timeout) * 1000), 2**32 - 1))
    if rlimit is None:
        return SolverConfig(timeout_ms=ms, backend=check_solver(backend))
    return SolverConfig(timeout_ms=ms, rlimit=check_rlimit(rlimit),
                        backend=check_solver(backend))


def parse_sizes(items: Sequence[str]) -> dict[str, int]:
    """``["M=64", "K=0x20"]`` (the ``--set`` options) as sizes; each value a non-negative
    integer (a :class:`UsageError` otherwise)."""
    sizes = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"--set takes NAME=VALUE, got '{item}'")
        try:
            sizes[name] = int(value, 0)
        except ValueError:
            raise UsageError(f"--set {name}: '{value}' is not an integer") from None
        if sizes[name] < 0:
            raise UsageError(f"--set {name}: sizes must not be negative")
    return sizes


def parse_signedness(items: Sequence[str]) -> dict[str, str]:
    """``["A=u8"]`` (the ``--signedness`` options of MLIR input) as a mapping."""
    if not items:
        return {}  # without the option, xDSL (2 s to import) is not loaded for .tz input
    from tensorize.frontends.mlir_import import parse_signedness as parse_options

    return parse_options(items)


def own_sizes(fn: Function, sizes: Mapping[str, int] | None) -> dict[str, int]:
    """The entries of ``sizes`` that name a size parameter of ``fn``
    (:func:`tensorize.ir.sizes.own_sizes`, imported when first used: a command that finds
    its results stored loads no IR)."""
    from tensorize.ir.sizes import own_sizes as of

    return of(fn, sizes)
