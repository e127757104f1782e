"""Loading: the intrinsic library, `.tz` and MLIR files as checked kernels, the kernels a
command names, and the canonical text of a file.

The parser (lark), the checker and the MLIR front end (xDSL) are imported where first
used: a warm ``apply`` finds the library and each file's parse in the stores and imports
none of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from tensorize.api_checks import own_sizes, parse_sizes
from tensorize.errors import CheckError, UsageError
from tensorize.intrinsics.library import Library, load_library

if TYPE_CHECKING:
    from tensorize.ir.nodes import Function, Module
    from tensorize.ir.syntax import ParsedModule

MLIR_SUFFIX = ".mlir"

Callees: TypeAlias = "Mapping[str, Function] | Library"
"""A library of intrinsics: a :class:`Library` or a mapping from names to functions."""


def callee_map(library: Callees | None) -> dict[str, Function]:
    """A fresh name -> function dict of ``library`` (the bundled library if None)."""
    if library is None:
        return load_library().as_dict()
    if isinstance(library, Library):
        return library.as_dict()
    return dict(library.items())


def parse(text: str, name: str = "<input>", library: Mapping[str, Function] | None = None,
          ) -> Module:
    """Parse and type-check `.tz` text; calls may use intrinsics of ``library``."""
    from tensorize.ir.check import check_module
    from tensorize.ir.parser import parse as parse_text

    return check_module(parse_text(text, name), library)


def parse_path(path: str | Path) -> ParsedModule:
    """Read and parse one `.tz` file (untyped IR), from the parse store when these bytes
    under this name were parsed before by this engine (no parser is even imported then);
    a parse that succeeds is stored for the next process."""
    from tensorize.intrinsics.store import read_stored, stored_path, write_stored
    from tensorize.ir.syntax import ParsedModule

    try:
        data = Path(path).read_bytes()
    except OSError:
        data = None
    if data is None:  # the parser reports a missing or unreadable file
        from tensorize.ir.parser import parse_file

        return parse_file(path)
    where = stored_path("parse", (str(path).encode(), data))
    found = read_stored(where, lambda value: isinstance(value, ParsedModule))
    if isinstance(found, ParsedModule):
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


def load_with_callees(path: str | Path, library: Callees) -> tuple[Module, dict[str, Function]]:
    """Read and check a file; also every intrinsic its calls may use (library + file)."""
    from tensorize.ir.check import check_module

    callees = callee_map(library)
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


@dataclass(frozen=True)
class Selection:
    """The kernels a command works on, each with the sizes that name its parameters."""

    kernels: tuple[Function, ...]
    sizes: dict[str, int]
    """Every size given (each names a parameter of at least one kernel)."""

    def sizes_of(self, fn: Function) -> dict[str, int]:
        """The sizes that name a parameter of ``fn``."""
        return own_sizes(fn, self.sizes)


def select_kernels(module: Module, path: str, kernel: str | None, sets: Iterable[str],
                   verb: str, any_function: bool = False) -> Selection:
    """The kernels of a command (``--kernel K``, else every kernel of the file; with
    ``any_function`` K may name an intrinsic too) and its ``--set`` sizes, each of which
    must name a size parameter of one of them."""
    kernels = module.kernels
    if kernel:
        fn = module.get(kernel)
        if fn is None or (fn.kind != "kernel" and not any_function):
            names = ", ".join(f.name for f in (module.functions if any_function
                                               else module.kernels)) or "nothing"
            raise UsageError(f"{path}: no kernel '{kernel}' (the file has {names})")
        kernels = (fn,)
    if not kernels:
        raise UsageError(f"{path}: no kernel to {verb}")
    sizes = parse_sizes(list(sets))
    unknown = set(sizes) - {p.name for k in kernels for p in k.params}
    if unknown:
        raise UsageError(f"--set: no kernel has a size parameter {', '.join(sorted(unknown))}")
    return Selection(kernels, sizes)


def is_mlir(path: str | Path) -> bool:
    """Whether ``path`` is read by the MLIR front end (by its extension)."""
    return str(path).endswith(MLIR_SUFFIX)


def load_any(path: str | Path, library: Callees, signedness: Mapping[str, str] | None = None,
             ) -> tuple[Module, dict[str, Function]]:
    """The checked kernels of a `.tz` or `.mlir` file (chosen by extension), and every
    intrinsic their calls may use. An MLIR file gives one kernel per ``func.func`` that
    holds loops or linalg ops; ``signedness`` maps MLIR argument names to integer types
    where the operations do not decide (``{"A": "u8"}``)."""
    if not is_mlir(path):
        return load_with_callees(path, library)
    from tensorize.frontends.mlir_import import ImportOptions, import_module
    from tensorize.frontends.mlir_parse import read_mlir

    callees = callee_map(library)
    module = import_module(read_mlir(str(path)), ImportOptions(dict(signedness or {})),
                           callees)
    return module, callees


def import_mlir(text: str, name: str = "<mlir>", library: Callees | None = None,
                signedness: Mapping[str, str] | None = None) -> Module:
    """MLIR text as checked `.tz` kernels (see :func:`load_any`)."""
    from tensorize.frontends.mlir_import import ImportOptions, import_module
    from tensorize.frontends.mlir_parse import parse_mlir

    return import_module(parse_mlir(text, name), ImportOptions(dict(signedness or {})),
                         callee_map(library))


def function_ref(ref: str, library: Callees, signedness: Mapping[str, str] | None = None,
                 ) -> tuple[Function, dict[str, Function]]:
    """``FILE.tz:name`` or ``FILE.mlir:func`` (or the file alone, with one kernel) -> the
    checked function and the intrinsics its calls may use."""
    path, sep, name = ref.rpartition(":")
    if not sep or not (path.endswith(".tz") or is_mlir(path)):
        path, name = ref, ""
    module, callees = load_any(path, library, signedness)
    if name:
        fn = module.get(name)
        if fn is None:
            names = ", ".join(f.name for f in module.functions)
            raise UsageError(f"{path}: no kernel or intrinsic '{name}' (the file has {names})")
        return fn, callees
    if len(module.kernels) != 1:
        raise UsageError(f"{path} has {len(module.kernels)} kernels; name one as {path}:NAME")
    return module.kernels[0], callees


@dataclass(frozen=True)
class Formatted:
    """A `.tz` file and its canonical text."""

    path: str
    source: str
    text: str

    @property
    def canonical(self) -> bool:
        """Whether the file is already in canonical form."""
        return self.text == self.source


def format_file(path: str) -> Formatted:
    """The canonical text of a `.tz` file (``tensorize fmt``): comments kept, and parsing
    it gives the same IR. The file is parsed, not type-checked."""
    from tensorize.ir.parser import parse as parse_source
    from tensorize.ir.parser import read_source
    from tensorize.ir.printer import format_module

    source = read_source(path)
    return Formatted(path, source.text, format_module(parse_source(source)))
