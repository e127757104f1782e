"""The commands of docs/adding-an-instruction.md work as the document says."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT

SPEC = str(ROOT / "docs" / "examples" / "vpdpbssd.tz")
KERNEL = str(ROOT / "docs" / "examples" / "smatmul.tz")
NAME = "x86.avx_vnni_int8.vpdpbssd_bcast"


def test_worked_example(cli, tmp_path: Path) -> None:
    check = cli(["check-spec", SPEC])
    assert check.code == 0 and "1 checked, 0 with problems" in check.out
    out = tmp_path / "smatmul_vnni.tz"
    applied = cli(["apply", KERNEL, "--specs", SPEC, "--intrinsic", NAME, "-o", str(out)])
    assert applied.code == 0, applied.err
    assert "coverage 100%" in applied.err
    assert f"call {NAME}(" in out.read_text()
    original = cli(["run", KERNEL])
    rewritten = cli(["run", str(out), "--specs", SPEC])
    assert original.code == rewritten.code == 0
    assert original.out == rewritten.out


def test_the_doc_names_the_commands_it_runs() -> None:
    text = (ROOT / "docs" / "adding-an-instruction.md").read_text()
    for command in ("tensorize check-spec", "tensorize apply", "tensorize run"):
        assert command in text
