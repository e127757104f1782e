"""Figures for the tensorize pass: decision time per (kernel, intrinsic) pair, cold start.

Run: .venv/bin/python -m bench.tensorize
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import tensorize
from tensorize.rewrite.engine import TensorizePass

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ["qmatmul.tz", "matmul_f32.tz", "conv2d_nhwc.tz", "gemv.tz"]


def _quantiles(xs: list[float]) -> str:
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]
    return f"median {statistics.median(xs) * 1e3:.2f} ms, p99 {p99 * 1e3:.1f} ms, n={len(xs)}"


def main() -> None:
    """Print the figures."""
    lib = tensorize.load_library()
    matched, unmatched = [], []
    for name in KERNELS:
        module = tensorize.load(ROOT / "examples" / name, lib)
        for kernel in module.kernels:
            for intr in lib:
                tpass = TensorizePass(intrinsics=(intr.name,), execution_check=False)
                times = []
                for _ in range(3):
                    start = time.perf_counter()
                    result = tpass.run(kernel, lib)
                    times.append(time.perf_counter() - start)
                (matched if result.changed else unmatched).append(statistics.median(times))
    print(f"decision time per (kernel, intrinsic) pair, no match: {_quantiles(unmatched)}")
    print(f"decision time per (kernel, intrinsic) pair, match:    {_quantiles(matched)}")
    colds = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tensorize", "apply",
                        str(ROOT / "examples" / "qmatmul.tz")], check=True,
                       capture_output=True)
        colds.append(time.perf_counter() - start)
    print(f"cold start, `tensorize apply examples/qmatmul.tz` with the whole library "
          f"({len(lib)} intrinsics): median {statistics.median(colds):.2f} s")


if __name__ == "__main__":
    main()
