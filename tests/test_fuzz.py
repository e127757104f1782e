"""Soundness fuzzing, short derandomised profile (the long campaign: tests/fuzz/campaign.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import tensorize
from tests.fuzz.generator import generate
from tests.fuzz.soundness import check_kernel

LIB = tensorize.load_library()


class _Draws:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def choice(self, options):
        return self.data.draw(st.sampled_from(options))

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def boolean(self) -> bool:
        return self.data.draw(st.booleans())


@settings(max_examples=25)
@given(st.data())
def test_every_emitted_rewrite_agrees_with_the_original(data) -> None:
    g = generate(_Draws(data))
    outcome = check_kernel(g.text, g.fp, LIB, cross_check=True)
    assert outcome.disagreement is None, f"{g.text}\n{outcome.disagreement}"


def test_the_generator_reaches_rewrites() -> None:
    from tests.fuzz.generator import RandomChoices

    rewritten = 0
    for seed in range(12):
        g = generate(RandomChoices(seed))
        rewritten += check_kernel(g.text, g.fp, LIB, cross_check=False).rewrites > 0
    assert rewritten >= 2  # the property above is not vacuous
