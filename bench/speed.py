"""The engine-speed table of issue 13: medians of repeated runs, written to bench/results/.

Run: .venv/bin/python -m bench.speed [--repeat N] [--determinism N] [--quick] [--out DIR]

Each figure is the median of ``--repeat`` runs (default 3); every command runs in a fresh
process, as a user would run it. ``--quick`` runs a small slice of the corpus (for the
test suite); the full table runs the whole corpus cold and warm, which takes minutes.
The machine's load average is recorded with the figures: on a shared machine the times
are only comparable within one run of this command.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAIR = ("examples/qmatmul.tz:qmatmul_nt", "examples/qmatmul_vnni.tz:qmatmul_nt")
SLOW = ("bench/corpus/resnet18_nhwc.tz", "bench/corpus/resnet18_nchw.tz",
        "bench/corpus/conv_misc.tz", "--target", "arm", "--fp", "real")
"""About 4 s of work (``apply`` of these, cold): what a ``--timeout`` must cut short."""


def _env(cache: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if cache is not None:
        env["TENSORIZE_CACHE_DIR"] = cache
    return env


CPU: list[float] = []
"""CPU seconds (user + system, the command and the workers it waited for) of each command
run by :func:`_wall`, in order: on a loaded machine, a truer measure of the work than
the wall time."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wall(argv: Sequence[str], env: dict[str, str] | None = None,
          codes: Sequence[int] = (0,)) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Seconds a command takes (a fresh process), and what it did."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=3600)
    seconds = time.perf_counter() - start
    CPU.append(_children_cpu() - cpu)
    if proc.returncode not in codes:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return seconds, proc


def _tensorize(*args: str) -> list[str]:
    return [sys.executable, "-m", "tensorize", *args]


def _bench(out: Path, extra: Sequence[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    seconds, _proc = _wall(_tensorize("bench", "--jobs", "2", "--out", str(out), *extra), env)
    return seconds, json.loads((out / "corpus.json").read_text())


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))] if values else 0.0


def corpus(repeat: int, only: list[str], work: Path) -> dict[str, Any]:
    """Cold (no cache) and warm (second run on one cache) corpus runs, and decision times."""
    cold, warm, decisions, cold_cpu, warm_cpu = [], [], [], [], []
    mismatches = 0
    for n in range(repeat):
        s, data = _bench(work / f"cold{n}", ["--no-cache", *only], _env(None))
        cold.append(s)
        cold_cpu.append(CPU[-1])
        mismatches += data["summary"]["mismatches"]
        decisions.append([r["seconds"] for r in data["rows"]])
        _keep(work / f"cold{n}")
    cache = str(work / "cache")
    _bench(work / "fill", ["--cache-dir", cache, *only], _env(cache))
    for n in range(repeat):
        s, data = _bench(work / f"warm{n}", ["--cache-dir", cache, *only], _env(cache))
        warm.append(s)
        warm_cpu.append(CPU[-1])
        mismatches += data["summary"]["mismatches"]
    per_run = [(_percentile(d, 0.99), max(d)) for d in decisions]
    return {"entries": len(decisions[0]), "mismatches": mismatches,
            "cold_seconds": statistics.median(cold), "cold_runs": cold,
            "warm_seconds": statistics.median(warm), "warm_runs": warm,
            "cold_cpu_seconds": statistics.median(cold_cpu),
            "warm_cpu_seconds": statistics.median(warm_cpu),
            "decision_median_seconds": statistics.median(
                statistics.median(d) for d in decisions),
            "decision_p99_seconds": statistics.median(p for p, _m in per_run),
            "decision_max_seconds": statistics.median(m for _p, m in per_run)}


KEEP: list[Path] = []
"""The first cold corpus run's results, copied to the output directory by :func:`main`."""


def _keep(directory: Path) -> None:
    if not KEEP:
        KEEP.append(directory)


def determinism(runs: int, work: Path) -> dict[str, Any]:
    """The ResNet-18 NCHW kernels cold ``runs`` times: the decision counts of every run."""
    seen = []
    for n in range(runs):
        _s, data = _bench(work / f"nchw{n}", ["--no-cache", "--only", "nchw"], _env(None))
        seen.append(json.dumps([(r["kernel"], r["target"], r["got"], r["counts"])
                                for r in data["rows"]], sort_keys=True))
    return {"runs": runs, "distinct_outcomes": len(set(seen)),
            "entries": len(json.loads(seen[0])) if seen else 0}


