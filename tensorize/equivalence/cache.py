"""A persistent proof cache (SQLite), keyed by the normalised obligation.

The key is a hash of the canonical text of both sides, the float mode and a fingerprint of
the engine's own source (every module and the grammar), so any change to either side, to
the semantics or to the tool misses: a proof made by an older engine is never reused. Only
proofs are stored: refutations are cheap to find again, and ``unknown`` must be retried.
On by default in the user's cache directory (``$TENSORIZE_CACHE_DIR``, else
``$XDG_CACHE_HOME/tensorize``, else ``~/.cache/tensorize``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tensorize.equivalence.results import Proved


@functools.cache
def engine_fingerprint() -> str:
    """A hash of the engine's source files: cached proofs are valid for this engine only."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".lark") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def default_path() -> Path:
    """Where the cache lives unless told otherwise."""
    if os.environ.get("TENSORIZE_CACHE_DIR"):
        return Path(os.environ["TENSORIZE_CACHE_DIR"]) / "proofs.sqlite"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tensorize" / "proofs.sqlite"


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
