"""The ``tensorize`` command line: a thin layer over the library API.

Exit codes: 0 success, 1 a negative finding, 2 bad input or usage, 3 unknown (a proof
that timed out), 70 an internal error (a bug: please report it). A closed standard output
(``tensorize intrinsics | head -1``) ends the command quietly with 141 (128 + SIGPIPE).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from tensorize import __version__, api
from tensorize.equivalence.results import Proved, Refuted, Result, to_json_text
from tensorize.errors import NotComparable, TensorizeError, UsageError
from tensorize.intrinsics.host import in_target
from tensorize.intrinsics.library import Library, load_library
from tensorize.ir.nodes import Function, Module
from tensorize.ir.printer import format_module
from tensorize.outputs import check_output_dir, check_output_file, write_atomic

# numpy, z3, lark, the interpreter and the engine are imported by the commands that use
# them (inside the --timeout budget of apply and explain), not at start-up
if TYPE_CHECKING:
    import numpy as np

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 70
EXIT_BROKEN_PIPE = 141
DEFAULT_TIMEOUT = 10.0
T = TypeVar("T")

__all__ = ["main", "entry", "build_parser", "describe_result", "write_atomic"]


class _UsageExit(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as exceptions instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]  # argparse declares it NoReturn; ours raises too
        raise _UsageExit(f"{self.prog}: error: {message}")


def _checked(convert: Callable[[str], Any], check: Callable[[Any], T], what: str
             ) -> Callable[[str], T]:
    """An argparse ``type=``: convert the text, then check it with the API's own check."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"'{text}' is not {what}") from None
        try:
            return check(value)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    parse.__name__ = what  # argparse names the type in some messages
    return parse


_TIMEOUT = _checked(float, api.check_timeout, "a number of seconds")
_RLIMIT = _checked(lambda t: int(t, 0), api.check_rlimit, "an integer")
_SEED = _checked(lambda t: int(t, 0), api.check_seed, "an integer")
_JOBS = _checked(lambda t: int(t, 0), api.check_jobs, "an integer")


def _parse_sets(items: Sequence[str]) -> dict[str, int]:
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


def _library(args: argparse.Namespace) -> Library:
    """The bundled library and the --specs, each of which must pass check-spec."""
    return api.load_specs(getattr(args, "specs", None) or ())


def _progress(items: Iterable[T], err: TextIO, what: str, total: int) -> Iterator[T]:
    """``items`` with a progress bar on a terminal (nothing when stderr is not a TTY)."""
    show = total > 1 and hasattr(err, "isatty") and err.isatty()
    if not show:  # no bar: not even tqdm's import (0.1 s, most of a cached run)
        yield from items
        return
    from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

    tqdm.monitor_interval = 0  # no monitor thread: proofs may fork this process later
    yield from tqdm(items, total=total, desc=what, file=err, leave=False)


