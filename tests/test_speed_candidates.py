"""The candidate prefilter enumerates exactly what the plain product of choices gives.

``candidates._consistent`` cuts loop assignments early (extents given twice, output groups
that are not spatial, accesses whose tile loops cannot be covered, and once a rejection is
on record, groups given more iterations than their loops have); the reference below is
the unpruned product with the same final checks. Both must give the same candidates in
the same order and the same first rejection, on the corpus's convolutions and on nests
of growing depth.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

import tensorize
from bench.run import CORPUS
from bench.scaling import deep
from tensorize.intrinsics.host import in_target
from tensorize.ir.interp import bind_sizes
from tensorize.ir.reduction import Reduction
from tensorize.matcher import candidates
from tensorize.matcher.candidates import enumerate_candidates
from tensorize.matcher.fragments import fragments
from tensorize.rewrite.apply import bake_sizes


def _reference(options: list[list[tuple[tuple[str, ...], ...]]],
               shapes: list[tuple[int, ...]], index_vars: list[set[str]], form: Reduction,
               rejected: object = None) -> Iterator[tuple[tuple, dict[tuple[str, ...], int]]]:
    for combo in itertools.product(*options):
        extents: dict[tuple[str, ...], int] = {}
        ok = True
        for shape, groups in zip(shapes, combo):
            for axis, g in enumerate(groups):
                if extents.setdefault(g, shape[axis]) != shape[axis]:
                    ok = False
        if not ok or any(v not in form.spatial for g in combo[0] for v in g):
            continue
        yield combo, extents


def _enumerations(kernels: list, lib) -> list:
    out = []
    for k in kernels:
        baked = bake_sizes(k, bind_sizes(k, {}))
        for frag in fragments(baked, {}):
            for intr in lib:
                enum = enumerate_candidates(frag, intr, baked, "real")
                # only the first rejection is ever read (the engine's report, explain):
                # after it, the prefilter also cuts groups given more iterations than
                # their loops have, whose later rejections it does not make
                out.append((k.name, intr.name, enum.candidates,
                            [(r.kind, r.message) for r in enum.rejections[:1]]))
    return out


@pytest.fixture(scope="module")
def lib():
    return tensorize.load_library()


def test_prefilter_enumerates_what_the_product_does(lib, monkeypatch):
    kernels = list(tensorize.load(CORPUS / "resnet18_nchw.tz", lib.as_dict()).kernels[:3])
    kernels += [tensorize.parse(deep(d), "<deep>", lib).kernels[0] for d in (3, 5, 6)]
    pruned = _enumerations(kernels, lib)
    monkeypatch.setattr(candidates, "_consistent", _reference)
    plain = _enumerations(kernels, lib)
    assert sum(len(c) for _k, _i, c, _r in pruned) > 10
    assert pruned == plain


def test_depth_does_not_multiply_the_enumeration(lib):
    def enum_time(depth: int) -> float:
        k = tensorize.parse(deep(depth), "<deep>", lib).kernels[0]
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            _enumerations([k], [f for f in lib if in_target(f.target, "x86.avx512_vnni")])
            best = min(best, time.perf_counter() - start)
        return best

    # the old enumeration grew about 2.5x per level (depth 8 took 50x depth 3)
    assert enum_time(8) < 4 * enum_time(3) + 0.05
