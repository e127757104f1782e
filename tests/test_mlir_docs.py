"""docs/mlir.md: every command of its console block runs and succeeds."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOC = (ROOT / "docs" / "mlir.md").read_text()


def commands() -> list[str]:
    block = DOC.split("```console\n", 1)[1].split("```", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def test_doc_commands_run(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    cmds = commands()
    assert len(cmds) >= 5
    for cmd in cmds:
        argv = shlex.split(cmd)
        if argv[0] == "xdsl-opt":
            tool = shutil.which("xdsl-opt", path=str(Path(sys.executable).parent))
            if tool is None:
                pytest.skip("xdsl-opt is not installed next to python")
            done = subprocess.run([tool, *argv[1:]], capture_output=True, text=True,
                                  timeout=300)
            assert done.returncode == 0, done.stderr
            assert "func.call @x86.avx512_vnni.vpdpbusd_bcast" in done.stdout
            continue
        result = cli(argv[1:])
        assert result.code == 0, (cmd, result.err)
    vnni = (tmp_path / "qmatmul_vnni.mlir").read_text()
    assert "func.call @x86.avx512_vnni.vpdpbusd_bcast" in vnni
