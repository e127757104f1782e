"""Empty and size-1 reductions: with no iteration the inits alone define the result.

The per-element prover compared the inits only at points of the whole nest, reduction
variables included; with an empty reduction there is no such point, and a pair whose
inits differ was "proved" at ``K = 0``.
"""

from __future__ import annotations

import pytest

from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved, Refuted
from tests.kernels import kernel
from tests.random_pairs import reproduces

PATHS = {
    "per-element": ProveOptions(execution=False),
    "unrolled": ProveOptions(execution=False, parametric=False),
    "unrolled-plain": ProveOptions(execution=False, parametric=False, shortcuts=False),
    "default": ProveOptions(),
}


def _reduction(init: str, k: int, lo: str = "0", hi: str = "K", body: str = "a[i, k]",
               outer_k: bool = False) -> str:
    if outer_k:
        nest = (f"  for i in 0..4 {{ z[i] = {init} }}\n"
                f"  for k in {lo}..{hi} {{ for i in 0..4 {{ z[i] += {body} }} }}\n")
    else:
        nest = (f"  for i in 0..4 {{ z[i] = {init}\n"
                f"    for k in {lo}..{hi} {{ z[i] += {body} }} }}\n")
    return (f"kernel k(K = {k}) {{\n  in a: i32[4, K]\n  in c: i32[4]\n  out z: i32[4]\n"
            f"{nest}}}\n")


def _refuted(a_text: str, b_text: str, options: ProveOptions) -> None:
    a, b = kernel(a_text), kernel(b_text)
    result = prove(a, b, options=options)
    assert isinstance(result, Refuted), result
    assert reproduces(a, b, result.counterexample.values)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("left_init, right_init", [("0", "1"), ("c[i]", "0"),
                                                   ("c[i]", "c[i] + 1")])
def test_differing_inits_are_refuted_when_k_is_zero(path: str, left_init: str,
                                                    right_init: str) -> None:
    _refuted(_reduction(left_init, 0), _reduction(right_init, 0), PATHS[path])


@pytest.mark.parametrize("path", PATHS)
def test_differing_inits_are_refuted_with_a_literal_empty_loop(path: str) -> None:
    _refuted(_reduction("0", 2, "0", "0"), _reduction("1", 2, "0", "0", outer_k=True),
             PATHS[path])


@pytest.mark.parametrize("path", PATHS)
def test_differing_inits_are_refuted_when_the_bound_lies_below_the_start(path: str
                                                                         ) -> None:
    # K - 3 with K = 1 is -2: the loop 0..-2 runs no iteration
    _refuted(_reduction("0", 1, "0", "K - 3"), _reduction("c[i]", 1, "0", "K - 3"),
             PATHS[path])


@pytest.mark.parametrize("path", PATHS)
def test_equal_inits_are_proved_when_k_is_zero(path: str) -> None:
    a = kernel(_reduction("c[i]", 0))
    b = kernel(_reduction("c[i]", 0, body="a[i, K - 1 - k]", outer_k=True))
    result = prove(a, b, options=PATHS[path])
    assert isinstance(result, Proved), result
    if path == "per-element":
        assert result.method == "per-element"


@pytest.mark.parametrize("path", PATHS)
def test_size_one_reductions(path: str) -> None:
    same = prove(kernel(_reduction("c[i]", 1)), kernel(_reduction("c[i]", 1, outer_k=True)),
                 options=PATHS[path])
    assert isinstance(same, Proved), same
    _refuted(_reduction("c[i]", 1), _reduction("c[i]", 1, body="a[i, k] + 1"), PATHS[path])
    _refuted(_reduction("c[i]", 1), _reduction("0", 1), PATHS[path])
