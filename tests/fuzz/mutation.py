"""The mutation campaign on the intrinsic library.

Each spec is mutated one site at a time (flip a signedness, swap two indices, change an
extent by one, drop or add a saturation, replace + by -, narrow an accumulator, and a
commuted product that changes nothing). A valid mutant is first compared with its
original by the prover: *equivalent* if proved equal. Otherwise it stands for a buggy
spec, and the engine runs with it (in place of the original) on the kernels the
original is used for: the spec's own body as a kernel, and the corpus kernels the
manifest expects it on. The mutant is *killed* if no rewrite uses it; a rewrite that
uses it is a *survivor* (a rewrite the original spec would not justify).

Run: .venv/bin/python -m tests.fuzz.mutation [--only NAME] [--limit N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import tensorize
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved
from tensorize.errors import TensorizeError
from tensorize.ir import interp
from tensorize.ir.check import check_function
from tensorize.ir.nodes import Assign, Binary, Cast, Const, For, Function, Load
from tensorize.ir.traverse import Transformer, walk
from tensorize.ir.types import SCALAR_TYPES
from tensorize.rewrite.engine import TensorizePass

ROOT = Path(__file__).resolve().parents[2]
FLIP = {"u8": "i8", "i8": "u8", "u16": "i16", "i16": "u16", "u32": "i32", "i32": "u32"}


class _AtSite(Transformer):
    """Applies ``fn`` to the ``site``-th node for which ``fn`` returns a change."""

    def __init__(self, site: int, fn) -> None:
        self.site, self.fn, self.seen = site, fn, 0

    def __call__(self, node):  # type: ignore[override]
        node = super().__call__(node)
        new = self.fn(node)
        if new is not None:
            if self.seen == self.site:
                self.seen += 1
                return new
            self.seen += 1
        return node


def _flip_sign(node):
    if isinstance(node, Load) and node.dtype is not None and node.dtype.name in FLIP:
        return Cast(node, SCALAR_TYPES[FLIP[node.dtype.name]])
    return None


def _swap_indices(node):
    if isinstance(node, Load) and len(node.index) >= 2 and node.index[0] != node.index[1]:
        return dataclasses.replace(node, index=tuple(reversed(node.index)))
    return None


def _extent(delta: int):
    def mutate(node):
        if isinstance(node, For) and isinstance(node.hi, Const):
            return dataclasses.replace(node, hi=dataclasses.replace(
                node.hi, value=node.hi.value + delta))
        return None
    return mutate


def _drop_sat(node):
    if isinstance(node, Cast) and node.saturate:
        return dataclasses.replace(node, saturate=False)
    return None


def _add_sat(node):
    if isinstance(node, Binary) and node.op == "+" and node.dtype is not None and \
            node.dtype.is_int and node.dtype.bits > 16:
        return Cast(Cast(node, SCALAR_TYPES["i16"], saturate=True), node.dtype)
    return None


def _plus_to_minus(node):
    if isinstance(node, Binary) and node.op == "+":
        return dataclasses.replace(node, op="-")
    return None


def _narrow_acc(node):
    if isinstance(node, Assign) and isinstance(node.value, Binary) and \
            node.value.dtype is not None and node.value.dtype.is_numeric:
        t = node.value.dtype
        narrow = SCALAR_TYPES["i16"] if t.is_int else SCALAR_TYPES["f16"]
        if t == narrow:
            return None
        return dataclasses.replace(node, value=Cast(Cast(node.value, narrow), t))
    return None


def _commute(node):
    if isinstance(node, Binary) and node.op == "*":
        return dataclasses.replace(node, lhs=node.rhs, rhs=node.lhs)
    return None


OPERATORS = {
    "flip signedness": _flip_sign, "swap indices": _swap_indices,
    "extent - 1": _extent(-1), "extent + 1": _extent(1), "drop saturation": _drop_sat,
    "add saturation": _add_sat, "+ to -": _plus_to_minus,
    "narrow accumulator": _narrow_acc, "commute product": _commute,
}


def mutants(spec: Function):
    """(operator, site, mutant body) for every applicable site."""
    for name, fn in OPERATORS.items():
        count = sum(1 for n in walk(spec) if fn(n) is not None)
        for site in range(count):
            body = tuple(_AtSite(site, fn)(s) for s in spec.body) if name else spec.body
            mutated = dataclasses.replace(spec, body=body)
            if mutated != spec:
                yield name, site, mutated


def as_kernel(spec: Function) -> Function:
    """The spec's own body as a kernel (the program the spec certainly describes)."""
    params = tuple(dataclasses.replace(p, default=8) if p.default is None else p
                   for p in spec.params)
    return dataclasses.replace(spec, kind="kernel", name="own_body", meta=(), params=params)


