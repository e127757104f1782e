"""print -> parse round trips, and interpreter paths agreeing on generated kernels."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given

from tensorize.api import load_library
from tensorize.ir import interp
from tensorize.ir.check import check_module
from tensorize.ir.parser import parse, parse_file
from tensorize.ir.printer import format_module
from tests.conftest import EXAMPLES, ROOT
from tests.strategies import modules
from tests.test_interp import assert_same

FILES = sorted(EXAMPLES.glob("*.tz")) + sorted((ROOT / "intrinsic_specs").rglob("*.tz"))
LIB = load_library()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_files_round_trip(path: Path) -> None:
    module = parse_file(path)
    text = format_module(module)
    assert parse(text) == module
    assert format_module(parse(text)) == text  # canonical form is a fixed point
    checked = check_module(module, LIB)
    assert check_module(parse(format_module(checked)), LIB) == checked


@given(modules())
def test_generated_kernels_round_trip(module) -> None:
    checked = check_module(module)
    text = format_module(checked)
    assert check_module(parse(text)) == checked


@given(modules())
def test_vector_and_scalar_interpreters_agree(module) -> None:
    fn = check_module(module).kernels[0]
    inputs = interp.random_inputs(fn, seed=7)
    vec = interp.run(fn, inputs)
    sca = interp.run(fn, inputs, mode="scalar")
    for name in vec:
        assert_same(vec[name], sca[name])


def test_fmt_check_and_output(cli, tmp_path: Path) -> None:
    src = tmp_path / "a.tz"
    src.write_text("kernel k{out C:i32[4]\nfor i in 0..4{C[i]=1}}")
    assert cli(["fmt", str(src), "--check"]).code == 1
    result = cli(["fmt", str(src), "-o", str(tmp_path / "b.tz")])
    assert result.code == 0
    assert cli(["fmt", str(tmp_path / "b.tz"), "--check"]).code == 0
    assert src.read_text().startswith("kernel k{")  # the input is never modified
