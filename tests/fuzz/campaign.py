"""The long soundness campaign: generate kernels, tensorize, check every rewrite.

Run: .venv/bin/python -m tests.fuzz.campaign --count 10000 --seconds 3600 [--seed S]
Prints kernels generated, rewrites emitted and disagreements (which must be 0); exits 1
if there is any, and writes each to --failures DIR.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import tensorize
from tests.fuzz.generator import RandomChoices, generate
from tests.fuzz.soundness import check_kernel


def main(argv: list[str] | None = None) -> int:
    """Run the campaign."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=3600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-cross-check", action="store_true",
                    help="skip the cvc5 replay of each tile proof")
    ap.add_argument("--failures", default="fuzz-failures")
    args = ap.parse_args(argv)
    lib = tensorize.load_library()
    start = time.perf_counter()
    generated = rewritten = rewrites = errors = 0
    failures: list[tuple[int, str, str]] = []
    for n in range(args.count):
        if time.perf_counter() - start > args.seconds:
            break
        g = generate(RandomChoices(args.seed * 1_000_003 + n))
        generated += 1
        try:
            outcome = check_kernel(g.text, g.fp, lib, cross_check=not args.no_cross_check)
        except tensorize.TensorizeError as exc:  # a kernel the generator got wrong
            errors += 1
            print(f"kernel {n}: rejected as input: {exc.message}", file=sys.stderr)
            continue
        rewrites += outcome.rewrites
        rewritten += outcome.rewrites > 0
        if outcome.disagreement:
            failures.append((n, g.text, outcome.disagreement))
        if (n + 1) % 500 == 0:
            print(f"... {n + 1} kernels, {rewritten} rewritten, {len(failures)} disagreements "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    elapsed = time.perf_counter() - start
    print(f"kernels generated: {generated}; kernels rewritten: {rewritten}; rewrites "
          f"emitted: {rewrites}; rejected inputs: {errors}; disagreements: {len(failures)}; "
          f"{elapsed:.0f} s")
    if failures:
        out = Path(args.failures)
        out.mkdir(parents=True, exist_ok=True)
        for n, text, why in failures:
            (out / f"kernel_{n}.tz").write_text(text + "\n# " + why.replace("\n", "\n# "))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
