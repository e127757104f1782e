"""Standalone programs around emitted kernels, for machines Python cannot load code on.

A cross-compiled kernel (Arm under ``qemu-aarch64``) cannot be loaded with ``ctypes``:
:func:`harness_main` adds a ``main`` that reads every non-local buffer's bytes, in
declaration order, from the file named by ``argv[1]``, calls the kernel once, and writes
the ``out`` and ``inout`` buffers, in order, to ``argv[2]``. :func:`pack_inputs` and
:func:`unpack_outputs` are the Python side. :func:`intrinsic_wrapper` is the text of a
kernel making one call of an intrinsic on whole buffers of its parameters' shapes: the
unit of the generated silicon tests.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tensorize.backend.cexpr import storage_type
from tensorize.backend.emit import c_name
from tensorize.ir.interp import bind_sizes, buffer_shape
from tensorize.ir.nodes import Function


def harness_main(fn: Function, shapes: Mapping[str, tuple[int, ...]]) -> str:
    """C ``main`` running kernel ``fn`` (every size fixed) once on buffers read from a file."""
    lines = ["#include <stdio.h>", "int main(int argc, char **argv) {",
             "  if (argc != 3) return 2;",
             '  FILE *in = fopen(argv[1], "rb"); if (!in) return 3;']
    names = []
    for b in fn.buffers:
        if b.mode == "local":
            continue
        n = int(np.prod(shapes[b.name], dtype=np.int64))
        t = storage_type(b.dtype)
        v = "tzb_" + c_name(b.name)
        lines.append(f"  {t} *{v} = calloc({n} + 1, sizeof({t}));")
        lines.append(f"  if (fread({v}, sizeof({t}), {n}, in) != (size_t){n}) return 4;")
        names.append(v)
    lines.append("  fclose(in);")
    lines.append(f"  {fn.name}({', '.join(names)});")
    lines.append('  FILE *out = fopen(argv[2], "wb"); if (!out) return 5;')
    for b in fn.outputs:
        n = int(np.prod(shapes[b.name], dtype=np.int64))
        t = storage_type(b.dtype)
        lines.append(f"  fwrite(tzb_{c_name(b.name)}, sizeof({t}), {n}, out);")
    lines.append("  return fclose(out) != 0;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def pack_inputs(fn: Function, arrays: Mapping[str, np.ndarray]) -> bytes:
    """The bytes :func:`harness_main` reads: every non-local buffer, in order."""
    return b"".join(np.ascontiguousarray(arrays[b.name], dtype=b.dtype.np_dtype).tobytes()
                    for b in fn.buffers if b.mode != "local")


def unpack_outputs(fn: Function, shapes: Mapping[str, tuple[int, ...]], data: bytes
                   ) -> dict[str, np.ndarray]:
    """The outputs :func:`harness_main` wrote."""
    out = {}
    offset = 0
    for b in fn.outputs:
        dt = b.dtype.np_dtype
        n = int(np.prod(shapes[b.name], dtype=np.int64))
        out[b.name] = np.frombuffer(data, dtype=dt, count=n, offset=offset).reshape(
            shapes[b.name]).copy()
        offset += n * dt.itemsize
    return out


def intrinsic_wrapper(fn: Function, batch: int = 1, name: str = "tz_check") -> str:
    """A kernel making ``batch`` calls of intrinsic ``fn``, call ``t`` on slice ``t`` of
    buffers shaped ``[batch, *parameter shape]`` (sizes at their defaults), with the
    intrinsic's assumptions."""
    sizes = bind_sizes(fn, {})
    decls, args = [], []
    for p in fn.params:
        args.append(f"{p.name} = {sizes[p.name]}")
    for b in fn.buffers:
        if b.mode == "local":
            continue
        shape = (batch, *buffer_shape(b, sizes))
        decls.append(f"  {b.mode} {b.name}: {b.dtype}[{', '.join(map(str, shape))}]")
        dims = [f"tz_d{i}" for i in range(len(shape) - 1)]
        index = ", ".join(["tz_t", *dims])
        args.append(f"{b.name} = ({', '.join(dims)}) -> {b.name}[{index}]")
    for a in fn.assumes:
        op = "..=" if a.inclusive else ".."
        decls.append(f"  assume {a.buf} in {a.lo!r}{op}{a.hi!r}")
    body = "\n".join(decls)
    call = f"call {fn.name}({', '.join(args)})"
    return (f"kernel {name} {{\n{body}\n  for tz_t in 0..{batch} {{\n    {call}\n  }}\n}}\n")
