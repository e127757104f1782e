"""tensorize: prove that loop fragments compute what an intrinsic computes, and rewrite them.

The library interface::

    import tensorize
    lib = tensorize.load_library()
    module = tensorize.load("examples/qmatmul.tz", lib)
    outputs = tensorize.run(module.kernels[0], library=lib)
"""

from tensorize.api import (
    Library,
    compile,
    find_function,
    load,
    load_library,
    parse,
    prove,
    run,
    tensorize,
)
from tensorize.errors import TensorizeError

__version__ = "0.1.0"

__all__ = ["Library", "TensorizeError", "compile", "find_function", "load", "load_library", "parse",
           "prove", "run", "tensorize", "__version__"]
