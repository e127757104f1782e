"""Tensorizing: the pass, one file (`.tz` or `.mlir`), the files of ``tensorize apply``
(in ``--jobs`` worker processes, under the whole-command deadline) and the account of
``tensorize explain``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tensorize.api_checks import (
    DEFAULT_TIMEOUT,
    check_intrinsics,
    check_targets,
    command_targets,
    own_sizes,
    parse_sizes,
    solver_config,
)
from tensorize.api_load import Callees, is_mlir, load_specs, load_with_callees
from tensorize.equivalence.results import Proved, check_fp
from tensorize.errors import UsageError
from tensorize.intrinsics.library import Library, library_digest, load_library
from tensorize.outputs import check_output_dir, check_output_file

if TYPE_CHECKING:
    from tensorize.equivalence.cache import ProofCache
    from tensorize.ir.nodes import Function
    from tensorize.rewrite.engine import TensorizePass, TensorizeResult

T = TypeVar("T")
Progress = Callable[[Iterable[Any], int], Iterable[Any]]
"""Wraps the items of a loop (and their number) to show progress: a progress bar."""


@dataclass(frozen=True)
class OutOfTime:
    """A command's whole time budget ran out: nothing was decided, nothing written."""

    command: str
    reason: str
    """``the whole-command time budget of T s ran out during <stage>``."""
    exit_code = 3

    def describe(self) -> str:
        """The one line a command prints (with its newline)."""
        return (f"tensorize {self.command}: unknown: {self.reason}; nothing was written "
                "(unknown is never a rewrite)\n")


def within_budget(command: str, timeout: float | None, started: float | None,
                  func: Callable[..., T], *args: Any) -> T | OutOfTime:
    """``func(*args)``, bounded by ``timeout`` seconds counted from ``started`` (a
    ``time.monotonic()`` value) when given: run in a forked child that is killed at the
    deadline, its value pickled back; :class:`OutOfTime` (naming the stage it was in)
    when the budget runs out."""
    if timeout is None:
        return func(*args)
    from tensorize.deadline import Expired, call_with_deadline

    got = call_with_deadline(functools.partial(func, *args), (), timeout, started)
    if isinstance(got, Expired):
        return OutOfTime(command, got.reason)
    return got


def _solver_timeout(timeout: float | None) -> float:
    """Each solver call's timeout: the command's budget when given, else the default."""
    return DEFAULT_TIMEOUT if timeout is None else float(timeout)


def make_pass(library: Callees, *, targets: object = (),
              intrinsics: object = (), fp: str = "ieee", timeout: float = 10.0,
              rlimit: int | None = None, cache: bool = False,
              exhaustive: bool = False) -> TensorizePass:
    """A checked :class:`TensorizePass` (the object ``apply`` and ``tensorize`` run);
    ``exhaustive``: check every candidate, even those no choice depends on (explain)."""
    from tensorize.equivalence.cache import ProofCache, default_path
    from tensorize.rewrite.engine import TensorizePass

    lib = list(library.values()) if isinstance(library, Mapping) else list(library)
    return TensorizePass(targets=check_targets(lib, targets),
                         intrinsics=check_intrinsics(library, intrinsics),
                         fp=check_fp(fp), solver=solver_config(timeout, rlimit),
                         cache=ProofCache(default_path()) if cache else None,
                         exhaustive=exhaustive)


def tensorize(kernel: Function, library: Callees | None = None, *,
              targets: Sequence[str] = (), intrinsics: Sequence[str] = (),
              fp: str = "ieee", sizes: Mapping[str, int] | None = None,
              timeout: float = 10.0, rlimit: int | None = None,
              exhaustive: bool = False) -> TensorizeResult:
    """Rewrite a checked kernel with the intrinsics of ``library`` (the bundled one if None).

    Returns a frozen :class:`TensorizeResult`: ``.rewritten`` (a kernel whose sizes are
    fixed to ``sizes`` or the defaults), ``.fragments`` (per fragment: the chosen match,
    its proof, the alternatives and why the rest were rejected), ``.coverage``, ``.cost``
    and ``.to_json()``. ``targets`` and ``intrinsics`` are lists of names (a plain string
    is refused); unknown names are a :class:`UsageError`. ``exhaustive``: check every
    candidate (by default, one that no choice can depend on is reported unchecked).
    """
    lib = library if library is not None else load_library()
    pass_ = make_pass(lib, targets=targets, intrinsics=intrinsics, fp=fp, timeout=timeout,
                      rlimit=rlimit, exhaustive=exhaustive)
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
    stored: _StoredFile | None = field(default=None, repr=False, compare=False)
    """What the file store keeps of it (None: not to be stored)."""

    @property
    def changed(self) -> bool:
        """Whether any kernel of the file was rewritten."""
        return any(r["changed"] for r in self.reports)

    def describe(self) -> str:
        """The summary ``apply`` prints on standard error (lines ending in a newline)."""
        return "".join(line + "\n" for line in self.lines)


