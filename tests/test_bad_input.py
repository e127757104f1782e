"""Every malformed or ill-typed input ends in one clear diagnostic and exit code 2."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import TESTS

CASES = sorted(p.stem for p in (TESTS / "bad_input").glob("*.tz"))

GENERATED = {
    "deep_loops": lambda: "kernel k {\n  out C: i32[1]\n"
    + "".join(f"for i{n} in 0..1 {{\n" for n in range(10_000))
    + "C[0] = 0\n" + "}\n" * 10_000 + "}\n",
    "deep_parens": lambda: "kernel k {\n  out C: i32[1]\n  C[0] = "
    + "(" * 10_000 + "1" + ")" * 10_000 + "\n}\n",
    "long_chain": lambda: "kernel k {\n  out C: i32[1]\n  C[0] = "
    + " + ".join(["1"] * 10_000) + "\n}\n",
    "deep_unary": lambda: "kernel k {\n  out C: i32[1]\n  C[0] = " + "~" * 10_000 + "1\n}\n",
}

DIAGNOSTIC = re.compile(r"^[^:\n]+\.tz:\d+:\d+: error: [^\n]+\n[^\n]*\n[ \t]*\^$")


def _check_diagnostic(result, golden, name: str) -> None:
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    text = result.err.rstrip("\n")
    first = text.split("\n")[:3]
    assert DIAGNOSTIC.match("\n".join(first)), text
    golden(f"bad_input/{name}.err", result.err)


@pytest.mark.parametrize("name", CASES)
def test_bad_input_diagnostic(name: str, cli, golden, tmp_path: Path, monkeypatch) -> None:
    shutil.copy(TESTS / "bad_input" / f"{name}.tz", tmp_path / f"{name}.tz")
    monkeypatch.chdir(tmp_path)
    result = cli(["run", f"{name}.tz"])
    _check_diagnostic(result, golden, name)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_bad_input(name: str, cli, golden, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / f"{name}.tz").write_text(GENERATED[name]())
    monkeypatch.chdir(tmp_path)
    result = cli(["run", f"{name}.tz"])
    _check_diagnostic(result, golden, name)


def test_at_least_thirty_cases() -> None:
    assert len(CASES) + len(GENERATED) >= 30


@pytest.mark.parametrize("name", ["unexpected_token", "binary_junk", "empty"])
def test_nothing_written_on_bad_input(name: str, cli, tmp_path: Path, monkeypatch) -> None:
    shutil.copy(TESTS / "bad_input" / f"{name}.tz", tmp_path / "in.tz")
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "in.tz").read_bytes()
    result = cli(["fmt", "in.tz", "-o", "out.tz"])
    assert result.code == 2
    assert not (tmp_path / "out.tz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tz"]
    assert (tmp_path / "in.tz").read_bytes() == before


def test_missing_file(cli, tmp_path: Path) -> None:
    result = cli(["run", str(tmp_path / "nope.tz")])
    assert result.code == 2
    assert "no such file" in result.err


def test_usage_errors_exit_2(cli) -> None:
    assert cli(["run"]).code == 2
    assert cli(["frobnicate"]).code == 2
    assert cli(["run", "examples/qmatmul.tz", "--set", "M"]).code == 2
    assert cli(["run", "examples/qmatmul.tz", "--set", "Q=3"]).code == 2
