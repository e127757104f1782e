"""Memoisation by identity, for facts derived from long-lived frozen IR objects.

An intrinsic of the library or the kernel of one pass is asked the same question
(whether it is a whole-nest intrinsic, which names it declares, its printed text) many
times per run, and an expression is asked its free names or its polynomial at every
use. Hashing a ``Function`` hashes its whole tree, so these caches are keyed by the
object's identity instead; each entry keeps its object alive, so an identity is never
reused while its entry exists. Frozen nodes cannot change, so an entry never goes stale.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

LIMIT = 4096
"""Entries kept per memoised function by default; the cache is emptied when it is full."""


def by_identity(limit: int = LIMIT) -> Callable[[Callable[[T], R]], Callable[[T], R]]:
    """A decorator: the function's results remembered per argument object (see the
    module), at most ``limit`` of them. Callers must not mutate a result."""

    def decorate(fn: Callable[[T], R]) -> Callable[[T], R]:
        cache: dict[int, tuple[T, R]] = {}

        @wraps(fn)
        def memoised(obj: T) -> R:
            found = cache.get(id(obj))
            if found is not None and found[0] is obj:
                return found[1]
            result = fn(obj)
            if len(cache) >= limit:
                cache.clear()
            cache[id(obj)] = (obj, result)
            return result

        return memoised

    return decorate