def tensorize_file(path: str, library: Library, tpass: TensorizePass,
                   sizes: Mapping[str, int]) -> FileResult:
    """Tensorize every kernel of one file (the unit of ``apply``)."""
    from tensorize.ir.nodes import Module
    from tensorize.ir.printer import format_module

    module, callees = load_with_callees(path, library)
    # the library itself when the file adds no intrinsic: the pass then keys its stored
    # decisions by the library's files instead of printing every spec
    lib: Library | Mapping[str, Function] = library if not module.intrinsics else callees
    before = _cache_counts(tpass)
    functions, results = [], []
    for fn in module.functions:
        if fn.kind != "kernel":
            functions.append(fn)
            continue
        result = tpass.run(fn, lib, own_sizes(fn, sizes))
        functions.append(result.faithful())
        results.append(result)
    # the file's comments stay with the statements and declarations kept from it
    text = format_module(Module(tuple(functions), layout=module.layout))
    return _file_result(path, text, results, (), tpass, before)


def _cache_counts(tpass: TensorizePass) -> tuple[int, int]:
    """The proof cache's hits and misses so far (0, 0 without a cache)."""
    return (tpass.cache.hits, tpass.cache.misses) if tpass.cache else (0, 0)


def _file_result(path: str, text: str, results: Sequence[TensorizeResult],
                 notes: Sequence[str], tpass: TensorizePass, before: tuple[int, int]
                 ) -> FileResult:
    """One file's :class:`FileResult`: its kernels' reports and summary lines, the notes,
    and the cache hits and misses since ``before``."""
    reports = [{**result.to_json(), "file": path} for result in results]
    kernels = tuple((r.kernel.name, r.coverage, _summary_parts(r)) for r in results)
    lines = [_summary(path, name, coverage, r.seconds, parts)
             for r, (name, coverage, parts) in zip(results, kernels, strict=True)]
    lines += [f"{path}: {note}" for note in notes]
    hits, misses = _cache_counts(tpass)
    return FileResult(path, text, reports, lines, hits - before[0], misses - before[1],
                      _StoredFile(path, text, tuple(reports), kernels, tuple(notes)))


def summary_line(path: str, result: TensorizeResult) -> str:
    """The readable account of one kernel's rewrite, as ``apply`` prints it."""
    return _summary(path, result.kernel.name, result.coverage, result.seconds,
                    _summary_parts(result))


def _summary(path: str, kernel: str, coverage: float, seconds: float, parts: str) -> str:
    return f"{path}: {kernel}: coverage {coverage:.0%}, {seconds:.2f} s\n    {parts}"


def _summary_parts(result: TensorizeResult) -> str:
    """The statements' lines of :func:`summary_line` (nothing in them is a time of this
    run but the proofs', which a stored decision keeps too)."""
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
    return "\n    ".join(parts)


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

    before = _cache_counts(tpass)
    done = tensorize_mlir(read_mlir(path), library.as_dict(), tpass.run, sizes,
                          signedness or {})
    return _file_result(path, done.text, done.results, done.notes, tpass, before)


@dataclass(frozen=True)
class ApplyOutputs:
    """Where ``tensorize apply`` writes: one path per input file (none: standard output),
    the JSON report (or None), and the sizes of its ``--set`` options."""

    paths: tuple[Path, ...]
    report: str | None
    sizes: dict[str, int]


