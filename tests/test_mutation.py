"""A slice of the mutation campaign: mutants are killed, recognised, or caught by models."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fuzz.mutation import main


def test_mutation_slice(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    assert main(["--only", "vpdpbusd_bcast_xmm", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    outcomes = {r["outcome"] for r in rows}
    assert "killed" in outcomes and "equivalent" in outcomes
    commuted = [r for r in rows if r["operator"] == "commute product"]
    assert commuted and all(r["outcome"] == "equivalent" for r in commuted)
    for r in rows:
        if r["outcome"] == "survived":
            assert r["caught_by_model"], r
    flips = [r for r in rows if r["operator"] == "flip signedness" and r["outcome"] != "invalid"]
    assert flips and all(r["outcome"] == "killed" for r in flips)
