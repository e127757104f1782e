"""The intrinsic library: specs loaded from `.tz` files, checked once, looked up by name."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tensorize.errors import UsageError
from tensorize.ir.check import check_module
from tensorize.ir.nodes import Function
from tensorize.ir.parser import parse_file

SOURCE_SPECS = Path(__file__).resolve().parents[2] / "intrinsic_specs"
"""The specs of a source checkout (the top-level ``intrinsic_specs/``)."""


def bundled_specs_dir() -> Path:
    """The directory of the bundled specs.

    The ``TENSORIZE_SPECS`` environment variable overrides it; else the package data
    ``tensorize/intrinsic_specs`` (found with :mod:`importlib.resources`; in a source
    checkout it is a link to the top-level ``intrinsic_specs/``); else that top-level
    directory itself.
    """
    override = os.environ.get("TENSORIZE_SPECS")
    if override:
        return Path(override)
    packaged = resources.files("tensorize").joinpath("intrinsic_specs")
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged.resolve()
    return SOURCE_SPECS


@dataclass(frozen=True)
class Library:
    """Checked intrinsics by name, with the file each came from.

    Iterating gives the intrinsics themselves (each a :class:`Function` with ``name``,
    ``target``, ``cost`` and ``summary``); ``library[name]`` looks one up.
    """

    intrinsics: dict[str, Function] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Function:
        return self.intrinsics[name]

    def __iter__(self) -> Iterator[Function]:
        return iter(self.intrinsics.values())

    def __len__(self) -> int:
        return len(self.intrinsics)

    def __contains__(self, name: object) -> bool:
        return name in self.intrinsics

    def get(self, name: str, default: Function | None = None) -> Function | None:
        """The intrinsic called ``name``, or ``default``."""
        return self.intrinsics.get(name, default)

    def keys(self) -> Iterable[str]:
        """The names (so that ``dict(library)`` maps names to intrinsics)."""
        return self.intrinsics.keys()

    def as_dict(self) -> dict[str, Function]:
        """A plain name -> intrinsic dict."""
        return dict(self.intrinsics)

    @property
    def targets(self) -> list[str]:
        """Every target, sorted."""
        return sorted({f.target for f in self.intrinsics.values()})


def _spec_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files.extend(sorted(path.rglob("*.tz")))
        elif path.exists():
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory")
    return files


def load_library(paths: Iterable[str | Path] = (), *, bundled: bool = True) -> Library:
    """Load the bundled specs (unless ``bundled=False``) and those under ``paths``.

    Finding no bundled spec is an error, not an empty library: an install that lost its
    package data would otherwise rewrite nothing and say nothing.
    """
    sources: list[Path] = []
    if bundled:
        where = bundled_specs_dir()
        found = _spec_files([where]) if where.is_dir() else []
        if not found:
            raise UsageError(f"no bundled intrinsic specs found in {where} (a broken "
                             "install? set TENSORIZE_SPECS to the spec directory)")
        sources.extend(found)
    sources.extend(_spec_files(paths))
    try:
        key = tuple((str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size)
                    for p in sources)
    except OSError:  # a file vanished: let the parser report it
        key = None
    if key is not None and key in _LOADED:
        known, origin_of = _LOADED[key]
        return Library(dict(known), dict(origin_of))
    intrinsics: dict[str, Function] = {}
    origins: dict[str, str] = {}
    for path in sources:
        module = check_module(parse_file(path), intrinsics)
        for fn in module.intrinsics:
            if fn.name in intrinsics:
                raise UsageError(f"{path}: intrinsic '{fn.name}' is already defined in "
                                 f"{origins[fn.name]}")
            intrinsics[fn.name] = fn
            origins[fn.name] = str(path)
    if key is not None:
        if len(_LOADED) >= 16:
            _LOADED.clear()
        _LOADED[key] = (dict(intrinsics), dict(origins))
    return Library(intrinsics, origins)


_LOADED: dict[tuple[tuple[str, int, int], ...], tuple[dict[str, Function], dict[str, str]]] = {}
"""Libraries already loaded in this process, by their files' paths, times and sizes: the
bundled specs are parsed and checked once per process, not once per command."""
