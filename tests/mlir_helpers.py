"""Shared helpers of the MLIR tests: the mlir-opt check, with a skip that names the tool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

MLIR_OPT = next((p for p in (shutil.which("mlir-opt-19"), "/usr/lib/llvm-19/bin/mlir-opt",
                             shutil.which("mlir-opt")) if p and Path(p).exists()), None)


def check_mlir_opt(text: str, tmp_path: Path) -> None:
    """mlir-opt parses and verifies ``text`` (skipped, naming the tool, where absent)."""
    if MLIR_OPT is None:
        pytest.skip("mlir-opt (Debian package mlir-19-tools) is not installed")
    path = tmp_path / "check.mlir"
    path.write_text(text)
    done = subprocess.run([MLIR_OPT, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
