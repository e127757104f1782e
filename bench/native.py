"""Native code benchmark: tensorize's compiled rewrites against gcc and numpy.

``python -m bench.native`` prints one table (median of ``--repeat`` timed calls after a
warm-up, single thread and ``--threads`` threads side by side) and writes
``bench/results/native.md`` and ``native.json`` with the CPU model, the compiler
version and the machine load. Rows:

- u8 x i8 -> i32 GEMM, NT (``B[N, K]``) and NN (``B[K, N]``): tensorize's rewrite (AVX2
  here; AVX-512 VNNI where the CPU has it), the same kernel unrewritten through our back end
  (``gcc -O3 -march=native`` on the scalar loops), a plain C file as a user writes it, numpy;
- f32 GEMM rewritten to FMA (real mode) vs numpy's BLAS (``np.matmul`` on float32);
- bf16 GEMM rewritten to ``vdpbf16ps`` (needs AVX-512 BF16);
- a ResNet-18 conv2d (NHWC, int8) from the corpus vs gcc on its scalar loops.

A row the CPU cannot run says which feature it lacks. Every compiled result is checked
against a reference (numpy, exact for integers) before it is timed.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tensorize
from tensorize.backend.build import compiler, compiler_version, missing_host_features
from tensorize.ir import interp
from tensorize.ir.nodes import Function

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
CORPUS = ROOT / "corpus"

GEMM_INT = """
kernel gemm_u8i8_{layout}(M = {m}, N = {n}, K = {k}) {{
  in A: u8[M, K]
  in B: i8[{bshape}]
  out C: i32[M, N]
  for i in 0..M {{
    for j in 0..N {{
      C[i, j] = 0
      for k in 0..K {{
        C[i, j] += i32(A[i, k]) * i32(B[{bindex}])
      }}
    }}
  }}
}}
"""

GEMM_FLOAT = """
kernel gemm_{t}(M = {m}, N = {n}, K = {k}) {{
  in A: {t}[M, K]
  in B: {t}[K, N]
  out C: f32[M, N]
  for i in 0..M {{
    for j in 0..N {{
      C[i, j] = 0.0
      for k in 0..K {{
        C[i, j] += {bterm} * {aterm}
      }}
    }}
  }}
}}
"""

PLAIN_C = """
#include <stdint.h>
void gemm(const uint8_t *A, const int8_t *B, int32_t *C) {{
  for (int i = 0; i < {m}; i++)
    for (int j = 0; j < {n}; j++) {{
      int32_t s = 0;
      for (int k = 0; k < {k}; k++) s += A[i * {k} + k] * B[{bflat}];
      C[i * {n} + j] = s;
    }}
}}
"""


READ_WITH_CARE = (
    "On a machine shared with other jobs (see the load average: above the "
    "number of cores, every thread shares its core) the figures are low and noisy, and the "
    "2-thread column measures contention more than scaling. numpy's BLAS is timed in a "
    "child process with its thread count set to the column's.")


CLOCK = {"clock": "wall"}
"""``wall``: time.perf_counter; ``cpu``: single-thread rows on time.thread_time."""


def _clock(threads: int) -> Callable[[], float]:
    return time.thread_time if CLOCK["clock"] == "cpu" and threads == 1 else time.perf_counter


def _median_time(call: Callable[[], Any], repeat: int, threads: int = 1) -> float:
    clock = _clock(threads)
    call()
    times = []
    for _ in range(repeat):
        t0 = clock()
        call()
        times.append(clock() - t0)
    return statistics.median(times)


def _gops(ops: int, seconds: float | None) -> str:
    return f"{ops / seconds / 1e9:.1f}" if seconds else "—"


def _native_time(fn: Function, lib: dict[str, Function], arrays: dict[str, np.ndarray],
                 threads: int, repeat: int, check: Callable[[np.ndarray], bool] | None,
                 out: str) -> tuple[float | None, str]:
    """Median seconds of the compiled kernel, or None and why it did not run."""
    try:
        native = tensorize.compile(fn, lib, threads=threads)
    except tensorize.TensorizeError as exc:
        return None, exc.message.split("\n")[0]
    work = {k: v.copy() for k, v in arrays.items()}
    native(**work)
    if check is not None and not check(work[out]):
        return None, "WRONG RESULT"
    return _median_time(lambda: native(**work), repeat, threads), ""


def _plain_c(m: int, n: int, k: int, layout: str) -> Callable[..., None]:
    bflat = f"j * {k} + k" if layout == "nt" else f"k * {n} + j"
    src = PLAIN_C.format(m=m, n=n, k=k, bflat=bflat)
    tmp = Path(tempfile.mkdtemp(prefix="tz-bench-"))
    (tmp / "g.c").write_text(src)
    subprocess.run([compiler(), "-O3", "-march=native", "-shared", "-fPIC", str(tmp / "g.c"),
                    "-o", str(tmp / "g.so")], check=True)
    f = ctypes.CDLL(str(tmp / "g.so")).gemm
    f.restype = None
    f.argtypes = [ctypes.c_void_p] * 3
    return f  # type: ignore[no-any-return]


def _rewrite(fn: Function, lib: tensorize.Library, targets: list[str], fp: str
             ) -> tuple[Function | None, str]:
    result = tensorize.tensorize(fn, lib, targets=targets, fp=fp)
    chosen = [f.chosen.intrinsic for f in result.fragments if f.chosen is not None]
    if not chosen:
        return None, "no rewrite"
    return result.rewritten, ", ".join(chosen)


def int_gemm_rows(size: int, layout: str, lib: tensorize.Library, threads: list[int],
                  repeat: int) -> list[dict[str, Any]]:
    m = n = k = size
    text = GEMM_INT.format(layout=layout, m=m, n=n, k=k,
                           bshape="N, K" if layout == "nt" else "K, N",
                           bindex="j, k" if layout == "nt" else "k, j")
    fn = tensorize.parse(text, library=lib.as_dict()).kernels[0]
    inputs = interp.random_inputs(fn, {}, 0)
    a, b = inputs["A"], inputs["B"]
    bt = b.astype(np.int64).T if layout == "nt" else b.astype(np.int64)
    ref = (a.astype(np.int64) @ bt).astype(np.int32)  # wraps like i32 (no wrap occurs)
    arrays = {"A": a, "B": b, "C": np.zeros((m, n), np.int32)}
    ops = 2 * m * n * k
    label = f"u8*i8->i32 GEMM {layout.upper()} {size}^3"

    def check(c: np.ndarray) -> bool:
        return bool(np.array_equal(c, ref))

    ld = lib.as_dict()
    rows = _int8_rewrite_rows(label, fn, lib, ld, arrays, ops, threads, repeat, check)
    rows.append(_timed_row(label, "gcc -O3 -march=native, same kernel unrewritten", ops, fn,
                           ld, arrays, threads, repeat, check))
    plain = _plain_c(m, n, k, layout)
    c = np.zeros((m, n), np.int32)
    args = (a.ctypes.data, b.ctypes.data, c.ctypes.data)
    t_plain = _median_time(lambda: plain(*args), repeat)
    note = "" if check(c) else "WRONG RESULT"
    rows.append(_row(label, "gcc -O3 -march=native, plain C as a user writes it", ops,
                     {threads[0]: t_plain if not note else None}, note))
    a64, b64 = a.astype(np.int32), bt.astype(np.int32)
    t_np = _median_time(lambda: a64 @ b64, max(2, repeat // 2))
    rows.append(_row(label, "numpy (int32 matmul)", ops, {threads[0]: t_np}, ""))
    return rows


def _row(label: str, what: str, ops: int, times: dict[int, float | None], note: str
         ) -> dict[str, Any]:
    return {"kernel": label, "variant": what, "ops": ops,
            "seconds": {str(t): v for t, v in times.items()},
            "gops": {str(t): (ops / v / 1e9 if v else None) for t, v in times.items()},
            "note": note}


def _int8_rewrite_rows(label: str, fn: Function, lib: tensorize.Library,
                       ld: dict[str, Function], arrays: dict[str, np.ndarray], ops: int,
                       threads: list[int], repeat: int,
                       check: Callable[[np.ndarray], bool] | None) -> list[dict[str, Any]]:
    """The int8 kernel rewritten for AVX-512 VNNI and for AVX2, each timed, or a row
    saying why not (a CPU without the feature, no rewrite found)."""
    rows = []
    for targets, what in ((["x86.avx512_vnni"], "tensorize (AVX-512 VNNI rewrite)"),
                          (["x86.avx2"], "tensorize (AVX2 rewrite, packed)")):
        missing = missing_host_features(targets)
        if missing:
            rows.append(_row(label, what, ops, {t: None for t in threads},
                             f"not run: CPU lacks {', '.join(missing)}"))
            continue
        rewritten, how = _rewrite(fn, lib, targets, "ieee")
        if rewritten is None:
            rows.append(_row(label, what, ops, {t: None for t in threads}, how))
            continue
        rows.append(_timed_row(label, f"{what}: {how}", ops, rewritten, ld, arrays, threads,
                               repeat, check))
    return rows


def _timed_row(label: str, what: str, ops: int, fn: Function, lib: dict[str, Function],
               arrays: dict[str, np.ndarray], threads: list[int], repeat: int,
               check: Callable[[np.ndarray], bool] | None) -> dict[str, Any]:
    times: dict[int, float | None] = {}
    notes = []
    for t in threads:
        times[t], why = _native_time(fn, lib, arrays, t, repeat, check, "C" if "C" in arrays
                                     else "Y")
        if why and why not in notes:
            notes.append(why)
    return _row(label, what, ops, times, "; ".join(notes))


def float_gemm_rows(size: int, t: str, lib: tensorize.Library, threads: list[int],
                    repeat: int) -> list[dict[str, Any]]:
    m = n = k = size
    terms = ("B[k, j]", "A[i, k]") if t == "f32" else ("f32(B[k, j])", "f32(A[i, k])")
    text = GEMM_FLOAT.format(t=t, m=m, n=n, k=k, bterm=terms[0], aterm=terms[1])
    fn = tensorize.parse(text, library=lib.as_dict()).kernels[0]
    inputs = interp.random_inputs(fn, {}, 0)
    a, b = inputs["A"], inputs["B"]
    ref = a.astype(np.float64) @ b.astype(np.float64)
    arrays = {"A": a, "B": b, "C": np.zeros((m, n), np.float32)}
    ops = 2 * m * n * k
    label = f"{t} GEMM {size}^3"

    def check(c: np.ndarray) -> bool:
        return bool(np.allclose(c, ref, rtol=1e-4, atol=1e-3))

    ld = lib.as_dict()
    target = "x86.fma" if t == "f32" else "x86.avx512_bf16"
    what = "tensorize (FMA rewrite, real mode)" if t == "f32" else \
        "tensorize (vdpbf16ps_bcast rewrite, real mode)"
    rows = []
    missing = missing_host_features([target])
    if missing:
        rows.append(_row(label, what, ops, {x: None for x in threads},
                         f"not run: CPU lacks {', '.join(missing)}"))
    else:
        rewritten, how = _rewrite(fn, lib, [target], "real")
        if rewritten is None:
            rows.append(_row(label, what, ops, {x: None for x in threads}, how))
        else:
            rows.append(_timed_row(label, f"{what}: {how}", ops, rewritten, ld, arrays,
                                   threads, repeat, check))
    rows.append(_timed_row(label, "gcc -O3 -march=native, same kernel unrewritten (IEEE)", ops,
                           fn, ld, arrays, threads, repeat, check))
    if t == "f32":
        t_np = {x: _blas_time(size, x, repeat) for x in threads}
        rows.append(_row(label, "numpy BLAS (np.matmul float32)", ops, t_np,
                         f"{_blas()}, BLAS threads = the column's"))
    return rows


_BLAS_TIMER = """
import statistics, sys, time
import numpy as np
n, repeat = int(sys.argv[1]), int(sys.argv[2])
clock = time.thread_time if sys.argv[3] == "cpu" else time.perf_counter
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
a @ b
times = []
for _ in range(repeat):
    t0 = clock()
    a @ b
    times.append(clock() - t0)
