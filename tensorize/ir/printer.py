"""Print IR (parsed or checked) as canonical `.tz` text; parsing the output gives back
an equal parsed IR."""

from __future__ import annotations

import bisect
import math

from tensorize.ir.syntax import (
    Assume,
    Meta,
    Node,
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
)

_PREC = {
    "||": 1, "&&": 2,
    "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
    "|": 4, "^": 5, "&": 6, "<<": 7, ">>": 7,
    "+": 8, "-": 8, "*": 9, "/": 9, "%": 9,
}
_UNARY_PREC = 10
_ATOM_PREC = 11
_INDENT = "  "
_WRAP = 96


def _prec(e: ParsedExpr) -> int:
    if isinstance(e, ParsedBinary):
        return _PREC[e.op]
    if isinstance(e, ParsedUnary):
        return _UNARY_PREC
    if isinstance(e, ParsedConst) and not isinstance(e.value, bool) and (
        e.value < 0 or (isinstance(e.value, float) and math.copysign(1.0, e.value) < 0)
    ):
        return _UNARY_PREC
    return _ATOM_PREC


def format_const(value: int | float | bool) -> str:
    """A literal as the parser reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    if math.isnan(value):
        raise ValueError("NaN has no literal in .tz")
    return repr(value)


def format_expr(e: ParsedExpr) -> str:
    """An expression with the fewest parentheses that keep its structure."""
    if isinstance(e, ParsedConst):
        return format_const(e.value)
    if isinstance(e, ParsedVar):
        return e.name
    if isinstance(e, ParsedLoad):
        return e.buf if not e.index else f"{e.buf}[{', '.join(map(format_expr, e.index))}]"
    if isinstance(e, ParsedCast):
        return f"{'sat_' if e.saturate else ''}{e.dtype}({format_expr(e.operand)})"
    if isinstance(e, ParsedCall):
        return f"{e.fn}({', '.join(map(format_expr, e.args))})"
    if isinstance(e, ParsedUnary):
        inner = format_expr(e.operand)
        if _prec(e.operand) < _UNARY_PREC or (e.op == "-" and (
                inner.startswith("-") or isinstance(e.operand, ParsedConst))):
            inner = f"({inner})"
        return f"{e.op}{inner}"
    if isinstance(e, ParsedBinary):
        p = _PREC[e.op]
        lhs, rhs = format_expr(e.lhs), format_expr(e.rhs)
        left_needs = _prec(e.lhs) < p or (p == 3 and _prec(e.lhs) == 3)
        if left_needs:
            lhs = f"({lhs})"
        if _prec(e.rhs) <= p:
            rhs = f"({rhs})"
        return f"{lhs} {e.op} {rhs}"
    raise TypeError(f"cannot print {type(e).__name__}")


def _format_view(v: ParsedView) -> str:
    target = v.buf if not v.index else f"{v.buf}[{', '.join(map(format_expr, v.index))}]"
    return f"({', '.join(v.dims)}) -> {target}"


def _format_arg(a: ParsedArg) -> str:
    value = _format_view(a.value) if isinstance(a.value, ParsedView) else format_expr(a.value)
    return f"{a.name} = {value}"


def _stmt_lines(s: ParsedStmt, depth: int, notes: _Notes | None = None) -> list[str]:
    pad = _INDENT * depth
    lead = notes.lead(s, "", pad) if notes else []
    tail = notes.trail(s, "") if notes else ""
    if isinstance(s, ParsedAssign):
        target = s.buf if not s.index else f"{s.buf}[{', '.join(map(format_expr, s.index))}]"
        v = s.value
        if (isinstance(v, ParsedBinary) and v.op in ("+", "-", "*")
                and isinstance(v.lhs, ParsedLoad) and v.lhs.buf == s.buf
                and v.lhs.index == s.index):
            rhs = format_expr(v.rhs)
            return lead + [f"{pad}{target} {v.op}= {rhs}{tail}"]
        return lead + [f"{pad}{target} = {format_expr(v)}{tail}"]
    if isinstance(s, ParsedFor):
        head = f"{pad}for {s.var} in {format_expr(s.lo)}..{format_expr(s.hi)} {{{tail}"
        lines, end_tail = _block(lead + [head], s, s.body, "end", depth, notes)
        return lines + [f"{pad}}}{end_tail}"]
    if isinstance(s, ParsedIf):
        head = f"{pad}if {format_expr(s.cond)} {{{tail}"
        lines, end_tail = _block(lead + [head], s, s.then, "end", depth, notes)
        if s.orelse:
            lines.append(f"{pad}}} else {{{end_tail}")
            lines, end_tail = _block(lines, s, s.orelse, "else_end", depth, notes)
        return lines + [f"{pad}}}{end_tail}"]
    if isinstance(s, ParsedCallStmt):
        args = [_format_arg(a) for a in s.args]
        one_line = f"{pad}call {s.name}({', '.join(args)})"
        if len(one_line) <= _WRAP:
            return lead + [one_line + tail]
        inner = _INDENT * (depth + 2)
        lines = lead + [f"{pad}call {s.name}({tail}"]
        for i, a in enumerate(args):
            lines.append(f"{inner}{a}{',' if i < len(args) - 1 else ')'}")
        return lines
    raise TypeError(f"cannot print {type(s).__name__}")


def _block(lines: list[str], s: ParsedStmt, body: tuple[ParsedStmt, ...], end: str,
           depth: int, notes: _Notes | None) -> tuple[list[str], str]:
    """``lines`` followed by the statements of ``body`` one level deeper and the comments
    kept before its closing brace (at ``end``); also the comment after that brace."""
    for child in body:
        lines += _stmt_lines(child, depth + 1, notes)
    if not notes:
        return lines, ""
    return lines + notes.lead(s, end, _INDENT * (depth + 1)), notes.trail(s, end)


def _chained(s: ParsedIf, next_brace: tuple[int, int, int, int] | None) -> bool:
    """Whether the source wrote the else branch of ``s`` as ``else if`` (no braces)."""
    nested = s.orelse[0] if len(s.orelse) == 1 else None
    if not isinstance(nested, ParsedIf) or nested.span is None:
        return False
    return next_brace is None or (nested.span.line, nested.span.col) < next_brace[:2]


class _Notes:
    """The comments of a parsed module, attached to the items they precede or follow.

    An *anchor* is the start of a function, metadata entry, declaration, assumption or
    statement, or the closing brace of a block. A comment alone on its line goes before
    the next anchor (or at the end of the file); a comment after code goes at the end of
    the first printed line of the last anchor before it on its line (before it, if it
    ends a line with no anchor). An anchor given several trailing comments gets them as
    lines before it instead. Printing then parsing the output attaches every comment to
    the same anchor, which makes ``fmt`` idempotent.
    """

    def __init__(self, module: ParsedModule) -> None:
        self.leading: dict[tuple[int, str], list[str]] = {}
        self.trailing: dict[tuple[int, str], list[str]] = {}
        self.end: list[str] = []
        braces = {(o_line, o_col): (c_line, c_col)
                  for o_line, o_col, c_line, c_col in module.layout.braces}
        opens = sorted(braces)
        anchors: list[tuple[int, int, tuple[int, str]]] = []

        def brace_after(line: int, col: int) -> tuple[int, int, int, int] | None:
            for o in opens:
                if o > (line, col):
                    return (*o, *braces[o])
            return None

        def add(node: Node, tag: str = "") -> None:
            if node.span is not None:
                anchors.append((node.span.line, node.span.col, (id(node), tag)))

        def add_end(node: Node, tag: str, after: tuple[int, int]) -> tuple[int, int] | None:
            found = brace_after(*after)
            if found is None:
                return None
            anchors.append((found[2], found[3], (id(node), tag)))
            return found[2], found[3]

        def stmts(body: tuple[ParsedStmt, ...]) -> None:
            for st in body:
                add(st)
                if st.span is None:
                    continue
                if isinstance(st, ParsedFor):
                    stmts(st.body)
                    add_end(st, "end", (st.span.line, st.span.col))
                elif isinstance(st, ParsedIf):
                    stmts(st.then)
                    close = add_end(st, "end", (st.span.line, st.span.col))
                    stmts(st.orelse)
                    if st.orelse and close is not None and not _chained(st, brace_after(*close)):
                        add_end(st, "else_end", close)

        for fn in module.functions:
            add(fn)
            for item in (*fn.meta, *fn.buffers, *fn.assumes):
                add(item)
            stmts(fn.body)
            if fn.span is not None:
                add_end(fn, "end", (fn.span.line, fn.span.col))
        anchors.sort(key=lambda a: (a[0], a[1]))
        positions = [(line, col) for line, col, _key in anchors]

        last_line: dict[tuple[int, str], int] = {}
        for c in module.layout.comments:
            at = bisect.bisect_left(positions, (c.line, c.col))
            if not c.trailing:
                key = anchors[at][2] if at < len(anchors) else (0, "<end>")
                group = self.leading.setdefault(key, []) if at < len(anchors) else self.end
                if group and c.line > last_line[key] + 1:
                    group.append("")  # keep one blank line between groups of comments
                group.append(c.text)
                last_line[key] = c.line
            elif at > 0:
                self.trailing.setdefault(anchors[at - 1][2], []).append(c.text)
            elif anchors:
                self.leading.setdefault(anchors[0][2], []).append(c.text)
            else:
                self.end.append(c.text)
        for key, texts in self.trailing.items():
            if len(texts) > 1:
                self.leading.setdefault(key, []).extend(texts)
                texts.clear()

    def lead(self, node: Node, tag: str, pad: str) -> list[str]:
        """The comment lines to print before an anchor."""
        return [pad + t if t else "" for t in self.leading.get((id(node), tag), [])]

    def trail(self, node: Node, tag: str) -> str:
        """The comment to print at the end of an anchor's first line ('' if none)."""
        texts = self.trailing.get((id(node), tag))
        return f"  {texts[0]}" if texts else ""


