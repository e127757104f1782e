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
