"""Decisions are the same on every cold run: no validation ends unknown on the NCHW
convolutions whose fused (c, rh, rw) tiles used to time out in the solver."""

from __future__ import annotations

import pytest

import tensorize
from bench.run import CORPUS, load_manifest
from tensorize.equivalence import cache as cache_mod
from tensorize.rewrite.engine import TensorizePass

LIB = tensorize.load_library()


def _outcome(result) -> list:
    return [(f.chosen.intrinsic if f.chosen else None,
             [(a.mapping, a.status, a.reason) for a in
              ([f.chosen] if f.chosen else []) + list(f.alternatives)])
            for f in result.fragments]


@pytest.mark.parametrize(("kernel", "target"), [("resnet18_conv10_nchw", "arm"),
                                                ("resnet18_conv11_nchw", "x86")])
def test_cold_runs_decide_the_same(kernel: str, target: str, monkeypatch) -> None:
    entry = next(e for e in load_manifest() if e["kernel"] == kernel and e["target"] == target)
    module = tensorize.load(CORPUS / entry["file"], LIB.as_dict())
    fn = module.get(kernel)
    outcomes = []
    for _ in range(3):
        monkeypatch.setattr(cache_mod, "MEMO", {})  # cold: nothing remembered
        result = TensorizePass(targets=(target,), fp=entry["fp"]).run(fn, LIB)
        counts = result.counts()
        assert counts["unknown"] == 0 and counts["invalid"] == 0, _outcome(result)
        assert result.changed == (entry["expect"] is not None)
        outcomes.append(_outcome(result))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    chosen = [f.chosen for f in result.fragments if f.chosen]
    assert all(any("(by construction)" in c for c in a.checks) for a in chosen)
