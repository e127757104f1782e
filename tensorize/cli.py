"""The ``tensorize`` command line: a thin layer over the library API.

Exit codes: 0 success, 1 a negative finding, 2 bad input or usage, 3 unknown (a proof
that timed out), 70 an internal error (a bug: please report it). A closed standard output
(``tensorize intrinsics | head -1``) ends the command quietly with 141 (128 + SIGPIPE).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NoReturn, TextIO, TypeVar

from tensorize import __version__, api
from tensorize.errors import RenderedError, TensorizeError, UsageError

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 70
EXIT_BROKEN_PIPE = 141
T = TypeVar("T")

__all__ = ["main", "entry", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as exceptions instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise RenderedError(f"{self.prog}: error: {message}", EXIT_USAGE)


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


def _integer(text: str) -> int:
    return int(text, 0)


_TIMEOUT = _checked(float, api.check_timeout, "a number of seconds")
_RLIMIT = _checked(_integer, api.check_rlimit, "an integer")
_SEED = _checked(_integer, api.check_seed, "an integer")
_JOBS = _checked(_integer, api.check_jobs, "an integer")
_THREADS = _checked(_integer, api.check_threads, "an integer")
_REPEAT = _checked(_integer, api.check_repeat, "an integer")


def _progress(err: TextIO, what: str) -> api.Progress:
    """A progress bar on a terminal for a loop over files (none when stderr is not a TTY)."""

    def wrap(items: Iterable[Any], total: int) -> Iterator[Any]:
        show = total > 1 and hasattr(err, "isatty") and err.isatty()
        if not show:  # no bar: not even tqdm's import (0.1 s, most of a cached run)
            yield from items
            return
        from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

        tqdm.monitor_interval = 0  # no monitor thread: proofs may fork this process later
        yield from tqdm(items, total=total, desc=what, file=err, leave=False)

    return wrap


def _write(out: TextIO, path: str | None, text: str) -> None:
    """``text`` into the file ``path`` (atomically), or onto ``out`` without one."""
    if path:
        api.write_atomic(path, text)
    else:
        out.write(text)


# -- commands -------------------------------------------------------------------------
def cmd_fmt(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print a file in canonical form (or check that it already is)."""
    if args.output:
        api.check_output_file(args.output, "-o")
    done = api.format_file(args.file)
    if args.check:
        if not done.canonical:
            err.write(f"{args.file}: not in canonical form\n")
            return EXIT_NEGATIVE
        return EXIT_OK
    _write(out, args.output, done.text)
    return EXIT_OK


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run kernels on seeded random inputs and print a checksum per output buffer."""
    runs = api.run_file(args.file, specs=args.specs, kernel=args.kernel, sets=args.set,
                        seed=args.seed, scalar=args.scalar, backend=args.backend,
                        repeat=args.repeat, threads=args.threads,
                        signedness=api.parse_signedness(args.signedness))
    for r in runs:
        out.write(r.describe())
    return EXIT_OK


def cmd_build(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Write one C file (and its header) with one function per kernel."""
    built = api.build_file(args.file, args.output, specs=args.specs, kernel=args.kernel,
                           sets=args.set, threads=args.threads)
    err.write(built.describe())
    return EXIT_OK


