"""Small helpers to build and run kernels in tests."""

from __future__ import annotations

from tensorize.api import parse
from tensorize.ir.nodes import Function


def kernel(text: str, library=None) -> Function:
    """Parse and check a file holding one kernel; return it."""
    module = parse(text, "<test>", library)
    return module.kernels[0]
