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

from typing import TYPE_CHECKING

from tensorize.errors import TensorizeError
from tensorize.lazy import lazy_names

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


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
