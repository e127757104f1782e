"""Figures for the foundation: parse+check time of the examples, interpreter speed.

Run: .venv/bin/python -m bench.foundation
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from tensorize.api import load_library
from tensorize.ir import interp
from tensorize.ir.check import check_module
from tensorize.ir.parser import parse_file

ROOT = Path(__file__).resolve().parents[1]


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print the figures."""
    files = sorted((ROOT / "examples").glob("*.tz"))
    lib = load_library()
    parse_check = _median(lambda: [check_module(parse_file(f), lib) for f in files], 20)
    print(f"parse+check all {len(files)} examples: median {parse_check * 1e3:.1f} ms")
    module = check_module(parse_file(ROOT / "examples" / "qmatmul.tz"))
    fn = module.get("qmatmul_nt")
    sizes = {"M": 64, "N": 64, "K": 64}
    inputs = interp.random_inputs(fn, sizes)
    vec = _median(lambda: interp.run(fn, inputs, sizes=sizes), 20)
    sca = _median(lambda: interp.run(fn, inputs, sizes=sizes, mode="scalar"), 3)
    print(f"64x64x64 u8 matmul: vectorised median {vec * 1e3:.2f} ms, "
          f"scalar median {sca:.2f} s, ratio {sca / vec:.0f}x")


if __name__ == "__main__":
    main()