print(statistics.median(times))
"""


def _blas_time(size: int, threads: int, repeat: int) -> float | None:
    """Median seconds of ``np.matmul`` on float32 with the BLAS on ``threads`` threads (a
    child process: OpenBLAS and MKL read their thread count when they load)."""
    env = {**os.environ, **{v: str(threads) for v in (
        "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    kind = "cpu" if CLOCK["clock"] == "cpu" and threads == 1 else "wall"
    proc = subprocess.run([sys.executable, "-c", _BLAS_TIMER, str(size), str(repeat), kind],
                          capture_output=True, text=True, env=env)
    try:
        return float(proc.stdout.strip())
    except ValueError:
        return None


def _blas() -> str:
    try:
        info = np.show_config(mode="dicts")  # type: ignore[call-arg]
        blas = info["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:  # older numpy: no dict mode
        return "numpy's BLAS"


def conv_rows(name: str, lib: tensorize.Library, threads: list[int], repeat: int
              ) -> list[dict[str, Any]]:
    module = tensorize.load(CORPUS / "resnet18_nhwc.tz", lib.as_dict())
    fn = module.get(name)
    assert fn is not None
    inputs = interp.random_inputs(fn, {}, 0)
    shapes = interp.shapes_of(fn, {})
    arrays = {**inputs, "Y": np.zeros(shapes["Y"], np.int32)}
    ops = 2 * int(np.prod(shapes["Y"])) * int(np.prod(shapes["F"][:3]))
    ld = lib.as_dict()
    base = tensorize.compile(fn, ld)
    ref_arrays = {k: v.copy() for k, v in arrays.items()}
    base(**ref_arrays)
    ref = ref_arrays["Y"]

    def check(y: np.ndarray) -> bool:
        return bool(np.array_equal(y, ref))

    label = f"conv2d NHWC int8 ({name})"
    rows = _int8_rewrite_rows(label, fn, lib, ld, arrays, ops, threads, repeat, check)
    rows.append(_timed_row(label, "gcc -O3 -march=native, the scalar loops", ops, fn, ld,
                           arrays, threads, repeat, check))
    return rows


def machine() -> dict[str, str]:
    """CPU model, compiler, numpy and load: what the figures depend on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {"cpu": model, "cores": str(os.cpu_count()), "compiler": compiler_version(compiler()),
            "python": platform.python_version(), "numpy": np.__version__, "blas": _blas(),
            "load_average": " ".join(f"{x:.2f}" for x in load)}


