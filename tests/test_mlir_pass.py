"""The xDSL pass `tensorize`: from Python in a pipeline, and from xdsl-opt (entry point)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from xdsl.utils.exceptions import PassFailedException

from tensorize.frontends.mlir_apply import print_module
from tensorize.frontends.mlir_parse import mlir_context, parse_mlir
from tensorize.frontends.xdsl_pass import TensorizeMlirPass
from tests.conftest import EXAMPLES, ROOT
from tests.mlir_helpers import check_mlir_opt

QMATMUL = (EXAMPLES / "qmatmul.mlir").read_text()


def test_pass_from_python(tmp_path):
    module = parse_mlir(QMATMUL).module
    TensorizeMlirPass(target="x86.avx512_vnni").apply(mlir_context(), module)
    text = print_module(module)
    assert "func.call @x86.avx512_vnni.vpdpbusd_bcast" in text
    assert "func.func private @x86.avx512_vnni.vpdpbusd_bcast" in text
    assert "linalg.generic" not in text
    check_mlir_opt(text, tmp_path)


def test_pass_in_an_xdsl_pipeline():
    from xdsl.passes import PassPipeline

    module = parse_mlir(QMATMUL).module
    PassPipeline((TensorizeMlirPass(intrinsic="x86.avx512_vnni.vpdpbusd_bcast"),)).apply(
        mlir_context(), module)
    assert "func.call @x86.avx512_vnni.vpdpbusd_bcast" in print_module(module)


def test_pass_failure_is_a_diagnostic():
    module = parse_mlir(QMATMUL).module
    with pytest.raises(PassFailedException) as exc:
        TensorizeMlirPass(target="no.such.target").apply(mlir_context(), module)
    assert "no.such.target" in str(exc.value)


XDSL_OPT = shutil.which("xdsl-opt", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(XDSL_OPT is None, reason="xdsl-opt is not installed next to python")
def test_xdsl_opt_finds_the_pass(tmp_path):
    """`xdsl-opt -p 'tensorize{target="x86.avx512_vnni"}'` after `pip install -e .`."""
    assert XDSL_OPT is not None
    done = subprocess.run([XDSL_OPT, "-p", 'tensorize{target="x86.avx512_vnni"}',
                           str(EXAMPLES / "qmatmul.mlir")], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "func.call @x86.avx512_vnni.vpdpbusd_bcast" in done.stdout
    check_mlir_opt(done.stdout, tmp_path)
