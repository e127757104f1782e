"""Soundness fuzzing, short bounded profile (the long campaign: tests/fuzz/campaign.py).

Three parts: plain contractions drawn by derandomised hypothesis; fixed seeds with each
generator feature forced (loop variables as values, odd inits, unsigned and mixed types,
empty and size-1 loops, kernels above the execution limit, rewriter-like loop names);
and the minimal reproducers of engine bugs the fuzzer found (tests/fuzz/found), each
fixed and kept as a regression case.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorize
from tests.fuzz.generator import FEATURES, RandomChoices, generate
from tests.fuzz.soundness import check_kernel

LIB = tensorize.load_library()
FOUND = Path(__file__).parent / "fuzz" / "found"


class _Draws:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def choice(self, options):
        return self.data.draw(st.sampled_from(options))

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def boolean(self) -> bool:
        return self.data.draw(st.booleans())


@settings(max_examples=10, derandomize=True, deadline=None)
@given(st.data())
def test_every_emitted_rewrite_agrees_with_the_original(data) -> None:
    g = generate(_Draws(data), allowed=())
    outcome = check_kernel(g.text, g.fp, LIB, cross_check=True, alt_sizes=g.alt_sizes)
    assert outcome.disagreement is None, f"{g.text}\n{outcome.disagreement}"


# (feature forced, seed, the engine rewrites it): rewritten cases make the check
# non-vacuous for the feature; the rest must at least not crash or disagree. Cases that
# found bugs (wrong rewrites of loop variables as values and of inits that cannot be
# hoisted, crashes on rewriter-like loop names) now expect the fixed behaviour: refused,
# or rewritten correctly.
FEATURE_CASES = [
    pytest.param("loopvar_value", 0, False, id="loopvar_value-0"),
    pytest.param("loopvar_value", 19, False, id="loopvar_value-19"),
    pytest.param("loopvar_value", 7, False, id="loopvar_value-7"),
    pytest.param("odd_init", 3, True, id="odd_init-3"),
    pytest.param("odd_init", 19, True, id="odd_init-19"),
    pytest.param("odd_init", 9, False, id="odd_init-9"),
    pytest.param("unsigned_mixed", 8, True, id="unsigned_mixed-8"),
    pytest.param("unsigned_mixed", 19, True, id="unsigned_mixed-19"),
    pytest.param("unsigned_mixed", 1, False, id="unsigned_mixed-1"),
    pytest.param("empty_size1", 0, False, id="empty_size1-0"),
    pytest.param("empty_size1", 1, False, id="empty_size1-1"),
    pytest.param("big", 5, True, id="big-5"),
    pytest.param("big", 15, False, id="big-15"),
    pytest.param("hygiene", 7, True, id="hygiene-7"),
    pytest.param("hygiene", 8, True, id="hygiene-8"),
]


@pytest.mark.parametrize("feature, seed, rewritten", FEATURE_CASES)
def test_generated_kernels_with_a_feature(feature: str, seed: int, rewritten: bool) -> None:
    g = generate(RandomChoices(seed), force=(feature,))
    assert feature in g.features
    outcome = check_kernel(g.text, g.fp, LIB, cross_check=False, alt_sizes=g.alt_sizes)
    assert outcome.disagreement is None, f"{g.detail}\n{g.text}\n{outcome.disagreement}"
    assert (outcome.rewrites > 0) == rewritten, g.text  # the case still tests what it did


def test_the_bounded_cases_cover_every_feature() -> None:
    covered = {c.values[0] for c in FEATURE_CASES}
    assert covered == set(FEATURES)
    rewritten = {c.values[0] for c in FEATURE_CASES if c.values[2]}
    # extent 0 leaves nothing to tile; a loop variable used as a value is refused
    assert rewritten >= set(FEATURES) - {"empty_size1", "loopvar_value"}


def test_the_generator_draws_every_feature_and_valid_kernels() -> None:
    from tensorize.api import parse

    seen: dict[str, int] = {}
    details: set[str] = set()
    for seed in range(400):
        g = generate(RandomChoices(seed))
        parse(g.text, "<fuzz>", dict(LIB))  # the generator writes valid kernels
        for f in g.features:
            seen[f] = seen.get(f, 0) + 1
        details |= {f"{k}:{v.split()[0]}" for k, v in g.detail.items()}
    assert set(seen) == set(FEATURES)
    assert sum(seen.values()) < 400  # plain contractions still dominate
    for variant in ("odd_init:reversed", "odd_init:diagonal", "odd_init:const",
                    "odd_init:deep", "odd_init:value", "odd_init:bias",
                    "loopvar_value:pad", "loopvar_value:div", "loopvar_value:mul",
                    "loopvar_value:add"):
        assert variant in details, variant


def test_the_generator_reaches_rewrites() -> None:
    rewritten = 0
    for seed in range(12):
        g = generate(RandomChoices(seed), allowed=())
        rewritten += check_kernel(g.text, g.fp, LIB, cross_check=False).rewrites > 0
    assert rewritten >= 2  # the property above is not vacuous


def _found(path: Path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# bug: ")  # what the fuzzer found (fixed; kept as a regression)
    return pytest.param(path, id=path.stem)


@pytest.mark.parametrize("path", [_found(p) for p in sorted(FOUND.glob("*.tz"))])
def test_found_reproducers_are_sound(path: Path) -> None:
    text = path.read_text()
    alt = None  # a big reproducer names smaller sizes to check at too: "# also at: M=16 .."
    for line in text.splitlines():
        if line.startswith("# also at: "):
            alt = {k: int(v) for k, v in (x.split("=") for x in line.split()[3:])}
    outcome = check_kernel(text, "ieee", LIB, cross_check=False, alt_sizes=alt)
    assert outcome.disagreement is None, outcome.disagreement


def test_the_oracle_templates_follow_the_specs_order_declarations() -> None:
    """A template the oracle treats as adding in the program's order (``ordered``: it
    also computes IEEE-mode kernels) must be a spec that does not declare ``order
    unordered``; every template names a bundled spec of the same types. (bfmmla became
    unordered and the oracle kept counting IEEE-mode kernels as computable by it.)"""
    from tensorize.api import load_library
    from tests.fuzz.computable import TEMPLATES

    library = load_library()
    for t in TEMPLATES:
        spec = library.get(t.name)
        assert spec is not None, t.name
        if t.mode == "ordered":
            assert spec.meta_value("order") != "unordered", t.name
        float_acc = t.acc.startswith(("f", "bf"))
        if float_acc and spec.meta_value("order") == "unordered":
            assert t.mode == "real", t.name


LIBRARY_CALL_KERNEL = """kernel fuzz(M = 16, N = 32, K = 16) {
  in  A: i8[M, K]
  in  B: i8[K, N]
  inout   C: i32[M, N]
  for k in 0..K {
    for i in 0..M {
      for j in 0..N {
        C[i, j] += i32(B[k, j]) * i32(A[i, k])
      }
    }
  }
}
"""


def test_a_library_call_rewrite_replays_at_its_sizes() -> None:
    """The cvc5 replay proves a library call's tile against the spec instantiated at the
    call's sizes (it asked for the spec's own defaults, which a library call has not, and
    the campaign counted the error as a rejected input)."""
    from tensorize.api import load_library
    from tests.fuzz.soundness import check_kernel

    library = load_library()
    out = check_kernel(LIBRARY_CALL_KERNEL, "ieee", library, cross_check=True,
                       alt_sizes={"M": 16, "N": 5, "K": 1})
    assert out.disagreement is None and out.rewrites >= 1, out


def test_an_engine_error_on_a_valid_kernel_is_a_crash(monkeypatch) -> None:
    """Only a kernel that does not parse is a rejected input; an error raised while
    checking a valid one is the engine's, and counts as a disagreement."""
    from tensorize.api import load_library
    from tensorize.errors import UsageError
    from tests.fuzz import soundness

    def broken(*args, **kwargs):
        raise UsageError("broken on purpose")

    monkeypatch.setattr(soundness, "prove", broken)  # the cvc5 replay's proof
    out = soundness.check_kernel(LIBRARY_CALL_KERNEL, "ieee", load_library(),
                                 cross_check=True)
    assert out.kind == "crash" and "broken on purpose" in (out.disagreement or "")
