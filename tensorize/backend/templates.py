"""C emission templates of intrinsics: the ``c_header``, ``c_features`` and ``c_code`` keys.

An intrinsic's semantics stays its scalar body; the template is only how one call is
emitted. ``c_code`` is C statements in which

- ``${a}`` is a pointer to the element of parameter ``a``'s view at index ``(0, ..., 0)``
  (``const`` for ``in`` parameters; ``f16``/``bf16`` elements as ``uint16_t`` bits),
- ``${a.sN}`` is the stride, in elements, of dimension ``N`` of that view,
- ``${M}`` is the value of the intrinsic's size parameter ``M``.

A template reads every view through its pointer as a *dense row-major* array of the
parameter's shape, except along the dimensions whose stride it names with ``${a.sN}``:
the back end uses the template only for calls whose views have those strides, and
otherwise emits the intrinsic's body as scalar C (always correct, slower). ``c_header``
is a space-separated list of headers to include; ``c_features`` the CPU features the code
needs, in GCC's spelling (``avx512vnni``), each passed as ``-m<feature>`` on x86.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tensorize.ir.nodes import Function

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z_0-9]*)(?:\.s([0-9]+))?\}")


@dataclass(frozen=True)
class Template:
    """The parsed C emission of one intrinsic."""

    code: str
    headers: tuple[str, ...]
    features: tuple[str, ...]
    strided: frozenset[tuple[str, int]]
    """``(parameter, dimension)`` pairs whose stride the code reads (may be any)."""

    def instantiate(self, pointers: dict[str, str], strides: dict[tuple[str, int], int],
                    sizes: dict[str, int]) -> str:
        """The code with every placeholder replaced."""

        def repl(m: re.Match[str]) -> str:
            name, dim = m.group(1), m.group(2)
            if dim is not None:
                return str(strides[(name, int(dim))])
            if name in pointers:
                return pointers[name]
            return str(sizes[name])

        return _PLACEHOLDER.sub(repl, self.code)


def template_of(fn: Function) -> Template | None:
    """The template of intrinsic ``fn``, or None when it has no ``c_code``."""
    code = fn.meta_value("c_code")
    if code is None:
        return None
    headers = tuple(str(fn.meta_value("c_header") or "").split())
    features = tuple(str(fn.meta_value("c_features") or "").split())
    strided = frozenset((m.group(1), int(m.group(2))) for m in _PLACEHOLDER.finditer(str(code))
                        if m.group(2) is not None)
    return Template(str(code), headers, features, strided)


def template_errors(fn: Function) -> list[str]:
    """What is wrong with ``fn``'s template: unknown names or dimensions in placeholders."""
    tpl = template_of(fn)
    if tpl is None:
        return []
    errors = []
    params = {p.name for p in fn.params}
    bufs = {b.name: b for b in fn.buffers if b.mode != "local"}
    for m in _PLACEHOLDER.finditer(tpl.code):
        name, dim = m.group(1), m.group(2)
        if name in bufs:
            if dim is not None and int(dim) >= len(bufs[name].shape):
                errors.append(f"'{m.group(0)}': '{name}' has rank {len(bufs[name].shape)}")
        elif name not in params or dim is not None:
            errors.append(f"'{m.group(0)}' names no parameter of {fn.name}")
    return errors
