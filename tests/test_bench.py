"""A small slice of the benchmark corpus runs in the suite and matches its manifest."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT


def test_corpus_slice_matches_manifest(cli, tmp_path: Path) -> None:
    for only in ("gemv_512x16", "maxpool", "prefix_sum", "bert_pv"):
        out = tmp_path / only
        result = cli(["bench", "--only", only, "--no-cache", "--out", str(out)])
        assert result.code == 0, result.out
        data = json.loads((out / "corpus.json").read_text())
        assert data["summary"]["mismatches"] == 0
        assert len(data["rows"]) == 3  # x86, arm, nvidia
        assert (out / "corpus.md").read_text().startswith("| kernel |")


def test_non_tensor_work_is_never_tensorized(cli, tmp_path: Path) -> None:
    result = cli(["bench", "--only", "softmax", "--no-cache", "--out", str(tmp_path)])
    assert result.code == 0
    rows = json.loads((tmp_path / "corpus.json").read_text())["rows"]
    assert all(r["got"] is None for r in rows)


def test_manifest_covers_every_corpus_kernel() -> None:
    import re

    from bench.run import load_manifest

    entries = load_manifest()
    named = {(e["file"], e["kernel"]) for e in entries}
    corpus = ROOT / "bench" / "corpus"
    for path in corpus.rglob("*.tz"):
        for name in re.findall(r"^kernel (\w+)", path.read_text(), flags=re.M):
            assert (str(path.relative_to(corpus)), name) in named
    assert all(e["why"] for e in entries)


NEVER_CHOSEN: set[str] = set()
"""Bundled specs no corpus kernel is expected to choose (none: keep it so; a new spec
comes with its corpus kernel)."""


def test_the_manifest_expects_every_bundled_spec_somewhere() -> None:
    """Every spec of the library is the expected choice of at least one corpus entry, so a
    corpus run with no mismatch (the bench's exit code) shows that each is reachable."""
    import tensorize
    from bench.run import load_manifest

    expected = {e["expect"] for e in load_manifest() if e["expect"]}
    names = set(tensorize.load_library().as_dict())
    assert expected <= names, sorted(expected - names)
    assert names - expected == NEVER_CHOSEN
