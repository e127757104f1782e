"""Parse `.tz` text into the parsed IR (:mod:`tensorize.ir.syntax`): no types yet.

The grammar lives in ``grammar.lark``; lark's LALR parser builds the IR directly through
an inline transformer, so parsing needs no recursion however deep the input nests. Every
syntax error becomes a :class:`ParseError` with the position of the offending token.
"""

from __future__ import annotations

import importlib.resources
import math
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import lark
from lark import Lark, Token, Transformer

from tensorize.errors import InputError, ParseError, Source, Span
from tensorize.ir.syntax import (
    MODES,
    Assume,
    Comment,
    Layout,
    Meta,
    ParsedArg,
    ParsedAssign,
    ParsedBinary,
    ParsedBufferDecl,
    ParsedCall,
    ParsedCallStmt,
    ParsedCast,
    ParsedConst,
    ParsedExpr,
    ParsedFor,
    ParsedFunction,
    ParsedIf,
    ParsedLoad,
    ParsedModule,
    ParsedStmt,
    ParsedUnary,
    ParsedVar,
    ParsedView,
    SizeParam,
)
from tensorize.ir.traverse import walk
from tensorize.ir.types import SCALAR_TYPES

MAX_DEPTH = 200
"""Deepest nesting of statements or expressions accepted (keeps later passes in stack)."""

_GRAMMAR = importlib.resources.files("tensorize.ir").joinpath("grammar.lark").read_text()


_N = TypeVar("_N")
"""Any node: ``_nest`` returns what it is given."""


@dataclass(frozen=True, slots=True)
class _Tuple(ParsedExpr):
    """A parenthesised list of names; only legal as the dimensions of a view."""

    items: tuple[ParsedExpr, ...]
    dtype: None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class _Params:
    items: tuple[SizeParam, ...]


@dataclass(frozen=True, slots=True)
class _Index:
    items: tuple[ParsedExpr, ...]


_TOKEN_NAMES = {
    "RBRACE": "'}'", "LBRACE": "'{'", "RPAR": "')'", "LPAR": "'('", "LSQB": "'['",
    "RSQB": "']'", "COMMA": "','", "COLON": "':'", "DOT": "'.'", "EQ": "'='",
    "NAME": "a name", "INT": "an integer", "FLOAT": "a float", "STRING": "a string",
    "RANGE": "'..'", "ARROW": "'->'", "AUGOP": "'+='", "IN": "'in'", "FOR": "'for'",
    "IF": "'if'", "CALL": "'call'", "ASSUME": "'assume'", "KERNEL": "'kernel'",
    "INTRINSIC": "'intrinsic'", "MINUS": "'-'", "PLUS": "'+'", "STAR": "'*'",
    "$END": "end of file", "BANG": "'!'", "TILDE": "'~'", "TRUE": "'true'",
    "FALSE": "'false'", "INF": "'inf'", "ELSE": "'else'",
}


def _describe(names: set[str] | frozenset[str]) -> str:
    shown = sorted({_TOKEN_NAMES.get(n, n.lower()) for n in names})
    if len(shown) > 6:
        shown = shown[:6] + ["..."]
    return ", ".join(shown)


