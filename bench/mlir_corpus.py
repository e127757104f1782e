"""Import + apply time of the corpus as MLIR, and whether the decisions match `.tz`.

Each corpus kernel is exported to MLIR (``tensorize export``), then imported and
tensorized through MLIR (``tensorize apply FILE.mlir``); the rewrite decisions (per
fragment: the chosen intrinsic and its call count) are compared with those made on the
`.tz` kernel. Usage: ``python bench/mlir_corpus.py [--limit N] [KERNEL ...]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from tensorize import api  # noqa: E402  (bench/tensorize.py must not shadow the package)
from tensorize.frontends.mlir_apply import tensorize_module  # noqa: E402
from tensorize.frontends.mlir_parse import parse_mlir  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpus"


def decisions(result: object) -> list[tuple[int, str | None, int]]:
    """Per fragment: position, chosen intrinsic (or None) and number of calls."""
    out = []
    for f in result.fragments:  # type: ignore[attr-defined]
        c = f.chosen
        out.append((f.position, c.intrinsic if c else None, c.calls if c else 0))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print one line per kernel and the totals."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kernels", nargs="*")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)
    library = api.load_specs()
    callees = library.as_dict()
    tpass = api.make_pass(library)
    total_import = total_apply = 0.0
    n = mismatches = 0
    for path in sorted(CORPUS.glob("*.tz")):
        module, _ = api.load_with_callees(path, library)
        for fn in module.kernels:
            if args.kernels and fn.name not in args.kernels:
                continue
            if args.limit and n >= args.limit:
                break
            n += 1
            via_tz = tpass.run(fn, callees, {})
            text = api.export_mlir([fn], {}, library)
            t0 = time.perf_counter()
            parsed = parse_mlir(text, f"{fn.name}.mlir")
            kernel = api.import_mlir(text, f"{fn.name}.mlir", library).functions[0]
            t1 = time.perf_counter()
            results, notes = tensorize_module(parsed, callees, tpass.run, {}, {})
            t2 = time.perf_counter()
            total_import += t1 - t0
            total_apply += t2 - t1
            same = decisions(results[0]) == decisions(via_tz)
            mismatches += not same
            print(f"{fn.name:40} import {t1 - t0:6.2f} s  apply {t2 - t1:6.2f} s  "
                  f"{'same' if same else 'DIFFERENT'} {decisions(results[0])}"
                  + "".join(f"\n    note: {x}" for x in notes) + ("" if kernel else ""))
            sys.stdout.flush()
    print(f"{n} kernels: import {total_import:.1f} s, import+apply "
          f"{total_import + total_apply:.1f} s, {mismatches} with different decisions")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
