"""The linalg named ops the importer reads, as loop nests of their generic form.

xDSL parses ``linalg.matmul``, ``linalg.conv_2d_nhwc_hwcf``, ``linalg.conv_2d_nchw_fchw``
and ``linalg.fill``; the other named ops of the MLIR issue (``matmul_transpose_b``,
``batch_matmul``, ``matvec``, ``dot``) are defined here the same way so that xDSL parses
them too. The *meaning* of every named op is taken from MLIR's OpDSL definitions
(``mlir/python/mlir/dialects/linalg/opdsl/ops/core_named_ops.py``), not from xDSL's hidden
regions (which do not convert mixed element types): each operand is converted to the
output's element type with ``cast_signed`` (sign extension, or ``sitofp`` / ``extf``),
multiplied, and added to the output, over the loop dimensions in the order OpDSL
declares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from xdsl.dialects.builtin import AffineMapAttr, ArrayAttr, DenseIntElementsAttr
from xdsl.dialects.linalg.abstract_ops import NamedOperation
from xdsl.dialects.linalg.attrs import IteratorTypeAttr
from xdsl.dialects.linalg.ops import MatmulOp
from xdsl.ir import Attribute, Operation, Region, SSAValue
from xdsl.ir.affine import AffineMap
from xdsl.irdl import irdl_op_definition, prop_def


def _maps(*fns: object) -> ArrayAttr[AffineMapAttr]:
    return ArrayAttr([AffineMapAttr(AffineMap.from_callable(f))  # type: ignore[arg-type]  # xDSL types op properties as plain Attribute
                      for f in fns])  # the lambdas are callables of AffineExprs


def _named_contraction(op_name: str, iterators: str, maps: ArrayAttr[AffineMapAttr],
                       doc: str) -> type[Operation]:
    """An xDSL op parsed like ``linalg.matmul`` (ins, outs, optional attrs), with the
    indexing maps and iterator types of the named op ``op_name``."""

    class _Contraction(NamedOperation):
        name = op_name
        PRINT_ATTRS_IN_FRONT: ClassVar[bool] = True
        indexing_maps = prop_def(ArrayAttr[AffineMapAttr], default_value=maps)

        def __init__(self, inputs: Sequence[SSAValue], outputs: Sequence[SSAValue] = (),
                     res: Sequence[Attribute] | None = None,
                     attributes: dict[str, Attribute] | None = None) -> None:
            super().__init__(ins=inputs, outs=outputs, result_types=res or (),
                             attributes=attributes,
                             hidden_region=MatmulOp.get_hidden_region(inputs, outputs))

        @classmethod
        def get_hidden_region(cls, inputs: Sequence[SSAValue],
                              outputs: Sequence[SSAValue]) -> Region:
            return MatmulOp.get_hidden_region(inputs, outputs)

        def get_default_indexing_maps(self) -> Sequence[AffineMap]:
            return tuple(m.data for m in self.indexing_maps.data)

        def get_indexing_maps(self) -> ArrayAttr[AffineMapAttr]:
            return self.indexing_maps

        def get_iterator_types(self) -> ArrayAttr[IteratorTypeAttr]:
            return ArrayAttr([IteratorTypeAttr.parallel() if c == "p"
                              else IteratorTypeAttr.reduction() for c in iterators])

    _Contraction.__name__ = _Contraction.__qualname__ = op_name.split(".")[1].title() + "Op"
    _Contraction.__doc__ = doc
    return irdl_op_definition(_Contraction)


MatmulTransposeBOp = _named_contraction(
    "linalg.matmul_transpose_b", "ppr",
    _maps(lambda m, n, k: (m, k), lambda m, n, k: (n, k), lambda m, n, k: (m, n)),
    "``linalg.matmul_transpose_b``: C[m, n] += A[m, k] * B[n, k].")
BatchMatmulOp = _named_contraction(
    "linalg.batch_matmul", "pppr",
    _maps(lambda b, m, n, k: (b, m, k), lambda b, m, n, k: (b, k, n),
          lambda b, m, n, k: (b, m, n)),
    "``linalg.batch_matmul``: C[b, m, n] += A[b, m, k] * B[b, k, n].")
MatvecOp = _named_contraction(
    "linalg.matvec", "pr", _maps(lambda m, n: (m, n), lambda m, n: (n,), lambda m, n: (m,)),
    "``linalg.matvec``: x[m] += A[m, n] * y[n].")
DotOp = _named_contraction(
    "linalg.dot", "r", _maps(lambda m: (m,), lambda m: (m,), lambda m: ()),
    "``linalg.dot``: C[] += A[m] * B[m].")

EXTRA_NAMED_OPS: tuple[type[Operation], ...] = (MatmulTransposeBOp, BatchMatmulOp,
                                                 MatvecOp, DotOp)

# index expressions over the loop dimensions, as (dims, per operand: index strings)
_CONTRACTIONS: dict[str, tuple[tuple[str, ...], str, tuple[tuple[str, ...], ...]]] = {
    "linalg.matmul": (("m", "n", "k"), "ppr", (("m", "k"), ("k", "n"), ("m", "n"))),
    "linalg.matmul_transpose_b": (("m", "n", "k"), "ppr",
                                  (("m", "k"), ("n", "k"), ("m", "n"))),
    "linalg.batch_matmul": (("b", "m", "n", "k"), "pppr",
                            (("b", "m", "k"), ("b", "k", "n"), ("b", "m", "n"))),
    "linalg.matvec": (("m", "n"), "pr", (("m", "n"), ("n",), ("m",))),
    "linalg.dot": (("m",), "r", (("m",), ("m",), ())),
}


@dataclass(frozen=True)
class NamedSpec:
    """A named op in generic form: loop dims (in order), their kinds, operand indices.

    ``indices[i]`` is the index of operand ``i`` as affine expressions (``.tz`` text) of
    the dims; ``kind`` is ``"contraction"`` (out += cast(in0) * cast(in1)) or ``"fill"``.
    """

    dims: tuple[str, ...]
    iterators: str
    indices: tuple[tuple[str, ...], ...]
    kind: str


def _pair(attr: DenseIntElementsAttr | None, what: str) -> tuple[int, int]:
    if attr is None:
        return (1, 1)
    values = [int(v) for v in attr.get_values()]
    if len(values) != 2:
        raise ValueError(f"{what} must have two values")
    return values[0], values[1]


def named_spec(op: Operation, out_rank: int) -> NamedSpec | None:
    """The generic form of a supported named op (None for any other op)."""
    if op.name in _CONTRACTIONS:
        dims, its, idx = _CONTRACTIONS[op.name]
        return NamedSpec(dims, its, idx, "contraction")
    if op.name in ("linalg.conv_2d_nhwc_hwcf", "linalg.conv_2d_nchw_fchw"):
        sh, sw = _pair(op.properties.get("strides"), "strides")  # type: ignore[arg-type]  # xDSL types op properties as plain Attribute
        dh, dw = _pair(op.properties.get("dilations"), "dilations")  # type: ignore[arg-type]  # xDSL types op properties as plain Attribute
        row = f"{sh}*oh + {dh}*kh"
        col = f"{sw}*ow + {dw}*kw"
        if op.name == "linalg.conv_2d_nhwc_hwcf":
            return NamedSpec(("n", "oh", "ow", "f", "kh", "kw", "c"), "pppprrr",
                             (("n", row, col, "c"), ("kh", "kw", "c", "f"),
                              ("n", "oh", "ow", "f")), "contraction")
        return NamedSpec(("n", "f", "oh", "ow", "c", "kh", "kw"), "pppprrr",
                         (("n", "c", row, col), ("f", "c", "kh", "kw"),
                          ("n", "f", "oh", "ow")), "contraction")
    if op.name == "linalg.fill":
        dims = tuple(f"d{i}" for i in range(out_rank))
        return NamedSpec(dims, "p" * out_rank, ((), dims), "fill")
    return None


def affine_maps_of(op: Operation) -> Sequence[AffineMap]:
    """The indexing maps of a ``linalg.generic``."""
    maps = op.properties.get("indexing_maps")
    assert isinstance(maps, ArrayAttr)
    return [m.data for m in maps.data if isinstance(m, AffineMapAttr)]
