"""Candidates checked in the order of preference, the rest left unchecked: the shortcut is
tested against checking every candidate (``exhaustive``), which must choose the same
rewrite of every fragment, with the same rewritten kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

import tensorize
from tensorize.equivalence.results import Verdict
from tensorize.ir.printer import format_function
from tensorize.rewrite.engine import TensorizePass

ROOT = Path(__file__).resolve().parent.parent
LIB = tensorize.load_library().as_dict()

# (file, kernel, targets, fp, sizes): several machine families in one pass, library calls
# alone and beside instructions, float kernels in both modes, fused and tailed tiles
CASES = [
    ("examples/qmatmul.tz", "qmatmul_nt", (), "ieee", {"M": 8, "N": 40, "K": 64}),
    ("examples/qmatmul.tz", "qmatmul_nn", ("x86", "arm"), "ieee",
     {"M": 8, "N": 36, "K": 40}),
    ("examples/conv2d_nhwc.tz", None, ("x86",), "ieee",
     {"H": 6, "W": 6, "C": 8}),
    ("examples/matmul_f32.tz", None, ("arm", "blas"), "real", {}),
    ("examples/matmul_f32.tz", None, ("blas",), "real", {}),
    ("examples/gemv.tz", None, (), "real", {}),
    ("examples/matmul_f32.tz", None, ("x86", "nvidia"), "ieee", {}),
]


def _choices(result) -> list:
    return [(f.position, f.chosen.intrinsic, f.chosen.mapping, f.chosen.cost)
            if f.chosen else None for f in result.fragments]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{Path(c[0]).stem}-{c[3]}-"
                         + "+".join(c[2] or ("all",)))
def test_preferred_first_chooses_what_checking_every_candidate_chooses(case) -> None:
    file, name, targets, fp, sizes = case
    module = tensorize.load(ROOT / file, LIB)
    k = module.get(name) if name else module.kernels[0]
    assert k is not None
    own = {n: v for n, v in sizes.items() if any(p.name == n for p in k.params)}
    lazy = TensorizePass(targets=targets, fp=fp).run(k, LIB, own)
    full = TensorizePass(targets=targets, fp=fp, exhaustive=True).run(k, LIB, own)
    assert _choices(lazy) == _choices(full)
    assert format_function(lazy.rewritten) == format_function(full.rewritten)
    assert full.counts()["unchecked"] == 0
    for f in lazy.fragments:  # an unchecked candidate is never chosen, and says why
        for a in f.alternatives:
            if a.status == Verdict.UNCHECKED:
                assert a.reason.startswith("not checked: ") and a.proof is None


def test_the_shortcut_leaves_work_undone_somewhere() -> None:
    """Not a vacuous comparison: on these kernels some candidates go unchecked."""
    unchecked = 0
    for file, name, targets, fp, sizes in CASES[:2]:
        module = tensorize.load(ROOT / file, LIB)
        k = module.get(name) if name else module.kernels[0]
        assert k is not None
        own = {n: v for n, v in sizes.items() if any(p.name == n for p in k.params)}
        unchecked += TensorizePass(targets=targets, fp=fp).run(k, LIB, own).counts()[
            "unchecked"]
    assert unchecked > 0


def test_a_library_call_alone_is_checked_until_one_proves() -> None:
    """With only library calls in the pass (no machine family), a library candidate is
    never skipped for want of a family's proof (a bug the comparison above found)."""
    module = tensorize.load(ROOT / "examples/matmul_f32.tz", LIB)
    result = TensorizePass(targets=("blas",), fp="real").run(module.kernels[0], LIB,
                                                             {"M": 64, "N": 64, "K": 64})
    assert result.fragments[0].chosen is not None
    assert result.fragments[0].chosen.intrinsic.startswith("blas.")
