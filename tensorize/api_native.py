"""Running kernels: in the interpreter (``run``) or compiled to C (``compile``, ``tensorize
build``, ``tensorize run --backend c``), with the checksums and timings the command
prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tensorize.api_checks import check_seed, own_sizes
from tensorize.api_load import (
    Callees,
    callee_map,
    load_any,
    load_specs,
    load_with_callees,
    select_kernels,
)
from tensorize.errors import UsageError
from tensorize.ir.nodes import Function
from tensorize.outputs import check_output_file, write_atomic

# numpy, the interpreter and the C back end are imported where first used
if TYPE_CHECKING:
    import numpy as np

    from tensorize.backend.emit import CUnit
    from tensorize.ir import interp


def run(fn: Function, inputs: Mapping[str, np.ndarray] | None = None, *, seed: int = 0,
        sizes: Mapping[str, int] | None = None, library: Mapping[str, Function] | None = None,
        mode: interp.Mode = "vector") -> dict[str, np.ndarray]:
    """Run a checked kernel; without inputs, on seeded random ones."""
    from tensorize.ir import interp

    if inputs is None:
        inputs = interp.random_inputs(fn, sizes, check_seed(seed))
    return interp.run(fn, inputs, sizes=sizes, library=library, mode=mode)


def compile(kernel: Function, library: Callees | None = None,
            threads: int = 1, sizes: Mapping[str, int] | None = None) -> Any:
    """Compile a checked kernel (rewritten or not) to native code through C.

    Returns a :class:`tensorize.backend.native.NativeKernel`: call it with numpy arrays by
    buffer name (``k(A=a, B=b, C=c)``); it writes the ``out``/``inout`` arrays in place.
    Every size is fixed (``sizes``, else the defaults). ``threads`` > 1 runs the outermost
    loop proven independent with OpenMP. Needs a C compiler (``cc`` or ``$CC``); a missing
    compiler or a CPU without a feature the intrinsics need is a UsageError naming it.
    """
    from tensorize.backend.native import compile_kernel

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UsageError(f"threads must be a positive integer, not {threads!r}")
    return compile_kernel(kernel, callee_map(library), threads=threads,
                          sizes=own_sizes(kernel, sizes))


def operation_count(kernel: Function, sizes: Mapping[str, int] | None = None,
                    library: Mapping[str, Function] | None = None) -> int | None:
    """Arithmetic operations of one run: each ``+ - * /`` of data counts 1, ``fma`` 2
    (so a multiply-accumulate counts 2), a call its intrinsic's own count; casts, loads,
    stores and comparisons count 0. None when a loop bound is not a constant."""
    from tensorize.ir import interp
    from tensorize.ir.affine import linear_form
    from tensorize.ir.nodes import Assign, Binary, Call, CallStmt, For, If
    from tensorize.ir.traverse import walk

    lib = dict(library or {})
    bound = interp.bind_sizes(kernel, sizes)
    total = 0
    stack: list[tuple[Any, int]] = [(s, 1) for s in kernel.body]
    while stack:
        s, trips = stack.pop()
        if isinstance(s, For):
            lo, hi = linear_form(s.lo, bound), linear_form(s.hi, bound)
            if lo is None or hi is None or lo.coeffs or hi.coeffs:
                return None
            stack.extend((b, trips * max(hi.const - lo.const, 0)) for b in s.body)
        elif isinstance(s, If):
            return None
        elif isinstance(s, Assign):
            ops = sum(1 if isinstance(n, Binary) and n.op in ("+", "-", "*", "/") and
                      n.dtype.is_numeric else
                      2 if isinstance(n, Call) and n.fn == "fma" else 0
                      for n in walk(s.value))
            total += trips * ops
        elif isinstance(s, CallStmt) and s.name in lib:
            inner = operation_count(lib[s.name], {}, lib)
            if inner is None:
                return None
            total += trips * inner
        else:
            return None
    return total


def missing_features_for(targets: Sequence[str]) -> list[str]:
    """The CPU features (``/proc/cpuinfo`` names) this host lacks to run ``targets``."""
    from tensorize.backend.build import missing_host_features

    return missing_host_features(targets)


@dataclass(frozen=True)
class OutputSummary:
    """One output buffer of a run: its type, shape, checksum and sum."""

    shape: tuple[int, ...]
    buffer: str
    """The buffer's name."""
    dtype: str
    """The element type, as `.tz` spells it."""
    checksum: str
    """A hash of the bytes (see :func:`tensorize.ir.interp.checksum`)."""
    total: str
    """The sum of its elements: exact for integers, a float's ``repr`` otherwise."""


@dataclass(frozen=True)
class Timing:
    """The timed calls of compiled code (``--repeat``)."""

    median: float
    """Seconds per call (the median)."""
    calls: int
    threads: int
    operations: int | None
    """Arithmetic operations of one call (see :func:`operation_count`), if known."""


@dataclass(frozen=True)
class KernelRun:
    """What ``tensorize run`` prints of one kernel."""

    kernel: str
    outputs: tuple[OutputSummary, ...]
    timing: Timing | None = None

    def describe(self) -> str:
        """One line per output buffer, and one for the timing (each ending in a newline)."""
        lines = [f"{self.kernel}  {o.buffer}: {o.dtype}[{', '.join(map(str, o.shape))}]  "
                 f"checksum {o.checksum}  sum {o.total}\n" for o in self.outputs]
        t = self.timing
        if t is not None:
            gops = (f"  {t.operations / t.median / 1e9:.2f} GOPS"
                    if t.operations and t.median > 0 else "")
            lines.append(f"{self.kernel}  time: median {t.median * 1e3:.3f} ms per call over "
                         f"{t.calls} calls ({t.threads} thread{'s' if t.threads > 1 else ''})"
                         f"{gops}\n")
        return "".join(lines)


