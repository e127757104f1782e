"""Figures for the intrinsic library: time to load and check it, cold and warm.

Run: .venv/bin/python -m bench.library
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

COLD = ("import time; t = time.perf_counter(); import tensorize; "
        "lib = tensorize.load_library(); "
        "print(time.perf_counter() - t, len(lib), len(lib.targets))")


def main() -> None:
    """Print the figures."""
    colds = []
    for _ in range(7):
        out = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True,
                             check=True).stdout.split()
        colds.append(float(out[0]))
    import tensorize

    warm = []
    for _ in range(7):
        start = time.perf_counter()
        lib = tensorize.load_library()
        warm.append(time.perf_counter() - start)
    print(f"library: {out[1]} intrinsics over {out[2]} targets")
    print(f"cold (fresh process: import + parse + check all specs): median "
          f"{statistics.median(colds) * 1e3:.0f} ms")
    print(f"warm (load_library() again in the same process): median "
          f"{statistics.median(warm) * 1e3:.0f} ms")
    del lib


if __name__ == "__main__":
    main()
