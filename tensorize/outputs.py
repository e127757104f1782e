"""Output files: checked before any work, written atomically with normal permissions.

``check_output_file`` / ``check_output_dir`` refuse, before a command does any work, a path
that can never be written as asked (a directory where a file is wanted, a device, a
missing parent directory). ``write_atomic`` writes through a temporary file in the same
directory and renames it into place, so readers never see half a file; the result has the
permissions a plain ``open(path, "w")`` would give (``0o666`` less the umask), or keeps
those of the file it replaces.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tensorize.errors import UsageError


def _umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def check_output_file(path: str | Path, flag: str) -> Path:
    """``path`` can be created or replaced as a regular file; else a UsageError."""
    p = Path(path)
    if str(path) == "":
        raise UsageError(f"{flag}: an empty path is not a file name")
    if p.is_dir():
        raise UsageError(f"{flag} {p}: is a directory, not a file")
    if p.exists() and not p.is_file():
        raise UsageError(f"{flag} {p}: not a regular file (a device or a pipe); "
                         "write to a file")
    parent = _parent(p)
    if not parent.is_dir():
        raise UsageError(f"{flag} {p}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {p}: the directory {parent} is not writable")
    return p


def check_output_dir(path: str | Path, flag: str, *, create: bool = False) -> Path:
    """``path`` is (or, with ``create``, can be made) a writable directory."""
    p = Path(path)
    if str(path) == "":
        raise UsageError(f"{flag}: an empty path is not a directory name")
    if p.exists() and not p.is_dir():
        raise UsageError(f"{flag} {p}: not a directory")
    if not p.exists():
        parent = _parent(p)
        if not parent.is_dir():
            raise UsageError(f"{flag} {p}: the directory {parent} does not exist")
        if not create:
            raise UsageError(f"{flag} {p}: no such directory")
        try:
            p.mkdir()
        except OSError as exc:
            raise UsageError(f"{flag} {p}: cannot create the directory: "
                             f"{exc.strerror or exc}") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {p}: the directory is not writable")
    return p


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers never see it half-written.

    The new file gets the mode of the file it replaces, else ``0o666`` less the umask
    (``0o644`` under the usual umask 022), as ``open(path, "w")`` would give it. Any
    failure is a one-line :class:`UsageError` and leaves no temporary file behind.
    """
    import tempfile  # here: with shutil, bz2 and lzma it is ~10 ms of every command

    p = Path(path)
    if p.exists() and not p.is_file():
        raise UsageError(f"{p}: not a regular file; cannot write it")
    try:
        mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=_parent(p))
    except OSError as exc:
        raise UsageError(f"{p}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{p}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
