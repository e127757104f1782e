"""Content hashes of files, remembered between processes by each file's status.

Every command hashes the engine's own source (about 100 files: the fingerprint in every
cache key) and the spec files of its library (about 270): reading them all costs tens of
milliseconds, more than the rest of a warm ``apply``. So the hash of each file is kept
in an index in the cache directory under its path, size, inode, and modification and
change times, and a file whose status is unchanged is not read again.

The index is never trusted for a file modified less than :data:`RACY_SECONDS` before it
was hashed (git's "racily clean" rule): on a file system whose times are coarse, a second
edit within the same tick would leave the status unchanged, so such a file is hashed
again on every run until it is older. Any later edit sets a later modification time,
and the change time cannot be set back by a user at all. A lost or unreadable index
only costs reading the files.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

from tensorize.pickles import read_pickle, write_pickle

RACY_SECONDS = 2.0
"""A file modified this recently when it was hashed is hashed again next time."""

INDEX_LIMIT = 8192
"""Files the index keeps at most (it is emptied when full: tests make many files)."""

_Status = tuple[int, int, int, int, int]
"""(size, inode, device, modification time, change time), times in nanoseconds."""

_INDEX: dict[str, tuple[_Status, str]] | None = None
_DIRTY = False


def cache_dir() -> Path:
    """The user's cache directory for tensorize: ``$TENSORIZE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/tensorize``, else ``~/.cache/tensorize``."""
    if os.environ.get("TENSORIZE_CACHE_DIR"):
        return Path(os.environ["TENSORIZE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tensorize"


def _index_path() -> Path:
    return cache_dir() / "digests.pickle"


def _load_index() -> dict[str, tuple[_Status, str]]:
    global _INDEX
    if _INDEX is None:
        found = read_pickle(_index_path(), lambda value: isinstance(value, dict))
        _INDEX = found if found is not None else {}
    return _INDEX


def _status(st: os.stat_result) -> _Status:
    return (st.st_size, st.st_ino, st.st_dev, st.st_mtime_ns, st.st_ctime_ns)


def file_digests(paths: Sequence[Path]) -> list[str]:
    """The SHA-256 of each file's bytes (hex), read only for files whose status differs
    from the index's. Raises :class:`OSError` for a file that cannot be read."""
    global _DIRTY
    index = _load_index()
    now = time.time_ns()
    out = []
    for path in paths:
        key = os.path.abspath(path)
        st = os.stat(key)
        status = _status(st)
        known = index.get(key)
        if known is not None and known[0] == status:
            out.append(known[1])
            continue
        digest = hashlib.sha256(Path(key).read_bytes()).hexdigest()
        after = _status(os.stat(key))
        racy = now - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_SECONDS * 1e9
        if after == status and not racy:
            if len(index) >= INDEX_LIMIT:
                index.clear()
            index[key] = (status, digest)
            _DIRTY = True
        elif key in index:
            del index[key]
            _DIRTY = True
        out.append(digest)
    if _DIRTY:
        _save_index(index)
    return out


def _save_index(index: dict[str, tuple[_Status, str]]) -> None:
    """Write the index atomically (a failure only costs the next run some reading)."""
    global _DIRTY
    _DIRTY = False
    write_pickle(_index_path(), index)


def forget() -> None:
    """Drop the index read by this process (tests: another cache directory)."""
    global _INDEX, _DIRTY
    _INDEX, _DIRTY = None, False
