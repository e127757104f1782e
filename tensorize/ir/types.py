"""Scalar types of the `.tz` language and their value ranges."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

Kind = Literal["int", "uint", "float", "bool", "index"]


@dataclass(frozen=True, slots=True)
class DType:
    """A scalar type: an integer or float of a fixed width, ``bool``, or ``index``.

    ``index`` is the type of loop variables, size parameters and affine index
    expressions: an unbounded integer that never meets a buffer element without a cast.
    """

    name: str
    kind: Kind
    bits: int

    def __str__(self) -> str:
        return self.name

    @property
    def is_int(self) -> bool:
        """True for fixed-width integers (signed or unsigned)."""
        return self.kind in ("int", "uint")

    @property
    def is_signed(self) -> bool:
        """True for signed integers."""
        return self.kind == "int"

    @property
    def is_float(self) -> bool:
        """True for floating-point types."""
        return self.kind == "float"

    @property
    def is_bool(self) -> bool:
        """True for ``bool``."""
        return self.kind == "bool"

    @property
    def is_index(self) -> bool:
        """True for the ``index`` type of affine expressions."""
        return self.kind == "index"

    @property
    def is_numeric(self) -> bool:
        """True for the types a buffer element may have, except ``bool``."""
        return self.is_int or self.is_float

    @property
    def min(self) -> int:
        """Smallest value of an integer type."""
        assert self.is_int
        return -(1 << (self.bits - 1)) if self.is_signed else 0

    @property
    def max(self) -> int:
        """Largest value of an integer type."""
        assert self.is_int
        return (1 << (self.bits - 1)) - 1 if self.is_signed else (1 << self.bits) - 1

    @property
    def float_format(self) -> tuple[int, int]:
        """(exponent bits, significand bits including the hidden bit) of a float type."""
        return FLOAT_FORMATS[self.name]

    @property
    def np_dtype(self) -> np.dtype:
        """The numpy dtype that holds values of this type exactly."""
        return _np_dtypes()[self.name]


I8 = DType("i8", "int", 8)
I16 = DType("i16", "int", 16)
I32 = DType("i32", "int", 32)
I64 = DType("i64", "int", 64)
U8 = DType("u8", "uint", 8)
U16 = DType("u16", "uint", 16)
U32 = DType("u32", "uint", 32)
U64 = DType("u64", "uint", 64)
F16 = DType("f16", "float", 16)
BF16 = DType("bf16", "float", 16)
F32 = DType("f32", "float", 32)
F64 = DType("f64", "float", 64)
BOOL = DType("bool", "bool", 1)
INDEX = DType("index", "index", 64)

SCALAR_TYPES: dict[str, DType] = {
    t.name: t for t in (I8, I16, I32, I64, U8, U16, U32, U64, F16, BF16, F32, F64, BOOL)
}
"""The element types a user may write, by name."""

FLOAT_FORMATS: dict[str, tuple[int, int]] = {
    "f16": (5, 11),
    "bf16": (8, 8),
    "f32": (8, 24),
    "f64": (11, 53),
}


@functools.cache
def _np_dtypes() -> dict[str, np.dtype]:
    """The numpy dtype of each type (numpy and ml_dtypes are imported on first use)."""
    import ml_dtypes
    import numpy as np

    return {
        "i8": np.dtype(np.int8),
        "i16": np.dtype(np.int16),
        "i32": np.dtype(np.int32),
        "i64": np.dtype(np.int64),
        "u8": np.dtype(np.uint8),
        "u16": np.dtype(np.uint16),
        "u32": np.dtype(np.uint32),
        "u64": np.dtype(np.uint64),
        "f16": np.dtype(np.float16),
        "bf16": np.dtype(ml_dtypes.bfloat16),
        "f32": np.dtype(np.float32),
        "f64": np.dtype(np.float64),
        "bool": np.dtype(np.bool_),
        "index": np.dtype(np.int64),
    }


def __getattr__(name: str) -> Any:
    """``NP_DTYPES``, built on first use."""
    if name == "NP_DTYPES":
        return _np_dtypes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
