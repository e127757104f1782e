"""Generic traversals of the IR: a read-only walk and a sharing transformer."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import TypeVar

from tensorize.ir.nodes import Expr, For, Function, Load, Node, Var, View

N = TypeVar("N", bound=Node)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(node: Node) -> tuple[str, ...]:
    """The dataclass field names of ``node``'s class (``dataclasses.fields`` is slow, and
    traversals ask for them a million times per corpus run)."""
    names = _FIELD_NAMES.get(type(node))
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(node))  # type: ignore[arg-type]  # nodes are dataclass instances
        _FIELD_NAMES[type(node)] = names
    return names


def children(node: Node) -> Iterator[Node]:
    """The direct child nodes of ``node``, in field order."""
    for name in _field_names(node):
        value = getattr(node, name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item


def walk(node: Node) -> Iterator[Node]:
    """Every node below and including ``node``, parents before children (iterative)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


class Transformer:
    """Rebuilds a tree bottom-up; subtrees that do not change are shared, not copied.

    Override ``visit_<ClassName>(node)`` to replace a kind of node; call
    ``self.generic(node)`` inside it to transform the children first.
    """

    def __call__(self, node: N) -> N:
        method = getattr(self, "visit_" + type(node).__name__, None)
        return method(node) if method is not None else self.generic(node)

    def generic(self, node: N) -> N:
        """Transform the children of ``node`` and rebuild it if any changed."""
        changes: dict[str, object] = {}
        for name in _field_names(node):
            value = getattr(node, name)
            if isinstance(value, Node):
                new = self(value)
                if new is not value:
                    changes[name] = new
            elif isinstance(value, tuple) and any(isinstance(v, Node) for v in value):
                new_items = tuple(self(v) if isinstance(v, Node) else v for v in value)
                if any(a is not b for a, b in zip(new_items, value)):
                    changes[name] = new_items
        return dataclasses.replace(node, **changes) if changes else node  # type: ignore[type-var]  # nodes are dataclass instances


class _Substitute(Transformer):
    def __init__(self, mapping: Mapping[str, Expr]) -> None:
        self.mapping = mapping

    def visit_Var(self, node: Var) -> Expr:
        return self.mapping.get(node.name, node)


def substitute(node: N, mapping: Mapping[str, Expr]) -> N:
    """Replace variables by expressions (no capture: binders in `.tz` are unique)."""
    return _Substitute(mapping)(node) if mapping else node


def substitute_index(view_index: tuple[Expr, ...], dims: tuple[str, ...],
                     at: tuple[Expr, ...]) -> tuple[Expr, ...]:
    """The buffer index a view (its ``dims`` and ``view_index``) gives for the parameter
    index ``at``."""
    mapping = dict(zip(dims, at))
    return tuple(substitute(e, mapping) for e in view_index)


def free_vars(node: Node) -> set[str]:
    """Names of the variables an expression (or any node) mentions."""
    return {n.name for n in walk(node) if isinstance(n, Var)}


def loads(node: Node) -> Iterator[Load]:
    """Every buffer load inside ``node``."""
    return (n for n in walk(node) if isinstance(n, Load))


def bound_names(fn: Function) -> set[str]:
    """Every name ``fn`` binds: buffers, size parameters, loop variables and view
    dimensions (what a fresh name must avoid)."""
    names = {b.name for b in fn.buffers} | {p.name for p in fn.params}
    for s in fn.body:
        for n in walk(s):
            if isinstance(n, For):
                names.add(n.var)
            elif isinstance(n, View):
                names.update(n.dims)
    return names
