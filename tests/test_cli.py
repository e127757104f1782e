"""The command line: run, --set, --seed, --version, --help."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT

LINE = re.compile(r"^(\S+)  (\w+): (\w+)\[([\d, ]*)\]  checksum ([0-9a-f]{16})  sum (\S+)$")


def test_run_prints_a_checksum_per_output(cli) -> None:
    result = cli(["run", str(EXAMPLES / "qmatmul.tz")])
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert [LINE.match(x).group(1) for x in lines] == ["qmatmul_nt", "qmatmul_nn"]


def test_run_set_and_seed(cli) -> None:
    a = cli(["run", str(EXAMPLES / "qmatmul.tz"), "--kernel", "qmatmul_nt", "--set", "M=4"])
    assert "i32[4, 128]" in a.out
    b = cli(["run", str(EXAMPLES / "qmatmul.tz"), "--kernel", "qmatmul_nt", "--set", "M=4",
             "--seed", "1"])
    assert LINE.match(a.out.strip()).group(5) != LINE.match(b.out.strip()).group(5)


def test_rewrite_and_original_give_the_same_checksum(cli) -> None:
    a = cli(["run", str(EXAMPLES / "qmatmul.tz"), "--kernel", "qmatmul_nt"])
    b = cli(["run", str(EXAMPLES / "qmatmul_vnni.tz")])
    assert a.code == b.code == 0
    assert a.out == b.out


def test_scalar_flag_gives_same_checksum(cli) -> None:
    args = ["run", str(EXAMPLES / "matmul_f32.tz"), "--set", "M=6", "--set", "N=5",
            "--set", "K=7"]
    assert cli(args).out == cli(args + ["--scalar"]).out


def test_version(cli) -> None:
    from tensorize import __version__

    result = cli(["--version"])
    assert result.code == 0 and __version__ in result.out


@pytest.mark.parametrize("command", [[], ["run"], ["fmt"], ["prove"], ["check-spec"],
                                     ["intrinsics"], ["apply"], ["explain"]])
def test_help_for_every_subcommand(cli, command) -> None:
    result = cli(command + ["--help"])
    assert result.code == 0
    assert "usage: tensorize" in result.out


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run([sys.executable, "-m", "tensorize", "run",
                           str(EXAMPLES / "gemv.tz"), "--set", "M=8"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("checksum") == 2


# -- outputs ----------------------------------------------------------------------------
@pytest.mark.parametrize("what", ["fmt", "apply", "report"])
def test_outputs_get_normal_permissions(cli, tmp_path, what) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        out = tmp_path / "out.tz"
        if what == "fmt":
            result = cli(["fmt", str(EXAMPLES / "gemv.tz"), "-o", str(out)])
        elif what == "apply":
            result = cli(["apply", str(EXAMPLES / "gemv.tz"), "--no-cache", "-o", str(out)])
        else:
            out = tmp_path / "r.json"
            result = cli(["apply", str(EXAMPLES / "gemv.tz"), "--no-cache", "--report",
                          str(out), "-o", str(tmp_path / "x.tz")])
        assert result.code == 0, result.err
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        os.umask(0o077)
        again = tmp_path / "again.tz"
        assert cli(["fmt", str(EXAMPLES / "gemv.tz"), "-o", str(again)]).code == 0
        assert stat.S_IMODE(again.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))  == []


def test_out_dir_is_created_and_files_are_written(cli, tmp_path) -> None:
    import stat

    out = tmp_path / "new"
    result = cli(["apply", str(EXAMPLES / "gemv.tz"), str(EXAMPLES / "qmatmul.tz"),
                  "--no-cache", "--out-dir", str(out), "--target", "x86"])
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == ["gemv.tz", "qmatmul.tz"]
    assert "call x86." in (out / "qmatmul.tz").read_text()
    assert stat.S_IMODE((out / "gemv.tz").stat().st_mode) & 0o044  # readable by others


def test_smtlib_directory_is_created(cli, tmp_path) -> None:
    f = str(ROOT / "tests" / "equiv" / "vnni.tz")
    out = tmp_path / "smt"
    result = cli(["prove", f"{f}:spec", f"{f}:flattened", "--smtlib", str(out)])
    assert result.code == 0, result.out + result.err
    assert out.is_dir()


# -- closed stdout, progress --------------------------------------------------------------
@pytest.mark.parametrize("argv", [["intrinsics"],
                                  ["apply", str(EXAMPLES / "qmatmul.tz"), "--no-cache",
                                   "--target", "x86.avx512_vnni"]])
def test_a_closed_stdout_ends_quietly(argv) -> None:
    import os

    # the reader is gone before the first write (as `| head -1` is, once it has its line)
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "tensorize", *argv], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)
    finally:
        os.close(write)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Exception ignored" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert "internal error" not in proc.stderr
    assert proc.returncode == 141, proc.stderr


def test_head_gets_its_line() -> None:
    command = f"{sys.executable} -m tensorize intrinsics | head -1"
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.stdout.startswith("name ") and len(proc.stdout.splitlines()) == 1
    assert proc.stderr == ""


def test_no_progress_bar_when_stderr_is_piped(tmp_path) -> None:
    files = [str(EXAMPLES / n) for n in ("gemv.tz", "matmul_f32.tz", "qmatmul.tz")]
    proc = subprocess.run([sys.executable, "-m", "tensorize", "apply", *files, "--no-cache",
                           "--target", "x86.avx512_vnni", "--out-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "it/s" not in proc.stderr and "%|" not in proc.stderr
    assert all(line.startswith(("examples/", "    ", str(EXAMPLES)))
               for line in proc.stderr.splitlines()), proc.stderr


def test_a_progress_bar_on_a_terminal(cli, monkeypatch, tmp_path) -> None:
    import io

    from tensorize.cli import main

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Tty()
    files = [str(EXAMPLES / n) for n in ("gemv.tz", "matmul_f32.tz")]
    code = main(["apply", *files, "--no-cache", "--out-dir", str(tmp_path)], io.StringIO(),
                err)
    assert code == 0
    assert "tensorize apply" in err.getvalue() and "\r" in err.getvalue()


# -- bench --------------------------------------------------------------------------------
def test_bench_runs_with_two_jobs(cli, tmp_path) -> None:
    import json

    # "11_" picks six entries from two corpus files (one job each before; a pool now)
    result = cli(["bench", "--jobs", "2", "--only", "11_", "--no-cache",
                  "--out", str(tmp_path)])
    assert result.code == 0, result.out + result.err
    data = json.loads((tmp_path / "corpus.json").read_text())
    assert len(data["rows"]) == 6 and data["summary"]["mismatches"] == 0
    manifest = json.loads((ROOT / "bench" / "corpus" / "manifest.json").read_text())
    expected = [(e["kernel"], e["target"]) for e in manifest["entries"]
                if "11_" in e["kernel"]]
    assert len({r["file"] for r in data["rows"]}) == 2
    assert [(r["kernel"], r["target"]) for r in data["rows"]] == expected  # manifest order
    assert "with 2 job(s)" in result.out


# -- the whole-command time bound --------------------------------------------------------
def test_prove_timeout_bounds_the_whole_command(cli, tmp_path) -> None:
    import time

    vnni = (EXAMPLES / "qmatmul_vnni.tz").read_text()
    wrong = vnni.replace("a = (k) -> A[i, 4 * ko + k]", "a = (k) -> A[i, 4 * ko + 3 - k]")
    assert wrong != vnni
    mutant = tmp_path / "mutant.tz"
    mutant.write_text(wrong)
    start = time.monotonic()
    result = cli(["prove", f"{EXAMPLES / 'qmatmul.tz'}:qmatmul_nt", f"{mutant}:qmatmul_nt",
                  "--timeout", "2"])
    elapsed = time.monotonic() - start
    assert result.code == 3, result.out + result.err
    assert "time budget of 2 s ran out during" in result.out
    assert elapsed <= 2 + 1