def format_stmt(s: ParsedStmt, depth: int = 0) -> str:
    """One statement (and its body) as text."""
    return "\n".join(_stmt_lines(s, depth))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _format_meta(m: Meta) -> str:
    if m.kind == "string":
        value = _quote(str(m.value))
    elif m.kind == "number":
        value = format_const(m.value)  # type: ignore[arg-type]  # a 'number' entry holds an int or float
    else:
        value = str(m.value)
    return f"{m.key} {value}"


def _format_decl(b: ParsedBufferDecl) -> str:
    shape = f"[{', '.join(map(format_expr, b.shape))}]" if b.shape else ""
    return f"{b.mode} {b.name}: {b.dtype}{shape}"


def _format_assume(a: Assume) -> str:
    rng = "..=" if a.inclusive else ".."
    return f"assume {a.buf} in {format_const(a.lo)}{rng}{format_const(a.hi)}"


def _format_item(item: Meta | ParsedBufferDecl | Assume) -> str:
    if isinstance(item, Meta):
        return _format_meta(item)
    if isinstance(item, ParsedBufferDecl):
        return _format_decl(item)
    return _format_assume(item)


def format_function(fn: ParsedFunction, notes: _Notes | None = None) -> str:
    """A kernel or intrinsic in canonical form."""
    params = ""
    if fn.params:
        params = "(" + ", ".join(
            p.name if p.default is None else f"{p.name} = {p.default}" for p in fn.params
        ) + ")"
    lines = notes.lead(fn, "", "") if notes else []
    lines.append(f"{fn.kind} {fn.name}{params} {{{notes.trail(fn, '') if notes else ''}")
    header = len(lines)
    items: tuple[Meta | ParsedBufferDecl | Assume, ...] = (*fn.meta, *fn.buffers, *fn.assumes)
    for item in items:
        if notes:
            lines += notes.lead(item, "", _INDENT)
        lines.append(_INDENT + _format_item(item) + (notes.trail(item, "") if notes else ""))
    if fn.body and len(lines) > header:
        lines.append("")
    for s in fn.body:
        lines += _stmt_lines(s, 1, notes)
    if notes:
        lines += notes.lead(fn, "end", _INDENT)
    lines.append("}" + (notes.trail(fn, "end") if notes else ""))
    return "\n".join(lines)


def format_module(module: ParsedModule) -> str:
    """A whole file: its functions separated by blank lines, ending with a newline.

    The comments of a parsed module are kept (see :class:`_Notes`).
    """
    notes = _Notes(module) if module.layout.comments else None
    parts = [format_function(f, notes) for f in module.functions]
    if notes and notes.end:
        parts.append("\n".join(notes.end))
    return "\n\n".join(parts) + "\n"
