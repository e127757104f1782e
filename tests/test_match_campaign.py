"""The campaign's oracle: which generated kernels an intrinsic computes, by construction,
and the summary lines that count how many of them the engine matched."""

from __future__ import annotations

from tests.fuzz.campaign import Result, run_one, summary
from tests.fuzz.computable import Shape, computable


def _shape(**kw) -> Shape:
    base = dict(ta="u8", tb="i8", tacc="i32", ext={"i": 4, "j": 32, "k": 8},
                in_a=("i", "k"), in_b=("j", "k"), spatial=("i", "j"), red=("k",),
                order=("i", "j", "k"), plain=True, fp="ieee")
    base.update(kw)
    return Shape(**base)  # type: ignore[arg-type]


def test_oracle_knows_which_intrinsic_computes_a_kernel() -> None:
    assert computable(_shape()) == "x86.avx512_vnni.vpdpbusd_bcast"
    assert computable(_shape(plain=False)) == ""               # a min reduction, a loop value
    assert computable(_shape(ext={"i": 4, "j": 2, "k": 2})) == ""  # too small for any tile
    assert computable(_shape(ta="f32", tb="f32", tacc="f32")) == ""  # fma: not in ieee
    assert computable(_shape(ta="f32", tb="f32", tacc="f32", fp="real")) != ""
    # bf16: bfmmla sums in an order the manual leaves open, so only in real mode
    bf = dict(ta="bf16", tb="bf16", tacc="f32", ext={"i": 4, "j": 4, "k": 8, "k2": 2},
              red=("k", "k2"), order=("i", "j", "k", "k2"),
              in_a=("i", "k", "k2"), in_b=("j", "k", "k2"))
    assert computable(_shape(**bf)) == ""
    assert computable(_shape(**{**bf, "fp": "real"})) == "arm.neon.bfmmla"


def test_oracle_ordered_templates_keep_the_order_of_k(monkeypatch) -> None:
    """A float template that adds in the program's order (none is bundled today) computes
    an IEEE kernel only when its tile keeps each element's order of updates."""
    from tests.fuzz import computable as oracle

    monkeypatch.setattr(oracle, "TEMPLATES", (
        oracle._t("test.bfmmla_ordered", "bf16 bf16 f32", "2:a 2:b", 4, "ordered"),))
    bf = dict(ta="bf16", tb="bf16", tacc="f32", ext={"i": 4, "j": 4, "k": 8, "k2": 2},
              red=("k", "k2"), order=("i", "j", "k", "k2"),
              in_a=("i", "k", "k2"), in_b=("j", "k", "k2"))
    assert oracle.computable(_shape(**bf)) == "test.bfmmla_ordered"  # the fused (k, k2)
    bf["ext"] = {"i": 4, "j": 4, "k": 6, "k2": 3}
    assert oracle.computable(_shape(**bf)) == ""       # 18 = 6 x 3: a tail on k would
    assert oracle.computable(_shape(**{**bf, "fp": "real"})) != ""  # break the order


def test_summary_ends_with_matched_and_disagreements() -> None:
    rs = [Result(0, (), "contraction", "", computable="x", matched=True, rewrites=1),
          Result(1, (), "contraction", "", computable="x", matched=False),
          Result(2, (), "contraction", "", computable="", matched=False)]
    lines = summary(rs, 1.0).splitlines()
    assert lines[-2] == "computable kernels matched: 1 of 2"
    assert lines[-1] == "disagreements: 0"


def test_a_generated_kernel_carries_its_verdict() -> None:
    res = run_one((3, 0, False))
    assert res.disagreement == ""
    if res.computable:
        assert res.matched
