"""Modules whose public names are imported on first use (PEP 562).

The package (``tensorize``) and the façade (``tensorize.api``) name a table of where each
public name lives; :func:`lazy_names` gives them the module ``__getattr__`` and ``__dir__``
that import the defining module on first use, so that ``import tensorize`` and a command
that needs a few names import only what they use (a warm ``apply`` neither the engine nor
the IR, nor numpy, Z3 or lark).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_names(module: str, where: Mapping[str, str], public: Iterable[str]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the module named ``module``: a name of ``where`` is
    read from the module ``where[name]`` when first asked for, then kept in the module."""
    names = sorted(public)

    def getattr_(name: str) -> Any:
        home = where.get(name)
        if home is None:
            raise AttributeError(f"module '{module}' has no attribute '{name}'")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[module], name, value)
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[module])) | set(names))

    return getattr_, dir_
