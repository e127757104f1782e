"""Checked and parsed IR kept on disk between processes, as pickles in the cache directory.

Two stores use it: the checked intrinsic library (``library-<hash>.pickle``) and the
parse of each input file (``parse-<hash>.pickle``). A name is a hash of everything the
value depends on (the files' paths and bytes, and the engine's own source), so an edit to
a file or to the tool misses. Reading never fails: an absent, truncated or foreign
pickle is a miss; writing is atomic, and a failure to write only costs the next read.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tensorize.pickles import read_pickle, write_pickle


def stored_path(kind: str, parts: Iterable[bytes]) -> Path:
    """Where a value of ``kind`` made from ``parts`` is stored (the engine's fingerprint
    is part of every name)."""
    from tensorize.equivalence.cache import default_path, engine_fingerprint

    h = hashlib.sha256(engine_fingerprint().encode())
    for part in parts:
        h.update(b"\0" + part)
    return default_path().parent / f"{kind}-{h.hexdigest()[:32]}.pickle"


_FIELDS: dict[type, tuple[str, ...] | None] = {}
"""The fields of each class the store writes by constructor (None: written as usual)."""


def _constructor_fields(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass of the package whose fields are all given to its
    ``__init__`` positionally, in order, and that has no ``__post_init__`` (so
    ``cls(*values)`` rebuilds an equal object, span included); None for any other class."""
    import dataclasses

    found = _FIELDS.get(cls, ())
    if found != ():
        return found
    names: tuple[str, ...] | None = None
    if (dataclasses.is_dataclass(cls) and cls.__module__.startswith("tensorize.")
            and not hasattr(cls, "__post_init__")):
        fields = dataclasses.fields(cls)
        if all(f.init and not f.kw_only for f in fields):
            names = tuple(f.name for f in fields)
    _FIELDS[cls] = names
    return names


class _NodePickler(pickle.Pickler):
    """Writes the IR's frozen dataclasses as ``cls(*fields)``: reading them back then runs
    each class's generated ``__init__`` instead of the dataclass ``__setstate__``, which
    looks up the fields of every one of the ~14,000 objects of the library (loading the
    store took about twice as long)."""

    def reducer_override(self, obj: object) -> Any:
        names = _constructor_fields(type(obj))
        if names is None:
            return NotImplemented
        return type(obj), tuple(getattr(obj, n) for n in names)


def read_stored(path: Path, valid: Callable[[Any], bool]) -> Any | None:
    """The value stored at ``path`` if ``valid`` accepts it, else None (absent or
    unreadable: an unusable store is no store)."""
    return read_pickle(path, valid)


def write_stored(path: Path, value: object) -> None:
    """Store ``value`` at ``path`` atomically, with normal permissions (a failure only
    costs the next read), then drop the oldest stores of its kind."""
    if write_pickle(path, value, _NodePickler):
        _prune(path)


KEEP = {"library": 8, "parse": 512}
"""How many stores of each kind are kept (the most recently written): each edit of the
engine or of a spec names a new library store, ~0.5 MB, that nothing reads again."""


def _prune(written: Path) -> None:
    """Remove the oldest stores of ``written``'s kind beyond :data:`KEEP`."""
    kind = written.name.partition("-")[0]
    keep = KEEP.get(kind)
    if keep is None:
        return
    found = []
    for other in written.parent.glob(f"{kind}-*.pickle"):
        try:
            found.append((other.stat().st_mtime_ns, other))
        except OSError:
            continue  # removed meanwhile by another process
    found.sort(reverse=True)
    for _mtime, old in found[keep:]:
        if old != written:
            try:
                old.unlink()
            except OSError:
                pass