def apply_outputs(files: Sequence[str], *, output: str | None = None,
                  out_dir: str | None = None, report: str | None = None,
                  sets: Sequence[str] = ()) -> ApplyOutputs:
    """The outputs of ``apply``, checked before any work: ``-o`` takes one input,
    ``--out-dir`` gets each input's name (two inputs of one name are refused), no input is
    overwritten, every target is writable."""
    if output and len(files) != 1:
        raise UsageError("-o takes one input file; use --out-dir for several")
    if output and out_dir:
        raise UsageError("-o and --out-dir exclude each other")
    sizes = parse_sizes(list(sets))
    if output:
        paths = [check_output_file(output, "-o")]
    elif out_dir:
        directory = check_output_dir(out_dir, "--out-dir", create=True)
        paths = [directory / Path(f).name for f in files]
    else:
        paths = []
    names = [t.name for t in paths]
    if len(set(names)) != len(names):
        raise UsageError("--out-dir: two input files have the same name")
    if report:
        check_output_file(report, "--report")
    for src, dst in zip(files, paths):
        if Path(src).resolve() == dst.resolve():
            raise UsageError(f"{dst}: refusing to overwrite an input file")
    return ApplyOutputs(tuple(paths), report, sizes)


@dataclass(frozen=True)
class _StoredFile:
    """What ``apply`` made of one file, kept in the cache under :func:`_file_key`: a
    second ``apply`` of the same bytes with the same library, options, host and engine
    is this lookup (no library is loaded, no kernel parsed), and reads as a stored
    decision of every kernel does: this run's time, the proofs' own."""

    path: str
    text: str
    reports: tuple[dict[str, Any], ...]
    kernels: tuple[tuple[str, float, str], ...]
    """(kernel, coverage, the statements' summary lines) of each kernel."""
    notes: tuple[str, ...]

    def replay(self, seconds: float) -> FileResult:
        """The file's result, as found ``seconds`` after the lookup began."""
        reports = [{**r, "seconds": round(seconds, 6),
                    "stages": {**dict.fromkeys(r.get("stages", {}), 0.0),
                               "lookup": round(seconds, 6)}} for r in self.reports]
        lines = [_summary(self.path, name, coverage, seconds, parts)
                 for name, coverage, parts in self.kernels]
        lines += [f"{self.path}: {note}" for note in self.notes]
        return FileResult(self.path, self.text, reports, lines, len(self.kernels), 0)


def _file_key(path: str, library: str, options: str) -> str | None:
    """The key of ``apply``'s result for the file at ``path`` (None if it cannot be read:
    the run reports it): its path and bytes, the library's files, every option of the
    command and, through :func:`obligation_key`, the engine's source."""
    import hashlib

    from tensorize.equivalence.cache import obligation_key

    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return obligation_key(f"{path}\0{hashlib.sha256(data).hexdigest()}", library,
                          f"apply-file {options}")


def _host() -> str:
    """What the default targets depend on besides the library: the host's CPU."""
    from tensorize.intrinsics.host import cpu_flags, host_machine

    return f"{host_machine()} {' '.join(sorted(cpu_flags()))}"


@dataclass(frozen=True)
class Applied:
    """What ``apply`` made of its files (in their order) and whether it used the cache."""

    results: tuple[FileResult, ...]
    cache_enabled: bool

    @property
    def changed(self) -> bool:
        """Whether any kernel of any file was rewritten."""
        return any(r.changed for r in self.results)

    def to_json(self) -> dict[str, Any]:
        """The JSON report: every kernel's report and the proof cache's figures."""
        hits = sum(r.cache_hits for r in self.results)
        misses = sum(r.cache_misses for r in self.results)
        cache = {"enabled": self.cache_enabled, "hits": hits, "misses": misses,
                 "hit_rate": round(hits / (hits + misses), 4) if hits + misses else 0.0}
        return {"kernels": [k for r in self.results for k in r.reports],
                "proof_cache": cache}

    def json_text(self) -> str:
        """:meth:`to_json` as indented text, with a final newline."""
        return json.dumps(self.to_json(), indent=2) + "\n"