class _Build(Transformer):  # type: ignore[type-arg]  # lark leaves its type parameters open
    """Inline transformer: turns each reduced rule into an IR node."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source
        self.depth: dict[int, int] = {}
        self.tokens: list[Token] = []  # comments and braces, which the tree leaves out

    def keep(self, token: Token) -> Token:
        """Lexer callback: remember a comment or a brace for the layout."""
        self.tokens.append(token)
        return token

    # -- helpers ---------------------------------------------------------------
    def _span(self, *items: Any) -> Span | None:
        for item in items:
            if isinstance(item, Token) and item.line is not None:
                return Span(self.source, item.line, item.column or 1,
                            item.end_line or item.line, item.end_column or 1)
            span = getattr(item, "span", None)
            if isinstance(span, Span):
                return span
        return None

    def _error(self, message: str, *at: Any) -> ParseError:
        return ParseError(message, self._span(*at))

    def _nest(self, node: _N, *kids: Any) -> _N:
        level = 1 + max((self.depth.get(id(k), 0) for k in kids), default=0)
        if level > MAX_DEPTH:
            raise self._error(f"nesting deeper than {MAX_DEPTH} levels", node)
        self.depth[id(node)] = level
        return node

    # -- top level ---------------------------------------------------------------
    def start(self, items: list[ParsedFunction]) -> ParsedModule:
        names: dict[str, ParsedFunction] = {}
        for f in items:
            if f.name in names:
                raise self._error(f"duplicate definition of '{f.name}'", f)
            names[f.name] = f
        return ParsedModule(tuple(items), span=Span(self.source, 1, 1))

    def _function(self, kind: Literal["kernel", "intrinsic"], head: Token, name: str,
                  rest: list[Any]) -> ParsedFunction:
        params: tuple[SizeParam, ...] = ()
        buffers, assumes, meta, body = [], [], [], []
        for item in rest:
            if isinstance(item, _Params):
                params = item.items
            elif isinstance(item, ParsedBufferDecl):
                buffers.append(item)
            elif isinstance(item, Assume):
                assumes.append(item)
            elif isinstance(item, Meta):
                meta.append(item)
            else:
                body.append(item)
        return ParsedFunction(kind, name, params, tuple(buffers), tuple(assumes),
                              tuple(meta), tuple(body), span=self._span(head))

    def kernel(self, c: list[Any]) -> ParsedFunction:
        return self._function("kernel", c[1], str(c[1]), c[2:])

    def intrinsic(self, c: list[Any]) -> ParsedFunction:
        return self._function("intrinsic", c[1][1], c[1][0], c[2:])

    def params(self, c: list[Any]) -> _Params:
        return _Params(tuple(p for p in c if p is not None))

    def param(self, c: list[Any]) -> SizeParam:
        default = None if c[2] is None else _int(c[2])
        return SizeParam(str(c[0]), default, span=self._span(c[0]))

    def decl(self, c: list[Any]) -> ParsedBufferDecl:
        mode, name, tname = c[0], c[1], c[2]
        if str(mode) not in MODES:
            raise self._error(
                f"unknown buffer mode '{mode}'; expected one of in, out, inout, local", mode)
        if str(tname) not in SCALAR_TYPES:
            raise self._error(f"unknown type '{tname}'", tname)
        shape = c[3].items if len(c) > 3 else ()
        return ParsedBufferDecl(str(name), str(mode), SCALAR_TYPES[str(tname)], shape,
                          span=self._span(name))

    def shape(self, c: list[ParsedExpr]) -> _Index:
        return _Index(tuple(c))

    index = shape

    def assume(self, c: list[Any]) -> Assume:
        lo, rng, hi = c[3], c[4], c[5]
        return Assume(str(c[1]), lo[0], hi[0], str(rng) == "..=", span=self._span(c[1]))

    def number(self, c: list[Token]) -> tuple[int | float, Token]:
        tok = c[-1]
        if tok.type == "INT":
            value: int | float = _int(tok)
        elif tok.type == "INF":
            value = math.inf
        else:
            value = self._float(tok)
        return (-value if len(c) == 2 else value), c[0]

    def _float(self, tok: Token) -> float:
        value = float(tok)
        if math.isinf(value):
            raise self._error(f"float literal {tok} is too large for any float type; "
                              "write inf for infinity", tok)
        return value

    def dotted(self, c: list[Token]) -> tuple[str, Token]:
        return ".".join(str(t) for t in c), c[0]

    def meta_string(self, c: list[Token]) -> tuple[str, str, Token]:
        return _unquote(str(c[0])), "string", c[0]

    def meta_number(self, c: list[Any]) -> tuple[int | float, str, Token]:
        return c[0][0], "number", c[0][1]

    def meta_name(self, c: list[Any]) -> tuple[str, str, Token]:
        return c[0][0], "name", c[0][1]

    def meta(self, c: list[Any]) -> Meta:
        value, kind, _tok = c[1]
        return Meta(str(c[0]), value, kind, span=self._span(c[0]))

    # -- statements ----------------------------------------------------------------
    def block(self, c: list[ParsedStmt]) -> tuple[ParsedStmt, ...]:
        return tuple(c)

    def for_stmt(self, c: list[Any]) -> ParsedFor:
        lo, rng, hi, body = c[3], c[4], c[5], c[6]
        if str(rng) == "..=":
            hi = ParsedBinary("+", hi, ParsedConst(1, span=hi.span), span=hi.span)
        node = ParsedFor(str(c[1]), lo, hi, body, span=self._span(c[0]))
        return self._nest(node, *body)

    def if_stmt(self, c: list[Any]) -> ParsedIf:
        orelse = c[4]  # c[3] is the 'else' keyword (or None)
        if orelse is None:
            orelse = ()
        elif isinstance(orelse, ParsedIf):
            orelse = (orelse,)
        node = ParsedIf(c[1], c[2], orelse, span=self._span(c[0]))
        return self._nest(node, c[1], *c[2], *orelse)

    def call_stmt(self, c: list[Any]) -> ParsedCallStmt:
        args = tuple(a for a in c[2:] if a is not None)
        seen: set[str] = set()
        for a in args:
            if a.name in seen:
                raise self._error(f"argument '{a.name}' given twice", a)
            seen.add(a.name)
        return ParsedCallStmt(c[1][0], args, span=self._span(c[0]))

    def arg(self, c: list[Any]) -> ParsedArg:
        name, value, arrow, buf, idx = c[0], c[2], c[3], c[4], (c[5] if len(c) > 5 else None)
        span = self._span(name)
        if arrow is None:
            return ParsedArg(str(name), value, span=span)
        items = value.items if isinstance(value, _Tuple) else (value,)
        dims = []
        for item in items:
            if not isinstance(item, ParsedVar):
                raise self._error("a view's dimensions must be names, as in (i, k) -> A[i, k]",
                                  item)
            if item.name in dims:
                raise self._error(f"view dimension '{item.name}' given twice", item)
            dims.append(item.name)
        index = idx.items if idx is not None else ()
        view = ParsedView(tuple(dims), str(buf), index, span=self._span(buf))
        return ParsedArg(str(name), view, span=span)

    def assign(self, c: list[Any]) -> ParsedAssign:
        name = c[0]
        index = c[1].items if isinstance(c[1], _Index) else ()
        op, value = c[-2], c[-1]
        span = self._span(name)
        if op.type == "AUGOP":
            current = ParsedLoad(str(name), index, span=span)
            value = ParsedBinary(str(op)[0], current, value, span=self._span(op))
        return self._nest(ParsedAssign(str(name), index, value, span=span), value, *index)

    # -- expressions ---------------------------------------------------------------
    def binary(self, c: list[Any]) -> ParsedBinary:
        lhs, op, rhs = c
        return self._nest(ParsedBinary(str(op), lhs, rhs, span=self._span(op)), lhs, rhs)

    def unary(self, c: list[Any]) -> ParsedExpr:
        op, operand = c
        if str(op) == "-" and isinstance(operand, ParsedConst) and operand.dtype is None \
                and not isinstance(operand.value, bool) and self.depth.get(id(operand), 0) <= 1:
            return self._nest(ParsedConst(-operand.value, span=self._span(op)))
        return self._nest(ParsedUnary(str(op), operand, span=self._span(op)), operand)

    def int_lit(self, c: list[Token]) -> ParsedConst:
        return self._nest(ParsedConst(_int(c[0]), span=self._span(c[0])))

    def float_lit(self, c: list[Token]) -> ParsedConst:
        return self._nest(ParsedConst(self._float(c[0]), span=self._span(c[0])))

    def inf_lit(self, c: list[Token]) -> ParsedConst:
        return self._nest(ParsedConst(math.inf, span=self._span(c[0])))

    def true_lit(self, c: list[Token]) -> ParsedConst:
        return self._nest(ParsedConst(True, span=self._span(c[0])))

    def false_lit(self, c: list[Token]) -> ParsedConst:
        return self._nest(ParsedConst(False, span=self._span(c[0])))

    def name(self, c: list[Token]) -> ParsedExpr:
        return self._nest(ParsedVar(str(c[0]), span=self._span(c[0])))

    def load(self, c: list[Any]) -> ParsedLoad:
        index = c[1].items
        return self._nest(ParsedLoad(str(c[0]), index, span=self._span(c[0])), *index)

    def fcall(self, c: list[Any]) -> ParsedExpr:
        fn = str(c[0])
        args = tuple(a for a in c[2:] if a is not None)
        span = self._span(c[0])
        target = fn[4:] if fn.startswith("sat_") else fn
        if target in SCALAR_TYPES:
            if len(args) != 1:
                raise self._error(f"the cast {fn}(...) takes one argument, not {len(args)}",
                                  c[0])
            node: ParsedExpr = ParsedCast(args[0], SCALAR_TYPES[target], fn.startswith("sat_"),
                                          span=span)
        else:
            node = ParsedCall(fn, args, span=span)
        return self._nest(node, *args)

    def paren(self, c: list[Any]) -> ParsedExpr:
        inner = c[1]
        level = self.depth.get(id(inner), 0) + 1
        if level > MAX_DEPTH:
            raise self._error(f"nesting deeper than {MAX_DEPTH} levels", c[0])
        self.depth[id(inner)] = level
        assert isinstance(inner, ParsedExpr)
        return inner

    def tuple(self, c: list[Any]) -> _Tuple:
        items = tuple(x for x in c[1:] if x is not None)
        return _Tuple(items, span=self._span(c[0]))


def _int(tok: Token | str) -> int:
    text = str(tok)
    return int(text, 16) if text.startswith(("0x", "0X")) else int(text, 10)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return body.replace('\\"', '"').replace("\\\\", "\\")


_PARSER: list[tuple[Lark, _Build]] = []
_LOCK = threading.Lock()


def _lark(source: Source) -> Lark:
    """The one LALR parser, its inline transformer pointed at ``source``."""
    if not _PARSER:
        build = _Build(source)
        callbacks = {name: build.keep for name in ("COMMENT", "LBRACE", "RBRACE")}
        try:  # the parse table is cached on disk: 5 ms to load instead of 80 ms to build
            parser = Lark(_GRAMMAR, parser="lalr", lexer="contextual",
                          maybe_placeholders=True, transformer=build, cache=True,
                          lexer_callbacks=callbacks)
        except OSError:  # an unwritable temp directory: build it every time
            parser = Lark(_GRAMMAR, parser="lalr", lexer="contextual",
                          maybe_placeholders=True, transformer=build,
                          lexer_callbacks=callbacks)
        _PARSER.append((parser, build))
    parser, build = _PARSER[0]
    build.source = source
    build.depth = {}
    build.tokens = []
    return parser


def decode(data: bytes, name: str) -> Source:
    """Decode file contents as UTF-8, reporting the position of the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark is not text
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        shown = data.decode("utf-8", errors="replace")
        raise InputError(f"invalid UTF-8 byte 0x{data[exc.start]:02x}; .tz files are UTF-8",
                         Span(Source(name, shown), line, col)) from None
    if "\x00" in text:
        at = text.index("\x00")
        line = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        raise InputError("NUL byte in input; this looks like a binary file",
                         Span(Source(name, text), line, col))
    return Source(name, text)


