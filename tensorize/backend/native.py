"""Compiled kernels callable from Python: ``tensorize.compile``.

:func:`compile_kernel` emits a kernel (every size fixed), checks that the host CPU has
every feature its templates need (before anything runs: never SIGILL), builds it with
:mod:`tensorize.backend.build` and returns a :class:`NativeKernel`, which takes numpy
arrays by buffer name and writes the outputs in place.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tensorize.backend.blocking import unroll_and_jam
from tensorize.backend.build import build_shared, check_host, load
from tensorize.backend.emit import CUnit, emit_unit
from tensorize.backend.packing import pack_operands
from tensorize.backend.tiling import Caches, cache_tile
from tensorize.errors import TensorizeError, UsageError
from tensorize.ir.bounds import bounds_errors
from tensorize.ir.interp import bind_sizes, shapes_of
from tensorize.ir.nodes import Function


def check_emittable(fn: Function, library: Mapping[str, Function]) -> None:
    """Refuse a kernel with an access the static bounds check finds out of bounds."""
    errors = bounds_errors(fn, library)
    if errors:
        message, span = errors[0]
        raise TensorizeError(f"cannot compile '{fn.name}': {message}", span)


@dataclass
class NativeKernel:
    """A compiled kernel: call it with numpy arrays by buffer name."""

    fn: Function
    sizes: dict[str, int]
    shapes: dict[str, tuple[int, ...]]
    unit: CUnit
    lib: ctypes.CDLL
    _cfunc: ctypes._CFuncPtr  # type: ignore[name-defined]  # ctypes keeps the class private

    def __call__(self, **arrays: np.ndarray) -> dict[str, np.ndarray]:
        """Run once. Every non-local buffer must be given, C-contiguous, of its type and
        shape; ``out`` and ``inout`` arrays are written in place (and returned)."""
        return self._invoke(self._pointers(arrays), arrays)

    def _pointers(self, arrays: Mapping[str, np.ndarray]) -> list[ctypes.c_void_p]:
        ptrs = []
        for b in self.fn.buffers:
            if b.mode == "local":
                continue
            if b.name not in arrays:
                raise UsageError(f"missing array '{b.name}' of '{self.fn.name}'")
            arr = arrays[b.name]
            if not isinstance(arr, np.ndarray) or arr.dtype != b.dtype.np_dtype or \
                    arr.shape != self.shapes[b.name] or not arr.flags.c_contiguous:
                raise UsageError(f"'{b.name}' must be a C-contiguous {b.dtype}"
                                 f"{list(self.shapes[b.name])} numpy array")
            if b.mode != "in" and not arr.flags.writeable:
                raise UsageError(f"'{b.name}' is written: it must be a writeable array")
            ptrs.append(ctypes.c_void_p(arr.ctypes.data))
        written = [b.name for b in self.fn.buffers if b.mode in ("out", "inout")]
        names = [b.name for b in self.fn.buffers if b.mode != "local"]
        for w in written:
            for other in names:
                if other != w and np.shares_memory(arrays[w], arrays[other]):
                    raise UsageError(f"'{w}' and '{other}' share memory; the kernel writes "
                                     f"'{w}': give it an array of its own")
        return ptrs

    def _invoke(self, ptrs: list[ctypes.c_void_p], arrays: Mapping[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
        self._cfunc(*ptrs)
        return {b.name: arrays[b.name] for b in self.fn.outputs}

    def time(self, arrays: Mapping[str, np.ndarray], repeat: int) -> list[float]:
        """Seconds per call of ``repeat`` calls (after one warm-up call)."""
        ptrs = self._pointers(arrays)
        self._cfunc(*ptrs)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            self._cfunc(*ptrs)
            times.append(time.perf_counter() - t0)
        return times


def schedule(fn: Function, library: Mapping[str, Function], caches: Caches | None = None
             ) -> Function:
    """``fn`` made fast by IR rewrites that keep its meaning: operands packed
    (:mod:`~tensorize.backend.packing`), call nests unrolled and jammed
    (:mod:`~tensorize.backend.blocking`), then cache-tiled (:mod:`~tensorize.backend.tiling`)."""
    fn = pack_operands(fn, library)[0]
    fn = unroll_and_jam(fn, library)[0]
    return cache_tile(fn, library, caches)[0]


def compile_kernel(fn: Function, library: Mapping[str, Function], threads: int = 1,
                   sizes: Mapping[str, int] | None = None, templates: bool = True,
                   pack: bool = True, caches: Caches | None = None) -> NativeKernel:
    """Compile checked kernel ``fn`` (its intrinsics from ``library``) with every size fixed
    (``sizes``, else the defaults) into native code; see :class:`NativeKernel`. With
    ``pack``, call operands a template cannot read are first packed
    (:mod:`tensorize.backend.packing`), blocked and tiled (:func:`schedule`; ``caches``:
    the cache sizes the tiles are chosen for, the host's by default)."""
    if threads < 1:
        raise UsageError("threads must be at least 1")
    bound = bind_sizes(fn, sizes)
    shapes = shapes_of(fn, bound)
    check_emittable(fn, library)
    if pack and templates:
        fn = schedule(fn, library, caches)
    unit = emit_unit([fn], library, bound, threads=threads, templates=templates)
    check_host(unit.targets)
    path = build_shared(unit.source, unit.header, "kernel.h", unit.features,
                        openmp=bool(unit.parallel))
    lib = load(path)
    cfunc = getattr(lib, fn.name)
    cfunc.restype = None
    return NativeKernel(fn, bound, shapes, unit, lib, cfunc)


def compile_many(kernels: list[Function], library: Mapping[str, Function],
                 threads: int = 1) -> dict[str, NativeKernel]:
    """Compile several kernels (sizes at their defaults) in one C file and one compiler
    run; by kernel name."""
    bound = {fn.name: bind_sizes(fn, {}) for fn in kernels}
    for fn in kernels:
        check_emittable(fn, library)
    every = {k: v for sizes in bound.values() for k, v in sizes.items()}
    names = [p.name for fn in kernels for p in fn.params]
    if len(names) != len(set(names)) and any(
            bound[a.name].get(p) != bound[b.name].get(p)
            for a in kernels for b in kernels for p in names):
        return {fn.name: compile_kernel(fn, library, threads) for fn in kernels}
    unit = emit_unit(kernels, library, every, threads=threads)
    check_host(unit.targets)
    path = build_shared(unit.source, unit.header, "kernel.h", unit.features,
                        openmp=bool(unit.parallel))
    lib = load(path)
    out = {}
    for fn in kernels:
        cfunc = getattr(lib, fn.name)
        cfunc.restype = None
        out[fn.name] = NativeKernel(fn, bound[fn.name], shapes_of(fn, bound[fn.name]), unit,
                                    lib, cfunc)
    return out
