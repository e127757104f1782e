"""Generic traversals of the IR: a read-only walk and a sharing transformer.

Which fields of a node class can hold child nodes is read once per class from its type
hints and compiled into one accessor, so that the traversals, which run millions of times
per corpus run, never look at a field that cannot hold a node.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from tensorize.ir.memo import by_identity
from tensorize.ir.nodes import CallStmt, Expr, For, Function, If, Load, Node, Stmt, Var, View

N = TypeVar("N", bound=Node)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(node: Node) -> tuple[str, ...]:
    """The dataclass field names of ``node``'s class (``dataclasses.fields`` is slow)."""
    names = _FIELD_NAMES.get(type(node))
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(node))  # type: ignore[arg-type]  # nodes are dataclass instances
        _FIELD_NAMES[type(node)] = names
    return names


# -- what a field can hold ----------------------------------------------------------------
_NONE, _ONE, _MANY, _ANY = "none", "one", "many", "any"
"""A field holds no node, always one node, always a tuple of nodes, or it is not known
(then every value is looked at, as the generic rule: a node, or nodes in a tuple)."""


def _is_node_type(hint: Any) -> bool:
    """Whether every value of type ``hint`` is a node."""
    if isinstance(hint, type):
        return issubclass(hint, Node)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return all(_is_node_type(h) for h in typing.get_args(hint))
    return False


def _mentions_node(hint: Any) -> bool:
    """Whether a value of type ``hint`` could be or hold a node."""
    if isinstance(hint, type):
        return issubclass(hint, Node) or hint in (tuple, list, object)
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return False
    if isinstance(hint, types.UnionType) or origin is not None:
        return origin in (tuple, list) or any(_mentions_node(h)
                                              for h in typing.get_args(hint))
    return True  # a string or a form we do not know: look at the values


def _field_kind(hint: Any) -> str:
    if _is_node_type(hint):
        return _ONE
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis and \
            _is_node_type(args[0]):
        return _MANY
    return _ANY if _mentions_node(hint) else _NONE


def _kinds(cls: type) -> tuple[tuple[str, str], ...] | None:
    """Each field of ``cls`` with what it can hold, or None when its hints do not resolve."""
    try:
        hints = typing.get_type_hints(cls)
        return tuple((f.name, _field_kind(hints[f.name])) for f in dataclasses.fields(cls))
    except Exception:  # noqa: BLE001 - any failure to read the hints: the generic rule
        return None


def _generic_children(node: Node) -> tuple[Node, ...]:
    """The generic rule: every field value that is a node, or the nodes of a tuple."""
    out: list[Node] = []
    for name in _field_names(node):
        value = getattr(node, name)
        if isinstance(value, Node):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(item for item in value if isinstance(item, Node))
    return tuple(out)


def _any_field(node: Node, name: str) -> tuple[Node, ...]:
    value = getattr(node, name)
    if isinstance(value, Node):
        return (value,)
    if isinstance(value, tuple):
        return tuple(item for item in value if isinstance(item, Node))
    return ()


_Accessor = Callable[[Node], tuple[Node, ...]]
_ACCESSORS: dict[type, _Accessor] = {}
_NODE_FIELDS: dict[type, tuple[tuple[str, str], ...] | None] = {}


def _compile(cls: type) -> _Accessor:
    """One function returning the children of a node of class ``cls``, in field order."""
    kinds = _kinds(cls) if dataclasses.is_dataclass(cls) else None
    _NODE_FIELDS[cls] = None if kinds is None else tuple(k for k in kinds if k[1] != _NONE)
    if kinds is None:
        return _generic_children
    parts = []
    for name, kind in kinds:
        if kind == _ONE:
            parts.append(f"(n.{name},)")
        elif kind == _MANY:
            parts.append(f"n.{name}")
        elif kind == _ANY:
            parts.append(f"_any_field(n, {name!r})")
    body = " + ".join(parts) if parts else "()"
    namespace: dict[str, Any] = {"_any_field": _any_field}
    exec(f"def children(n):\n    return {body}\n", namespace)  # noqa: S102 - code built from field names
    accessor: _Accessor = namespace["children"]
    return accessor


