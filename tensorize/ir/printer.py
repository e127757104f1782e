"""Print IR as canonical `.tz` text; parsing the output gives back an equal IR."""

from __future__ import annotations

import math

from tensorize.ir.nodes import (
    Arg,
    Assign,
    Assume,
    Binary,
    BufferDecl,
    Call,
    CallStmt,
    Cast,
    Const,
    Expr,
    For,
    Function,
    If,
    Load,
    Meta,
    Module,
    Stmt,
    Unary,
    Var,
    View,
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


def _prec(e: Expr) -> int:
    if isinstance(e, Binary):
        return _PREC[e.op]
    if isinstance(e, Unary):
        return _UNARY_PREC
    if isinstance(e, Const) and not isinstance(e.value, bool) and (
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


def format_expr(e: Expr) -> str:
    """An expression with the fewest parentheses that keep its structure."""
    if isinstance(e, Const):
        return format_const(e.value)
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Load):
        return e.buf if not e.index else f"{e.buf}[{', '.join(map(format_expr, e.index))}]"
    if isinstance(e, Cast):
        return f"{'sat_' if e.saturate else ''}{e.dtype}({format_expr(e.operand)})"
    if isinstance(e, Call):
        return f"{e.fn}({', '.join(map(format_expr, e.args))})"
    if isinstance(e, Unary):
        inner = format_expr(e.operand)
        if _prec(e.operand) < _UNARY_PREC or (e.op == "-" and (
                inner.startswith("-") or isinstance(e.operand, Const))):
            inner = f"({inner})"
        return f"{e.op}{inner}"
    if isinstance(e, Binary):
        p = _PREC[e.op]
        lhs, rhs = format_expr(e.lhs), format_expr(e.rhs)
        left_needs = _prec(e.lhs) < p or (p == 3 and _prec(e.lhs) == 3)
        if left_needs:
            lhs = f"({lhs})"
        if _prec(e.rhs) <= p:
            rhs = f"({rhs})"
        return f"{lhs} {e.op} {rhs}"
    raise TypeError(f"cannot print {type(e).__name__}")


def _format_view(v: View) -> str:
    target = v.buf if not v.index else f"{v.buf}[{', '.join(map(format_expr, v.index))}]"
    return f"({', '.join(v.dims)}) -> {target}"


def _format_arg(a: Arg) -> str:
    value = _format_view(a.value) if isinstance(a.value, View) else format_expr(a.value)
    return f"{a.name} = {value}"


def _stmt_lines(s: Stmt, depth: int) -> list[str]:
    pad = _INDENT * depth
    if isinstance(s, Assign):
        target = s.buf if not s.index else f"{s.buf}[{', '.join(map(format_expr, s.index))}]"
        v = s.value
        if (isinstance(v, Binary) and v.op in ("+", "-", "*") and isinstance(v.lhs, Load)
                and v.lhs.buf == s.buf and v.lhs.index == s.index):
            rhs = format_expr(v.rhs)
            return [f"{pad}{target} {v.op}= {rhs}"]
        return [f"{pad}{target} = {format_expr(v)}"]
    if isinstance(s, For):
        lines = [f"{pad}for {s.var} in {format_expr(s.lo)}..{format_expr(s.hi)} {{"]
        for child in s.body:
            lines += _stmt_lines(child, depth + 1)
        return lines + [f"{pad}}}"]
    if isinstance(s, If):
        lines = [f"{pad}if {format_expr(s.cond)} {{"]
        for child in s.then:
            lines += _stmt_lines(child, depth + 1)
        if s.orelse:
            lines.append(f"{pad}}} else {{")
            for child in s.orelse:
                lines += _stmt_lines(child, depth + 1)
        return lines + [f"{pad}}}"]
    if isinstance(s, CallStmt):
        args = [_format_arg(a) for a in s.args]
        one_line = f"{pad}call {s.name}({', '.join(args)})"
        if len(one_line) <= _WRAP:
            return [one_line]
        inner = _INDENT * (depth + 2)
        lines = [f"{pad}call {s.name}("]
        for i, a in enumerate(args):
            lines.append(f"{inner}{a}{',' if i < len(args) - 1 else ')'}")
        return lines
    raise TypeError(f"cannot print {type(s).__name__}")


def format_stmt(s: Stmt, depth: int = 0) -> str:
    """One statement (and its body) as text."""
    return "\n".join(_stmt_lines(s, depth))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _format_meta(m: Meta) -> str:
    if m.kind == "string":
        value = _quote(str(m.value))
    elif m.kind == "number":
        value = format_const(m.value)  # type: ignore[arg-type]
    else:
        value = str(m.value)
    return f"{m.key} {value}"


def _format_decl(b: BufferDecl) -> str:
    shape = f"[{', '.join(map(format_expr, b.shape))}]" if b.shape else ""
    return f"{b.mode} {b.name}: {b.dtype}{shape}"


def _format_assume(a: Assume) -> str:
    rng = "..=" if a.inclusive else ".."
    return f"assume {a.buf} in {format_const(a.lo)}{rng}{format_const(a.hi)}"


def format_function(fn: Function) -> str:
    """A kernel or intrinsic in canonical form."""
    params = ""
    if fn.params:
        params = "(" + ", ".join(
            p.name if p.default is None else f"{p.name} = {p.default}" for p in fn.params
        ) + ")"
    lines = [f"{fn.kind} {fn.name}{params} {{"]
    lines += [_INDENT + _format_meta(m) for m in fn.meta]
    lines += [_INDENT + _format_decl(b) for b in fn.buffers]
    lines += [_INDENT + _format_assume(a) for a in fn.assumes]
    if fn.body and len(lines) > 1:
        lines.append("")
    for s in fn.body:
        lines += _stmt_lines(s, 1)
    lines.append("}")
    return "\n".join(lines)


def format_module(module: Module) -> str:
    """A whole file: its functions separated by blank lines, ending with a newline."""
    return "\n\n".join(format_function(f) for f in module.functions) + "\n"