def prove_pair(repeat: int) -> dict[str, Any]:
    """The README's prove pair, wall time of the whole command."""
    times, status = [], ""
    for _ in range(repeat):
        s, proc = _wall(_tensorize("prove", *PAIR), codes=(0, 1, 3))
        times.append(s)
        status = proc.stdout.split(":", 1)[0]
    return {"seconds": statistics.median(times), "runs": times, "answer": status}


def timeout_bound(budget: float, repeat: int) -> dict[str, Any]:
    """``apply --timeout T`` of seconds of work: the command's wall time."""
    times = []
    for _ in range(repeat):
        s, _proc = _wall(_tensorize("apply", *SLOW, "--no-cache", "--timeout",
                                    f"{budget:g}"), codes=(3,))
        times.append(s)
    return {"budget": budget, "seconds": statistics.median(times), "runs": times}


def cold_apply(repeat: int, work: Path) -> dict[str, Any]:
    """``apply examples/qmatmul.tz`` in a fresh process: with a warm cache of its own (a
    user's second run: the stored decisions), and with ``--no-cache`` (every proof, check
    and run made again; the library store warm in both). Medians, minima and CPU."""
    env = _env(str(work / "apply-cache"))
    out: dict[str, Any] = {}
    for label, extra in (("warm_cache", ()), ("no_cache", ("--no-cache",))):
        argv = _tensorize("apply", "examples/qmatmul.tz", *extra)
        _wall(argv, env)  # fills the stores
        first = len(CPU)
        times = [_wall(argv, env)[0] for _ in range(repeat)]
        out[label] = {"seconds": statistics.median(times), "min": min(times), "runs": times,
                      "cpu_seconds": statistics.median(CPU[first:])}
    return out


_LOAD = """
import json, sys, time
start = time.perf_counter()
import tensorize
lib = tensorize.load_library(sys.argv[1:])
print(json.dumps({"seconds": time.perf_counter() - start, "specs": len(lib)}))
"""


