"""tensorize: prove that loop fragments compute what an intrinsic computes, and rewrite them.

The library interface::

    import tensorize
    lib = tensorize.load_library()
    module = tensorize.load("examples/qmatmul.tz", lib)
    outputs = tensorize.run(module.kernels[0], library=lib)

Importing the package is cheap: numpy, z3 and lark are loaded when first needed (the
names below are looked up on first use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tensorize.errors import TensorizeError

if TYPE_CHECKING:
    from tensorize.api import compile, find_function, load, parse, prove, run, tensorize
    from tensorize.intrinsics.library import Library, load_library

__version__ = "0.1.0"

__all__ = ["Library", "TensorizeError", "compile", "find_function", "load", "load_library",
           "parse", "prove", "run", "tensorize", "__version__"]

_LAZY = {"Library": "tensorize.intrinsics.library",
         "load_library": "tensorize.intrinsics.library",
         "compile": "tensorize.api", "find_function": "tensorize.api",
         "load": "tensorize.api", "parse": "tensorize.api",
         "prove": "tensorize.api", "run": "tensorize.api", "tensorize": "tensorize.api"}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tensorize' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
