"""Figures for the equivalence engine (medians over repeated runs).

Run: .venv/bin/python -m bench.equivalence [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from tensorize.api import load, parse
from tensorize.equivalence.prove import ProveOptions, prove

HERE = Path(__file__).resolve().parent

MATMUL = """kernel mm(M = 64, N = 64, K = 64) {{
  in A: u8[M, K]
  in B: i8[{b}]
  out C: i32[M, N]
  for i in 0..M {{ for j in 0..N {{
    C[i, j] = 0
    for k in 0..K {{ C[i, j] += i32({x}) * i32({y}) }} }} }}
}}"""


def _median(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    tiles = load(HERE / "kernels" / "tiles.tz")
    rows = []

    def case(label: str, a: str, b: str, **kw) -> None:
        opts = ProveOptions(**kw)
        t, r = _median(lambda: prove(tiles.get(a), tiles.get(b), options=opts), args.repeat)  # noqa: B023
        rows.append((label, r.status, getattr(r, "method", ""), t))

    case("VNNI 16x4 tile", "vnni_spec", "vnni_prog")
    case("VNNI 16x4 tile, unrolled", "vnni_spec", "vnni_prog", parametric=False)
    case("mma 16x16x16 f16->f32 (real)", "mma_spec", "mma_prog", fp="real")
    case("AMX 16x16x64 u8*i8->i32", "amx_spec", "amx_prog")
    case("AMX 16x16x64, unrolled", "amx_spec", "amx_prog", parametric=False, execution=False)
    case("refute wrong VNNI candidate", "vnni_spec", "vnni_wrong")
    a = parse(MATMUL.format(b="K, N", x="A[i, k]", y="B[k, j]")).kernels[0]
    b = parse(MATMUL.format(b="K * N", x="B[(K - 1 - k) * N + j]",
                            y="A[i, K - 1 - k]")).kernels[0]
    proof_times = {}
    for n in (64, 4096):
        sizes = {"M": n, "N": n, "K": n}
        opts = ProveOptions(execution=False)
        t, r = _median(lambda s=sizes, o=opts: prove(a, b, sizes_a=s, sizes_b=s, options=o),
                       args.repeat)
        proof_times[n] = t
        rows.append((f"matmul {n}^3 (proof only)", r.status, getattr(r, "method", ""), t))
    t, r = _median(lambda: prove(a, b, sizes_a={"M": 64, "N": 64, "K": 64},
                                 sizes_b={"M": 64, "N": 64, "K": 64}), args.repeat)
    rows.append(("matmul 64^3 (execution + proof)", r.status, getattr(r, "method", ""), t))
    print(f"{'case':36} {'result':8} {'method':12} {'median':>10}")
    for label, status, method, t in rows:
        print(f"{label:36} {status:8} {method:12} {t * 1e3:9.1f} ms")
    print(f"4096^3 / 64^3 proof time ratio: {proof_times[4096] / proof_times[64]:.2f}")


if __name__ == "__main__":
    main()
