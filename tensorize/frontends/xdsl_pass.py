"""The ``tensorize`` xDSL pass: ``xdsl-opt -p 'tensorize{target="x86.avx512_vnni"}'``.

Registered with ``xdsl-opt`` through xDSL's plug-in mechanism: ``pyproject.toml`` names
:data:`TENSORIZE_UNIVERSE` under the ``xdsl.universe`` entry-point group, and
``xdsl-opt`` (``Universe.get_multiverse``) adds its passes. From Python, use
:class:`TensorizeMlirPass` like any ``ModulePass``
(``TensorizeMlirPass(target="x86").apply(ctx, module)``, or in a ``PassPipeline``).

Options (all strings, as xDSL pipeline options): ``target`` and ``intrinsic`` (comma
separated names, as ``--target`` / ``--intrinsic``), ``fp`` (``ieee`` or ``real``),
``specs`` (comma separated extra spec files), ``signedness`` (``A=u8,B=i8``). The pass
wraps the engine's ``TensorizePass`` (``tensorize.api.make_pass``): the module is printed,
re-read with source positions for diagnostics, tensorized function by function
(:mod:`tensorize.frontends.mlir_apply`), and its contents replace the input module's.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.universe import Universe
from xdsl.utils.exceptions import PassFailedException

from tensorize.errors import TensorizeError


def _names(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


@dataclass(frozen=True)
class TensorizeMlirPass(ModulePass):
    """Prove and rewrite the loop fragments an intrinsic computes into calls of it."""

    name = "tensorize"

    target: str | None = None
    intrinsic: str | None = None
    fp: str = "ieee"
    specs: str | None = None
    signedness: str | None = None

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        """Tensorize ``op`` in place (a diagnostic becomes a ``PassFailedException``)."""
        from tensorize import api
        from tensorize.frontends.mlir_apply import print_module, tensorize_module
        from tensorize.frontends.mlir_import import parse_signedness
        from tensorize.frontends.mlir_parse import parse_mlir

        try:
            library = api.load_specs(_names(self.specs))
            tpass = api.make_pass(library, targets=_names(self.target),
                                  intrinsics=_names(self.intrinsic), fp=self.fp)
            parsed = parse_mlir(print_module(op), "<tensorize pass input>")
            tensorize_module(parsed, library.as_dict(), tpass.run, {},
                             parse_signedness(_names(self.signedness)))
        except TensorizeError as exc:
            raise PassFailedException(exc.render()) from None
        block = op.body.blocks[0]
        for old in list(block.ops):
            old.detach()  # type: ignore[no-untyped-call]  # xDSL leaves detach unannotated
            old.erase(safe_erase=False)
        for new in list(parsed.module.body.blocks[0].ops):
            new.detach()  # type: ignore[no-untyped-call]  # xDSL leaves detach unannotated
            block.add_op(new)


def _get_pass() -> type[ModulePass]:
    return TensorizeMlirPass


TENSORIZE_UNIVERSE = Universe(all_passes={"tensorize": _get_pass})
"""What ``xdsl-opt`` discovers through the ``xdsl.universe`` entry point."""
