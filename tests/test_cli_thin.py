"""The command line is a thin layer over the façade: ``tensorize/cli.py`` imports no
module of the package but ``tensorize.api``, ``tensorize.errors`` and the package's
``__version__`` (at module level or inside a function), so every command's work is done
by a function of :mod:`tensorize.api` that other callers can use too."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

CLI = ROOT / "tensorize" / "cli.py"
ALLOWED_MODULES = {"tensorize.api", "tensorize.errors"}
ALLOWED_FROM_PACKAGE = {"api", "errors", "__version__"}
"""Names the CLI may import with ``from tensorize import ...``."""


def package_imports(source: str) -> list[tuple[int, str]]:
    """Every import of a ``tensorize`` module in ``source`` that the CLI may not make:
    (line, what), anywhere in the file (module level, functions, conditionals)."""
    wrong = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            wrong += [(node.lineno, a.name) for a in node.names
                      if a.name.split(".")[0] == "tensorize" and a.name not in ALLOWED_MODULES]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import is of the package itself
                wrong.append((node.lineno, "." * node.level + (node.module or "")))
            elif node.module == "tensorize":
                wrong += [(node.lineno, f"tensorize.{a.name}") for a in node.names
                          if a.name not in ALLOWED_FROM_PACKAGE]
            elif (node.module or "").split(".")[0] == "tensorize" \
                    and node.module not in ALLOWED_MODULES:
                wrong.append((node.lineno, str(node.module)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "import_module":  # importlib.import_module("tensorize.x")
            wrong += [(node.lineno, str(a.value)) for a in node.args
                      if isinstance(a, ast.Constant) and str(a.value).startswith("tensorize")]
    return sorted(wrong)


def test_the_cli_imports_only_the_facade() -> None:
    wrong = package_imports(CLI.read_text())
    assert not wrong, "\n".join(f"tensorize/cli.py:{line}: imports {what}"
                                for line, what in wrong)


def test_the_check_sees_every_kind_of_import() -> None:
    """The checker finds imports of internals wherever they are (so the test above can
    fail), and lets the façade through."""
    source = ("from tensorize import __version__, api\n"
              "from tensorize.errors import UsageError\n"
              "import tensorize.api\n"
              "from tensorize.ir.nodes import Function\n"
              "def f():\n"
              "    from tensorize.intrinsics import host\n"
              "    import tensorize.deadline\n"
              "    if True:\n"
              "        from tensorize import outputs\n"
              "    from . import canonical\n"
              "    importlib.import_module('tensorize.rewrite.engine')\n")
    assert package_imports(source) == [
        (4, "tensorize.ir.nodes"), (6, "tensorize.intrinsics"), (7, "tensorize.deadline"),
        (9, "tensorize.outputs"), (10, "."), (11, "tensorize.rewrite.engine")]


def test_the_cli_reaches_no_internal_module_through_the_facade() -> None:
    """No ``api.<module>.<name>`` chains: the CLI uses the façade's own names."""
    tree = ast.parse(CLI.read_text())
    import tensorize.api as api

    chains = [f"line {n.lineno}: api.{n.value.attr}.{n.attr}" for n in ast.walk(tree)
              if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)
              and isinstance(n.value.value, ast.Name) and n.value.value.id == "api"]
    assert not chains, chains
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "api"}
    assert used <= set(api.__all__), sorted(used - set(api.__all__))


def test_the_cli_is_small() -> None:
    """Argument parsing and printing only: the work is in the façade."""
    assert len(Path(CLI).read_text().splitlines()) < 500
