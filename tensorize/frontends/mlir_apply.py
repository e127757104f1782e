"""Tensorizing an MLIR module in place: the shared core of ``tensorize apply FILE.mlir``
and the xDSL pass.

Each ``func.func`` that holds loops or linalg ops is imported, run through the engine,
and, when a fragment was rewritten, its *body* is replaced by the exported rewrite (the
function op itself, its attributes and argument attributes stay). Every other operation
of the module is left as it was. One ``func.func private`` declaration per intrinsic used
is added (unless the module already declares that symbol).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block
from xdsl.printer import Printer

from tensorize.frontends.mlir_export import ExportError, export_function
from tensorize.frontends.mlir_import import (
    ForeignOp,
    ImportOptions,
    has_nest,
    import_function,
    kernel_functions,
)
from tensorize.frontends.mlir_parse import ParsedMlir, parse_mlir
from tensorize.ir.nodes import Function
from tensorize.ir.sizes import own_sizes

if TYPE_CHECKING:
    from tensorize.rewrite.engine import TensorizeResult

Runner = Callable[[Function, Mapping[str, Function], Mapping[str, int]], "TensorizeResult"]


@dataclass
class MlirApplyResult:
    """What tensorizing a module made: its text, each kernel's result, and notes."""

    text: str
    results: list[TensorizeResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def print_module(module: ModuleOp) -> str:
    """xDSL's printing of a module, with a final newline."""
    import io

    out = io.StringIO()
    Printer(stream=out).print_op(module)
    return out.getvalue().rstrip("\n") + "\n"


def tensorize_module(parsed: ParsedMlir, library: Mapping[str, Function], run: Runner,
                     sizes: Mapping[str, int], signedness: Mapping[str, str],
                     ) -> tuple[list[TensorizeResult], list[str]]:
    """Tensorize every function of ``parsed.module`` in place; results and notes."""
    results: list[TensorizeResult] = []
    notes: list[str] = []
    options = ImportOptions(dict(signedness))
    declared = {op.sym_name.data for op in parsed.module.walk() if isinstance(op, FuncOp)}
    new_decls: dict[str, str] = {}
    for func in kernel_functions(parsed.module):
        if not has_nest(func):
            continue
        try:
            kernel = import_function(parsed, func, options, library)
        except ForeignOp as exc:
            notes.append(f"@{func.sym_name.data}: left unchanged: {exc.span}: "
                         f"{exc.message}")
            continue
        result = run(kernel, library, own_sizes(kernel, sizes))
        results.append(result)
        if not result.changed:
            continue
        if kernel.params:
            notes.append(f"@{func.sym_name.data}: rewritten for fixed sizes, but the "
                         "function has dynamic shapes: left unchanged")
            continue
        try:
            exported = export_function(result.rewritten, {}, library)
        except ExportError as exc:
            notes.append(f"@{func.sym_name.data}: {exc.message}: left unchanged")
            continue
        replace_body(func, exported.text, parsed.source.name,
                     list(exported.decls.values()))
        for name, decl in exported.decls.items():
            if name not in declared:
                new_decls[name] = decl
    if new_decls:
        text = "builtin.module {\n" + "\n".join(new_decls[k] for k in sorted(new_decls)) \
            + "\n}\n"
        decl_module = parse_mlir(text, "<declarations>").module
        target = parsed.module.body.blocks[0]
        for op in list(decl_module.body.blocks[0].ops):
            op.detach()  # type: ignore[no-untyped-call]  # xDSL leaves detach unannotated
            target.add_op(op)
    return results, notes


def replace_body(func: FuncOp, func_text: str, name: str, decls: list[str]) -> None:
    """Replace the body of ``func`` by that of the ``func.func`` in ``func_text`` (which
    may call the functions ``decls`` declare)."""
    new_module = parse_mlir("builtin.module {\n" + "\n".join([func_text, *decls]) + "\n}\n",
                            f"{name} (rewritten @{func.sym_name.data})").module
    new_func = next(op for op in new_module.walk() if isinstance(op, FuncOp))
    new_block = new_func.body.blocks[0]
    old_block = func.body.blocks[0]
    if [a.type for a in new_block.args] != [a.type for a in old_block.args]:
        raise AssertionError("the rewritten function's signature differs")
    new_func.body.detach_block(new_block)
    func.body.insert_block_before(new_block, old_block)
    func.body.detach_block(old_block)
    _erase(old_block)


def _erase(block: Block) -> None:
    for op in reversed(list(block.ops)):
        op.detach()  # type: ignore[no-untyped-call]  # xDSL leaves detach unannotated
        op.drop_all_references()
    block.erase(safe_erase=False)


def tensorize_mlir(parsed: ParsedMlir, library: Mapping[str, Function], run: Runner,
                   sizes: Mapping[str, int], signedness: Mapping[str, str],
                   ) -> MlirApplyResult:
    """Tensorize a parsed module and print it (the whole module, rewritten bodies in)."""
    results, notes = tensorize_module(parsed, library, run, sizes, signedness)
    return MlirApplyResult(print_module(parsed.module), results, notes)