def _extra_specs(directory: Path, count: int) -> Path:
    """``count`` small specs of assorted signatures (most match no corpus fragment)."""
    types = ["i8", "u8", "i16", "i32", "f32", "f16", "u16", "i64"]
    for n in range(count):
        a, b = types[n % len(types)], types[(n // len(types)) % len(types)]
        (directory / f"extra{n}.tz").write_text(
            f"intrinsic bench.extra{n} {{\n  summary \"c[i] += a[i] * b[i]\"\n"
            f"  target bench\n  cost 1.0\n  in a: {a}[{4 + n % 5}]\n  in b: {b}[{4 + n % 5}]\n"
            f"  inout c: i64[{4 + n % 5}]\n  for i in 0..{4 + n % 5} {{\n"
            f"    c[i] += i64(a[i]) * i64(b[i])\n  }}\n}}\n")
    return directory


def import_and_load(repeat: int, work: Path) -> dict[str, Any]:
    """``import tensorize`` plus ``load_library()`` in a fresh process (store warm), with
    the bundled specs and with 60 more."""
    (work / "specs").mkdir()
    extra = _extra_specs(work / "specs", 60)
    out: dict[str, Any] = {}
    for label, args in (("bundled", []), ("bundled+60", [str(extra)])):
        argv = [sys.executable, "-c", _LOAD, *args]
        _wall(argv)  # fills the store
        runs = [json.loads(_wall(argv)[1].stdout) for _ in range(repeat)]
        out[label] = {"seconds": statistics.median(r["seconds"] for r in runs),
                      "specs": runs[0]["specs"]}
    return out


def depth(repeat: int) -> dict[str, Any]:
    """Decision time of the batched matmul nested 3 and 8 deep (bench/scaling.py)."""
    import tensorize
    from bench.scaling import _time, deep

    lib = tensorize.load_library()
    d3, d8 = _time(deep(3), lib, repeat), _time(deep(8), lib, repeat)
    return {"depth3_seconds": d3, "depth8_seconds": d8, "ratio": d8 / d3}


def _table(r: dict[str, Any]) -> str:
    c, p, t, a, i, d, det = (r["corpus"], r["prove_pair"], r["timeout"], r["cold_apply"],
                             r["import_load"], r["depth"], r["determinism"])
    rows = [
        ("corpus cold, `tensorize bench --no-cache --jobs 2`",
         f"{c['cold_seconds']:.1f} s wall, {c['cold_cpu_seconds']:.1f} s CPU "
         f"({c['entries']} entries, {c['mismatches']} mismatches)", "≤ 20 s"),
        ("corpus warm, second run", f"{c['warm_seconds']:.1f} s wall, "
         f"{c['warm_cpu_seconds']:.1f} s CPU", "≤ 5 s"),
        ("decision p99 / max (cold)",
         f"{c['decision_p99_seconds']:.2f} s / {c['decision_max_seconds']:.2f} s",
         "≤ 0.5 s / ≤ 1 s"),
        ("README prove pair", f"{p['answer']}, {p['seconds']:.2f} s", "proved, ≤ 2 s"),
        (f"`apply --timeout {t['budget']:g}` on seconds of work", f"{t['seconds']:.2f} s",
         f"≤ {t['budget'] + 1:g} s"),
        ("cold `apply examples/qmatmul.tz` (fresh process, warm cache)",
         f"{a['warm_cache']['seconds']:.2f} s (min {a['warm_cache']['min']:.2f})", "≤ 0.3 s"),
        ("the same with `--no-cache`",
         f"{a['no_cache']['seconds']:.2f} s (min {a['no_cache']['min']:.2f})", "—"),
        (f"import + load library ({i['bundled']['specs']} specs)",
         f"{i['bundled']['seconds']:.3f} s", "≤ 0.2 s"),
        (f"import + load library ({i['bundled+60']['specs']} specs)",
         f"{i['bundled+60']['seconds']:.3f} s", "≤ 0.2 s"),
        ("depth 8 / depth 3 decision",
         f"{d['ratio']:.2f}x ({d['depth8_seconds'] * 1e3:.0f} / "
         f"{d['depth3_seconds'] * 1e3:.0f} ms)", "≤ 1.5x"),
        (f"same decisions and counts on {det['runs']} cold runs (ResNet-18 NCHW)",
         "yes" if det["distinct_outcomes"] == 1 else
         f"no ({det['distinct_outcomes']} outcomes)", "yes"),
    ]
    lines = ["| figure | measured | goal |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {g} |" for a, b, g in rows]
    lines.append(f"\nmedian of {r['repeat']} runs each (corpus: {len(c['cold_runs'])}, "
                 f"depth: 5 or more); load average before/after: "
                 f"{r['load_before']} / {r['load_after']} on {os.cpu_count()} CPUs")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table, write DIR/speed.json and DIR/speed.md."""
    ap = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__)
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    ap.add_argument("--corpus-repeat", type=int, default=0,
                    help="cold and warm corpus runs (default: --repeat; each takes minutes)")
    ap.add_argument("--determinism", type=int, default=10,
                    help="cold runs of the ResNet-18 NCHW kernels compared")
    ap.add_argument("--quick", action="store_true",
                    help="a slice of the corpus, for a smoke test")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    only = ["--slice", "12"] if args.quick else []
    result: dict[str, Any] = {"repeat": args.repeat, "quick": args.quick,
                              "load_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="tensorize-speed-") as tmp:
        work = Path(tmp)
        result["corpus"] = corpus(args.corpus_repeat or args.repeat, only, work)
        result["prove_pair"] = prove_pair(args.repeat)
        result["timeout"] = timeout_bound(2.0, args.repeat)
        result["cold_apply"] = cold_apply(args.repeat, work)
        result["import_load"] = import_and_load(args.repeat, work)
        result["depth"] = depth(max(args.repeat, 5))
        result["determinism"] = determinism(args.determinism, work)
        if KEEP and not args.quick:  # the cold run's per-decision figures
            out_dir = Path(args.out)
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in ("corpus.json", "corpus.md"):
                (out_dir / name).write_text((KEEP[0] / name).read_text())
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    table = _table(result)
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "speed-quick" if args.quick else "speed"
    (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / f"{name}.md").write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