# -- commands -------------------------------------------------------------------------
def cmd_fmt(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print a file in canonical form (or check that it already is)."""
    if args.output:
        check_output_file(args.output, "-o")
    from tensorize.ir.parser import parse as parse_source
    from tensorize.ir.parser import read_source

    source = read_source(args.file)
    module = parse_source(source)
    text = format_module(module)
    if args.check:
        if text != source.text:
            err.write(f"{args.file}: not in canonical form\n")
            return EXIT_NEGATIVE
        return EXIT_OK
    if args.output:
        write_atomic(args.output, text)
    else:
        out.write(text)
    return EXIT_OK


def _chosen(args: argparse.Namespace, module: Module, verb: str,
            any_function: bool = False) -> tuple[tuple[Function, ...], dict[str, int]]:
    """The kernels a command works on (``--kernel K``, else every kernel of the file; with
    ``any_function`` K may name an intrinsic too) and the ``--set`` sizes, each of which
    must name a size parameter of one of them."""
    kernels = module.kernels
    if args.kernel:
        fn = module.get(args.kernel)
        if fn is None or (fn.kind != "kernel" and not any_function):
            names = ", ".join(f.name for f in (module.functions if any_function
                                               else module.kernels)) or "nothing"
            raise UsageError(f"{args.file}: no kernel '{args.kernel}' (the file has {names})")
        kernels = (fn,)
    if not kernels:
        raise UsageError(f"{args.file}: no kernel to {verb}")
    sizes = _parse_sets(args.set)
    unknown = set(sizes) - {p.name for k in kernels for p in k.params}
    if unknown:
        raise UsageError(f"--set: no kernel has a size parameter {', '.join(sorted(unknown))}")
    return kernels, sizes


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run kernels on seeded random inputs and print a checksum per output buffer."""
    from tensorize.ir import interp

    library = _library(args)
    module, callable_lib = api.load_any(args.file, library, _signedness(args))
    kernels, sizes = _chosen(args, module, "run", any_function=True)
    backend = getattr(args, "backend", "interp")
    if backend == "c" and args.scalar:
        raise UsageError("--scalar runs the reference interpreter; it does not go with "
                         "--backend c")
    if args.repeat is not None and backend != "c":
        raise UsageError("--repeat times compiled code: use it with --backend c")
    for fn in kernels:
        own = {k: v for k, v in sizes.items() if any(p.name == k for p in fn.params)}
        inputs = interp.random_inputs(fn, own, args.seed)
        timing = ""
        if backend == "c":
            outputs, timing = _run_native(fn, inputs, own, callable_lib, args)
        else:
            outputs = interp.run(fn, inputs, sizes=own, library=callable_lib,
                                 mode="scalar" if args.scalar else "vector")
        for b in fn.outputs:
            arr = outputs[b.name]
            shape = ", ".join(map(str, arr.shape))
            total = _total(arr)
            out.write(f"{fn.name}  {b.name}: {b.dtype}[{shape}]  checksum {interp.checksum(arr)}"
                      f"  sum {total}\n")
        if timing:
            out.write(timing)
    return EXIT_OK


# -- the C back end (run --backend c, build) -------------------------------------------
def _run_native(fn: Function, inputs: dict[str, np.ndarray], sizes: dict[str, int],
                library: dict[str, Function], args: argparse.Namespace
                ) -> tuple[dict[str, np.ndarray], str]:
    """Compile ``fn``, run it once on ``inputs`` (and ``--repeat`` times more, timed)."""
    import statistics

    import numpy as np

    from tensorize.ir import interp

    native = api.compile(fn, library, threads=args.threads, sizes=sizes)
    bound = interp.bind_sizes(fn, sizes)
    shapes = interp.shapes_of(fn, bound)
    interp.check_assumptions(fn, inputs)
    arrays = {b.name: (np.array(inputs[b.name], copy=True) if b.name in inputs else
                       np.zeros(shapes[b.name], dtype=b.dtype.np_dtype))
              for b in fn.buffers if b.mode != "local"}
    fresh = {k: v.copy() for k, v in arrays.items()}
    native(**arrays)
    if not args.repeat:
        return {b.name: arrays[b.name] for b in fn.outputs}, ""
    times = native.time(fresh, args.repeat)
    median = statistics.median(times)
    ops = api.operation_count(fn, sizes, library)
    gops = f"  {ops / median / 1e9:.2f} GOPS" if ops and median > 0 else ""
    text = (f"{fn.name}  time: median {median * 1e3:.3f} ms per call over {len(times)} "
            f"calls ({args.threads} thread{'s' if args.threads > 1 else ''}){gops}\n")
    return {b.name: arrays[b.name] for b in fn.outputs}, text


def cmd_build(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Write one C file (and its header) with one function per kernel."""
    from tensorize.backend.emit import emit_unit
    from tensorize.backend.native import check_emittable, schedule

    target = check_output_file(args.output, "-o")
    if target.suffix != ".c":
        raise UsageError(f"-o {args.output}: the output is a C file; name it OUT.c")
    header_path = target.with_suffix(".h")
    check_output_file(header_path, "-o (its header)")
    library = _library(args)
    module, callable_lib = api.load_with_callees(args.file, library)
    kernels, sizes = _chosen(args, module, "build")
    for fn in kernels:
        check_emittable(fn, callable_lib)
    kernels = tuple(schedule(fn, callable_lib) for fn in kernels)
    unit = emit_unit(kernels, callable_lib, sizes, threads=args.threads,
                     header_name=header_path.name)
    write_atomic(header_path, unit.header)
    write_atomic(target, unit.source)
    for f in unit.functions:
        err.write(f"{target}: {f.prototype}\n")
    if unit.templates_used:
        err.write(f"    intrinsics: {', '.join(unit.templates_used)} (needs "
                  f"{' '.join(unit.features) or 'no extra CPU feature'})\n")
    if unit.inlined:
        err.write(f"    as scalar C (no template, or views it cannot read): "
                  f"{', '.join(unit.inlined)}\n")
    if unit.parallel:
        err.write(f"    OpenMP ({args.threads} threads): {', '.join(unit.parallel)}: compile "
                  "with -fopenmp\n")
    return EXIT_OK


def _threads(text: str) -> int:
    try:
        n = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if not 1 <= n <= 1024:
        raise argparse.ArgumentTypeError(f"--threads must be between 1 and 1024, not {n}")
    return n


def _repeat(text: str) -> int:
    try:
        n = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if not 1 <= n <= 1_000_000:
        raise argparse.ArgumentTypeError(f"--repeat must be between 1 and 1000000, not {n}")
    return n


def _total(arr: np.ndarray) -> str:
    import numpy as np

    if arr.dtype.kind in "iub":
        return str(int(arr.astype(object).sum()) if arr.size else 0)
    return repr(float(np.sum(arr.astype(np.float64))))


def _function_ref(ref: str, library: Library, signedness: dict[str, str] | None = None,
                  ) -> tuple[Function, dict[str, Function]]:
    """``FILE.tz:name`` or ``FILE.mlir:func`` (or the file alone, with one kernel) -> the
    checked function."""
    path, sep, name = ref.rpartition(":")
    if not sep or not (path.endswith(".tz") or api.is_mlir(path)):
        path, name = ref, ""
    module, callees = api.load_any(path, library, signedness)
    if name:
        fn = module.get(name)
        if fn is None:
            names = ", ".join(f.name for f in module.functions)
            raise UsageError(f"{path}: no kernel or intrinsic '{name}' (the file has {names})")
        return fn, callees
    if len(module.kernels) != 1:
        raise UsageError(f"{path} has {len(module.kernels)} kernels; name one as {path}:NAME")
    return module.kernels[0], callees


def cmd_prove(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Prove or refute that two kernels compute the same thing, within --timeout overall."""
    if args.smtlib:
        check_output_dir(args.smtlib, "--smtlib", create=True)
    library = _library(args)
    a, lib_a = _function_ref(args.left, library, _signedness(args))
    b, lib_b = _function_ref(args.right, library, _signedness(args))
    lib_a.update(lib_b)
    sizes = _parse_sets(args.set)
    try:
        result = api.prove(a, b, fp=args.fp, timeout=args.timeout, rlimit=args.rlimit,
                           sizes=sizes, library=lib_a, wall_timeout=args.timeout,
                           wall_started=args.started, smtlib_dir=args.smtlib,
                           cross_check=args.cross_check, backend=args.solver)
    except NotComparable as exc:
        if args.json:
            out.write(json.dumps({"status": "not comparable", "reason": exc.message},
                                 indent=2, sort_keys=True) + "\n")
        else:
            out.write(f"not comparable: {exc.message}\n")
        return EXIT_NEGATIVE
    if args.json:
        out.write(to_json_text(result) + "\n")
    else:
        out.write(describe_result(result, a.name, b.name) + "\n")
    return {"proved": EXIT_OK, "refuted": EXIT_NEGATIVE}.get(result.status, EXIT_UNKNOWN)


def describe_result(result: Result, left: str, right: str) -> str:
    """A readable account of a proof result."""
    if isinstance(result, Proved):
        lines = [f"proved: {left} == {right}  ({result.mode} mode, {result.method}, "
                 f"{result.time:.3f} s)", f"  obligation: {result.obligation}"]
        lines += [f"  using {x}" for x in result.assumptions]
        return "\n".join(lines)
    if isinstance(result, Refuted):
        cex = result.counterexample
        return (f"refuted: {left} != {right}  ({result.mode} mode, {result.time:.3f} s)\n"
                + cex.describe(left, right))
    return f"unknown: {left} vs {right}  ({result.mode} mode, {result.time:.3f} s): " \
        f"{result.reason}\n  (unknown is never a proof)"


def cmd_check_spec(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Parse, type-check, lint and run intrinsic specs."""
    from tensorize.intrinsics.check_spec import check_spec, format_report

    library = load_library(args.specs or (), bundled=not args.no_bundled)
    total = problems = 0
    for path in args.files:
        module, callees = api.load_with_callees(path, library)
        reports = [check_spec(fn, callees) for fn in module.functions]
        for r in reports:
            for finding in r.findings:
                err.write(finding.render() + "\n")
            total += 1
            problems += 0 if r.ok else 1
        out.write(format_report(path, reports) + "\n")
    out.write(f"{total} checked, {problems} with problems\n")
    return EXIT_OK if problems == 0 else EXIT_NEGATIVE


def cmd_intrinsics(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """List the intrinsic library as a table: target, cost (cycles per call) and where
    that figure comes from, whether this host's CPU runs it, and the summary."""
    from tensorize.intrinsics import host

    library = _library(args)
    if args.target:
        api.check_targets(library, [args.target])
    rows = [fn for fn in library if not args.target or in_target(fn.target, args.target)]
    out.write(f"{'name':44} {'target':18} {'cost':>6}  {'host':4}  summary\n")
    for fn in sorted(rows, key=lambda f: (f.target, f.name)):
        missing = host.missing_features(fn.target)
        runs = "yes" if missing == () else "no"
        out.write(f"{fn.name:44} {fn.target:18} {fn.cost:6g}  {runs:4}  {fn.summary}\n")
        source = fn.meta_value("cost_source")
        out.write(f"{'':44} cost: {source if source else '(no cost_source)'}\n")
        if missing:
            out.write(f"{'':44} host lacks: {' '.join(missing)}\n")
    targets = sorted({fn.target for fn in rows})
    out.write(f"{len(rows)} intrinsics over {len(targets)} targets\n")
    return EXIT_OK


def _apply_worker(path: str, specs: tuple[str, ...], tpass: Any,
                  sizes: dict[str, int], signedness: dict[str, str] | None = None,
                  ) -> api.FileResult:
    """One file of ``apply`` in a worker process (the library is loaded there)."""
    return api.tensorize_any(path, api.load_specs(specs), tpass, sizes, signedness)


def cmd_apply(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Rewrite kernels into intrinsic calls; write them and a report."""
    if args.output and len(args.files) != 1:
        raise UsageError("-o takes one input file; use --out-dir for several")
    if args.output and args.out_dir:
        raise UsageError("-o and --out-dir exclude each other")
    sizes = _parse_sets(args.set)
    if args.output:
        targets = [check_output_file(args.output, "-o")]
    elif args.out_dir:
        directory = check_output_dir(args.out_dir, "--out-dir", create=True)
        targets = [directory / Path(f).name for f in args.files]
    else:
        targets = []
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise UsageError("--out-dir: two input files have the same name")
    if args.report:
        check_output_file(args.report, "--report")
    for src, dst in zip(args.files, targets):
        if Path(src).resolve() == dst.resolve():
            raise UsageError(f"{dst}: refusing to overwrite an input file")
    got = _within_budget(args, _apply_work, (args, sizes, err))
    if isinstance(got, str):
        err.write(got)
        return EXIT_UNKNOWN
    results, tpass = got
    hits = sum(r.cache_hits for r in results)
    misses = sum(r.cache_misses for r in results)
    for i, r in enumerate(results):
        for line in r.lines:
            err.write(line + "\n")
        if targets:
            write_atomic(targets[i], r.text)
        else:
            out.write(r.text)
    if args.report:
        cache = {"enabled": tpass.cache is not None, "hits": hits, "misses": misses,
                 "hit_rate": round(hits / (hits + misses), 4) if hits + misses else 0.0}
        reports = [k for r in results for k in r.reports]
        write_atomic(args.report, json.dumps({"kernels": reports, "proof_cache": cache},
                                             indent=2) + "\n")
    if args.intrinsic and not any(r.changed for r in results):
        err.write("tensorize: nothing matched the requested intrinsics\n")
        return EXIT_NEGATIVE
    return EXIT_OK


def _star_apply(job: tuple[str, tuple[str, ...], Any, dict[str, int], dict[str, str]],
                ) -> api.FileResult:
    return _apply_worker(*job)


def _apply_work(args: argparse.Namespace, sizes: dict[str, int], err: TextIO
                ) -> tuple[list[api.FileResult], Any]:
    """The work of ``apply`` (the library loaded, every file tensorized, in ``--jobs``
    processes if more than one) and the pass it ran."""
    library = _library(args)  # a bad spec is reported before any work
    targets = api.command_targets(library, args.target, args.intrinsic)
    tpass = api.make_pass(library, targets=targets, intrinsics=args.intrinsic,
                          fp=args.fp, timeout=_solver_timeout(args), rlimit=args.rlimit,
                          cache=not args.no_cache)
    files = list(args.files)
    jobs = min(args.jobs, len(files))
    bar = "tensorize apply"
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # an executor, not multiprocessing.Pool: a worker that dies, or a result that does
        # not unpickle, breaks it with an error instead of hanging the command
        work = [(f, tuple(args.specs), tpass, sizes, _signedness(args)) for f in files]
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
            return list(_progress(ex.map(_star_apply, work), err, bar, len(work))), tpass
    return [api.tensorize_any(f, library, tpass, sizes, _signedness(args))
            for f in _progress(files, err, bar, len(files))], tpass


def _solver_timeout(args: argparse.Namespace) -> float:
    """Each solver call's timeout: --timeout when given (it also bounds the command)."""
    return DEFAULT_TIMEOUT if args.timeout is None else float(args.timeout)


def _within_budget(args: argparse.Namespace, func: Callable[..., T], fargs: tuple[Any, ...]
                   ) -> T | str:
    """``func(*fargs)``, bounded by ``--timeout`` counted from the command's start when
    given; when the budget runs out: the "unknown" message naming the stage it was in."""
    if args.timeout is None:
        return func(*fargs)
    from tensorize.deadline import Expired, call_with_deadline

    got = call_with_deadline(func, fargs, args.timeout, args.started)
    if isinstance(got, Expired):
        return (f"tensorize {args.command}: unknown: {got.reason}; nothing was written "
                "(unknown is never a rewrite)\n")
    return got


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Every candidate considered for one intrinsic, and why each was or was not used."""
    got = _within_budget(args, _explain_runs, (args,))
    if isinstance(got, str):
        out.write(got)
        return EXIT_UNKNOWN
    used = False
    for fn, result in got:
        out.write(f"kernel {fn.name} ({', '.join(f'{k}={v}' for k, v in result.sizes.items())}"
                  f"), intrinsic {args.intrinsic}, {args.fp} mode\n")
        if not result.fragments:
            out.write("  no fragment in reduction form (init, then W[I] = W[I] op term)\n")
        for f in result.fragments:
            out.write(f"  statement {f.position} ({f.instances} update instances):\n")
            for _name, kind, message in f.rejected:
                out.write(f"    no candidate: {kind}: {message}\n")
            attempts = ([f.chosen] if f.chosen else []) + list(f.alternatives)
            for a in attempts:
                mark = "USED" if a is f.chosen else a.status
                out.write(f"    candidate [{mark}] {a.mapping}: {a.calls} calls, cost "
                          f"{a.cost:g} (scalar {f.scalar_cost:g})\n")
                if a.reason:
                    for line in a.reason.splitlines():
                        out.write(f"      {line}\n")
                elif a is not f.chosen and a.status == "proved":
                    out.write("      proved, but " + ("no cheaper than the scalar loop\n"
                              if a.cost >= f.scalar_cost else
                              "another candidate costs less\n"))
            used |= f.chosen is not None
    return EXIT_OK if used else EXIT_NEGATIVE


def _signedness(args: argparse.Namespace) -> dict[str, str]:
    """``--signedness A=u8`` options (MLIR input) as a mapping."""
    options = getattr(args, "signedness", None) or []
    if not options:
        return {}  # without the option, xDSL (2 s to import) is not loaded for .tz input
    from tensorize.frontends.mlir_import import parse_signedness

    return parse_signedness(options)


def _signedness_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--signedness", action="append", default=[], metavar="ARG=TYPE",
                   help="MLIR input: the integer type of a memref argument whose "
                   "signedness its operations do not decide (e.g. A=u8; repeatable)")


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Write the kernels of a .tz file as one MLIR module."""
    if args.output:
        check_output_file(args.output, "-o")
    library = _library(args)
    module, callees = api.load_with_callees(args.file, library)
    kernels, sizes = _chosen(args, module, "export")
    text = api.export_mlir(kernels, sizes, callees)
    if args.output:
        write_atomic(args.output, text)
    else:
        out.write(text)
    return EXIT_OK


def _explain_runs(args: argparse.Namespace) -> list[tuple[Function, Any]]:
    """The work of ``explain``: the library and the file loaded, the pass on each kernel."""
    library = _library(args)
    module, callees = api.load_with_callees(args.file, library)
    if args.intrinsic not in callees:
        api.check_intrinsics(callees, [args.intrinsic])
    tpass = api.make_pass(callees, intrinsics=[args.intrinsic], fp=args.fp,
                          timeout=_solver_timeout(args), rlimit=args.rlimit)
    sizes = _parse_sets(args.set)
    kernels = [module.get(args.kernel)] if args.kernel else list(module.kernels)
    if args.kernel and kernels[0] is None:
        raise UsageError(f"{args.file}: no kernel '{args.kernel}'")
    out = []
    for fn in kernels:
        assert fn is not None
        own = {k: v for k, v in sizes.items() if any(p.name == k for p in fn.params)}
        out.append((fn, tpass.run(fn, callees, own)))
    return out


def cmd_bench(argv: list[str], out: TextIO, err: TextIO) -> int:
    """Run the benchmark corpus (bench/run.py of a source checkout)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "run.py"
    if not path.exists():
        raise UsageError("tensorize bench needs a source checkout (bench/ is not installed)")
    name = "tensorize_bench_run"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # so that worker processes find its functions
        spec.loader.exec_module(module)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        return int(module.main(argv, progress=err))


# -- wiring ---------------------------------------------------------------------------
def _specs_option(p: argparse.ArgumentParser, help_text: str = "extra intrinsic spec file "
                  "or directory (repeatable)") -> None:
    p.add_argument("--specs", action="append", default=[], metavar="PATH", help=help_text)


def _sizes_option(p: argparse.ArgumentParser, help_text: str = "override a size parameter "
                  "(repeatable)") -> None:
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help=help_text)


def _proof_options(p: argparse.ArgumentParser, timeout_help: str = "time budget of the "
                   "whole command in seconds (also each solver call's timeout); when it "
                   "runs out the answer is unknown, naming the stage, exit 3 (default: no "
                   f"budget, solver calls {DEFAULT_TIMEOUT:g} s)",
                   timeout_default: float | None = None) -> None:
    p.add_argument("--fp", choices=list(api.FP_MODES), default="ieee",
                   help="float semantics: bit-exact IEEE (default) or real arithmetic, "
                   "which lets sums be reordered")
    p.add_argument("--timeout", type=_TIMEOUT, default=timeout_default, help=timeout_help)
    p.add_argument("--rlimit", type=_RLIMIT, default=None,
                   help="solver resource limit (Z3 rlimit, 0 = none, at most 2^32-1; "
                   "deterministic, unlike time)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="tensorize", description="Auto-tensorize engine: prove and rewrite "
                     "loop fragments into intrinsic calls.")
    parser.add_argument("--version", action="version", version=f"tensorize {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("fmt", help="print a .tz file in canonical form",
                       description="Print a .tz file in canonical form.")
    p.add_argument("file", help="the .tz file")
    p.add_argument("-o", "--output", help="write here (atomically) instead of stdout")
    p.add_argument("--check", action="store_true",
                   help="only check: exit 1 if the file is not in canonical form")
    p.set_defaults(func=cmd_fmt)

    p = sub.add_parser("run", help="run kernels on seeded random inputs, print checksums",
                       description="Run kernels on random inputs that respect their "
                       "assumptions; print a checksum per output buffer. The inputs depend "
                       "only on the seed and each buffer's name, type and shape.")
    p.add_argument("file", help="the .tz or .mlir file")
    p.add_argument("--kernel", help="run only this kernel")
    _signedness_option(p)
    p.add_argument("--seed", type=_SEED, default=0, help="random seed (default 0)")
    _sizes_option(p)
    _specs_option(p)
    p.add_argument("--scalar", action="store_true",
                   help="use the scalar reference interpreter (slow)")
    p.add_argument("--backend", choices=["interp", "c"], default="interp",
                   help="interp (default) or c: compile to native code with the system C "
                   "compiler and run that (the same checksums)")
    p.add_argument("--repeat", type=_repeat, default=None, metavar="N",
                   help="with --backend c: also time N more calls; print the median time "
                   "per call and GOPS")
    p.add_argument("--threads", type=_threads, default=1, metavar="N",
                   help="with --backend c: run the outermost independent loop on N "
                   "OpenMP threads (default 1)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("build", help="write a kernel as C (OUT.c and OUT.h)",
                       description="Write one C file and its header, with one function per "
                       "kernel: void NAME(<sizes not fixed by --set, int64_t>, <every "
                       "non-local buffer as a pointer>). Compile it with cc -O3 "
                       "-march=native -c OUT.c; it needs no library of ours.")
    p.add_argument("file", help="the .tz file (rewritten by apply, or not)")
    p.add_argument("--kernel", help="only this kernel")
    _specs_option(p)
    _sizes_option(p, "fix a size parameter (NAME=VALUE); the others become parameters")
    p.add_argument("--threads", type=_threads, default=1, metavar="N",
                   help="run the outermost independent loop on N OpenMP threads")
    p.add_argument("-o", "--output", required=True, metavar="OUT.c", help="the C file")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("prove", help="prove or refute that two kernels compute the same",
                       description="Prove or refute that two kernels leave every buffer with "
                       "the same contents. Exit 0 proved, 1 refuted (with a counterexample), "
                       "2 bad input, 3 unknown (never a proof).")
    p.add_argument("left", metavar="A.tz[:KERNEL]", help="the first kernel (or A.mlir[:FUNC])")
    p.add_argument("right", metavar="B.tz[:KERNEL]", help="the second kernel")
    _signedness_option(p)
    _proof_options(p, "time budget of the whole command in seconds (also each solver "
                   "call's timeout); when it runs out the answer is unknown",
                   DEFAULT_TIMEOUT)
    _sizes_option(p, "override a size parameter of both sides (repeatable)")
    _specs_option(p)
    p.add_argument("--smtlib", metavar="DIR", help="write each obligation as SMT-LIB 2 here")
    p.add_argument("--solver", choices=["z3", "cvc5"], default="z3",
                   help="the solver that discharges the obligations (default: z3)")
    p.add_argument("--cross-check", action="store_true",
                   help="re-solve every obligation with the other solver (cvc5, or z3 "
                   "under --solver cvc5); a disagreement is an error")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_prove)

    p = sub.add_parser("check-spec", help="parse, type-check, lint and run intrinsic specs",
                       description="Check intrinsic spec files: parse, type-check, lint "
                       "(unused parameter, inout never read, output never written, loop "
                       "body not depending on its variable, missing metadata) and run on "
                       "random inputs. Exit 1 if any spec has a problem.")
    p.add_argument("files", nargs="+", metavar="FILE", help=".tz spec files")
    _specs_option(p, "further specs the checked ones may call")
    p.add_argument("--no-bundled", action="store_true",
                   help="do not load the bundled library first")
    p.set_defaults(func=cmd_check_spec)

    p = sub.add_parser("intrinsics", help="list the intrinsic library",
                       description="List the intrinsic library as a table.")
    p.add_argument("--target", help="only this target (or target family, e.g. x86)")
    _specs_option(p)
    p.set_defaults(func=cmd_intrinsics)

    p = sub.add_parser("apply", help="rewrite kernels into intrinsic calls",
                       description="Find the fragments of each kernel that intrinsics "
                       "compute, prove each match, rewrite into calls, and choose the "
                       "cheapest. Writes the rewritten .tz (to stdout, -o or --out-dir) and "
                       "prints a summary; --report writes the details as JSON.")
    p.add_argument("files", nargs="+", metavar="FILE", help=".tz or .mlir files")
    _signedness_option(p)
    p.add_argument("--target", action="append", default=[],
                   help="use this target's intrinsics (repeatable; a family such as x86 "
                   "names all of its targets; 'all': every target of the library; default: "
                   "the targets this host's CPU runs, library calls included)")
    p.add_argument("--intrinsic", action="append", default=[], metavar="NAME",
                   help="use only these intrinsics (repeatable); exit 1 if none matches")
    _specs_option(p)
    p.add_argument("-o", "--output", help="write the rewritten file here (one input)")
    p.add_argument("--out-dir", help="write each rewritten file into this directory")
    p.add_argument("--report", metavar="FILE.json", help="write a JSON report")
    _proof_options(p)
    _sizes_option(p, "size parameter values (the rewrite is specialised to them)")
    p.add_argument("--jobs", type=_JOBS, default=1,
                   help=f"files processed in parallel (1 to {api.MAX_JOBS})")
    p.add_argument("--no-cache", action="store_true",
                   help="do not use the persistent proof cache")
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("explain", help="why an intrinsic was or was not used",
                       description="List every candidate considered for one intrinsic and "
                       "why it was rejected (extent, kind, dtype, order, or the "
                       "counterexample of the tile proof). Exit 1 if it is not used.")
    p.add_argument("file", help="the .tz file")
    p.add_argument("--intrinsic", required=True, help="the intrinsic to explain")
    p.add_argument("--kernel", help="only this kernel")
    _specs_option(p)
    _proof_options(p)
    _sizes_option(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("export", help="write .tz kernels as MLIR (affine, arith, memref)",
                       description="Write the kernels of a .tz file (plain or rewritten) as "
                       "one MLIR module: affine loops, arith and memref operations, "
                       "intrinsic calls as func.call on memref views. Sizes are fixed to "
                       "their defaults or --set values. See docs/mlir.md.")
    p.add_argument("file", help="the .tz file")
    p.add_argument("-o", "--output", help="write here (atomically) instead of stdout")
    p.add_argument("--kernel", help="export only this kernel")
    _sizes_option(p)
    _specs_option(p)
    p.set_defaults(func=cmd_export)

    sub.add_parser("bench", help="run the benchmark corpus against the library",
                   description="Run bench/corpus against the library and compare with the "
                   "manifest (see `tensorize bench --help`).", add_help=False)
    return parser


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that the exit flush is silent."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _process_start() -> float:
    """The ``time.monotonic()`` of this process's start when it began less than a minute
    ago (Linux, from /proc), else now: the command line's --timeout then also counts the
    interpreter's start-up and imports, so that it bounds the command as a user sees it."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        age = uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    except (OSError, ValueError, IndexError):
        return now
    return now - age if 0 <= age < 60 else now


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None, started: float | None = None) -> int:
    """Run the CLI in-process; returns the exit code. ``started``: the
    ``time.monotonic()`` from which --timeout counts (default: now)."""
    started = time.monotonic() if started is None else started
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["bench"]:  # its own options, parsed by bench/run.py
            try:
                return cmd_bench(argv[1:], out, err)
            except SystemExit as exc:
                return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        try:
            with contextlib.redirect_stdout(out):
                args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version
            return int(exc.code or 0)
        if not getattr(args, "func", None):
            parser.print_help(err)
            return EXIT_USAGE
        args.started = started
        code = args.func(args, out, err)
        out.flush()
        return int(code)
    except BrokenPipeError:  # the reader went away (`| head`): end quietly
        if out is sys.stdout or out is sys.__stdout__:
            _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except _UsageExit as exc:
        err.write(exc.message + "\n")
        return EXIT_USAGE
    except TensorizeError as exc:
        err.write(exc.render() + "\n")
        return exc.exit_code
    except RecursionError:
        err.write("tensorize: error: input nested too deeply\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("tensorize: interrupted\n")
        return 130
    except MemoryError:
        err.write("tensorize: error: out of memory (reduce the sizes with --set)\n")
        return EXIT_USAGE
    except Exception as exc:  # a bug: say so in one line, keep the trace for debugging
        err.write(f"tensorize: internal error: {type(exc).__name__}: {exc}\n")
        if os.environ.get("TENSORIZE_DEBUG"):
            traceback.print_exc(file=err)
        return EXIT_INTERNAL


def entry() -> None:
    """Console-script entry point (--timeout counts from the process's start)."""
    code = main(started=_process_start())
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # https://docs.python.org/3/library/signal.html#note-on-sigpipe
        _quiet_stdout()
        code = EXIT_BROKEN_PIPE
    sys.exit(code)
