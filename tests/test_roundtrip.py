"""print -> parse round trips, and interpreter paths agreeing on generated kernels."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensorize.api import load_library
from tensorize.ir import interp
from tensorize.ir.check import check_module
from tensorize.ir.parser import parse, parse_file
from tensorize.ir.printer import format_module
from tests.conftest import EXAMPLES, ROOT
from tests.strategies import modules
from tests.test_interp import assert_same

FILES = (sorted(EXAMPLES.glob("*.tz")) + sorted((ROOT / "intrinsic_specs").rglob("*.tz"))
         + sorted((ROOT / "docs" / "examples").glob("*.tz"))
         + sorted((ROOT / "bench" / "corpus").glob("*.tz")))
LIB = load_library()


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
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


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_bundled_files_are_canonical(path: Path, cli) -> None:
    """Every bundled example, spec and corpus file passes `fmt --check`, comments kept."""
    result = cli(["fmt", "--check", str(path)])
    assert result.code == 0, result.err
    module = parse_file(path)
    texts = [c.text for c in module.layout.comments]
    assert texts == [c.text for c in parse(format_module(module)).layout.comments]


COMMENTED = """\
# file header
# second line

# before kernel
kernel k(N = 8) {  # header trailing
  # before decl
  in A: f32[N]  # decl trailing
  out C: f32[N]
  # before loop
  for i in 0..N {  # loop header
    # first stmt
    C[i] = A[i]  # assign
    if i < 4 { C[i] += 1.0
      # end of then
    } else {  # else line
      C[i] = 0.0  # a
      # end of else
    }  # after if
    if i < 2 { C[i] = 1.0 } else if i < 3 { C[i] = 2.0 }  # chained
    C[i] = C[i] +  # first part
      1.0  # second part
    # end of loop body
  }  # loop end
  # end of kernel
}  # kernel end
# between
intrinsic t.inc {
  target t  # tgt
  inout c: i32[4]
  for i in 0..4 { c[i] += 1 }  # one line
}
# trailing file comment
"""

COMMENTED_FMT = """\
# file header
# second line

# before kernel
kernel k(N = 8) {  # header trailing
  # before decl
  in A: f32[N]  # decl trailing
  out C: f32[N]

  # before loop
  for i in 0..N {  # loop header
    # first stmt
    C[i] = A[i]  # assign
    if i < 4 {
      C[i] += 1.0
      # end of then
    } else {  # else line
      C[i] = 0.0  # a
      # end of else
    }  # after if
    if i < 2 {
      C[i] = 1.0
    } else {
      if i < 3 {
        C[i] = 2.0
      }  # chained
    }
    # first part
    # second part
    C[i] += 1.0
    # end of loop body
  }  # loop end
  # end of kernel
}  # kernel end

# between
intrinsic t.inc {
  target t  # tgt
  inout c: i32[4]

  for i in 0..4 {
    c[i] += 1
  }  # one line
}

# trailing file comment
"""


def test_fmt_keeps_comments_in_canonical_places(cli, tmp_path: Path) -> None:
    src = tmp_path / "c.tz"
    src.write_text(COMMENTED)
    result = cli(["fmt", str(src)])
    assert result.code == 0, result.err
    assert result.out == COMMENTED_FMT
    assert parse(result.out) == parse(COMMENTED)  # the meaning is unchanged
    again = tmp_path / "d.tz"
    again.write_text(result.out)
    assert cli(["fmt", "--check", str(again)]).code == 0  # idempotent


@st.composite
def _commented(draw):  # type: ignore[no-untyped-def]
    """A printed generated module with comments put at random line ends and between lines."""
    module = draw(modules())
    lines = format_module(check_module(module)).splitlines()
    out = []
    for n, line in enumerate(lines):
        if draw(st.booleans()) and draw(st.booleans()):
            out.append(f"{' ' * draw(st.integers(0, 6))}# before {n}")
        trailing = draw(st.booleans()) and line.strip()
        out.append(f"{line}  # after {n}" if trailing else line)
    if draw(st.booleans()):
        out.append("# at the end")
    return "\n".join(out) + "\n"


@given(_commented())
def test_fmt_with_comments_is_idempotent_and_keeps_meaning(text: str) -> None:
    module = parse(text)
    once = format_module(module)
    assert parse(once) == module
    assert format_module(parse(once)) == once
    assert sorted(c.text for c in parse(once).layout.comments) == \
        sorted(c.text for c in module.layout.comments)
