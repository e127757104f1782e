"""--timeout T bounds the whole of ``apply`` and ``explain`` (within T + 1 s), as for
``prove``: on expiry the answer is unknown (exit 3) with the stage it was in, and nothing
is written."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tensorize.deadline import Expired, call_with_deadline

ROOT = Path(__file__).resolve().parents[1]
SLOWER = [str(ROOT / "bench" / "corpus" / name) for name in
          ("resnet18_nhwc.tz", "resnet18_nchw.tz", "conv_misc.tz")]
"""With ``--target arm --fp real --no-cache``: about 4 s of work on a quiet machine."""
SLOWER_ARGS = ["--target", "arm", "--fp", "real", "--no-cache"]
EXAMPLES = ROOT / "examples"


def test_apply_timeout_bounds_the_whole_command(cli, tmp_path) -> None:
    out = tmp_path / "out.tz"
    report = tmp_path / "r.json"
    start = time.monotonic()
    result = cli(["apply", SLOWER[0], *SLOWER_ARGS, "--timeout", "1", "-o", str(out),
                  "--report", str(report)])
    elapsed = time.monotonic() - start
    assert result.code == 3, result.out + result.err
    assert "unknown: the whole-command time budget of 1 s ran out during" in result.err
    assert "Traceback" not in result.err
    assert elapsed <= 1 + 1
    assert not out.exists() and not report.exists() and result.out == ""


def test_explain_timeout_bounds_the_whole_command(cli, tmp_path, monkeypatch) -> None:
    # a fresh proof cache (another test may have proved these tiles) and a budget well
    # under the ~2 s of work explaining every candidate of this intrinsic takes on the
    # ResNet-18 convolutions in real mode (48 of them refuted, each with its
    # counterexample), on a quiet machine
    monkeypatch.setenv("TENSORIZE_CACHE_DIR", str(tmp_path))
    start = time.monotonic()
    result = cli(["explain", SLOWER[0], "--intrinsic", "arm.sve256.usmmla", "--fp", "real",
                  "--timeout", "0.5"])
    elapsed = time.monotonic() - start
    assert result.code == 3, result.out + result.err
    assert "time budget of 0.5 s ran out during" in result.out
    assert elapsed <= 0.5 + 1


def test_a_sufficient_budget_changes_nothing(cli, tmp_path) -> None:
    plain = cli(["apply", str(EXAMPLES / "qmatmul.tz"), "--no-cache",
                 "--report", str(tmp_path / "a.json")])
    bounded = cli(["apply", str(EXAMPLES / "qmatmul.tz"), "--no-cache", "--timeout", "120",
                   "--report", str(tmp_path / "b.json")])
    assert plain.code == bounded.code == 0
    assert plain.out == bounded.out
    a = json.loads((tmp_path / "a.json").read_text())["kernels"]
    b = json.loads((tmp_path / "b.json").read_text())["kernels"]
    assert [k["counts"] for k in a] == [k["counts"] for k in b]
    assert [k["coverage"] for k in a] == [k["coverage"] for k in b]
    explained = cli(["explain", str(EXAMPLES / "qmatmul.tz"), "--intrinsic",
                     "x86.avx512_vnni.vpdpbusd_bcast", "--timeout", "120"])
    assert explained.code == 0 and "USED" in explained.out


def test_errors_in_the_bounded_work_keep_their_exit_code(cli, tmp_path) -> None:
    bad = tmp_path / "bad.tz"
    bad.write_text("kernel k {\n  out C: i32[4]\n  C[9] = 1\n}\n")
    result = cli(["apply", str(bad), "--timeout", "30"])
    assert result.code == 2 and "error" in result.err and "Traceback" not in result.err


def _slow() -> int:
    time.sleep(30)
    return 1


def test_call_with_deadline_returns_or_expires() -> None:
    assert call_with_deadline(sum, ([1, 2, 3],), 30.0) == 6
    start = time.monotonic()
    got = call_with_deadline(_slow, (), 0.5)
    assert isinstance(got, Expired) and time.monotonic() - start < 1.5
    assert "budget of 0.5 s ran out" in got.reason


def test_the_command_line_budget_counts_from_the_process_start() -> None:
    import subprocess
    import sys

    code = ("import time; time.sleep(1.0); from tensorize.cli import _process_start; "
            "print(time.monotonic() - _process_start())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert 1.0 <= float(out) < 60


def test_apply_timeout_bounds_the_process(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TENSORIZE_CACHE_DIR": str(tmp_path)}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tensorize", "apply", *SLOWER, *SLOWER_ARGS,
                           "--timeout", "3"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)
    elapsed = time.monotonic() - start
    assert proc.returncode == 3, proc.stderr
    assert "time budget of 3 s ran out" in proc.stderr
    assert elapsed <= 3 + 1
