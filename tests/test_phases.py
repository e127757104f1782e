"""Parsed and checked IR are distinct types (docs/design.md, "Two phases, two types").

``mypy --strict`` refuses a parsed kernel where a checked one is required and lets code
after the checker read ``expr.dtype`` as a ``DType``; the checker's output holds only
checked nodes, each expression with a real type, over every bundled spec and example.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tensorize.ir import syntax
from tensorize.ir.check import ERROR, UNTYPED, check_module
from tensorize.ir.nodes import Expr, Function, Module
from tensorize.ir.parser import parse, parse_file
from tensorize.ir.traverse import walk
from tensorize.ir.types import DType
from tests.conftest import EXAMPLES, ROOT

_HEADER = '''\
from tensorize.equivalence.prove import prove
from tensorize.ir.check import check_module
from tensorize.ir.interp import random_inputs, run
from tensorize.ir.nodes import Binary, Expr, Function
from tensorize.ir.parser import parse
from tensorize.ir.syntax import ParsedBinary, ParsedExpr
from tensorize.ir.types import DType
from tensorize.rewrite.engine import TensorizePass

TEXT = "kernel k {\\n  out C: i32[4]\\n  for i in 0..4 {\\n    C[i] = 1\\n  }\\n}\\n"
'''

CHECKED = _HEADER + '''
kernel: Function = check_module(parse(TEXT)).kernels[0]
run(kernel, random_inputs(kernel))
prove(kernel, kernel)
TensorizePass(library={}).apply(kernel)
check_module(check_module(parse(TEXT)))  # a checked module is a parsed one too


def kind(e: Expr) -> DType:
    return e.dtype


def operand_kind(e: Expr) -> DType:
    return e.lhs.dtype if isinstance(e, Binary) else e.dtype
'''

PARSED = _HEADER + '''
kernel = parse(TEXT).functions[0]
run(kernel, random_inputs(kernel))  # E E
prove(kernel, kernel)  # E E
TensorizePass(library={}).apply(kernel)  # E
checked: Function = kernel  # E


def kind(e: ParsedExpr) -> DType:
    return e.dtype  # E


def operand_kind(e: ParsedExpr) -> DType:
    return e.lhs.dtype if isinstance(e, ParsedBinary) else DType("i8", "int", 8)  # E


def typed(e: ParsedExpr) -> Expr:
    return e  # E
'''


def _mypy(tmp_path: Path, name: str, text: str) -> list[int]:
    """The line of each error ``mypy --strict`` reports in ``text`` (one per error)."""
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    cache = ROOT / ".venv" / "mypy-cache-phases"
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache),
                           "--no-error-summary", "--hide-error-context", str(path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    lines = []
    for row in proc.stdout.splitlines():
        found = re.match(rf".*{name}\.py:(\d+): error:", row)
        assert found or ": note:" in row, row  # nothing but errors in the snippet itself
        if found:
            lines.append(int(found.group(1)))
    return sorted(lines)


def _marked(text: str) -> list[int]:
    """The line of each error a snippet expects: one ``E`` per error after ``# ``."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if "  # E" in line:
            out += [number] * len(line.split("  # ")[1].split())
    return out


def test_mypy_tells_the_phases_apart(tmp_path: Path) -> None:
    """A parsed kernel given to the interpreter, the prover or the pass is an error, and
    so is a parsed expression's type read as a ``DType``; the same code on checked IR is
    clean (so the test fails both ways: if the phases merged, or were too strict)."""
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed; install the 'test' extra")
    assert _mypy(tmp_path, "checked_ir", CHECKED) == []
    assert _mypy(tmp_path, "parsed_ir", PARSED) == _marked(PARSED)


SOURCES = (sorted(EXAMPLES.glob("*.tz")) + sorted((ROOT / "docs" / "examples").glob("*.tz")))


def _library_modules() -> list[Module]:
    """Every bundled spec file, checked in the order the library loads them."""
    from tensorize.intrinsics.library import bundled_specs_dir

    library: dict[str, Function] = {}
    modules = []
    for path in sorted(bundled_specs_dir().rglob("*.tz")):
        module = check_module(parse_file(path), library)
        library.update({f.name: f for f in module.intrinsics})
        modules.append(module)
    return modules