def _apply_worker(job: tuple[str, tuple[str, ...], TensorizePass, dict[str, int],
                             dict[str, str]]) -> FileResult:
    """One file of ``apply`` in a worker process (the library is loaded there)."""
    path, specs, tpass, sizes, signedness = job
    return tensorize_any(path, load_specs(specs), tpass, sizes, signedness)


def _no_progress(items: Iterable[Any], total: int) -> Iterable[Any]:
    return items


def _apply_all(files: tuple[str, ...], specs: tuple[str, ...], targets: tuple[str, ...],
               intrinsics: tuple[str, ...], fp: str, timeout: float | None,
               rlimit: int | None, cache: bool, sizes: dict[str, int], jobs: int,
               signedness: dict[str, str], progress: Progress) -> Applied:
    """The work of ``apply``: the results stored for these files when the cache has
    them, else the library loaded and every other file tensorized, in ``jobs``
    processes if more than one."""
    start = time.perf_counter()
    found: dict[str, FileResult] = {}
    keys: dict[str, str] = {}
    store = _file_store(cache)
    if store is not None:
        digest = library_digest(specs)
        if digest is not None:
            options = repr((targets, intrinsics, fp, timeout, rlimit, sorted(sizes.items()),
                            sorted(signedness.items()), _host()))
            for path in files:
                if is_mlir(path):  # read through xDSL, whose version no key covers
                    continue
                key = _file_key(path, digest, options)
                kept = store.get_blob(key, "apply-file") if key is not None else None
                if isinstance(kept, _StoredFile) and kept.path == path:
                    found[path] = kept.replay(time.perf_counter() - start)
                elif key is not None:
                    keys[path] = key
    todo = tuple(f for f in files if f not in found)
    done = _apply_files(todo, specs, targets, intrinsics, fp, timeout, rlimit, cache,
                        sizes, jobs, signedness, progress) if todo else ()
    for result in done:
        if store is not None and result.path in keys and result.stored is not None:
            # the reports as plain JSON values (no enum of the engine to import on reading)
            plain = tuple(json.loads(json.dumps(r)) for r in result.stored.reports)
            store.put_blob(keys[result.path], "apply-file",
                           dataclasses.replace(result.stored, reports=plain))
    made = dict(zip(todo, done, strict=True))
    return Applied(tuple(found.get(f) or made[f] for f in files), cache)


def _file_store(cache: bool) -> ProofCache | None:
    """The proof cache, holding ``apply``'s stored files (None: ``--no-cache``)."""
    if not cache:
        return None
    from tensorize.equivalence.cache import ProofCache, default_path

    return ProofCache(default_path())


def _apply_files(files: tuple[str, ...], specs: tuple[str, ...], targets: tuple[str, ...],
                 intrinsics: tuple[str, ...], fp: str, timeout: float | None,
                 rlimit: int | None, cache: bool, sizes: dict[str, int], jobs: int,
                 signedness: dict[str, str], progress: Progress) -> tuple[FileResult, ...]:
    """Every file tensorized with the library loaded (in ``jobs`` processes if more than
    one), in order."""
    library = load_specs(specs)  # a bad spec is reported before any work
    chosen = command_targets(library, targets, intrinsics)
    tpass = make_pass(library, targets=chosen, intrinsics=intrinsics, fp=fp,
                      timeout=_solver_timeout(timeout), rlimit=rlimit, cache=cache)
    jobs = min(jobs, len(files))
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # an executor, not multiprocessing.Pool: a worker that dies, or a result that does
        # not unpickle, breaks it with an error instead of hanging the command
        work = [(f, specs, tpass, sizes, signedness) for f in files]
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
            done = tuple(progress(ex.map(_apply_worker, work), len(work)))
    else:
        done = tuple(tensorize_any(f, library, tpass, sizes, signedness)
                     for f in progress(files, len(files)))
    return done


