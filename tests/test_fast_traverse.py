"""The compiled traversals of ir/traverse.py against the generic rule they replace.

``children`` reads, per node class, only the fields whose type hints can hold a node;
``walk`` builds the pre-order as a list; ``Transformer.generic`` rebuilds a node with its
constructor. Each is compared here with the slow generic version (every dataclass field
looked at, a generator, ``dataclasses.replace``) on every bundled module and kernel.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings

from tensorize.api import load_specs, parse_path
from tensorize.ir import traverse
from tensorize.ir.check import check_function
from tensorize.ir.nodes import Binary, Const, Expr, Load, Module, Node, Var
from tensorize.ir.traverse import Transformer, children, free_vars, substitute, walk
from tensorize.ir.types import F32, INDEX
from tests.strategies import kernels

ROOT = Path(__file__).resolve().parent.parent


def _slow_children(node: Node) -> Iterator[Node]:
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, f.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item


def _slow_walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(_slow_children(current))))


def _modules() -> list[Module]:
    paths = sorted((ROOT / "bench").rglob("*.tz")) + sorted((ROOT / "examples").rglob("*.tz"))
    library = load_specs()
    mods = [Module(tuple(library))]
    for p in paths:
        try:
            mods.append(parse_path(p))
        except Exception:  # noqa: BLE001 - a file needing a library: skipped
            continue
    return mods


@pytest.fixture(scope="module")
def modules() -> list[Module]:
    mods = _modules()
    assert len(mods) > 5
    return mods


def test_children_and_walk_match_the_generic_rule(modules: list[Module]) -> None:
    seen = 0
    for m in modules:
        fast = list(walk(m))
        slow = list(_slow_walk(m))
        assert len(fast) == len(slow)
        assert all(a is b for a, b in zip(fast, slow))
        for node in fast:
            assert [id(c) for c in children(node)] == [id(c) for c in _slow_children(node)]
        seen += len(fast)
    assert seen > 10_000


class _Shift(Transformer):
    """Adds one to every integer literal (a change deep in every tree)."""

    def visit_Const(self, node: Const) -> Expr:
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            return Const(node.value + 1, node.dtype, node.span)
        return node


class _SlowShift(_Shift):
    def generic(self, node):  # type: ignore[no-untyped-def]
        changes = {}
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, Node):
                new = self(value)
                if new is not value:
                    changes[f.name] = new
            elif isinstance(value, tuple) and any(isinstance(v, Node) for v in value):
                items = tuple(self(v) if isinstance(v, Node) else v for v in value)
                if any(a is not b for a, b in zip(items, value)):
                    changes[f.name] = items
        return dataclasses.replace(node, **changes) if changes else node


def test_transformer_matches_the_generic_rebuild(modules: list[Module]) -> None:
    for m in modules:
        fast, slow = _Shift()(m), _SlowShift()(m)
        assert fast == slow
        assert fast != m or not any(isinstance(n, Const) for n in walk(m))
        # spans and the layout (not compared) are kept too
        assert [n.span for n in walk(fast)] == [n.span for n in walk(slow)]
        assert fast.layout is m.layout
    # nothing changed: the very same tree comes back, shared
    for m in modules:
        assert Transformer()(m) is m


@settings(max_examples=60, deadline=None)
@given(kernels())
def test_generated_kernels_walk_and_substitute_alike(fn) -> None:  # type: ignore[no-untyped-def]
    fn = check_function(fn, {})
    assert [id(n) for n in walk(fn)] == [id(n) for n in _slow_walk(fn)]
    assert _Shift()(fn) == _SlowShift()(fn)
    mapping = {"i": Binary("+", Var("i"), Const(1, INDEX), INDEX)}
    new = substitute(fn, mapping)
    assert free_vars(new) == {n.name for n in _slow_walk(new) if isinstance(n, Var)}


def test_a_class_without_resolvable_hints_uses_the_generic_rule() -> None:
    @dataclasses.dataclass(frozen=True)
    class Odd(Expr):
        items: tuple[Expr, ...] | NoSuchName  # noqa: F821 - deliberately unresolvable
        other: object = None
        dtype: None = None
        span: None = None

    inner = Load("A", (Var("i"),), F32)
    odd = Odd((inner, 3), Var("j"))  # type: ignore[arg-type]
    assert list(children(odd)) == [inner, Var("j")]
    assert [n for n in walk(odd)] == [odd, inner, Var("i"), Var("j")]
    shifted = _Shift()(Odd((Const(1, INDEX),)))  # type: ignore[arg-type]
    assert shifted.items == (Const(2, INDEX),)
    assert traverse._NODE_FIELDS[Odd] is None


def test_memoised_free_vars_are_a_fresh_set_per_call(modules: list[Module]) -> None:
    for m in modules[:3]:
        for node in list(walk(m))[:2000]:
            want = {n.name for n in _slow_walk(node) if isinstance(n, Var)}
            first = free_vars(node)
            assert first == want
            first.add("<mutated>")
            assert free_vars(node) == want
