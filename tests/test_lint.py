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


def test_mypy_is_strict_and_every_ignore_says_why() -> None:
    """CI's mypy run is ``--strict`` (set in pyproject.toml), and a ``type: ignore`` names
    its error code and gives a reason, on its line or in a comment just above."""
    import re
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config.get("strict") is True
    bare = []
    for path in sorted((ROOT / "tensorize").rglob("*.py")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if "type: ignore" not in line:
                continue
            why = re.search(r"type: ignore\[[a-z, -]+\]\s+#\s*\S", line) or (
                re.search(r"type: ignore\[[a-z, -]+\]$", line) and i > 0
                and lines[i - 1].strip().startswith("#"))
            if not why:
                bare.append(f"{path.relative_to(ROOT)}:{i + 1}: {line.strip()}")
    assert not bare, "\n".join(bare)