def apply_files(files: Sequence[str], *, specs: Sequence[str] = (),
                targets: Sequence[str] = (), intrinsics: Sequence[str] = (),
                fp: str = "ieee", timeout: float | None = None, rlimit: int | None = None,
                cache: bool = True, sizes: Mapping[str, int] | None = None, jobs: int = 1,
                signedness: Mapping[str, str] | None = None, started: float | None = None,
                progress: Progress = _no_progress) -> Applied | OutOfTime:
    """``tensorize apply``: every kernel of every file tensorized with the library and
    ``specs`` (targets as :func:`command_targets` chooses them), in ``jobs`` worker
    processes. ``timeout`` bounds each solver call and, counted from ``started``, the
    whole work (then :class:`OutOfTime`). ``progress`` wraps the loop over the files."""
    return within_budget("apply", timeout, started, _apply_all, tuple(files), tuple(specs),
                         tuple(targets), tuple(intrinsics), fp, timeout, rlimit, cache,
                         dict(sizes or {}), jobs, dict(signedness or {}), progress)


@dataclass(frozen=True)
class KernelExplanation:
    """Every candidate the pass considered for one intrinsic in one kernel."""

    intrinsic: str
    fp: str
    result: TensorizeResult

    @property
    def used(self) -> bool:
        """Whether the intrinsic was chosen for some fragment."""
        return any(f.chosen is not None for f in self.result.fragments)

    def describe(self) -> str:
        """The account ``tensorize explain`` prints (lines ending in a newline)."""
        r = self.result
        sizes = ", ".join(f"{k}={v}" for k, v in r.sizes.items())
        lines = [f"kernel {r.kernel.name} ({sizes}), intrinsic {self.intrinsic}, "
                 f"{self.fp} mode"]
        if not r.fragments:
            lines.append("  no fragment in reduction form (init, then W[I] = W[I] op term)")
        for f in r.fragments:
            lines.append(f"  statement {f.position} ({f.instances} update instances):")
            lines += [f"    no candidate: {kind}: {message}" for _n, kind, message in f.rejected]
            attempts = ([f.chosen] if f.chosen else []) + list(f.alternatives)
            for a in attempts:
                mark = "USED" if a is f.chosen else a.status
                lines.append(f"    candidate [{mark}] {a.mapping}: {a.calls} calls, cost "
                             f"{a.cost:g} (scalar {f.scalar_cost:g})")
                if a is f.chosen and a.plan is not None:  # how the rewrite is laid out
                    lines += [f"      plan: {line}" for line in a.plan.describe().splitlines()]
                if a.reason:
                    lines += [f"      {line}" for line in a.reason.splitlines()]
                elif a is not f.chosen and a.status == "proved":
                    lines.append("      proved, but " + (
                        "no cheaper than the scalar loop" if a.cost >= f.scalar_cost else
                        "another candidate costs less"))
        return "".join(line + "\n" for line in lines)


def _explain_all(path: str, intrinsic: str, specs: tuple[str, ...], kernel: str | None,
                 sets: tuple[str, ...], fp: str, timeout: float | None, rlimit: int | None
                 ) -> tuple[KernelExplanation, ...]:
    """The work of ``explain``: the library and the file loaded, the pass on each kernel."""
    module, callees = load_with_callees(path, load_specs(specs))
    if intrinsic not in callees:
        check_intrinsics(callees, [intrinsic])
    tpass = make_pass(callees, intrinsics=[intrinsic], fp=fp,
                      timeout=_solver_timeout(timeout), rlimit=rlimit, exhaustive=True)
    sizes = parse_sizes(list(sets))
    found = module.get(kernel) if kernel else None
    if kernel and found is None:
        raise UsageError(f"{path}: no kernel '{kernel}'")
    kernels = [found] if found is not None else list(module.kernels)
    return tuple(KernelExplanation(intrinsic, fp, tpass.run(fn, callees, own_sizes(fn, sizes)))
                 for fn in kernels)


def explain_file(path: str, intrinsic: str, *, specs: Sequence[str] = (),
                 kernel: str | None = None, sets: Sequence[str] = (), fp: str = "ieee",
                 timeout: float | None = None, rlimit: int | None = None,
                 started: float | None = None) -> tuple[KernelExplanation, ...] | OutOfTime:
    """``tensorize explain``: every candidate considered for ``intrinsic`` in each kernel
    of a `.tz` file (``kernel``, else all) and why each was or was not used. ``timeout``
    as for :func:`apply_files`."""
    return within_budget("explain", timeout, started, _explain_all, path, intrinsic,
                         tuple(specs), kernel, tuple(sets), fp, timeout, rlimit)

