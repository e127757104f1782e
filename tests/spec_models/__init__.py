"""Independent models of the intrinsic specs, written from the vendors' pseudocode.

Each model takes a spec's inputs (numpy arrays, same names) and returns its outputs. The
models share no code with tensorize: integers are Python ints or int64 with explicit
wrapping and saturation, and floats are exact rationals rounded once by
:func:`tests.spec_models.exact.round_to` (a rounding written here, not tensorize's).

``kind`` says what a model claims:

- ``"bits"``: the spec's IEEE (or integer) result, compared bit for bit with the
  interpreter;
- ``"real"``: the exact real-number result of a spec declared ``order unordered`` (the
  hardware's rounding or order is not stated, so only real-mode proofs use the spec),
  compared with the real-mode interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Kind = Literal["bits", "real"]
ModelFn = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class SpecModel:
    """A model and what it claims."""

    kind: Kind
    fn: ModelFn


SPEC_MODELS: dict[str, SpecModel] = {}


def model(*names: str, kind: Kind = "bits") -> Callable[[ModelFn], ModelFn]:
    """Register ``fn`` as the model of every spec in ``names``."""
    def register(fn: ModelFn) -> ModelFn:
        for name in names:
            assert name not in SPEC_MODELS, name
            SPEC_MODELS[name] = SpecModel(kind, fn)
        return fn
    return register


def ints(x: np.ndarray) -> list[int]:
    """The elements of an integer array as Python ints, row-major."""
    return [int(v) for v in np.asarray(x).reshape(-1)]


def wrap(v: int, bits: int, signed: bool) -> int:
    """``v`` modulo 2**bits, as a signed or unsigned value."""
    v &= (1 << bits) - 1
    return v - (1 << bits) if signed and v >> (bits - 1) else v


def saturate(v: int, bits: int, signed: bool) -> int:
    """``v`` clamped to the range of a ``bits``-wide integer."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return min(max(v, lo), hi)


from tests.spec_models import accel, arm, blas, gpu, riscv, x86  # noqa: E402,F401  (registers)
