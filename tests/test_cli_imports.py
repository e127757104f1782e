"""Commands on .tz files do not pay for the MLIR front end (xDSL takes ~2 s to import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_prove_and_apply_on_tz_files_do_not_import_xdsl(tmp_path) -> None:
    code = (
        "import sys, io\n"
        "from tensorize.cli import main\n"
        "for argv in (['prove', 'examples/qmatmul.tz:qmatmul_nt',"
        " 'examples/qmatmul_vnni.tz:qmatmul_nt'],"
        " ['apply', 'examples/gemv.tz', '--target', 'x86.fma', '--no-cache']):\n"
        "    main(argv, io.StringIO(), io.StringIO())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'xdsl'"
        " or m.startswith('tensorize.frontends.mlir')))\n")
    env = {**os.environ, "TENSORIZE_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_cached_apply_imports_no_solver_numpy_parser_or_progress_bar(tmp_path) -> None:
    """The second ``apply`` of a file finds the library, the file's parse and the decision
    in the stores: it needs neither Z3, numpy, lark nor tqdm, and imports none (they are
    most of the time of such a run). The output is the same as the first run's."""
    code = (
        "import sys, io\n"
        "from tensorize.cli import main\n"
        "out = io.StringIO()\n"
        "code = main(['apply', 'examples/qmatmul.tz', '--target', 'x86.avx2'], out,"
        " io.StringIO())\n"
        "print(code, sorted(m for m in ('z3', 'numpy', 'lark', 'tqdm') if m in sys.modules))\n"
        "print(out.getvalue())\n")
    env = {**os.environ, "TENSORIZE_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=ROOT, env=env, timeout=300) for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
    first, second = (proc.stdout.split("\n", 1) for proc in runs)
    assert first[0] != "0 []"  # the first run did the work (and imported what it needed)
    assert second[0] == "0 []"
    assert second[1] == first[1]
    assert "call x86.avx2" in second[1]
