"""The package's layers import only downward: ir <- equivalence <- matcher <- rewrite <- api <- cli.

Every ``import`` (module level or inside a function) of one ``tensorize`` module by another
is read with :mod:`ast`; a module may import its own layer or lower ones, never higher.
Also: Z3 is imported only by the Z3 back end of the solver seam
(``tensorize/smt/z3_backend.py``); every other module builds our own terms.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "tensorize"

LAYERS: dict[str, int] = {
    "errors": 0, "outputs": 0, "digests": 0, "lazy": 0, "pickles": 0, "intrinsics.host": 0,
    "smt": 0,
    "ir": 1,
    "equivalence": 2, "deadline": 2,
    "intrinsics": 3,
    "matcher": 4,
    "rewrite": 5, "canonical": 5,
    "backend": 6, "frontends": 6,
    "api": 7, "api_checks": 7, "api_load": 7, "api_native": 7, "api_prove": 7,
    "api_apply": 7, "api_library": 7, "__init__": 7, "frontends.xdsl_pass": 8,
    "cli": 8, "__main__": 8,
}
"""Each module's layer, by the longest dotted prefix of its name below ``tensorize``."""

Z3_MODULES = {"smt/z3_backend.py"}
"""The one module that imports z3: the Z3 back end (terms become Z3 terms only there)."""


def _layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in LAYERS:
            return LAYERS[key]
    raise AssertionError(f"tensorize.{module} has no layer in tests/test_layering.py")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__") or "__init__"
        out[name] = path
    return out


def _imports(path: Path, name: str) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package and package != "__init__" else []
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(["tensorize", *base] + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((mod, node.lineno))
            if mod == "tensorize":  # from tensorize import api (a module) or __version__
                found += [(f"tensorize.{a.name}" if (PACKAGE / a.name).exists()
                           or (PACKAGE / f"{a.name}.py").exists() else "tensorize.__init__",
                           node.lineno) for a in node.names]
    return found


def test_imports_go_downward() -> None:
    wrong = []
    for name, path in sorted(_modules().items()):
        mine = _layer(name)
        for mod, line in _imports(path, name):
            if not mod.startswith("tensorize."):
                continue
            target = mod.removeprefix("tensorize.")
            if _layer(target) > mine:
                wrong.append(f"tensorize/{path.relative_to(PACKAGE)}:{line}: {name} "
                             f"(layer {mine}) imports {target} (layer {_layer(target)})")
    assert not wrong, "\n".join(wrong)


def test_z3_only_in_the_z3_backend() -> None:
    users = set()
    for name, path in _modules().items():
        if any(mod == "z3" or mod.startswith("z3.") for mod, _ in _imports(path, name)):
            users.add(str(path.relative_to(PACKAGE)))
    assert users == Z3_MODULES, sorted(users ^ Z3_MODULES)


SOLVER_MAKERS = {"Solver", "SolverFor", "SimpleSolver", "Optimize", "Fixedpoint", "Tactic",
                 "Then", "OrElse", "ParThen", "TryFor", "With"}
"""The Z3 names that make a solver (or a tactic, which makes one)."""

SOLVER_SEAM = {"smt/z3_backend.py"}
"""Where Z3 solvers are made: the Z3 back end of the solver seam."""


def _solver_makers(path: Path) -> list[int]:
    """Lines of ``path`` that name a solver-making attribute of z3 (``z3.Solver``...)."""
    tree = ast.parse(path.read_text())
    lines = [node.lineno for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and node.attr in SOLVER_MAKERS
             and isinstance(node.value, ast.Name) and node.value.id == "z3"]
    lines += [node.lineno for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module == "z3"
              and any(a.name in SOLVER_MAKERS or a.name == "*" for a in node.names)]
    return lines


def test_solvers_are_made_only_behind_the_seam() -> None:
    """Every proof query goes through a back end (smt/backend.py): no module but
    the Z3 back end makes a Z3 solver."""
    wrong = [f"tensorize/{path.relative_to(PACKAGE)}:{line}"
             for path in PACKAGE.rglob("*.py") for line in _solver_makers(path)
             if str(path.relative_to(PACKAGE)) not in SOLVER_SEAM]
    assert not wrong, "a Z3 solver made outside the seam: " + ", ".join(wrong)


def test_the_solver_check_sees_a_solver(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("import z3\nfrom z3 import SolverFor\ndef f():\n    return z3.Solver()\n")
    assert sorted(_solver_makers(bad)) == [2, 4]


def test_the_layer_table_is_checked_on_a_violation(tmp_path: Path) -> None:
    """The checker sees a function-level upward import (so the test above can fail)."""
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from tensorize.cli import main\n")
    assert ("tensorize.cli", 2) in _imports(bad, "ir.x")
    assert _layer("cli") > _layer("ir.x")
