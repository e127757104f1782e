"""A generator of kernels for soundness fuzzing.

It writes `.tz` text, driven by any source of choices (hypothesis in the test suite, a
seeded ``random.Random`` in the long campaign): loop nests 1 to 6 deep, extents including
primes and 1, several dtypes, layouts (transposed, flattened, strided), both operand
orders, different casts, with or without an init statement, guards, and reductions with
``+``, ``max`` and ``min``. Most kernels are contractions, so that the engine has
something to rewrite; many are subtly not what an intrinsic computes.

Each kernel may also carry *features* (see :data:`FEATURES`), each drawn with a small
probability so that plain contractions still dominate:

- ``loopvar_value``: a loop variable used as a value in the update (a padding mask
  ``select(k < KPAD, A[i, k], 0)``, ``i32(k / 4)``, ``* i32(j)``, ``+ i32(i)``), for
  spatial, reduction and outer loops;
- ``odd_init``: an init with another index function or place than the update (reversed
  index, ``Y[i + j]``, a constant element, nested one loop too deep, a value depending on
  loop variables, a bias read from another buffer);
- ``unsigned_mixed``: unsigned and mixed-sign operands at all widths, 16-bit products
  that overflow, ``sat_i16``, ``abs``, ``min``, ``max``;
- ``empty_size1``: loops of extent 0 or 1 anywhere in the nest, literally or through a
  size parameter set to 0 or 1 in the second set of sizes;
- ``big``: size defaults above the engine's 4M-instance execution limit;
- ``hygiene``: loops named like the loops the rewriter creates (``jo``, ``k_c``, ...).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests.fuzz.computable import Shape, computable

EXTENTS = [1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 32, 48, 64]
TYPES = [  # (A, B, accumulator)
    ("u8", "i8", "i32"), ("i8", "i8", "i32"), ("u8", "u8", "u32"), ("i16", "i16", "i32"),
    ("f16", "f16", "f32"), ("bf16", "bf16", "f32"), ("f32", "f32", "f32"),
]
MIXED_TYPES = [  # unsigned and mixed-sign operands at all widths
    ("u8", "u8", "u32"), ("i8", "u8", "i32"), ("u16", "i16", "i32"), ("u8", "i8", "i16"),
    ("i16", "i16", "i64"), ("u32", "u32", "u64"), ("u8", "u8", "i32"), ("u8", "u8", "u16"),
    ("u16", "u16", "u32"), ("i8", "i8", "i16"), ("u64", "u64", "u64"), ("i32", "i8", "i64"),
    ("u32", "i32", "i32"), ("i64", "i64", "i64"), ("u8", "i8", "i32"), ("u8", "u8", "u64"),
]

FRIENDLY = [("u8", "i8", "i32"), ("i8", "i8", "i32"), ("u8", "u8", "u32"),
            ("i16", "i16", "i32")]
FRIENDLY_MIXED = [("u8", "u8", "u32"), ("i8", "u8", "i32"), ("u8", "i8", "i32")]
FRIENDLY_EXTENTS = [4, 8, 16, 16, 32, 32, 64]
"""Types and extents the bundled integer intrinsics compute (vpdpbusd, sdot, amx, ...)."""

FEATURES = ("loopvar_value", "odd_init", "unsigned_mixed", "empty_size1", "big", "hygiene")
"""The kernel features the campaign counts separately."""

PERCENT = {"loopvar_value": 12, "odd_init": 12, "unsigned_mixed": 15, "empty_size1": 10,
           "big": 3, "hygiene": 8}
"""How often (in percent) each feature is drawn."""

PARAMS = {"i": "M", "j": "N", "k": "K", "k2": "L", "b0": "P", "b1": "Q"}
"""The size parameter of each loop, when the kernel has parameters."""

ODD_INITS = ("reversed", "diagonal", "const", "deep", "value", "bias")
NOT_HOISTABLE = ("reversed", "diagonal", "const", "deep")
"""Odd inits that cannot be moved in front of the call nest."""

MAX_WORK = 150_000
"""Largest iteration count of a generated kernel (but ``big`` ones), so every check runs it."""


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
    features: tuple[str, ...] = ()
    """The :data:`FEATURES` this kernel has."""
    detail: dict[str, str] = field(default_factory=dict)
    """Which variant of each feature (for reports)."""
    alt_sizes: dict[str, int] | None = None
    """A second, smaller set of sizes to check at (kernels with size parameters)."""
    computable: str = ""
    """An intrinsic that computes the kernel, by construction (see
    :mod:`tests.fuzz.computable`), or "" if none does."""
    expect: str = "contraction"
    """What the kernel expects: ``contraction`` (an intrinsic may compute it),
    ``loopvar-value`` or ``not-hoistable`` (must not be rewritten, or rewritten right)."""


def _access(dims: list[tuple[str, str]], layout: str) -> tuple[str, str]:
    """(declared shape, index) of a buffer over ``dims`` (loop name, size) in a layout."""
    if layout == "transposed" and len(dims) >= 2:
        dims = dims[:-2] + [dims[-1], dims[-2]]
    if layout == "flattened" and len(dims) >= 2 and all(n.isdigit() for _, n in dims):
        size = _product(int(n) for _, n in dims)
        terms = []
        stride = 1
        for var, n in reversed(dims):
            terms.append(var if stride == 1 else f"{var} * {stride}")
            stride *= int(n)
        return str(size), " + ".join(reversed(terms))
    if layout == "strided" and dims:
        shape = ", ".join(n for _, n in dims[:-1]) + \
            (", " if len(dims) > 1 else "") + f"2 * {dims[-1][1]}"
        index = ", ".join(v for v, _ in dims[:-1]) + (", " if len(dims) > 1 else "") + \
            f"2 * {dims[-1][0]}"
        return shape, index
    return ", ".join(n for _, n in dims), ", ".join(v for v, _ in dims)


def _percent(c: Choices, p: int) -> bool:
    return c.integer(0, 99) < p


def _hygiene_names(c: Choices, used: list[str], two_red: bool) -> dict[str, str]:
    """Loop names that collide with the names the rewriter makes (``<tile var>o``, fused
    ``k_c``, view dims named after tile loops)."""
    name = {v: v for v in PARAMS}
    if c.boolean():  # reduction loops named so that their fused group is r_c or k_c
        name["k"], name["k2"] = c.choice([("r", "c"), ("k", "c"), ("k", "k2")])
    derived = [("i", lambda: name["j"] + "o"), ("i", lambda: name["k"] + "o"),
               ("j", lambda: name["k"] + "o"), ("b0", lambda: name["i"] + "o"),
               ("b0", lambda: name["j"] + "o"), ("b0", lambda: name["k"] + "o"),
               ("b1", lambda: name["k"] + "o"), ("b0", lambda: "i_j"),
               ("b0", lambda: name["k"] + "_" + name["k2"]),
               ("i", lambda: name["k"] + "_" + name["k2"]), ("b0", lambda: "r_c")]
    for _ in range(c.integer(1, 3)):
        var, make = c.choice(derived)
        new = make()
        if var in used and new not in name.values():
            name[var] = new
    return name


def generate(c: Choices, allowed: tuple[str, ...] = FEATURES,
             force: tuple[str, ...] = ()) -> Generated:
    """One kernel; each of ``allowed`` features is drawn with its probability, every
    feature in ``force`` is present."""
    feats = {f for f in allowed if _percent(c, PERCENT[f])} | set(force)
    detail: dict[str, str] = {}
    big = "big" in feats
    unsigned = "unsigned_mixed" in feats
    # friendly: types and extents an intrinsic computes, so that the feature meets a rewrite
    friendly = _percent(c, 60 if feats - {"unsigned_mixed"} else 25)
    if friendly:
        ta, tb, tacc = c.choice(FRIENDLY_MIXED if unsigned else FRIENDLY)
    else:  # big kernels: mostly integer types, which IEEE mode may reorder too
        ta, tb, tacc = c.choice(MIXED_TYPES if unsigned else TYPES[:4]
                                if big and c.integer(0, 3) else TYPES)
    dot = not big and c.integer(0, 9) == 0  # a plain dot product: 1 or 2 loops deep
    batches = 0 if dot or big else c.integer(0, 2)
    two_red = not big and c.boolean() and c.boolean()
    has_j = big or c.integer(0, 3) > 0
    ext = {v: c.choice(FRIENDLY_EXTENTS if friendly and v[0] != "b" else EXTENTS)
           for v in ("i", "j", "k", "k2", "b0", "b1")}
    ext["j"] = ext["j"] if has_j else 1
    batch_vars = [f"b{d}" for d in range(batches)]
    red = ["k", "k2"] if two_red else ["k"]
    used = batch_vars + ["i", "j", *red] if has_j or dot else batch_vars + ["i", *red]
    if dot:
        used = list(red)
    if big:
        ext.update(i=c.choice([512, 256, 1024]), j=c.choice([512, 256]), k=c.choice([64, 32]))
    else:
        while _product(ext[v] for v in used) > MAX_WORK:  # keep every kernel executable
            big_var = max(used, key=lambda v: ext[v])
            ext[big_var] = max(e for e in EXTENTS if e < ext[big_var])
    with_params = big or _percent(c, 20) or ("empty_size1" in feats and c.boolean())
    alt: dict[str, int] | None = None
    if with_params:
        # big kernels: small sizes that still tile, so the rewrite is also run there
        alt = {PARAMS[v]: c.choice([16, 32] if big else
                                   [x for x in EXTENTS if x <= min(ext[v], 16)] or [1])
               for v in used}
    if "empty_size1" in feats:
        picked = [c.choice(used) for _ in range(c.integer(1, 3))]
        for v in picked:
            value = c.choice([0, 1, 1])
            if alt is not None and c.boolean():
                alt[PARAMS[v]] = value
                detail["empty_size1"] = f"size {PARAMS[v]}={value}"
            else:
                ext[v] = value
                detail["empty_size1"] = f"extent {v}={value}"
    size = {v: (PARAMS[v] if with_params else str(ext[v])) for v in PARAMS}
    name = _hygiene_names(c, used, two_red) if "hygiene" in feats else \
        {v: v for v in PARAMS}
    if "hygiene" in feats:
        detail["hygiene"] = ", ".join(f"{v}->{n}" for v, n in name.items() if v != n
                                      and v in used)
        if not detail["hygiene"]:
            feats.discard("hygiene")
            del detail["hygiene"]
    spatial = [] if dot else batch_vars + ["i"] + (["j"] if has_j else [])
    a_dims = [(name[v], size[v]) for v in (red if dot else batch_vars + ["i"] + red)]
    b_dims = [(name[v], size[v]) for v in
              (red if dot else batch_vars + (["j"] if has_j else []) + red)]
    c_dims = [(name[v], size[v]) for v in spatial]
    a_shape, a_idx = _access(a_dims, c.choice(["plain", "plain", "transposed",
                                               "flattened", "strided"]))
    b_shape, b_idx = _access(b_dims, c.choice(["plain", "transposed", "flattened"]))
    c_shape, c_idx = ", ".join(n for _, n in c_dims), ", ".join(v for v, _ in c_dims)

    init_kind = c.choice(["zero", "zero", "none", "bias"])
    odd = ""
    if "odd_init" in feats:
        options = [o for o in ODD_INITS if (o != "diagonal" or has_j)
                   and (o not in ("const", "reversed", "value") or c_dims)]
        odd = c.choice(options)
        detail["odd_init"] = odd
        init_kind = "bias" if odd == "bias" else "zero"
    if odd == "diagonal":  # Y[i + j]: spatial i and j share output elements
        diag = f"{name['i']} + {name['j']}"
        c_idx = ", ".join([n for n, _ in c_dims[:-2]] + [diag])
        c_shape = ", ".join([s for _, s in c_dims[:-2]] + [f"{size['i']} + {size['j']}"])
    c_type = f"{tacc}[{c_shape}]" if c_dims else tacc
    is_float = tacc.startswith("f")

    a_load, b_load = f"A[{a_idx}]", f"B[{b_idx}]"
    loopvar = ""
    if "loopvar_value" in feats:
        # mostly loops a tile may cover (the reduction, j), so that some tiles prove
        var = c.choice(used + [red[0]] * 2 + (["j"] if "j" in used else []))
        lv = name[var]
        loopvar = c.choice(["pad", "pad", "div", "mul", "add"])
        detail["loopvar_value"] = f"{loopvar} {lv}"
        if loopvar == "pad":
            e = ext[var]
            pad = c.choice(sorted({max(e - 1, 0), e, e + 1, max(e // 2, 1), 4, 16}))
            a_load = f"select({lv} < {pad}, {a_load}, 0)"
            detail["loopvar_value"] += f" < {pad}"

    if unsigned and not friendly:
        cast = c.choice(["wide", "wide", "narrow", "sat", "abs", "minmax"])
    elif unsigned:
        cast = c.choice(["wide", "wide", "wide", "narrow", "sat"])
    else:
        cast = c.choice(["wide", "wide", "wide", "narrow"]) if not is_float else "wide"
    # u8 * u8 in i16 overflows (255 * 255); in u16 it just fits
    narrow = c.choice(["u16", "i16"]) if ta.startswith("u") and tb.startswith("u") else "i16"
    if unsigned:
        detail["unsigned_mixed"] = f"{ta}*{tb}->{tacc} {cast}"
    if cast == "wide":
        x, y = f"{tacc}({a_load})", f"{tacc}({b_load})"
        product = f"{x} * {y}" if c.boolean() else f"{y} * {x}"
    elif cast == "narrow":  # the product computed in 16 bits first (255 * 255 overflows)
        product = f"{tacc}({narrow}({a_load}) * {narrow}({b_load}))"
    elif cast == "sat":
        product = f"{tacc}(sat_i16(i32({a_load}) * i32({b_load})))"
    elif cast == "abs":
        product = f"{tacc}(abs({a_load})) * {tacc}({b_load})"
    else:
        pair = f"{c.choice(['min', 'max'])}"
        product = f"{tacc}({pair}({a_load}, {b_load}))" if ta == tb else \
            f"{pair}({tacc}({a_load}), {tacc}({b_load}))"
    if loopvar in ("div", "mul", "add"):
        lv = detail["loopvar_value"].split()[1]
        value = {"div": c.choice([f"{lv} / 4", f"{lv} / 4 + 1", f"{lv} % 2 + 1"]),
                 "mul": lv, "add": lv}[loopvar]
        product = f"({product}) {'+' if loopvar == 'add' else '*'} {tacc}({value})"

    op = c.choice(["+", "+", "+", "+", "max", "min"])
    guard = c.integer(0, 9) == 0
    target = f"C[{c_idx}]" if c_dims else "C"
    if op == "+":
        update = f"{target} += {product}" if c.boolean() else f"{target} = {target} + {product}"
    else:
        update = f"{target} = {op}({target}, {product})"
    if guard:
        update = f"if {name[red[0]]} < {ext[red[0]]} {{ {update} }}"
    order = spatial + red
    if not odd and c.boolean():  # another loop order: reductions outside some spatial loops
        order = batch_vars + red + ([v for v in spatial if v not in batch_vars])
    init_value = {"zero": "0", "bias": f"Z[{c_idx}]" if c_dims else "Z",
                  "none": ""}[init_kind]
    init_target = target
    if odd == "reversed":
        pos = c.integer(0, len(c_dims) - 1)
        parts = [n for n, _ in c_dims]
        parts[pos] = f"{c_dims[pos][1]} - 1 - {parts[pos]}"
        init_target = f"C[{', '.join(parts)}]"
    elif odd == "const":
        init_target = f"C[{', '.join('0' for _ in c_dims)}]"
    elif odd == "value":
        v = c.choice(spatial)
        init_value = f"{tacc}({name[v]})"
    buffers = [f"  in  A: {ta}[{a_shape}]", f"  in  B: {tb}[{b_shape}]"]
    if init_kind == "bias":
        buffers.append(f"  in  Z: {c_type}")
    buffers.append(f"  {'inout' if init_kind == 'none' else 'out'}   C: {c_type}")
    params = ""
    if with_params:
        params = "(" + ", ".join(f"{PARAMS[v]} = {ext[v]}" for v in used) + ")"
    lines = [f"kernel fuzz{params} {{", *buffers]
    indent = "  "

    def open_loops(vs: list[str]) -> None:
        nonlocal indent
        for v in vs:
            lines.append(f"{indent}for {name[v]} in 0..{size[v]} {{")
            indent += "  "

    def close_loops(n: int) -> None:
        nonlocal indent
        for _ in range(n):
            indent = indent[:-2]
            lines.append(f"{indent}}}")

    if init_value and order[: len(spatial)] == spatial:
        open_loops(spatial)
        if odd == "deep":  # one loop too deep: inside the first reduction loop
            open_loops(red[:1])
            lines.append(f"{indent}{init_target} = {init_value}")
            open_loops(red[1:])
        else:
            lines.append(f"{indent}{init_target} = {init_value}")
            open_loops(red)
        lines.append(f"{indent}{update}")
        close_loops(len(order))
    else:
        if init_value:
            open_loops(spatial)
            lines.append(f"{indent}{init_target} = {init_value}")
            close_loops(len(spatial))
        open_loops(order)
        lines.append(f"{indent}{update}")
        close_loops(len(order))
    lines.append("}")
    fp = c.choice(["ieee", "real"]) if is_float else "ieee"
    expect = "not-hoistable" if odd in NOT_HOISTABLE else \
        "loopvar-value" if loopvar else "contraction"
    in_b = batch_vars + (["j"] if has_j else []) + red
    shape = Shape(ta, tb, tacc, {v: ext[v] for v in used},
                  tuple(red if dot else batch_vars + ["i"] + red),
                  tuple(red if dot else in_b), tuple(spatial), tuple(red), tuple(order),
                  op == "+" and cast == "wide" and not loopvar and odd not in NOT_HOISTABLE,
                  fp)
    return Generated("\n".join(lines) + "\n", fp, len(order),
                     tuple(f for f in FEATURES if f in feats), detail, alt,
                     computable(shape), expect)