def read_source(path: str | Path) -> Source:
    """Read a `.tz` file; a missing or unreadable file is an :class:`InputError`."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    return decode(data, str(path))


def parse(text: str | Source, name: str = "<input>") -> ParsedModule:
    """Parse `.tz` text (no type checking): the untyped IR of every kernel and intrinsic."""
    source = text if isinstance(text, Source) else Source(name, text)
    if not source.text.strip() or all(
        not ln.strip() or ln.strip().startswith("#") for ln in source.text.splitlines()
    ):
        raise ParseError("empty input: expected a kernel or an intrinsic",
                         Span(source, 1, 1))
    try:
        with _LOCK:
            # the inline transformer builds a ParsedModule; lark types parse() as a Tree
            parser = _lark(source)
            module: ParsedModule = parser.parse(source.text)  # type: ignore[assignment]  # see above
            layout = _layout(source, _PARSER[0][1].tokens)
    except lark.exceptions.UnexpectedCharacters as exc:
        char = source.text[exc.pos_in_stream] if exc.pos_in_stream is not None else "?"
        what = "unterminated string" if char == '"' else f"unexpected character {char!r}"
        raise ParseError(what,
                         Span(source, exc.line, exc.column)) from None
    except lark.exceptions.UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            line = source.text.count("\n") + 1
            col = len(source.text.rsplit("\n", 1)[-1]) + 1
            if source.text.endswith("\n"):
                line, col = _last_line(source)
            raise ParseError(f"unexpected end of file; expected {_describe(exc.expected)}",
                             Span(source, line, col)) from None
        raise ParseError(f"unexpected '{tok}'; expected {_describe(exc.expected)}",
                         Span(source, tok.line, tok.column)) from None
    except lark.exceptions.UnexpectedEOF as exc:
        line, col = _last_line(source)
        raise ParseError(f"unexpected end of file; expected {_describe(set(exc.expected))}",
                         Span(source, line, col)) from None
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, ParseError):
            raise exc.orig_exc from None
        raise
    for node in walk(module):
        if isinstance(node, _Tuple):
            raise ParseError("a parenthesised list is only allowed as the dimensions of a view",
                             node.span)
    return replace(module, layout=layout)


def _layout(source: Source, tokens: list[Token]) -> Layout:
    """The comments of the source and the positions of matching braces."""
    lines = source.text.splitlines()
    comments = []
    braces = []
    opened: list[Token] = []
    for tok in tokens:
        line, col = tok.line or 1, tok.column or 1
        if tok.type == "COMMENT":
            before = lines[line - 1][:col - 1] if line <= len(lines) else ""
            comments.append(Comment(line, col, str(tok).rstrip(), bool(before.strip())))
        elif tok.type == "LBRACE":
            opened.append(tok)
        elif opened:  # the parse succeeded, so braces balance
            o = opened.pop()
            braces.append((o.line or 1, o.column or 1, line, col))
    return Layout(tuple(comments), tuple(sorted(braces)))


def _last_line(source: Source) -> tuple[int, int]:
    lines = source.text.splitlines() or [""]
    number = len(lines)
    while number > 1 and not lines[number - 1].strip():
        number -= 1
    return number, len(lines[number - 1]) + 1


def parse_file(path: str | Path) -> ParsedModule:
    """Read and parse one `.tz` file."""
    return parse(read_source(path))