def child_tuple(node: Node) -> tuple[Node, ...]:
    """The direct child nodes of ``node``, in field order, as a tuple."""
    cls = type(node)
    accessor = _ACCESSORS.get(cls)
    if accessor is None:
        accessor = _ACCESSORS[cls] = _compile(cls)
    return accessor(node)


def children(node: Node) -> Iterator[Node]:
    """The direct child nodes of ``node``, in field order."""
    return iter(child_tuple(node))


def preorder(node: Node) -> list[Node]:
    """Every node below and including ``node``, parents before children."""
    out: list[Node] = []
    append = out.append
    stack = [node]
    pop, extend = stack.pop, stack.extend
    accessors = _ACCESSORS
    while stack:
        current = pop()
        append(current)
        accessor = accessors.get(type(current))
        kids = accessor(current) if accessor is not None else child_tuple(current)
        if kids:
            if len(kids) == 1:
                stack.append(kids[0])
            else:
                extend(reversed(kids))
    return out


def walk(node: Node) -> Iterator[Node]:
    """Every node below and including ``node``, parents before children (iterative)."""
    return iter(preorder(node))


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
        cls = type(node)
        if cls not in _ACCESSORS:
            _ACCESSORS[cls] = _compile(cls)
        fields = _NODE_FIELDS[cls]
        if fields is None:
            return self._generic_slow(node)
        changes: dict[str, object] | None = None
        for name, kind in fields:
            value = getattr(node, name)
            if kind == _ONE or (kind == _ANY and isinstance(value, Node)):
                new = self(value)
                if new is not value:
                    if changes is None:
                        changes = {}
                    changes[name] = new
            elif kind == _MANY or (kind == _ANY and isinstance(value, tuple)
                                   and any(isinstance(v, Node) for v in value)):
                new_items = tuple(self(v) if isinstance(v, Node) else v for v in value)
                for a, b in zip(new_items, value):
                    if a is not b:
                        if changes is None:
                            changes = {}
                        changes[name] = new_items
                        break
        if changes is None:
            return node
        # nodes are dataclasses whose fields are all init fields, in order
        return cls(*[changes[f] if f in changes else getattr(node, f)
                     for f in _field_names(node)])

    def _generic_slow(self, node: N) -> N:
        """:meth:`generic` by the generic rule, for a class whose hints do not resolve."""
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


def calls(stmts: Iterable[Stmt]) -> list[CallStmt]:
    """The call statements among ``stmts`` and inside their loops and branches, in
    order (a walk over statements only: expressions hold no call)."""
    out = []
    stack = list(reversed(tuple(stmts)))
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, CallStmt):
            out.append(stmt)
        elif isinstance(stmt, For):
            stack.extend(reversed(stmt.body))
        elif isinstance(stmt, If):
            stack.extend(reversed(stmt.orelse))
            stack.extend(reversed(stmt.then))
    return out


def loop_band(stmt: Stmt) -> list[For]:
    """The loops of ``stmt`` from the outermost down to the first whose body is not one
    loop (empty when ``stmt`` is no loop): the perfect part of a loop nest."""
    band: list[For] = []
    while isinstance(stmt, For):
        band.append(stmt)
        if len(stmt.body) != 1:
            break
        stmt = stmt.body[0]
    return band


def free_vars(node: Node) -> set[str]:
    """Names of the variables an expression (or any node) mentions (a new set each call;
    memoised by node identity: nodes are immutable)."""
    return set(_free_names(node))


@by_identity(1 << 15)
def _free_names(node: Node) -> frozenset[str]:
    return frozenset(n.name for n in preorder(node) if isinstance(n, Var))


def loads(node: Node) -> Iterator[Load]:
    """Every buffer load inside ``node``."""
    return iter([n for n in preorder(node) if isinstance(n, Load)])


def bound_names(fn: Function) -> set[str]:
    """Every name ``fn`` binds: buffers, size parameters, loop variables and view
    dimensions (what a fresh name must avoid)."""
    names = {b.name for b in fn.buffers} | {p.name for p in fn.params}
    for s in fn.body:
        for n in preorder(s):
            if isinstance(n, For):
                names.add(n.var)
            elif isinstance(n, View):
                names.update(n.dims)
    return names
