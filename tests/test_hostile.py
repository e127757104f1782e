"""Hostile input beyond the golden bad-input files: size, time, races, limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


# -- every flag of every subcommand, with a bad value: exit 2, one line, no traceback ------
QM = str(ROOT / "examples" / "qmatmul.tz")
GEMV = str(ROOT / "examples" / "gemv.tz")
NT = f"{QM}:qmatmul_nt"
VNNI = "x86.avx512_vnni.vpdpbusd_bcast"

BAD_FLAGS: list[tuple[list[str], str]] = [
    # global
    (["--bogus"], "unrecognized arguments"),
    (["nosuchcommand"], "invalid choice"),
    # fmt
    (["fmt", "/no/such.tz"], "no such file"),
    (["fmt", QM, "-o", "{tmp}"], "is a directory"),
    (["fmt", QM, "-o", "/dev/full"], "not a regular file"),
    (["fmt", QM, "-o", "{tmp}/missing/out.tz"], "does not exist"),
    (["fmt", QM, "--check=yes"], "ignored explicit argument"),
    # run
    (["run", "/no/such.tz"], "no such file"),
    (["run", QM, "--kernel", "nosuch"], "no kernel 'nosuch'"),
    (["run", QM, "--seed", "-1"], "seed must be between 0"),
    (["run", QM, "--seed", "x"], "is not an integer"),
    (["run", QM, "--seed", str(2**64)], "seed must be between 0"),
    (["run", QM, "--set", "M=2^40"], "is not an integer"),
    (["run", QM, "--set", "M=-3"], "must not be negative"),
    (["run", QM, "--set", "=3"], "NAME=VALUE"),
    (["run", QM, "--set", "Q=3"], "no kernel has a size parameter Q"),
    (["run", QM, "--set", "M=1099511627776"], "too large"),
    (["run", QM, "--specs", "/no/such/dir"], "no such file"),
    (["run", QM, "--scalar=1"], "ignored explicit argument"),
    (["run", QM, "--backend", "java"], "invalid choice: 'java'"),
    (["run", QM, "--backend", "c", "--repeat", "0"], "--repeat must be between 1"),
    (["run", QM, "--backend", "c", "--threads", "x"], "is not an integer"),
    (["run", QM, "--signedness", "A"], "expected ARG=TYPE"),
    # export (MLIR)
    (["export", QM, "--kernel", "nosuch"], "no kernel 'nosuch'"),
    (["export", QM, "--set", "Q=3"], "no kernel has a size parameter Q"),
    (["export", QM, "--specs", "/no/such.tz"], "no such file"),
    (["export", QM, "--output", "{tmp}"], "is a directory"),
    # build (the C back end)
    (["build", QM, "--kernel", "nosuch", "-o", "{tmp}/o.c"], "no kernel 'nosuch'"),
    (["build", QM, "--specs", "/no/such.tz", "-o", "{tmp}/o.c"], "no such file"),
    (["build", QM, "--set", "Q=3", "-o", "{tmp}/o.c"], "no kernel has a size parameter Q"),
    (["build", QM, "--threads", "0", "-o", "{tmp}/o.c"], "--threads must be between 1"),
    (["build", QM, "-o", "{tmp}"], "is a directory"),
    # prove
    (["prove", NT], "the following arguments are required"),
    (["prove", NT, NT, "--signedness", "A=f32"], "expected ARG=TYPE"),
    (["prove", NT, "/no/such.tz:k"], "no such file"),
    (["prove", NT, NT, "--fp", "bogus"], "invalid choice: 'bogus'"),
    (["prove", NT, NT, "--solver", "yices"], "invalid choice: 'yices'"),
    (["prove", NT, NT, "--timeout", "nan"], "finite positive"),
    (["prove", NT, NT, "--timeout", "inf"], "finite positive"),
    (["prove", NT, NT, "--timeout", "0"], "finite positive"),
    (["prove", NT, NT, "--timeout", "-1"], "finite positive"),
    (["prove", NT, NT, "--timeout", "1e400"], "finite positive"),
    (["prove", NT, NT, "--timeout", "soon"], "not a number of seconds"),
    (["prove", NT, NT, "--rlimit", "-5"], "rlimit must be between 0"),
    (["prove", NT, NT, "--rlimit", str(2**40)], "rlimit must be between 0"),
    (["prove", NT, NT, "--set", "K=x"], "is not an integer"),
    (["prove", NT, NT, "--specs", "/no/such.tz"], "no such file"),
    (["prove", NT, NT, "--smtlib", "/dev/full"], "not a directory"),
    (["prove", NT, NT, "--smtlib", "{tmp}/missing/smt"], "does not exist"),
    (["prove", NT, NT, "--smtlib", QM], "not a directory"),
    (["prove", NT, NT, "--cross-check=1"], "ignored explicit argument"),
    (["prove", NT, NT, "--json=1"], "ignored explicit argument"),
    # check-spec
    (["check-spec"], "the following arguments are required"),
    (["check-spec", "/no/such.tz"], "no such file"),
    (["check-spec", QM, "--specs", "/no/such.tz"], "no such file"),
    (["check-spec", QM, "--no-bundled=1"], "ignored explicit argument"),
    # intrinsics
    (["intrinsics", "--target", "bogus"], "unknown target 'bogus'"),
    (["intrinsics", "--target", "x8"], "unknown target 'x8'"),
    (["intrinsics", "--specs", "/no/such.tz"], "no such file"),
    # apply
    (["apply"], "the following arguments are required"),
    (["apply", QM, "--signedness", "=u8"], "expected ARG=TYPE"),
    (["apply", QM, "--target", "bogus"], "unknown target 'bogus' (valid: "),
    (["apply", QM, "--intrinsic", "nope"], "unknown intrinsic 'nope' (valid: "),
    (["apply", QM, "--specs", "/no/such.tz"], "no such file"),
    (["apply", QM, "-o", "{tmp}"], "is a directory"),
    (["apply", QM, "-o", "/dev/full"], "not a regular file"),
    (["apply", QM, "-o", "{tmp}/missing/out.tz"], "does not exist"),
    (["apply", QM, GEMV, "-o", "{tmp}/x.tz"], "-o takes one input file"),
    (["apply", QM, "--out-dir", QM], "not a directory"),
    (["apply", QM, "--out-dir", "/dev/full"], "not a directory"),
    (["apply", QM, "--out-dir", "{tmp}/missing/dir"], "does not exist"),
    (["apply", QM, "--report", "{tmp}"], "is a directory"),
    (["apply", QM, "--report", "/dev/full"], "not a regular file"),
    (["apply", QM, "--report", "{tmp}/missing/r.json"], "does not exist"),
    (["apply", QM, "--fp", "bogus"], "invalid choice: 'bogus'"),
    (["apply", QM, "--timeout", "nan"], "finite positive"),
    (["apply", QM, "--timeout", "-1"], "finite positive"),
    (["apply", QM, "--rlimit", "-5"], "rlimit must be between 0"),
    (["apply", QM, "--set", "M=2^40"], "is not an integer"),
    (["apply", QM, "--jobs", "0"], "jobs must be between 1"),
    (["apply", QM, "--jobs", "-1"], "jobs must be between 1"),
    (["apply", QM, "--jobs", "10000"], "jobs must be between 1"),
    (["apply", QM, "--jobs", "two"], "is not an integer"),
    (["apply", QM, "--no-cache=1"], "ignored explicit argument"),
    # explain
    (["explain", QM], "the following arguments are required: --intrinsic"),
    (["explain", QM, "--intrinsic", "nope"], "unknown intrinsic 'nope' (valid: "),
    (["explain", QM, "--intrinsic", VNNI, "--kernel", "nosuch"], "no kernel 'nosuch'"),
    (["explain", QM, "--intrinsic", VNNI, "--specs", "/no/such.tz"], "no such file"),
    (["explain", QM, "--intrinsic", VNNI, "--fp", "bogus"], "invalid choice: 'bogus'"),
    (["explain", QM, "--intrinsic", VNNI, "--timeout", "inf"], "finite positive"),
    (["explain", QM, "--intrinsic", VNNI, "--rlimit", "-5"], "rlimit must be between 0"),
    (["explain", QM, "--intrinsic", VNNI, "--set", "M=-1"], "must not be negative"),
    # bench
    (["bench", "--jobs", "0"], "jobs must be between 1"),
    (["bench", "--jobs", "-1"], "jobs must be between 1"),
    (["bench", "--jobs", "10000"], "jobs must be between 1"),
    (["bench", "--slice", "-5"], "must be between 0"),
    (["bench", "--only", "no_such_kernel_anywhere"], "no corpus kernel"),
    (["bench", "--out", "/dev/full"], "not a directory"),
    (["bench", "--out", "{tmp}/missing/out"], "does not exist"),
    (["bench", "--cache-dir", "/dev/full"], "not a directory"),
    (["bench", "--no-cache=1"], "ignored explicit argument"),
    (["bench", "--bogus"], "unrecognized arguments"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_FLAGS,
                         ids=[" ".join(a).replace(str(ROOT), "") for a, _ in BAD_FLAGS])
def test_every_flag_refuses_a_bad_value(cli, tmp_path: Path, argv, message) -> None:
    import stat

    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    before = sorted(p.name for p in tmp_path.iterdir())
    if "/dev/full" in argv:  # an atomic rename onto it would replace the device by a file
        assert stat.S_ISCHR(Path("/dev/full").stat().st_mode), "/dev/full is not a device"
    result = cli(argv)
    if "/dev/full" in argv:
        assert stat.S_ISCHR(Path("/dev/full").stat().st_mode), "the device was replaced"
    assert result.code == 2, (result.code, result.out, result.err)
    assert message in result.err, result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    assert result.err.strip(), "a refusal says why"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_every_subcommand_flag_is_covered() -> None:
    """Each option of each subcommand appears with a bad value in BAD_FLAGS."""
    import argparse

    from tensorize.cli import build_parser

    covered = {(argv[0], a) for argv, _ in BAD_FLAGS for a in argv if a.startswith("-")}
    covered |= {(argv[0], a.split("=")[0]) for argv, _ in BAD_FLAGS for a in argv
                if a.startswith("--") and "=" in a}
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, p in sub.choices.items():
        if name == "bench":
            continue
        for action in p._actions:
            if not action.option_strings or "--help" in action.option_strings:
                continue
            if not any((name, o) in covered for o in action.option_strings):
                missing.append(f"{name} {action.option_strings[-1]}")
    assert not missing, missing


@pytest.mark.parametrize("argv", [["prove", NT, NT, "--timeout", "nan"],
                                  ["apply", QM, "--jobs", "0"],
                                  ["bench", "--jobs", "-1"]])
def test_bad_flags_in_a_real_process(argv) -> None:
    proc = _cli(argv, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["apply", QM, "--jobs", "1024", "--no-cache",
                                   "--target", "x86.avx512_vnni"],
                                  ["run", GEMV, "--seed", str(2**63 - 1), "--set", "M=4"],
                                  ["prove", NT, NT, "--rlimit", "0", "--set", "M=2"]])
def test_extreme_but_valid_values_work(cli, argv) -> None:
    result = cli(argv)
    assert result.code == 0, result.err


# -- no input in tests/bad_input ends in exit 70, whatever the command ----------------------
BAD_FILES = sorted((ROOT / "tests" / "bad_input").glob("*.tz"))
COMMANDS = {
    "fmt": lambda f, tmp: ["fmt", f, "-o", f"{tmp}/out.tz"],
    "run": lambda f, tmp: ["run", f, "--scalar"],
    "check-spec": lambda f, tmp: ["check-spec", f],
    "apply": lambda f, tmp: ["apply", f, "--no-cache", "-o", f"{tmp}/out.tz", "--report",
                             f"{tmp}/r.json"],
    "explain": lambda f, tmp: ["explain", f, "--intrinsic", VNNI],
    "prove": lambda f, tmp: ["prove", f, f, "--timeout", "5"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_bad_input_is_an_internal_error(cli, tmp_path: Path, command) -> None:
    assert len(BAD_FILES) > 50
    for f in BAD_FILES:
        result = cli(COMMANDS[command](str(f), tmp_path))
        assert result.code != 70, (f.name, result.err)
        assert "Traceback" not in result.err and "internal error" not in result.err, f.name
