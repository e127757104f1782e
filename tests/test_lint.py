"""The code stays ruff clean, and mypy finds no error in the package."""

import importlib.util
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff", path=str(ROOT / ".venv" / "bin")) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed; install the 'test' extra")
    proc = subprocess.run([ruff, "check", "tensorize", "tests", "bench"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_clean() -> None:
    """``mypy`` (the project's settings in pyproject.toml) reports no error in tensorize/."""
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed; install the 'test' extra")
    cache = ROOT / ".venv" / "mypy-cache"
    proc = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache),
                           "tensorize"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
