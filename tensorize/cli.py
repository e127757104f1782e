"""The ``tensorize`` command line: a thin layer over the library API.

Exit codes: 0 success, 1 a negative finding, 2 bad input or usage, 3 unknown (a proof
that timed out), 70 an internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from tensorize import __version__
from tensorize.errors import TensorizeError, UsageError
from tensorize.intrinsics.library import Library, load_library
from tensorize.ir import interp
from tensorize.ir.check import check_module
from tensorize.ir.parser import parse as parse_source
from tensorize.ir.parser import parse_file, read_source
from tensorize.ir.printer import format_module

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 70


class _UsageExit(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as exceptions instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageExit(f"{self.prog}: error: {message}")


def write_atomic(path: str | Path, text: str) -> None:
    """Write a file so that readers never see it half-written."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    return load_library(getattr(args, "specs", None) or ())


# -- commands -------------------------------------------------------------------------
def cmd_fmt(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print a file in canonical form (or check that it already is)."""
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


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run kernels on seeded random inputs and print a checksum per output buffer."""
    library = _library(args)
    module = check_module(parse_file(args.file), library)
    callable_lib = dict(library)
    callable_lib.update({f.name: f for f in module.intrinsics})
    kernels = module.kernels
    if args.kernel:
        fn = module.get(args.kernel)
        if fn is None:
            names = ", ".join(f.name for f in module.functions) or "nothing"
            raise UsageError(f"{args.file}: no kernel '{args.kernel}' (the file has {names})")
        kernels = (fn,)
    if not kernels:
        raise UsageError(f"{args.file}: no kernel to run")
    sizes = _parse_sets(args.set)
    unknown = set(sizes) - {p.name for k in kernels for p in k.params}
    if unknown:
        raise UsageError(f"--set: no kernel has a size parameter {', '.join(sorted(unknown))}")
    for fn in kernels:
        own = {k: v for k, v in sizes.items() if any(p.name == k for p in fn.params)}
        inputs = interp.random_inputs(fn, own, args.seed)
        outputs = interp.run(fn, inputs, sizes=own, library=callable_lib,
                             mode="scalar" if args.scalar else "vector")
        for b in fn.outputs:
            arr = outputs[b.name]
            shape = ", ".join(map(str, arr.shape))
            total = _total(arr)
            out.write(f"{fn.name}  {b.name}: {b.dtype}[{shape}]  checksum {interp.checksum(arr)}"
                      f"  sum {total}\n")
    return EXIT_OK


def _total(arr: np.ndarray) -> str:
    if arr.dtype.kind in "iub":
        return str(int(arr.astype(object).sum()) if arr.size else 0)
    return repr(float(np.sum(arr.astype(np.float64))))


# -- wiring ---------------------------------------------------------------------------
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
    p.add_argument("file", help="the .tz file")
    p.add_argument("--kernel", help="run only this kernel")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a size parameter (repeatable)")
    p.add_argument("--specs", action="append", default=[], metavar="PATH",
                   help="extra intrinsic spec file or directory (repeatable)")
    p.add_argument("--scalar", action="store_true",
                   help="use the scalar reference interpreter (slow)")
    p.set_defaults(func=cmd_run)
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {}


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run the CLI in-process; returns the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    parser = build_parser()
    try:
        try:
            with contextlib.redirect_stdout(out):
                args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        except SystemExit as exc:  # --help and --version
            return int(exc.code or 0)
        if not getattr(args, "func", None):
            parser.print_help(err)
            return EXIT_USAGE
        return args.func(args, out, err)
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
    except Exception as exc:  # a bug: say so in one line, keep the trace for debugging
        err.write(f"tensorize: internal error: {type(exc).__name__}: {exc}\n")
        if os.environ.get("TENSORIZE_DEBUG"):
            traceback.print_exc(file=err)
        return EXIT_INTERNAL


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
