"""A persistent proof cache (SQLite), keyed by the normalised obligation.

The key is a hash of the canonical text of both sides, the float mode and a fingerprint of
the engine's own source (every module and the grammar), so any change to either side, to
the semantics or to the tool misses: a proof made by an older engine is never reused.
Stored: proofs, refutations of tile proofs (their counterexamples were confirmed by the
interpreter; finding them again can take seconds in real mode), checked facts (a
validated rewrite, an agreement in the interpreter), and whole decisions (the result of
the tensorize pass on one kernel with given options). ``unknown`` is never stored: it
must be retried. On by default in the user's cache directory (``$TENSORIZE_CACHE_DIR``,
else ``$XDG_CACHE_HOME/tensorize``, else ``~/.cache/tensorize``).

Results and decisions are stored pickled: the cache is the user's own directory, written
only by this engine (whose fingerprint is in every key).

:data:`MEMO` keeps tile-proof results for the life of the process (also without a
persistent cache), so that kernels that share a tile kernel prove it once.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tensorize.digests import cache_dir, file_digests
from tensorize.equivalence.results import Proved, Refuted, Result

MEMO: dict[str, Result] = {}
"""Tile-proof results (proofs and refutations, never ``unknown``) of this process, by
:func:`obligation_key`: the same tile kernel in another kernel is not proved again."""
MEMO_LIMIT = 4096


@functools.cache
def engine_fingerprint() -> str:
    """A hash of the engine's source files: cached proofs are valid for this engine only.
    (Each file's hash is read from :mod:`tensorize.digests`' index when its status has
    not changed.)"""
    root = Path(__file__).resolve().parents[1]
    files = [p for p in sorted(root.rglob("*"))
             if p.suffix in (".py", ".lark") and "__pycache__" not in p.parts]
    names = [str(p.relative_to(root)) for p in files]
    archive = getattr(__spec__.loader, "archive", None)
    if not files and archive:  # imported from a zip archive: its bytes hold the source
        files, names = [Path(archive)], ["<archive>"]
    if not files:  # no source to read: a key of this process only, so nothing is reused
        return "unread-" + secrets.token_hex(16)
    h = hashlib.sha256()
    for name, digest in zip(names, file_digests(files), strict=True):
        h.update(name.encode() + b"\0" + digest.encode() + b"\0")
    return h.hexdigest()


def memo_get(key: str) -> Result | None:
    """A tile-proof result of this process, or None."""
    return MEMO.get(key)


def memo_put(key: str, result: Result) -> None:
    """Remember a proof or a refutation for the rest of the process."""
    if isinstance(result, Proved | Refuted):
        if len(MEMO) >= MEMO_LIMIT:
            MEMO.clear()
        MEMO[key] = result


def default_path() -> Path:
    """Where the cache lives unless told otherwise."""
    return cache_dir() / "proofs.sqlite"


def obligation_key(left: str, right: str, mode: str) -> str:
    """The cache key of proving ``left`` (text) equal to ``right`` (text) in ``mode``."""
    h = hashlib.sha256()
    for part in (engine_fingerprint(), mode, left, "\0", right):
        h.update(part.encode())
    return h.hexdigest()


@dataclass
class ProofCache:
    """Proved obligations on disk; counts its hits and misses."""

    path: Path
    hits: int = 0
    misses: int = 0

    def __post_init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10)
            self._db.execute("CREATE TABLE IF NOT EXISTS proofs (key TEXT PRIMARY KEY, "
                             "mode TEXT, method TEXT, obligation TEXT, seconds REAL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY)")
            self._db.execute("CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, "
                             "kind TEXT, value BLOB)")
            self._db.commit()
        except (OSError, sqlite3.Error):
            self._db = None  # an unusable cache is no cache, never an error

    def get(self, key: str) -> Proved | None:
        """The stored proof, or None."""
        if self._db is None:
            self.misses += 1
            return None
        row = self._db.execute("SELECT mode, method, obligation, seconds FROM proofs "
                               "WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        mode, method, obligation, _seconds = row
        return Proved(mode, 0.0, obligation, f"{method} (cached)")

    def put(self, key: str, result: Proved) -> None:
        """Store a proof."""
        if self._db is None:
            return
        try:
            self._db.execute("INSERT OR REPLACE INTO proofs VALUES (?, ?, ?, ?, ?)",
                             (key, result.mode, result.method.replace(" (cached)", ""),
                              result.obligation, result.time))
            self._db.commit()
        except sqlite3.Error:
            pass

    def has_fact(self, key: str) -> bool:
        """Whether a checked fact (a validated rewrite, say) is recorded under ``key``."""
        if self._db is None:
            self.misses += 1
            return False
        found = self._db.execute("SELECT 1 FROM facts WHERE key = ?", (key,)).fetchone()
        if found:
            self.hits += 1
        else:
            self.misses += 1
        return bool(found)

    def add_fact(self, key: str) -> None:
        """Record a checked fact."""
        if self._db is None:
            return
        try:
            self._db.execute("INSERT OR IGNORE INTO facts VALUES (?)", (key,))
            self._db.commit()
        except sqlite3.Error:
            pass

    def get_blob(self, key: str, kind: str) -> Any | None:
        """The value stored under ``key`` as ``kind`` (a tile result, a decision, a file
        of ``apply``), or None (absent or unreadable: a miss)."""
        if self._db is None:
            self.misses += 1
            return None
        try:
            row = self._db.execute("SELECT value FROM blobs WHERE key = ? AND kind = ?",
                                   (key, kind)).fetchone()
            value = pickle.loads(row[0]) if row is not None else None
        except (sqlite3.Error, pickle.UnpicklingError, EOFError, AttributeError,
                ImportError, TypeError, ValueError):
            value = None  # an unreadable entry is a miss
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put_blob(self, key: str, kind: str, value: Any) -> None:
        """Store ``value`` under ``key`` as ``kind`` (a failure only costs a later miss)."""
        if self._db is None:
            return
        try:
            blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            self._db.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)",
                             (key, kind, blob))
            self._db.commit()
        except (sqlite3.Error, pickle.PicklingError, TypeError, AttributeError,
                RecursionError):
            pass

    def get_result(self, key: str) -> Result | None:
        """A stored tile-proof result (a proof or a refutation), or None."""
        value = self.get_blob(key, "result")
        return value if isinstance(value, Proved | Refuted) else None

    def put_result(self, key: str, result: Result) -> None:
        """Store a proof or a refutation (``unknown`` is never stored)."""
        if isinstance(result, Proved | Refuted):
            self.put_blob(key, "result", result)

    def get_decision(self, key: str) -> Any | None:
        """A stored decision (what the tensorize pass made of one kernel), or None."""
        return self.get_blob(key, "decision")

    def put_decision(self, key: str, decision: Any) -> None:
        """Store a decision."""
        self.put_blob(key, "decision", decision)

    def __getstate__(self) -> dict[str, object]:
        return {"path": self.path, "hits": 0, "misses": 0}  # a connection does not pickle

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self.hits, self.misses = state["path"], 0, 0
        self.__post_init__()

    @property
    def hit_rate(self) -> float:
        """Share of lookups answered from the cache."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0
