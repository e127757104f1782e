"""A warm run is lookups: decisions, tile proofs (and refutations), validations and the
interpreter's agreement are cached; a renamed copy of a kernel finds them."""

from __future__ import annotations

import pytest

import tensorize
from tensorize.equivalence import cache as cache_mod
from tensorize.equivalence.cache import ProofCache
from tensorize.ir.printer import format_function
from tensorize.rewrite import engine
from tensorize.rewrite.engine import TensorizePass
from tests.kernels import kernel

LIB = tensorize.load_library()

MATMUL = """kernel {name}(M = 4, N = 48, K = 8) {{
  in  {a}: u8[M, K]
  in  {b}: i8[N, K]
  out {c}: i32[M, N]
  for {i} in 0..M {{
    for {j} in 0..N {{
      {c}[{i}, {j}] = 0
      for {k} in 0..K {{
        {c}[{i}, {j}] += i32({a}[{i}, {k}]) * i32({b}[{j}, {k}])
      }}
    }}
  }}
}}"""


def _matmul(name: str = "mm", i: str = "i", j: str = "j", k: str = "k"):
    return kernel(MATMUL.format(name=name, a="A", b="B", c="C", i=i, j=j, k=k), LIB)


def _forbid(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    def forbidden(*_args, **_kwargs):
        raise AssertionError("a warm run must look this up, not compute it")

    # the engine imports the prover, the validator and the executor where it uses them
    from tensorize.equivalence import execute
    from tensorize.equivalence import prove as prove_mod
    from tensorize.rewrite import validate as validate_mod

    homes = {"prove": prove_mod, "validate": validate_mod, "refute_by_execution": execute}
    for name in names:
        monkeypatch.setattr(homes.get(name, engine), name, forbidden)


def _outcome(result) -> list:
    return [(f.chosen.intrinsic if f.chosen else None, f.chosen.mapping if f.chosen else None,
             sorted((a.intrinsic, a.mapping, a.status) for a in f.alternatives))
            for f in result.fragments]


@pytest.fixture(autouse=True)
def _no_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_mod, "MEMO", {})  # only the persistent cache may answer


def test_second_run_is_a_stored_decision(tmp_path, monkeypatch) -> None:
    path = tmp_path / "c.sqlite"
    k = _matmul()
    first = TensorizePass(targets=("x86",), cache=ProofCache(path),
                          exhaustive=True).run(k, LIB)
    assert first.changed and first.counts()["refuted_by_execution"] > 0
    _forbid(monkeypatch, "prove", "validate", "refute_by_execution", "enumerate_candidates")
    c = ProofCache(path)
    again = TensorizePass(targets=("x86",), cache=c, exhaustive=True).run(k, LIB)
    assert c.hits == 1 and "lookup" in again.stages
    assert _outcome(again) == _outcome(first)
    assert again.rewritten == first.rewritten and again.kernel is k


def test_a_renamed_copy_hits_the_normalised_caches(tmp_path, monkeypatch) -> None:
    path = tmp_path / "c.sqlite"
    first = TensorizePass(targets=("x86",), cache=ProofCache(path)).run(_matmul(), LIB)
    renamed = _matmul("other", "row", "col", "red")
    # no proof, no validation, no interpreter run: all found under normalised keys
    _forbid(monkeypatch, "prove", "validate", "refute_by_execution")
    c = ProofCache(path)
    again = TensorizePass(targets=("x86",), cache=c).run(renamed, LIB)
    assert c.hits > 0
    assert again.counts() == first.counts()
    assert [f.chosen.intrinsic for f in again.fragments] == \
        [f.chosen.intrinsic for f in first.fragments]
    assert again.fragments[0].chosen.checks[-1] == "execution agreed (cached)"
    assert "for row in" in format_function(again.rewritten)


def test_other_options_or_library_miss(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    k = _matmul()
    TensorizePass(targets=("x86",), cache=ProofCache(path)).run(k, LIB)
    c = ProofCache(path)
    TensorizePass(targets=("x86",), execution_check=False, cache=c).run(k, LIB)
    assert c.get_decision("no such key") is None
    key = TensorizePass(targets=("x86",), cache=c)._decision_key(k, LIB, None)
    smaller = {n: f for n, f in LIB.as_dict().items() if "vpdpbusd_bcast" not in n}
    assert TensorizePass(targets=("x86",), cache=c)._decision_key(k, smaller, None) != key
    assert TensorizePass(targets=("x86",), fp="real", cache=c)._decision_key(
        k, LIB, None) != key
    assert TensorizePass(targets=("x86",), cache=c)._decision_key(k, LIB, {"M": 8}) != key


def test_unknown_is_never_stored(tmp_path) -> None:
    from tensorize.equivalence.results import Unknown

    c = ProofCache(tmp_path / "c.sqlite")
    c.put_result("k", Unknown("ieee", 0.0, "timeout"))
    assert c.get_result("k") is None
    cache_mod.memo_put("k", Unknown("ieee", 0.0, "timeout"))
    assert cache_mod.memo_get("k") is None


def test_an_unreadable_entry_is_a_miss(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "c.sqlite"
    c = ProofCache(path)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO blobs VALUES ('x', 'decision', ?)", (b"not a pickle",))
    assert c.get_decision("x") is None and c.misses == 1
