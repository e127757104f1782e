"""Values kept in pickle files of the cache directory: read without ever failing, written
atomically with normal permissions.

The stores of checked and parsed IR (:mod:`tensorize.intrinsics.store`) and the index of
file hashes (:mod:`tensorize.digests`) both use these two functions: an absent,
truncated or foreign file is a miss, and a failure to write only costs the next read.
"""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any


def read_pickle(path: Path, valid: Callable[[Any], bool]) -> Any | None:
    """The value pickled at ``path`` if ``valid`` accepts it, else None (absent or
    unreadable: an unusable file is no file). The collector is off while it reads (a
    store holds thousands of objects) and left as the caller had it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with path.open("rb") as f:
            value = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError,
            TypeError, ValueError, IndexError):
        return None
    finally:
        if enabled:
            gc.enable()
    return value if valid(value) else None


def write_pickle(path: Path, value: object,
                 pickler: type[pickle.Pickler] = pickle.Pickler) -> bool:
    """Pickle ``value`` (with ``pickler``) to ``path`` atomically, mode 0o644; whether it
    was written (a failure leaves no temporary file)."""
    import tempfile  # only a write needs it: with shutil, ~10 ms of a command

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except (OSError, pickle.PicklingError, RecursionError):
        return False
    return True