def _total(arr: np.ndarray) -> str:
    import numpy as np

    if arr.dtype.kind in "iub":
        return str(int(arr.astype(object).sum()) if arr.size else 0)
    return repr(float(np.sum(arr.astype(np.float64))))


def _run_native(fn: Function, inputs: dict[str, np.ndarray], sizes: dict[str, int],
                library: dict[str, Function], threads: int, repeat: int | None
                ) -> tuple[dict[str, np.ndarray], Timing | None]:
    """Compile ``fn``, run it once on ``inputs`` (and ``repeat`` times more, timed)."""
    import statistics

    import numpy as np

    from tensorize.ir import interp

    native = compile(fn, library, threads=threads, sizes=sizes)
    shapes = interp.shapes_of(fn, interp.bind_sizes(fn, sizes))
    interp.check_assumptions(fn, inputs)
    arrays = {b.name: (np.array(inputs[b.name], copy=True) if b.name in inputs else
                       np.zeros(shapes[b.name], dtype=b.dtype.np_dtype))
              for b in fn.buffers if b.mode != "local"}
    fresh = {k: v.copy() for k, v in arrays.items()}
    native(**arrays)
    outputs = {b.name: arrays[b.name] for b in fn.outputs}
    if not repeat:
        return outputs, None
    times = native.time(fresh, repeat)
    return outputs, Timing(statistics.median(times), len(times), threads,
                           operation_count(fn, sizes, library))


def run_file(path: str, *, specs: Sequence[str] = (), kernel: str | None = None,
             sets: Sequence[str] = (), seed: int = 0, scalar: bool = False,
             backend: str = "interp", repeat: int | None = None, threads: int = 1,
             signedness: Mapping[str, str] | None = None) -> list[KernelRun]:
    """``tensorize run``: the kernels of a `.tz` or `.mlir` file (``kernel``, else all; an
    intrinsic may be named too) run on seeded random inputs, in the interpreter (vector,
    or the scalar reference with ``scalar``) or compiled (``backend="c"``, ``repeat``
    timed calls more)."""
    from tensorize.ir import interp

    module, callable_lib = load_any(path, load_specs(specs), signedness)
    chosen = select_kernels(module, path, kernel, sets, "run", any_function=True)
    if backend == "c" and scalar:
        raise UsageError("--scalar runs the reference interpreter; it does not go with "
                         "--backend c")
    if repeat is not None and backend != "c":
        raise UsageError("--repeat times compiled code: use it with --backend c")
    runs = []
    for fn in chosen.kernels:
        own = chosen.sizes_of(fn)
        inputs = interp.random_inputs(fn, own, check_seed(seed))
        timing = None
        if backend == "c":
            outputs, timing = _run_native(fn, inputs, own, callable_lib, threads, repeat)
        else:
            outputs = interp.run(fn, inputs, sizes=own, library=callable_lib,
                                 mode="scalar" if scalar else "vector")
        summaries = tuple(OutputSummary(tuple(outputs[b.name].shape), b.name, str(b.dtype),
                                        str(interp.checksum(outputs[b.name])),
                                        _total(outputs[b.name])) for b in fn.outputs)
        runs.append(KernelRun(fn.name, summaries, timing))
    return runs


@dataclass(frozen=True)
class Built:
    """What ``tensorize build`` wrote: a C file and its header, and what they hold."""

    source: Path
    header: Path
    unit: CUnit
    """The emitted text, the functions' prototypes, the intrinsics and CPU features."""
    threads: int

    def describe(self) -> str:
        """The account printed on standard error (lines ending in a newline)."""
        unit = self.unit
        lines = [f"{self.source}: {f.prototype}\n" for f in unit.functions]
        if unit.templates_used:
            lines.append(f"    intrinsics: {', '.join(unit.templates_used)} (needs "
                         f"{' '.join(unit.features) or 'no extra CPU feature'})\n")
        if unit.inlined:
            lines.append(f"    as scalar C (no template, or views it cannot read): "
                         f"{', '.join(unit.inlined)}\n")
        if unit.parallel:
            lines.append(f"    OpenMP ({self.threads} threads): {', '.join(unit.parallel)}: "
                         "compile with -fopenmp\n")
        return "".join(lines)


def build_file(path: str, output: str, *, specs: Sequence[str] = (),
               kernel: str | None = None, sets: Sequence[str] = (), threads: int = 1
               ) -> Built:
    """``tensorize build``: the kernels of a `.tz` file (``kernel``, else all) written as
    one C file ``output`` (``OUT.c``) and its header ``OUT.h``, sizes in ``sets`` fixed,
    the others parameters of each function."""
    from tensorize.backend.emit import emit_unit
    from tensorize.backend.native import check_emittable, schedule

    target = check_output_file(output, "-o")
    if target.suffix != ".c":
        raise UsageError(f"-o {output}: the output is a C file; name it OUT.c")
    header_path = target.with_suffix(".h")
    check_output_file(header_path, "-o (its header)")
    module, callable_lib = load_with_callees(path, load_specs(specs))
    chosen = select_kernels(module, path, kernel, sets, "build")
    for fn in chosen.kernels:
        check_emittable(fn, callable_lib)
    kernels = tuple(schedule(fn, callable_lib) for fn in chosen.kernels)
    unit = emit_unit(kernels, callable_lib, chosen.sizes, threads=threads,
                     header_name=header_path.name)
    write_atomic(header_path, unit.header)
    write_atomic(target, unit.source)
    return Built(target, header_path, unit, threads)