def assessment_kernels(spec: Function, lib) -> list[tuple[Function, str]]:
    """Kernels the original spec is used on, with their float mode."""
    fp = "real" if any(b.dtype.is_float for b in spec.buffers) else "ieee"
    out = [(as_kernel(spec), fp)]
    manifest = json.loads((ROOT / "bench" / "corpus" / "manifest.json").read_text())
    picked = 0
    for e in manifest["entries"]:
        if e["expect"] == spec.name and picked < 2:
            module = tensorize.load(ROOT / "bench" / "corpus" / e["file"], lib)
            out.append((module.get(e["kernel"]), e["fp"]))
            picked += 1
    return out


def _uses(spec: Function, lib, kernels, name: str) -> list[tuple[str, bool]]:
    """Kernels the engine rewrites with ``spec`` (named ``name``), each with whether the
    rewrite is still right when the call means the *original* spec."""
    from tensorize.equivalence.execute import refute_by_execution
    from tensorize.rewrite.apply import bake_sizes

    used = []
    library = lib.as_dict()
    library[name] = spec
    for kernel, fp in kernels:
        result = TensorizePass(intrinsics=(name,), fp=fp, execution_check=False).run(
            kernel, library)
        if result.changed:
            original = bake_sizes(kernel, result.sizes)
            cex = None
            if interp.estimate_work(original, {}) <= 4_000_000:
                cex = refute_by_execution(original, {}, result.rewritten, {}, lib.as_dict(),
                                          fp, randoms=2)
            used.append((kernel.name, cex is None))
    return used


def _caught_by_model(name: str, mutant: Function, lib) -> bool:
    """Whether the spec's independent numpy model (tests/intrinsic_models.py) disagrees."""
    import numpy as np

    from tests.intrinsic_models import MODELS

    model = MODELS.get(name)
    if model is None:
        return False
    sizes = {p.name: 8 for p in mutant.params if p.default is None}
    for seed in range(3):
        inputs = interp.random_inputs(mutant, sizes, seed=seed)
        got = interp.run(mutant, inputs, sizes=sizes, library=lib)
        for key, value in model(**inputs).items():
            want = np.asarray(value).reshape(got[key].shape).astype(got[key].dtype)
            if not np.array_equal(got[key].astype(np.float64), want.astype(np.float64)):
                return True
    return False


def main(argv: list[str] | None = None) -> int:
    """Run the campaign and print the report."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="only specs whose name contains this")
    ap.add_argument("--limit", type=int, default=0, help="at most N mutants per spec")
    ap.add_argument("--json", help="write the per-mutant results here")
    args = ap.parse_args(argv)
    lib = tensorize.load_library()
    start = time.perf_counter()
    rows = []
    for spec in lib:
        if args.only and args.only not in spec.name:
            continue
        kernels = assessment_kernels(spec, lib)
        baseline = _uses(spec, lib, kernels, spec.name)
        for n, (op, site, mutant) in enumerate(mutants(spec)):
            if args.limit and n >= args.limit:
                break
            row = {"spec": spec.name, "operator": op, "site": site}
            try:
                mutant = check_function(mutant, lib.as_dict())
                sizes = {p.name: 8 for p in mutant.params if p.default is None}
                interp.run(mutant, interp.random_inputs(mutant, sizes), sizes=sizes,
                           library=lib)
            except TensorizeError as exc:
                rows.append({**row, "outcome": "invalid", "why": exc.message})
                continue
            fp = "real" if any(b.dtype.is_float for b in spec.buffers) else "ieee"
            same = prove(spec, mutant, sizes_a=sizes, sizes_b=sizes, library=lib,
                         options=ProveOptions(fp=fp))
            if isinstance(same, Proved):
                rows.append({**row, "outcome": "equivalent", "why": same.method})
                continue
            if not baseline:
                rows.append({**row, "outcome": "unassessed",
                             "why": "the engine uses the original on none of its kernels"})
                continue
            used = _uses(mutant, lib, kernels, spec.name)
            if not used:
                rows.append({**row, "outcome": "killed", "why": same.status})
            elif all(ok for _k, ok in used):
                rows.append({**row, "outcome": "survived (benign)", "why": (
                    "the matcher re-mapped the operands so that the mutant computes the "
                    "kernel too; the rewrite is also right for the original spec: "
                    + ", ".join(k for k, _ok in used))})
            else:
                caught = _caught_by_model(spec.name, mutant, lib)
                rows.append({**row, "outcome": "survived", "caught_by_model": caught,
                             "why": ", ".join(
                    f"{k} ({'right' if ok else 'WRONG'} for the original)" for k, ok in used)
                    + ("; the spec's independent numpy model rejects this mutant" if caught
                       else "; NOT caught by the independent model")})
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    semantic = counts.get("killed", 0) + counts.get("survived", 0) + \
        counts.get("survived (benign)", 0)
    print(f"mutants: {len(rows)} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
          f"; kill rate {counts.get('killed', 0) / semantic:.1%} of {semantic} assessed"
          if semantic else f"mutants: {len(rows)} {counts}")
    for r in rows:
        if r["outcome"].startswith("survived"):
            print(f"SURVIVOR {r['spec']} {r['operator']} #{r['site']}: {r['why']}")
    print(f"{time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    unexplained = [r for r in rows if r["outcome"] == "survived" and not r["caught_by_model"]]
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