def table(rows: list[dict[str, Any]], threads: list[int]) -> str:
    head = "| kernel | variant | " + " | ".join(f"GOPS {t} thr" for t in threads) + " | note |"
    sep = "|---|---|" + "---:|" * len(threads) + "---|"
    lines = [head, sep]
    for r in rows:
        cells = [_gops(r["ops"], r["seconds"].get(str(t))) for t in threads]
        lines.append(f"| {r['kernel']} | {r['variant']} | " + " | ".join(cells) +
                     f" | {r['note']} |")
    return "\n".join(lines)


def corpus_sweep(lib: tensorize.Library) -> int:
    """Every corpus kernel, unrewritten, compiled and compared with the interpreter's
    checksums (kernels using math functions: within 1e-5). Exit 1 on any difference."""
    from bench.run import load_manifest
    from tensorize.backend.native import compile_many
    from tensorize.ir.nodes import Call
    from tensorize.ir.traverse import walk

    ld = lib.as_dict()
    seen: dict[str, list[Function]] = {}
    for e in load_manifest():
        fn = tensorize.load(CORPUS / e["file"], ld).get(e["kernel"])
        assert fn is not None
        group = seen.setdefault(e["file"], [])
        if all(g.name != fn.name for g in group):
            group.append(fn)
    bad = 0
    for file, kernels in seen.items():
        natives = compile_many(kernels, ld)
        for fn in kernels:
            inputs = interp.random_inputs(fn, {}, 0)
            shapes = interp.shapes_of(fn, interp.bind_sizes(fn, {}))
            arrays = {b.name: inputs[b.name].copy() if b.name in inputs else
                      np.zeros(shapes[b.name], b.dtype.np_dtype)
                      for b in fn.buffers if b.mode != "local"}
            want = interp.run(fn, inputs, library=ld)
            natives[fn.name](**arrays)
            math = any(isinstance(n, Call) and n.fn not in ("min", "max", "abs", "select",
                                                             "fma", "rint")
                       for s in fn.body for n in walk(s))
            for b in fn.outputs:
                if math:
                    ok = bool(np.allclose(arrays[b.name].astype(np.float64),
                                          want[b.name].astype(np.float64), rtol=1e-5,
                                          atol=1e-6))
                else:
                    ok = interp.checksum(arrays[b.name]) == interp.checksum(want[b.name])
                bad += not ok
                print(f"{file}:{fn.name}.{b.name}: {'same' if ok else 'DIFFERENT'}")
    print(f"{sum(len(k) for k in seen.values())} kernels, {bad} outputs differ")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.native", description=__doc__)
    parser.add_argument("--sizes", default="512,1024", help="int8 GEMM sizes (default 512,1024)")
    parser.add_argument("--float-sizes", default="512,1024", help="f32/bf16 GEMM sizes")
    parser.add_argument("--conv", default="resnet18_conv2_nhwc", help="corpus conv kernel")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls (median; >= 5)")
    parser.add_argument("--threads", type=int, default=2, help="the multi-thread column")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: time single-thread rows by the CPU time of the calling "
                             "thread (what a loaded machine leaves out); writes native_cpu.*")
    parser.add_argument("--corpus", action="store_true",
                        help="instead: every corpus kernel compiled vs the interpreter")
    args = parser.parse_args(argv)
    if args.corpus:
        return corpus_sweep(tensorize.load_library())
    repeat = max(5, args.repeat)
    CLOCK["clock"] = args.clock
    stem = "native" if args.clock == "wall" else "native_cpu"
    clock_note = ("Wall-clock times." if args.clock == "wall" else
                  "Single-thread columns: CPU time of the calling thread (time.thread_time), "
                  "which leaves out the time the OS gives other jobs; other columns: wall "
                  "clock.")
    threads = [1, args.threads] if args.threads > 1 else [1]
    lib = tensorize.load_library()
    rows: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        for layout in ("nt", "nn"):
            rows += int_gemm_rows(size, layout, lib, threads, repeat)
            print(table(rows[-1:], threads).splitlines()[-1], file=sys.stderr)
    for size in (int(s) for s in args.float_sizes.split(",") if s):
        for t in ("f32", "bf16") if size <= 512 else ("f32",):  # bf16 in C is slow
            rows += float_gemm_rows(size, t, lib, threads, repeat)
    if args.conv:
        rows += conv_rows(args.conv, lib, threads, repeat)
    info = machine()
    text = table(rows, threads)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        header = "\n".join(f"- {k}: {v}" for k, v in info.items())
        (RESULTS / f"{stem}.md").write_text(
            "# Native code benchmark (`python -m bench.native`)\n\n"
            f"Median of {repeat} calls after a warm-up; GOPS = 2 x multiply-adds / time.\n\n"
            f"{header}\n\n{clock_note} {READ_WITH_CARE}\n\n{text}\n")
        (RESULTS / f"{stem}.json").write_text(json.dumps(
            {"machine": info, "repeat": repeat, "clock": args.clock, "rows": rows},
            indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
