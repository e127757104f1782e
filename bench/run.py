"""Run the benchmark corpus against the intrinsic library and compare with the manifest.

Run: .venv/bin/python -m bench.run [--jobs N] [--no-cache] [--out DIR] [--slice N]
(also: tensorize bench ...). Writes DIR/corpus.json and DIR/corpus.md; exits 1 if any
outcome differs from bench/corpus/manifest.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def load_manifest() -> list[dict[str, Any]]:
    """The corpus manifest: ``corpus/manifest.json`` (written by ``bench.make_corpus``)
    followed by every ``corpus/manifest.d/*.json`` (hand-written families), in name order.

    Each file is ``{"entries": [...]}``; an entry names its ``file`` (relative to
    ``corpus/``), ``kernel``, ``target``, ``fp``, the ``expect``ed intrinsic (or null) and
    ``why``.
    """
    files = [CORPUS / "manifest.json", *sorted((CORPUS / "manifest.d").glob("*.json"))]
    entries: list[dict[str, Any]] = []
    for path in files:
        entries.extend(json.loads(path.read_text())["entries"])
    return entries


_MODULES: dict[str, Any] = {}
"""Corpus files parsed in this process, by name."""
_CACHES: dict[str, Any] = {}
"""Proof caches opened in this process, by path."""


def _run_group(entries: list[dict[str, Any]], cache_dir: str | None) -> list[dict[str, Any]]:
    """Run the entries of one file (in a worker process)."""
    import os

    if cache_dir:
        os.environ["TENSORIZE_CACHE_DIR"] = cache_dir
    import tensorize
    from tensorize.equivalence.cache import ProofCache, default_path
    from tensorize.rewrite.engine import TensorizePass

    lib = tensorize.load_library()
    # a worker runs many entries: each corpus file is parsed and the cache opened once
    name = entries[0]["file"]
    module = _MODULES.get(name)
    if module is None:
        module = _MODULES[name] = tensorize.load(CORPUS / name, lib.as_dict())
    cache = None
    if cache_dir is not None:
        cache = _CACHES.get(str(default_path()))
        if cache is None:
            cache = _CACHES[str(default_path())] = ProofCache(default_path())
    out = []
    for e in entries:
        kernel = module.get(e["kernel"])
        if kernel is None:
            raise ValueError(f"{e['file']} has no kernel {e['kernel']} (see the manifest)")
        tpass = TensorizePass(targets=(e["target"],), fp=e["fp"], cache=cache)
        hits0 = cache.hits if cache else 0
        misses0 = cache.misses if cache else 0
        start, cpu = time.perf_counter(), time.process_time()
        result = tpass.run(kernel, lib)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        chosen = sorted({f.chosen.intrinsic for f in result.fragments if f.chosen})
        got = chosen[0] if len(chosen) == 1 else (None if not chosen else ",".join(chosen))
        out.append({**e, "got": got, "ok": got == e["expect"], "seconds": seconds,
                    "cpu_seconds": cpu, "coverage": result.coverage, "counts": result.counts(),
                    "stages": result.stages,
                    "cache_hits": (cache.hits - hits0) if cache else 0,
                    "cache_misses": (cache.misses - misses0) if cache else 0})
    return out


def _markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| kernel | target | fp | chosen | expected | ok | coverage | candidates | "
            "refuted (exec) | proved | unknown | candidates s | proofs s | validation s | "
            "execution s | total s |")
    lines = [head, "|" + "---|" * 16]
    for r in rows:
        c, s = r["counts"], r["stages"]
        lines.append(
            f"| {r['kernel']} | {r['target']} | {r['fp']} | {r['got'] or '-'} | "
            f"{r['expect'] or '-'} | {'yes' if r['ok'] else '**NO**'} | "
            f"{r['coverage']:.0%} | {c['candidates']} | {c['refuted_by_execution']} | "
            f"{c['proved']} | {c['unknown']} | {s['candidates']:.3f} | {s['proofs']:.3f} | "
            f"{s['validation']:.3f} | {s['execution']:.3f} | {r['seconds']:.3f} |")
    return "\n".join(lines) + "\n"


def _positive(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1000000, got {value}")
    return value


def _jobs(text: str) -> int:
    from tensorize.api import check_jobs
    from tensorize.errors import UsageError

    try:
        return check_jobs(int(text, 0))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # exit 2, one line
        self.exit(2, f"{self.prog}: error: {message}\n")


def _run_all(jobs: list[tuple[list[dict[str, Any]], str | None]], workers: int,
             progress: TextIO | None) -> list[list[dict[str, Any]]]:
    """Run the groups, in ``workers`` forked processes if more than one."""
    from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

    show = progress is not None and hasattr(progress, "isatty") and progress.isatty()
    tqdm.monitor_interval = 0  # no monitor thread: proofs may fork this process later
    bar = tqdm(total=sum(len(g) for g, _ in jobs), desc="tensorize bench", unit="entry",
               file=progress, disable=not show, leave=False)
    results: list[list[dict[str, Any]]] = []
    with bar:
        if workers > 1 and len(jobs) > 1:
            # fork: the workers inherit this module (loaded from a file path by the CLI)
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(min(workers, len(jobs))) as pool:
                for group in pool.imap(_star_run_group, jobs):
                    results.append(group)
                    bar.update(len(group))
        else:
            for j in jobs:
                results.append(_run_group(*j))
                bar.update(len(j[0]))
    return results


def _star_run_group(job: tuple[list[dict[str, Any]], str | None]) -> list[dict[str, Any]]:
    return _run_group(*job)


def main(argv: Sequence[str] | None = None, progress: TextIO | None = None) -> int:
    """Run the corpus; returns the exit code. ``progress``: where a progress bar may go
    (shown only if it is a terminal; default stderr)."""
    from tensorize.errors import TensorizeError
    from tensorize.outputs import check_output_dir, write_atomic

    ap = _Parser(prog="tensorize bench", description=__doc__)
    ap.add_argument("--jobs", type=_jobs, default=1, help="worker processes (each takes one "
                    "corpus entry at a time)")
    ap.add_argument("--no-cache", action="store_true", help="no persistent proof cache")
    ap.add_argument("--cache-dir", help="proof cache directory (default: the user's)")
    ap.add_argument("--out", default=str(HERE / "results"), help="where to write results")
    ap.add_argument("--slice", type=_positive, default=0, help="only the first N entries")
    ap.add_argument("--only", help="only kernels whose name contains this")
    args = ap.parse_args(argv)
    try:
        out = check_output_dir(args.out, "--out", create=True)
        if args.cache_dir:
            check_output_dir(args.cache_dir, "--cache-dir", create=True)
    except TensorizeError as exc:
        ap.exit(2, exc.render() + "\n")
    entries = load_manifest()
    if args.only:
        entries = [e for e in entries if args.only in e["kernel"]]
        if not entries:
            ap.exit(2, f"tensorize bench: error: --only {args.only}: no corpus kernel "
                    "has that in its name\n")
    if args.slice:
        entries = entries[: args.slice]
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault(e["file"], []).append(e)
    cache_dir = None if args.no_cache else (args.cache_dir or "")
    if cache_dir == "":
        from tensorize.equivalence.cache import default_path

        cache_dir = str(default_path().parent)
    start = time.perf_counter()
    if args.jobs > 1:  # one job per entry: the workers share the load evenly
        jobs = [([e], cache_dir) for g in groups.values() for e in g]
    else:
        jobs = [(g, cache_dir) for g in groups.values()]
    results = _run_all(jobs, args.jobs, progress if progress is not None else sys.stderr)
    total = time.perf_counter() - start
    rows = [r for group in results for r in group]
    bad = [r for r in rows if not r["ok"]]
    hits = sum(r["cache_hits"] for r in rows)
    misses = sum(r["cache_misses"] for r in rows)
    times = sorted(r["seconds"] for r in rows)
    cpus = sorted(r["cpu_seconds"] for r in rows)
    summary: dict[str, Any] = {
        "entries": len(rows), "mismatches": len(bad), "total_seconds": total,
        "median_seconds": statistics.median(times) if times else 0.0,
        "p99_seconds": times[min(len(times) - 1, int(0.99 * (len(times) - 1) + 0.5))]
        if times else 0.0,
        # CPU time of the decisions (this process's, children excluded): what a shared,
        # loaded machine does not inflate the way it does wall time
        "cpu_seconds": sum(cpus),
        "median_cpu_seconds": statistics.median(cpus) if cpus else 0.0,
        "p99_cpu_seconds": cpus[min(len(cpus) - 1, int(0.99 * (len(cpus) - 1) + 0.5))]
        if cpus else 0.0,
        "max_cpu_seconds": cpus[-1] if cpus else 0.0,
        "cache": {"enabled": cache_dir is not None, "hits": hits, "misses": misses,
                  "hit_rate": hits / (hits + misses) if hits + misses else 0.0},
    }
    write_atomic(out / "corpus.json", json.dumps({"summary": summary, "rows": rows},
                                                 indent=1) + "\n")
    write_atomic(out / "corpus.md", _markdown(rows))
    print(f"{len(rows)} (kernel, target) entries in {total:.1f} s with {args.jobs} job(s); "
          f"decision time median {summary['median_seconds'] * 1e3:.0f} ms, p99 "
          f"{summary['p99_seconds'] * 1e3:.0f} ms; proof cache hit rate "
          f"{summary['cache']['hit_rate']:.0%}")
    print(f"decision CPU time: {summary['cpu_seconds']:.1f} s in all, median "
          f"{summary['median_cpu_seconds'] * 1e3:.0f} ms, p99 "
          f"{summary['p99_cpu_seconds'] * 1e3:.0f} ms, max "
          f"{summary['max_cpu_seconds'] * 1e3:.0f} ms")
    for r in bad:
        print(f"MISMATCH {r['kernel']} on {r['target']} ({r['fp']}): got {r['got']}, "
              f"expected {r['expect']} ({r['why']})")
    print(f"{len(rows) - len(bad)} matched the manifest, {len(bad)} mismatched; "
          f"results in {out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
