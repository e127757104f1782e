"""Scaling study: decision time against problem size and loop depth.

Run: .venv/bin/python -m bench.scaling [--repeat N] [--out DIR]
Writes DIR/scaling.md, and DIR/scaling.png when matplotlib is installed
(pip install '.[plot]').
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import tensorize
from tensorize.equivalence import cache
from tensorize.rewrite.engine import TensorizePass

HERE = Path(__file__).resolve().parent

MATMUL = """kernel mm {{
  in A: u8[{n}, {n}]
  in B: i8[{n}, {n}]
  out C: i32[{n}, {n}]
  for i in 0..{n} {{ for j in 0..{n} {{ C[i, j] = 0
    for k in 0..{n} {{ C[i, j] += i32(A[i, k]) * i32(B[j, k]) }} }} }}
}}"""

CONV = """kernel conv {{
  in X: u8[{p}, {p}, 64]
  in F: i8[3, 3, 64, 64]
  out Y: i32[{h}, {h}, 64]
  for oh in 0..{h} {{ for ow in 0..{h} {{ for ko in 0..64 {{ Y[oh, ow, ko] = 0
    for rh in 0..3 {{ for rw in 0..3 {{ for c in 0..64 {{
      Y[oh, ow, ko] += i32(X[oh + rh, ow + rw, c]) * i32(F[rh, rw, c, ko]) }} }} }} }} }} }}
}}"""


def deep(depth: int) -> str:
    """A batched matmul whose nest is ``depth`` loops deep (extra batch loops of 2)."""
    extra = depth - 3
    dims = "".join("2, " for _ in range(extra))
    idx = "".join(f"b{d}, " for d in range(extra))
    loops = "".join(f"for b{d} in 0..2 {{ " for d in range(extra))
    close = "}" * extra
    return f"""kernel deep {{
  in A: u8[{dims}32, 64]
  in B: i8[{dims}32, 64]
  out C: i32[{dims}32, 32]
  {loops}for i in 0..32 {{ for j in 0..32 {{ C[{idx}i, j] = 0
    for k in 0..64 {{ C[{idx}i, j] += i32(A[{idx}i, k]) * i32(B[{idx}j, k]) }} }} }} {close}
}}"""


def _time(text: str, lib: tensorize.Library, repeat: int) -> float:
    kernel = tensorize.parse(text, "<scaling>", lib).kernels[0]
    tpass = TensorizePass(targets=("x86.avx512_vnni",), execution_check=False)
    times = []
    for _ in range(repeat):
        cache.MEMO.clear()  # a cold decision: no tile proof remembered from the last run
        start = time.perf_counter()
        result = tpass.run(kernel, lib)
        times.append(time.perf_counter() - start)
        assert result.changed, "the scaling kernels must all be tensorized"
    return statistics.median(times)


def main() -> None:
    """Print and write the scaling table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    lib = tensorize.load_library()
    rows: list[tuple[str, str, float]] = []
    for n in (64, 128, 256, 512, 1024, 2048, 4096):
        rows.append(("matmul", f"{n}^3", _time(MATMUL.format(n=n), lib, args.repeat)))
    for h in (7, 14, 28, 56, 112, 224):
        rows.append(("conv2d 3x3 64->64", f"{h}x{h}",
                     _time(CONV.format(h=h, p=h + 2), lib, args.repeat)))
    for d in range(3, 9):
        rows.append(("nest depth", str(d), _time(deep(d), lib, args.repeat)))
    lines = ["| family | size | decision time (median) |", "|---|---|---|"]
    lines += [f"| {fam} | {size} | {t * 1e3:.1f} ms |" for fam, size, t in rows]
    mm = {size: t for fam, size, t in rows if fam == "matmul"}
    ratio = mm["4096^3"] / mm["64^3"]
    lines.append(f"\nmatmul 4096^3 / 64^3 decision time ratio: {ratio:.2f}")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.md").write_text(text)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot (pip install '.[plot]')")
        return
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for ax, fam in zip(axes, ("matmul", "conv2d 3x3 64->64", "nest depth")):
        pts = [(size, t * 1e3) for f, size, t in rows if f == fam]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o")
        ax.set_title(fam)
        ax.set_ylabel("decision time (ms)")
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(out / "scaling.png", dpi=100)
    print(f"plot: {out / 'scaling.png'}")


if __name__ == "__main__":
    main()
