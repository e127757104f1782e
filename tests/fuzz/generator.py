"""A generator of kernels for soundness fuzzing.

It writes `.tz` text, driven by any source of choices (hypothesis in the test suite, a
seeded ``random.Random`` in the long campaign): loop nests 1 to 6 deep, extents including
primes and 1, several dtypes, layouts (transposed, flattened, strided), both operand
orders, different casts, with or without an init statement, guards, and reductions with
``+``, ``max`` and ``min``. Most kernels are contractions, so that the engine has
something to rewrite; many are subtly not what an intrinsic computes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

EXTENTS = [1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 32, 48, 64]
TYPES = [  # (A, B, accumulator)
    ("u8", "i8", "i32"), ("i8", "i8", "i32"), ("u8", "u8", "u32"), ("i16", "i16", "i32"),
    ("f16", "f16", "f32"), ("bf16", "bf16", "f32"), ("f32", "f32", "f32"),
]


MAX_WORK = 150_000
"""Largest iteration count of a generated kernel, so that every check can run it."""


def _product(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


class Choices(Protocol):
    """Where the generator's decisions come from."""

    def choice(self, options: list[Any]) -> Any: ...
    def integer(self, lo: int, hi: int) -> int: ...
    def boolean(self) -> bool: ...


class RandomChoices:
    """Choices from a seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choice(self, options: list[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def boolean(self) -> bool:
        return self.rng.random() < 0.5


@dataclass
class Generated:
    """A generated kernel and a few facts about it."""

    text: str
    fp: str
    depth: int


def _access(name: str, dims: list[tuple[str, int]], layout: str) -> tuple[str, str]:
    """(declared shape, index) of a buffer over ``dims`` in a layout."""
    if layout == "transposed" and len(dims) >= 2:
        dims = dims[:-2] + [dims[-1], dims[-2]]
    if layout == "flattened" and len(dims) >= 2:
        size = 1
        for _, n in dims:
            size *= n
        terms = []
        stride = 1
        for var, n in reversed(dims):
            terms.append(var if stride == 1 else f"{var} * {stride}")
            stride *= n
        return str(size), " + ".join(reversed(terms))
    if layout == "strided" and dims:
        shape = ", ".join(str(n) for _, n in dims[:-1]) + \
            (", " if len(dims) > 1 else "") + str(2 * dims[-1][1])
        index = ", ".join(v for v, _ in dims[:-1]) + (", " if len(dims) > 1 else "") + \
            f"2 * {dims[-1][0]}"
        return shape, index
    return ", ".join(str(n) for _, n in dims), ", ".join(v for v, _ in dims)


def generate(c: Choices) -> Generated:
    """One kernel."""
    ta, tb, tacc = c.choice(TYPES)
    dot = c.integer(0, 9) == 0  # a plain dot product: 1 or 2 loops deep
    batches = 0 if dot else c.integer(0, 2)
    two_red = c.boolean() and c.boolean()
    has_j = c.integer(0, 3) > 0
    ext = {v: c.choice(EXTENTS) for v in ("i", "j", "k", "k2", "b0", "b1")}
    ext["j"] = ext["j"] if has_j else 1
    batch_vars = [f"b{d}" for d in range(batches)]
    red = ["k", "k2"] if two_red else ["k"]
    used = batch_vars + ["i", "j", *red]
    while _product(ext[v] for v in used) > MAX_WORK:  # keep every kernel executable
        big = max(used, key=lambda v: ext[v])
        ext[big] = max(e for e in EXTENTS if e < ext[big])
    spatial = [] if dot else batch_vars + ["i"] + (["j"] if has_j else [])
    a_dims = [(v, ext[v]) for v in (red if dot else batch_vars + ["i"] + red)]
    b_dims = [(v, ext[v]) for v in
              (red if dot else batch_vars + (["j"] if has_j else []) + red)]
    c_dims = [(v, ext[v]) for v in spatial]
    a_shape, a_idx = _access("A", a_dims, c.choice(["plain", "plain", "transposed",
                                                    "flattened", "strided"]))
    b_shape, b_idx = _access("B", b_dims, c.choice(["plain", "transposed", "flattened"]))
    c_shape, c_idx = ", ".join(str(n) for _, n in c_dims), ", ".join(v for v, _ in c_dims)
    c_type = f"{tacc}[{c_shape}]" if c_dims else tacc
    is_float = tacc.startswith("f")
    cast = c.choice(["wide", "wide", "wide", "narrow"]) if not is_float else "wide"
    if cast == "wide":
        x, y = f"{tacc}(A[{a_idx}])", f"{tacc}(B[{b_idx}])"
        product = f"{x} * {y}" if c.boolean() else f"{y} * {x}"
    else:  # the product computed in 16 bits first
        product = f"{tacc}(i16(A[{a_idx}]) * i16(B[{b_idx}]))"
    op = c.choice(["+", "+", "+", "+", "max", "min"])
    init_kind = c.choice(["zero", "zero", "none", "bias"])
    guard = c.integer(0, 9) == 0
    target = f"C[{c_idx}]" if c_dims else "C"
    if op == "+":
        update = f"{target} += {product}" if c.boolean() else f"{target} = {target} + {product}"
    else:
        update = f"{target} = {op}({target}, {product})"
    if guard:
        update = f"if {red[0]} < {ext[red[0]]} {{ {update} }}"
    order = spatial + red
    if c.boolean():  # another loop order: reductions outside some spatial loops
        order = batch_vars + red + ([v for v in spatial if v not in batch_vars])
    init_value = {"zero": "0", "bias": f"Z[{c_idx}]" if c_dims else "Z",
                  "none": ""}[init_kind]
    buffers = [f"  in  A: {ta}[{a_shape}]", f"  in  B: {tb}[{b_shape}]"]
    if init_kind == "bias":
        buffers.append(f"  in  Z: {c_type}")
    buffers.append(f"  {'inout' if init_kind == 'none' else 'out'}   C: {c_type}")
    lines = ["kernel fuzz {", *buffers]
    indent = "  "
    if init_value and order[: len(spatial)] == spatial:
        for v in spatial:
            lines.append(f"{indent}for {v} in 0..{ext[v]} {{")
            indent += "  "
        lines.append(f"{indent}{target} = {init_value}")
        for v in red:
            lines.append(f"{indent}for {v} in 0..{ext[v]} {{")
            indent += "  "
        lines.append(f"{indent}{update}")
        lines += ["  " * (len(order) - n) + "}" for n in range(len(order))]
    else:
        if init_value:
            for v in spatial:
                lines.append(f"{indent}for {v} in 0..{ext[v]} {{")
                indent += "  "
            lines.append(f"{indent}{target} = {init_value}")
            lines += ["  " * (len(spatial) - n) + "}" for n in range(len(spatial))]
            indent = "  "
        for v in order:
            lines.append(f"{indent}for {v} in 0..{ext[v]} {{")
            indent += "  "
        lines.append(f"{indent}{update}")
        lines += ["  " * (len(order) - n) + "}" for n in range(len(order))]
    lines.append("}")
    fp = c.choice(["ieee", "real"]) if is_float else "ieee"
    return Generated("\n".join(lines) + "\n", fp, len(order))
