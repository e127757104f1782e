"""The intrinsic library: specs loaded from `.tz` files, checked once, looked up by name.

Loading is cached twice, both keyed by a hash of the files' paths and contents
(``tensorize/digests.py`` reads a file again only when its status changed): in the
process, and across processes (a pickle of the checked specs in the cache directory,
whose name also hashes the engine's source), so that a command that finds the
pickle neither imports the parser nor checks a spec. ``Library.index`` groups the specs
by signature (output type, operand types) so that the pass looks only at specs whose
types can match a fragment.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tensorize.digests import file_digests
from tensorize.errors import UsageError
from tensorize.intrinsics.store import read_stored, stored_path, write_stored

if TYPE_CHECKING:
    from tensorize.ir.nodes import Function

Signature = tuple[str, tuple[str, ...]]
"""(output element type, sorted input element types) of a spec: what a fragment must have
for the spec to match it."""

SOURCE_SPECS = Path(__file__).resolve().parents[2] / "intrinsic_specs"
"""The specs of a source checkout (the top-level ``intrinsic_specs/``)."""


def bundled_specs_dir() -> Path:
    """The directory of the bundled specs.

    The ``TENSORIZE_SPECS`` environment variable overrides it. Else the package data
    ``tensorize/intrinsic_specs``: for a package on the file system (in a source checkout
    a link to the top-level ``intrinsic_specs/``) that is the directory
    :func:`importlib.resources.files` gives, found from this module's path without
    importing :mod:`importlib.resources` (~10 ms of every command); for a package that is
    not (a zip archive), :mod:`importlib.resources` reads it, and it is copied once into
    the cache directory. Else the top-level directory of a source checkout.
    """
    override = os.environ.get("TENSORIZE_SPECS")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parents[1] / "intrinsic_specs"
    if packaged.is_dir():
        return packaged.resolve()
    extracted = _extracted_specs()
    return extracted if extracted is not None else SOURCE_SPECS


def _extracted_specs() -> Path | None:
    """The package data through :mod:`importlib.resources`, copied once into the cache
    directory under a hash of its contents (None when the package has none)."""
    import hashlib
    import importlib.resources
    import shutil
    import tempfile
    from importlib.resources.abc import Traversable

    from tensorize.digests import cache_dir

    def files(node: Traversable, prefix: str) -> list[tuple[str, bytes]]:
        found = []
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                found += files(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".tz"):
                found.append((prefix + child.name, child.read_bytes()))
        return found

    data = importlib.resources.files("tensorize") / "intrinsic_specs"
    if not data.is_dir():
        return None
    specs = files(data, "")
    h = hashlib.sha256()
    for name, content in specs:
        h.update(name.encode() + b"\0" + content + b"\0")
    where = cache_dir() / f"bundled-specs-{h.hexdigest()[:32]}"
    if where.is_dir():
        return where
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=where.parent, prefix=".bundled-specs-"))
    for name, content in specs:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(content)
    try:
        tmp.rename(where)
    except OSError:  # another process put it there first
        shutil.rmtree(tmp, ignore_errors=True)
    return where


@dataclass(frozen=True)
class Library:
    """Checked intrinsics by name, with the file each came from.

    Iterating gives the intrinsics themselves (each a :class:`Function` with ``name``,
    ``target``, ``cost`` and ``summary``); ``library[name]`` looks one up.
    """

    intrinsics: dict[str, Function] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    source_digest: str | None = field(default=None, init=False, compare=False, repr=False)
    """A hash of the paths and bytes of the files the specs were loaded from; set only by
    :func:`load_library` (None for a library made otherwise, ``dataclasses.replace``
    included). :meth:`fingerprint` gives it while the specs are still the ones loaded."""

    @classmethod
    def _from_files(cls, intrinsics: dict[str, Function], origins: dict[str, str],
                    digest: str | None) -> Library:
        made = cls(intrinsics, origins)
        object.__setattr__(made, "source_digest", digest)
        object.__setattr__(made, "_loaded", tuple(intrinsics.items()))
        return made

    def fingerprint(self) -> str | None:
        """:attr:`source_digest`, if every spec is still the very object loaded from those
        files (None once :attr:`intrinsics` was changed): a key that stands for the text
        of every spec without printing them."""
        loaded: tuple[tuple[str, Function], ...] = self.__dict__.get("_loaded", ())
        current = self.intrinsics
        if self.source_digest is None or len(current) != len(loaded):
            return None
        if all(current.get(name) is fn for name, fn in loaded):
            return self.source_digest
        return None

    @property
    def index(self) -> dict[Signature, tuple[str, ...]]:
        """Spec names by :func:`signature` (computed once per library)."""
        found: dict[Signature, tuple[str, ...]] | None = self.__dict__.get("_index")
        if found is None:
            groups: dict[Signature, list[str]] = {}
            for fn in self.intrinsics.values():
                groups.setdefault(signature(fn), []).append(fn.name)
            found = {k: tuple(v) for k, v in groups.items()}
            object.__setattr__(self, "_index", found)
        return found

    def matching(self, out_type: str, in_types: Iterable[str]) -> list[Function]:
        """The specs whose output and operand element types are these (any order)."""
        names = self.index.get((out_type, tuple(sorted(in_types))), ())
        return [self.intrinsics[n] for n in names]

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


def signature(fn: Function) -> Signature:
    """(output type, sorted input types) of a spec; ("", ...) when it has no single
    output (such a spec matches nothing)."""
    outs = [b for b in fn.buffers if b.mode in ("out", "inout")]
    ins = tuple(sorted(str(b.dtype) for b in fn.buffers if b.mode == "in"))
    return (str(outs[0].dtype) if len(outs) == 1 else "", ins)


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
    sources = _sources(paths, bundled)
    digest = _source_digest(sources)
    if digest is not None and digest in _LOADED:
        known, origin_of = _LOADED[digest]
        return Library._from_files(dict(known), dict(origin_of), digest)
    stored = stored_path("library", (digest.encode(),)) if digest is not None else None
    loaded = _read_stored(stored) if stored is not None else None
    if loaded is not None:
        intrinsics, origins = loaded
    else:
        intrinsics, origins = _parse_and_check(sources)
        if stored is not None:
            _write_stored(stored, (intrinsics, origins))
    if digest is not None:
        if len(_LOADED) >= 16:
            _LOADED.clear()
        _LOADED[digest] = (dict(intrinsics), dict(origins))
    return Library._from_files(intrinsics, origins, digest)


def library_digest(paths: Iterable[str | Path] = (), *, bundled: bool = True) -> str | None:
    """The hash of the files :func:`load_library` would load with these arguments (what a
    loaded library's :meth:`Library.fingerprint` is), without loading them; None if one
    cannot be read. Raises :class:`UsageError` as :func:`load_library` does."""
    return _source_digest(_sources(paths, bundled))


def _sources(paths: Iterable[str | Path], bundled: bool) -> list[Path]:
    """The spec files of a library: the bundled ones (unless ``bundled=False``), then
    those under ``paths``."""
    sources: list[Path] = []
    if bundled:
        where = bundled_specs_dir()
        found = _spec_files([where]) if where.is_dir() else []
        if not found:
            raise UsageError(f"no bundled intrinsic specs found in {where} (a broken "
                             "install? set TENSORIZE_SPECS to the spec directory)")
        sources.extend(found)
    sources.extend(_spec_files(paths))
    return sources


def _parse_and_check(sources: list[Path]) -> tuple[dict[str, Function], dict[str, str]]:
    """Parse and check every spec file, in order (a spec may call earlier ones)."""
    from tensorize.ir.check import check_module
    from tensorize.ir.parser import parse_file

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
    return intrinsics, origins


def _source_digest(sources: list[Path]) -> str | None:
    """A hash of the files' paths and contents (None if one cannot be read: the parser
    then reports it)."""
    import hashlib

    try:
        digests = file_digests(sources)
    except OSError:
        return None
    h = hashlib.sha256()
    for path, digest in zip(sources, digests, strict=True):
        h.update(f"{path.resolve()}\0{digest}\0".encode())
    return h.hexdigest()


def _read_stored(path: Path) -> tuple[dict[str, Function], dict[str, str]] | None:
    """The stored library, or None."""
    def valid(value: Any) -> bool:
        return (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], dict)
                and isinstance(value[1], dict))

    found: tuple[dict[str, Function], dict[str, str]] | None = read_stored(path, valid)
    return found


def _write_stored(path: Path, value: tuple[dict[str, Function], dict[str, str]]) -> None:
    """Store the checked library (atomically; a failure only costs the next load)."""
    write_stored(path, value)


_LOADED: dict[str, tuple[dict[str, Function], dict[str, str]]] = {}
"""Libraries already loaded in this process, by :func:`_source_digest` of their files: the
bundled specs are parsed and checked once per process, not once per command."""