def cmd_prove(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Prove or refute that two kernels compute the same thing, within --timeout overall."""
    done = api.prove_files(args.left, args.right, specs=args.specs, sets=args.set,
                           signedness=api.parse_signedness(args.signedness), fp=args.fp,
                           timeout=args.timeout, rlimit=args.rlimit, started=args.started,
                           smtlib_dir=args.smtlib, cross_check=args.cross_check,
                           backend=args.solver)
    out.write((done.json_text() if args.json else done.describe()) + "\n")
    return done.exit_code


def cmd_check_spec(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Parse, type-check, lint and run intrinsic specs."""
    checked = problems = 0
    for f in api.check_spec_files(args.files, args.specs, bundled=not args.no_bundled):
        for warning in f.warnings:
            err.write(warning + "\n")
        out.write(f.summary + "\n")
        checked += f.checked
        problems += f.problems
    out.write(f"{checked} checked, {problems} with problems\n")
    return EXIT_OK if problems == 0 else EXIT_NEGATIVE


def cmd_intrinsics(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """List the intrinsic library as a table: target, cost (cycles per call) and where
    that figure comes from, whether this host's CPU runs it, and the summary."""
    out.write(api.list_intrinsics(args.specs, args.target).describe())
    return EXIT_OK


def cmd_apply(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Rewrite kernels into intrinsic calls; write them and a report."""
    where = api.apply_outputs(args.files, output=args.output, out_dir=args.out_dir,
                              report=args.report, sets=args.set)
    done = api.apply_files(args.files, specs=args.specs, targets=args.target,
                           intrinsics=args.intrinsic, fp=args.fp, timeout=args.timeout,
                           rlimit=args.rlimit, cache=not args.no_cache, sizes=where.sizes,
                           jobs=args.jobs, signedness=api.parse_signedness(args.signedness),
                           started=args.started, progress=_progress(err, "tensorize apply"))
    if isinstance(done, api.OutOfTime):
        err.write(done.describe())
        return done.exit_code
    for i, r in enumerate(done.results):
        err.write(r.describe())
        _write(out, str(where.paths[i]) if where.paths else None, r.text)
    if where.report:
        api.write_atomic(where.report, done.json_text())
    if args.intrinsic and not done.changed:
        err.write("tensorize: nothing matched the requested intrinsics\n")
        return EXIT_NEGATIVE
    return EXIT_OK


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Every candidate considered for one intrinsic, and why each was or was not used."""
    done = api.explain_file(args.file, args.intrinsic, specs=args.specs, kernel=args.kernel,
                            sets=args.set, fp=args.fp, timeout=args.timeout,
                            rlimit=args.rlimit, started=args.started)
    if isinstance(done, api.OutOfTime):
        out.write(done.describe())
        return done.exit_code
    for k in done:
        out.write(k.describe())
    return EXIT_OK if any(k.used for k in done) else EXIT_NEGATIVE


def _signedness_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--signedness", action="append", default=[], metavar="ARG=TYPE",
                   help="MLIR input: the integer type of a memref argument whose "
                   "signedness its operations do not decide (e.g. A=u8; repeatable)")


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Write the kernels of a .tz file as one MLIR module."""
    if args.output:
        api.check_output_file(args.output, "-o")
    text = api.export_file(args.file, specs=args.specs, kernel=args.kernel, sets=args.set)
    _write(out, args.output, text)
    return EXIT_OK


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
                   f"budget, solver calls {api.DEFAULT_TIMEOUT:g} s)",
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
    p.add_argument("--repeat", type=_REPEAT, default=None, metavar="N",
                   help="with --backend c: also time N more calls; print the median time "
                   "per call and GOPS")
    p.add_argument("--threads", type=_THREADS, default=1, metavar="N",
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
    p.add_argument("--threads", type=_THREADS, default=1, metavar="N",
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
                   api.DEFAULT_TIMEOUT)
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
                return api.run_bench(argv[1:], out, err)
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
    """Console-script entry point (--timeout counts from the process's start).

    The process ends with :func:`os._exit` once both streams are flushed: every file the
    command writes is closed (and renamed into place) before :func:`main` returns, and
    the proof cache commits each write, so nothing is left for the interpreter's
    shutdown but freeing the library's objects one by one, which took a sixth of a warm
    ``apply``. (A solver thread still running after ``--timeout`` is cut off too, rather
    than waited for.)"""
    code = main(started=_process_start())
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # https://docs.python.org/3/library/signal.html#note-on-sigpipe
        _quiet_stdout()
        code = EXIT_BROKEN_PIPE
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(code)
