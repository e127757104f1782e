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


def test_names_imported_for_type_checking_only_are_not_used_at_run_time() -> None:
    """Lazy imports keep ``import tensorize`` cheap, and put names under ``TYPE_CHECKING``;
    a function that uses one at run time must import it itself (else: NameError)."""
    import ast

    wrong = []
    for path in sorted((ROOT / "tensorize").rglob("*.py")):
        tree = ast.parse(path.read_text())
        only_typing: set[str] = set()
        runtime: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                only_typing |= {(a.asname or a.name).split(".")[0] for n in ast.walk(node)
                                if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
            elif isinstance(node, ast.Import | ast.ImportFrom):
                runtime |= {(a.asname or a.name).split(".")[0] for a in node.names}
        only_typing -= runtime
        if not only_typing:
            continue
        annotations: set[int] = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
                args = n.args
                for a in (*args.args, *args.kwonlyargs, *args.posonlyargs, args.vararg,
                          args.kwarg):
                    if a is not None and a.annotation is not None:
                        annotations |= {id(x) for x in ast.walk(a.annotation)}
                if n.returns is not None:
                    annotations |= {id(x) for x in ast.walk(n.returns)}
            elif isinstance(n, ast.AnnAssign):
                annotations |= {id(x) for x in ast.walk(n.annotation)}
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            local = {(a.asname or a.name).split(".")[0] for n in ast.walk(fn)
                     if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
            wrong += [f"{path.relative_to(ROOT)}:{n.lineno}: {n.id} in {fn.name}"
                      for n in ast.walk(fn) if isinstance(n, ast.Name)
                      and n.id in only_typing and n.id not in local
                      and id(n) not in annotations]
    assert not sorted(set(wrong)), sorted(set(wrong))
