"""Reading MLIR text with xDSL, keeping the source position of every operation.

xDSL's parser does not record where an operation came from (``op.location`` is only set
from an explicit ``loc(...)``), so :class:`LocatedParser` notes the position of the first
token of every operation it parses (its result list, or its name); diagnostics point there.
Parse and verification errors of xDSL become :class:`~tensorize.errors.TensorizeError`\\ s
with a ``file:line:col`` position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import get_all_dialects
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError as XdslParseError
from xdsl.utils.exceptions import VerifyException

from tensorize.errors import InputError, ParseError, Source, Span


class MlirError(ParseError):
    """MLIR input that cannot be parsed, verified or imported."""


def mlir_context() -> Context:
    """An xDSL context with every dialect xDSL knows and the extra linalg named ops."""
    from tensorize.frontends.mlir_linalg import EXTRA_NAMED_OPS

    ctx = Context()
    for name, factory in get_all_dialects().items():
        ctx.register_dialect(name, factory)
    ctx.load_registered_dialect("linalg")
    for op in EXTRA_NAMED_OPS:
        ctx.load_op(op)
    return ctx


class LocatedParser(Parser):
    """xDSL's parser, remembering the source offset of every operation it parses."""

    def __init__(self, ctx: Context, text: str, name: str) -> None:
        super().__init__(ctx, text, name)
        self.positions: dict[int, int] = {}
        self.keep: list[Operation] = []

    def parse_operation(self) -> Operation:
        start = self._current_token.span.start
        op = super().parse_operation()
        self.positions[id(op)] = start
        self.keep.append(op)
        return op


def span_at(source: Source, offset: int) -> Span:
    """The 1-based line and column of a character offset of ``source``."""
    line = source.text.count("\n", 0, offset) + 1
    col = offset - (source.text.rfind("\n", 0, offset) + 1) + 1
    return Span(source, line, col)


@dataclass
class ParsedMlir:
    """A parsed (and verified) MLIR module with the position of each of its operations."""

    module: ModuleOp
    source: Source
    positions: dict[int, int] = field(default_factory=dict)
    ops: list[Operation] = field(default_factory=list)

    def span(self, op: Operation | None) -> Span | None:
        """Where ``op`` starts in the source (its nearest located ancestor's position)."""
        while op is not None:
            offset = self.positions.get(id(op))
            if offset is not None:
                return span_at(self.source, offset)
            op = op.parent_op()
        return None

    def error(self, message: str, op: Operation | None) -> MlirError:
        """A diagnostic at ``op``."""
        return MlirError(message, self.span(op))


def parse_mlir(text: str, name: str = "<mlir>") -> ParsedMlir:
    """Parse and verify MLIR text with xDSL; errors are diagnostics with a position."""
    source = Source(name, text)
    parser = LocatedParser(mlir_context(), text, name)
    try:
        module = parser.parse_module()
    except XdslParseError as exc:
        msg = exc.msg.splitlines()[0] if exc.msg else "cannot parse"
        raise MlirError(f"MLIR: {msg}", span_at(source, exc.span.start)) from None
    parsed = ParsedMlir(module, source, parser.positions, parser.keep)
    for op in _verified_ops(module):
        try:
            op.verify(verify_nested_ops=False)
        except VerifyException as exc:
            raise MlirError(f"MLIR does not verify: {str(exc).splitlines()[0]}",
                            parsed.span(op) or _verify_span(parsed, exc)) from None
    return parsed


def _verified_ops(module: ModuleOp) -> list[Operation]:
    """Every op but those inside a linalg named op's implicit body: xDSL builds that
    body without MLIR's type conversions (an i8 x i8 -> i32 ``linalg.matmul`` is valid
    MLIR but its xDSL body is not), and the importer does not read it."""
    from xdsl.dialects.linalg.abstract_ops import NamedOperation

    ops: list[Operation] = []
    todo: list[Operation] = [module]
    while todo:
        op = todo.pop()
        ops.append(op)
        if isinstance(op, NamedOperation):
            continue
        for region in op.regions:
            for block in region.blocks:
                todo.extend(block.ops)
    return ops


def _verify_span(parsed: ParsedMlir, exc: VerifyException) -> Span | None:
    """The op a verification error is about, when xDSL names it (else the module)."""
    text = str(exc)
    for op in parsed.ops:
        if op.name in text and id(op) in parsed.positions:
            return parsed.span(op)
    return span_at(parsed.source, 0)


def read_mlir(path: str) -> ParsedMlir:
    """Read and parse one ``.mlir`` file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    return parse_mlir(text, path)