def test_checked_ir_holds_only_checked_nodes_with_real_types() -> None:
    """Over every bundled spec and example: every node of the checker's output is a checked
    class (or one of the classes both phases share), and every expression has a type that
    is neither ``None`` nor the checker's own ``UNTYPED`` / ``ERROR``."""
    from tensorize.api import load_library

    library = load_library().as_dict()
    modules = _library_modules() + [check_module(parse_file(p), library) for p in SOURCES]
    assert len(modules) > 30
    shared = (syntax.SizeParam, syntax.Assume, syntax.Meta)
    exprs = 0
    for module in modules:
        for node in walk(module):
            assert type(node).__module__ == "tensorize.ir.nodes" or \
                isinstance(node, shared), type(node)
            if isinstance(node, syntax.ParsedExpr):
                assert isinstance(node, Expr)
                assert isinstance(node.dtype, DType) and node.dtype not in (UNTYPED, ERROR)
                exprs += 1
    assert exprs > 4_000


def test_the_parser_builds_parsed_nodes_only() -> None:
    """No node of a parse is checked: a parsed kernel never passes for a checked one at
    run time either (``isinstance(node, Expr)`` is false before the checker)."""
    nodes = [n for p in SOURCES for n in walk(parse_file(p))]
    assert any(isinstance(n, syntax.ParsedExpr) for n in nodes)
    assert not any(type(n).__module__ == "tensorize.ir.nodes" for n in nodes)
    assert all(n.dtype is None for n in nodes if isinstance(n, syntax.ParsedExpr)
               and not isinstance(n, syntax.ParsedCast))


def test_the_parse_store_serves_parsed_modules(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``parse_path`` reads a file's parse back from the store: what it stores is a parsed
    module, and the store's check accepts one (the parser is not run the second time)."""
    from tensorize import api_load
    from tensorize.ir import parser

    src = tmp_path / "k.tz"
    src.write_text("kernel stored {\n  out C: i32[4]\n  for i in 0..4 {\n    C[i] = 1\n  }\n}\n")
    first = api_load.parse_path(src)
    assert isinstance(first, syntax.ParsedModule) and not isinstance(first, Module)

    def no_parse(*args: object, **kwargs: object) -> object:
        raise AssertionError("parsed again: the store missed")

    monkeypatch.setattr(parser, "parse", no_parse)
    assert api_load.parse_path(src) == first


def test_an_intrinsic_with_an_error_still_checks_the_calls_to_it() -> None:
    """A spec with a type error in its body stays a callee for the rest of the file: the
    calls to it are checked against its declarations, bounds included (every error of a
    file is reported at once, as before the two phases)."""
    from tensorize.errors import CheckError

    text = """intrinsic t.bad {
  in a: i32[4]
  out c: i32[4]
  for i in 0..4 {
    c[i] = a[i] + 1.5
  }
}

kernel k {
  in A: i32[8]
  out C: i32[8]
  for j in 0..8 {
    call t.bad(a = (x) -> A[j + x], c = (x) -> C[j + x])
  }
}
"""
    with pytest.raises(CheckError) as info:
        check_module(parse(text))
    found = [(message, span.line if span else None) for message, span in info.value.errors]
    assert found == [
        ("the float literal 1.5 cannot be an i32 value", 5),
        ("index j + x of 'A' ranges over 0..=10 but dimension 0 has size 8", 13),
        ("index j + x of 'C' ranges over 0..=10 but dimension 0 has size 8", 13),
    ]


def test_checked_classes_that_only_narrow_types_reuse_the_parsed_methods() -> None:
    """``nodes._narrowed`` classes: the parsed class's fields and defaults, slots only (no
    instance dict), every field read from its slot (a default written for the type
    checker must not hide it), and a class that adds or changes a field is refused."""
    import dataclasses

    import pytest

    from tensorize.ir import nodes, syntax
    from tensorize.ir.types import BOOL, INDEX

    zero, four = nodes.Const(0, INDEX), nodes.Const(4, INDEX)
    loop = nodes.For("i", zero, four, ())
    branch = nodes.If(nodes.Const(True, BOOL), (loop,), (loop, loop))
    assert branch.orelse == (loop, loop) and nodes.If(branch.cond, ()).orelse == ()
    assert not hasattr(loop, "__dict__") and repr(loop).startswith("For(var='i'")
    assert dataclasses.replace(loop, var="j") == nodes.For("j", zero, four, ())
    assert hash(loop) == hash(nodes.For("i", zero, four, ()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        loop.var = "k"  # type: ignore[misc]
    for extra in ("extra: int\n", "orelse: tuple[nodes.Stmt, ...] = (1,)\n"):
        body = f"class Bad(syntax.ParsedIf, nodes.Stmt):\n    __slots__ = ()\n    {extra}"
        with pytest.raises(TypeError):
            nodes._narrowed(_make(body, syntax, nodes))


def _make(body: str, syntax: object, nodes: object) -> type:
    scope: dict[str, object] = {"syntax": syntax, "nodes": nodes, "__name__": "t"}
    exec(body, scope)  # noqa: S102 - a class made to be refused
    made = scope["Bad"]
    assert isinstance(made, type)
    return made
