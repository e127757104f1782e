"""The long soundness campaign: generate kernels, tensorize, check every rewrite.

Run: .venv/bin/python -m tests.fuzz.campaign --count 10000 --jobs 2 [--seed S]
Prints kernels generated, rewrites emitted, disagreements (which must be 0) and, per
generator feature, kernels generated / rewritten / disagreeing; exits 1 if there is any
disagreement, and writes each to --failures DIR.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tensorize
from tests.fuzz.generator import FEATURES, RandomChoices, generate
from tests.fuzz.soundness import check_kernel

_LIB: Any = None


@dataclass
class Result:
    """One kernel's outcome, small enough to send between processes."""

    n: int
    features: tuple[str, ...]
    expect: str
    text: str
    computable: str = ""
    """An intrinsic that computes the kernel by construction ("" if none)."""
    matched: bool = False
    """Rewritten at its default sizes."""
    fp: str = "ieee"
    rewrites: int = 0
    rejected: str = ""
    disagreement: str = ""
    kind: str = ""
    structural_only: bool = False
    seconds: float = 0.0
    detail: dict[str, str] = field(default_factory=dict)


def kernel_seed(seed: int, n: int) -> int:
    """The generator seed of kernel ``n`` of a campaign (its reproducer)."""
    return seed * 1_000_003 + n


def _init() -> None:
    global _LIB
    _LIB = tensorize.load_library()


def run_one(job: tuple[int, int, bool]) -> Result:
    """Generate and check kernel ``n`` of campaign ``seed``."""
    n, seed, cross_check = job
    if _LIB is None:
        _init()
    g = generate(RandomChoices(kernel_seed(seed, n)))
    res = Result(n, g.features, g.expect, g.text, g.computable, fp=g.fp, detail=g.detail)
    start = time.perf_counter()
    try:
        outcome = check_kernel(g.text, g.fp, _LIB, cross_check=cross_check,
                               alt_sizes=g.alt_sizes)
    except tensorize.TensorizeError as exc:  # a kernel the generator got wrong
        res.rejected = exc.message
        return res
    res.seconds = time.perf_counter() - start
    res.rewrites = outcome.rewrites
    res.matched = bool(outcome.rewrites_at and outcome.rewrites_at[0])
    res.disagreement = outcome.disagreement or ""
    res.kind = outcome.kind
    res.structural_only = outcome.structural_only
    if g.alt_sizes:
        res.detail = {**res.detail, "sizes": f"defaults, then {g.alt_sizes}"}
    return res


def summary(results: list[Result], elapsed: float) -> str:
    """The summary lines: totals (with ``disagreements: N``) and counts per feature."""
    rewritten = sum(r.rewrites > 0 for r in results)
    bad = [r for r in results if r.disagreement]
    lines = [f"kernels generated: {len(results)}; kernels rewritten: {rewritten}; rewrites "
             f"emitted: {sum(r.rewrites for r in results)}; rejected inputs: "
             f"{sum(bool(r.rejected) for r in results)}; checked structurally only: "
             f"{sum(r.structural_only for r in results)}; disagreements: {len(bad)}; "
             f"{elapsed:.0f} s ({sum(r.seconds for r in results) / max(len(results), 1):.2f} "
             f"s of checking per kernel)"]
    kinds = Counter(r.kind for r in bad)
    if kinds:
        lines.append("disagreements by kind: " +
                     ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())))
    for f in ("plain", *FEATURES):
        mine = [r for r in results if (f in r.features if f != "plain" else not r.features)]
        lines.append(f"  {f:15s} generated {len(mine):6d}  rewritten "
                     f"{sum(r.rewrites > 0 for r in mine):6d}  disagreeing "
                     f"{sum(bool(r.disagreement) for r in mine):5d}")
    computable = [r for r in results if r.computable and not r.rejected]
    missed = Counter(r.computable for r in computable if not r.matched)
    if missed:
        lines.append("computable kernels missed, by the intrinsic that computes them: " +
                     ", ".join(f"{k}: {v}" for k, v in missed.most_common()))
    lines.append(f"computable kernels matched: {sum(r.matched for r in computable)} of "
                 f"{len(computable)}")
    lines.append(f"disagreements: {len(bad)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the campaign."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=3600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (by kernel)")
    ap.add_argument("--no-cross-check", action="store_true",
                    help="skip the cvc5 replay of each tile proof")
    ap.add_argument("--failures", default="fuzz-failures")
    ap.add_argument("--misses", default="",
                    help="write each computable kernel the engine did not match to DIR")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    jobs = ((n, args.seed, not args.no_cross_check) for n in range(args.count))
    results: list[Result] = []
    pool = multiprocessing.Pool(args.jobs, initializer=_init) if args.jobs > 1 else None
    stream = pool.imap_unordered(run_one, jobs, chunksize=4) if pool else map(run_one, jobs)
    try:
        for res in stream:
            results.append(res)
            if res.rejected:
                print(f"kernel {res.n}: rejected as input: {res.rejected}", file=sys.stderr)
            if res.disagreement:
                print(f"kernel {res.n} ({', '.join(res.features) or 'plain'}): "
                      f"{res.disagreement.splitlines()[0]}", file=sys.stderr, flush=True)
            if len(results) % 500 == 0:
                print(f"... {len(results)} kernels, {sum(r.rewrites > 0 for r in results)} "
                      f"rewritten, {sum(bool(r.disagreement) for r in results)} disagreements "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
            if time.perf_counter() - start > args.seconds:
                break
    finally:
        if pool:
            pool.terminate()
    print(summary(results, time.perf_counter() - start))
    if args.misses:
        out = Path(args.misses)
        out.mkdir(parents=True, exist_ok=True)
        for r in results:
            if r.computable and not r.matched and not r.rejected:
                (out / f"kernel_{r.n}.tz").write_text(
                    r.text + f"\n# seed {kernel_seed(args.seed, r.n)}; computable by "
                    f"{r.computable}; fp {r.fp}; features: {', '.join(r.features) or 'plain'}\n")
    bad = sorted((r for r in results if r.disagreement), key=lambda r: r.n)
    if bad:
        out = Path(args.failures)
        out.mkdir(parents=True, exist_ok=True)
        for r in bad:
            note = (f"seed {kernel_seed(args.seed, r.n)}; features: "
                    f"{', '.join(r.features) or 'plain'}; {r.detail}\n{r.disagreement}")
            (out / f"kernel_{r.n}.tz").write_text(r.text + "\n# " + note.replace("\n", "\n# "))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
