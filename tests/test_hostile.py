"""Hostile input beyond the golden bad-input files: size, time, races, limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

ASSOC = """kernel left {{
  in a: i32[{n}]
  in b: i32[{n}]
  in c: i32[{n}]
  out r: i32[{n}]
  for i in 0..{n} {{ r[i] = a[i] * (b[i] + c[i]) }}
}}
kernel right {{
  in a: i32[{n}]
  in b: i32[{n}]
  in c: i32[{n}]
  out r: i32[{n}]
  for i in 0..{n} {{ r[i] = a[i] * b[i] + a[i] * c[i] }}
}}
"""


def _cli(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tensorize", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def test_ten_thousand_statements_run_in_bounded_time(tmp_path: Path) -> None:
    body = "\n".join(f"  C[{i % 16}] = C[{i % 16}] + A[{i % 16}]" for i in range(10_000))
    src = tmp_path / "many.tz"
    src.write_text(f"kernel many {{\n  in A: i32[16]\n  out C: i32[16]\n{body}\n}}\n")
    start = time.perf_counter()
    proc = _cli(["run", str(src)])
    assert proc.returncode == 0, proc.stderr
    assert "checksum" in proc.stdout
    assert time.perf_counter() - start < 300


def test_a_proof_longer_than_the_timeout_is_unknown(tmp_path: Path) -> None:
    src = tmp_path / "assoc.tz"
    src.write_text(ASSOC.format(n=4))
    proc = _cli(["prove", f"{src}:left", f"{src}:right", "--rlimit", "1"])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "unknown" in proc.stdout and "never a proof" in proc.stdout


def test_unknown_tile_proof_means_no_rewrite_and_the_report_says_so(tmp_path: Path) -> None:
    spec = tmp_path / "hard.tz"
    spec.write_text("""intrinsic my.hard {
  summary "c += a * (b + a), which the solver must distribute"
  target my
  cost 1.0
  manual "none"
  in a: i32[4]
  in b: i32[4]
  inout c: i32[4]
  for i in 0..4 { c[i] += a[i] * (b[i] + a[i]) }
}""")
    kernel = tmp_path / "k.tz"
    kernel.write_text("""kernel k {
  in A: i32[64]
  in B: i32[64]
  out C: i32[64]
  for i in 0..64 { C[i] = 0
    C[i] += A[i] * B[i] + A[i] * A[i] }
}""")
    report = tmp_path / "r.json"
    proc = _cli(["apply", str(kernel), "--specs", str(spec), "--intrinsic", "my.hard",
                 "--rlimit", "1", "--no-cache", "--report", str(report),
                 "-o", str(tmp_path / "out.tz")])
    assert proc.returncode == 1, proc.stderr  # asked for my.hard, nothing rewritten
    data = json.loads(report.read_text())
    frag = data["kernels"][0]["fragments"][0]
    assert frag["chosen"] is None
    statuses = {a["status"] for a in frag["alternatives"]}
    assert "unknown" in statuses
    assert any("tile proof" in a["reason"] for a in frag["alternatives"])
    assert "call my.hard" not in (tmp_path / "out.tz").read_text()


def test_a_file_that_disappears_while_read(cli, monkeypatch, tmp_path: Path) -> None:
    src = tmp_path / "gone.tz"
    src.write_text("kernel k { out C: u8[4] }\n")

    def vanish(self):  # the file is deleted between the directory listing and the read
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(Path, "read_bytes", vanish)
    result = cli(["run", str(src)])
    assert result.code == 2 and "no such file" in result.err
    assert "Traceback" not in result.err


def test_a_directory_is_not_a_file(cli, tmp_path: Path) -> None:
    result = cli(["fmt", str(tmp_path)])
    assert result.code == 2 and "is a directory" in result.err


def test_huge_sizes_are_refused_before_allocating(cli) -> None:
    result = cli(["run", str(ROOT / "examples" / "qmatmul.tz"), "--set", "M=1099511627776"])
    assert result.code == 2 and "too large" in result.err


def test_apply_writes_nothing_for_bad_input(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tz"
    bad.write_text("kernel k {\n  out C: i32[4]\n  for i in 0..4 { C[i] = Q[i] }\n}\n")
    out, report = tmp_path / "out.tz", tmp_path / "r.json"
    result = cli(["apply", str(bad), "-o", str(out), "--report", str(report)])
    assert result.code == 2 and "unknown buffer 'Q'" in result.err
    assert not out.exists() and not report.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tz"]
