"""Decision time per (kernel, intrinsic) pair over the whole corpus and library.

Run: .venv/bin/python -m bench.pairs [--jobs N]
Each pair is one TensorizePass restricted to one intrinsic (no proof cache, no final
execution run), in real mode so that float kernels reach the proofs too.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _file_pairs(path: str) -> list[tuple[str, str, bool, float]]:
    import tensorize
    from tensorize.rewrite.engine import TensorizePass

    lib = tensorize.load_library()
    module = tensorize.load(path, lib)
    out = []
    for kernel in module.kernels:
        for intr in lib:
            tpass = TensorizePass(intrinsics=(intr.name,), fp="real", execution_check=False)
            start = time.perf_counter()
            result = tpass.run(kernel, lib)
            out.append((kernel.name, intr.name, result.changed, time.perf_counter() - start))
    return out


def _q(xs: list[float]) -> str:
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(0.99 * (len(xs) - 1) + 0.5))]
    return f"median {statistics.median(xs) * 1e3:.2f} ms, p99 {p99 * 1e3:.0f} ms (n={len(xs)})"


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    files = [str(p) for p in sorted((HERE / "corpus").glob("*.tz"))]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        rows = [r for part in pool.map(_file_pairs, files) for r in part]
    match = [t for _k, _i, changed, t in rows if changed]
    none = [t for _k, _i, changed, t in rows if not changed]
    print(f"pairs that match:        {_q(match)}")
    print(f"pairs that do not match: {_q(none)}")
    print(f"all pairs:               {_q(match + none)}")


if __name__ == "__main__":
    main()
