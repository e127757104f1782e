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
