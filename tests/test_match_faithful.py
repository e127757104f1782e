"""The rewritten file is the user's file: size parameters kept (tile counts and tails
computed from them, so the rewrite is right at every size), comments and buffer names
kept, and ``fmt --check`` passes on it. A rewrite that holds only at the sizes it was
made for (a fused group, a library call) keeps those sizes fixed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SOURCE = """# A file of kernels with comments.

# y += a * x, fused, on a vector whose length is no multiple of 16
kernel axpy(N = 70) {
  in a: f32
  in x: f32[N]  # the input
  inout y: f32[N]

  # one fma per element
  for i in 0..N {
    y[i] = fma(a, x[i], y[i])
  }
}

# an int8 GEMM, B read transposed; tails in two dimensions
kernel qgemm(M = 3, N = 35, K = 70) {
  in A: u8[M, K]
  in B: i8[N, K]
  out C: i32[M, N]

  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(B[j, k])
      }
    }
  }
}

# nothing here is tensorized: kept as written
kernel prefix(N = 16) {
  in x: i32[N]
  out s: i32[N]

  s[0] = x[0]
  for i in 1..N {
    s[i] = s[i - 1] + x[i]  # a recurrence
  }
}
"""


def _apply(cli, tmp_path: Path, *extra: str) -> str:
    src = tmp_path / "k.tz"
    src.write_text(SOURCE)
    out = tmp_path / "out.tz"
    result = cli(["apply", str(src), "--no-cache", "--target", "x86", "-o", str(out),
                  *extra])
    assert result.code == 0, result.err
    return out.read_text()


def _checksums(cli, path: Path, kernel: str, sets: list[str]) -> str:
    argv = ["run", str(path), "--kernel", kernel]
    for s in sets:
        argv += ["--set", s]
    result = cli(argv)
    assert result.code == 0, result.err
    return result.out


def test_sizes_comments_and_names_are_kept(cli, tmp_path: Path) -> None:
    text = _apply(cli, tmp_path)
    assert "call x86.fma.vfmadd231ps" in text  # rewritten ...
    assert "kernel axpy(N = 70) {" in text  # ... with its size parameter
    assert "in x: f32[N]  # the input" in text
    assert re.search(r"for io in 0\.\.N / 16 \{", text)
    assert "for i in N / 16 * 16..N {" in text  # the tail, from N
    for comment in ("# A file of kernels with comments.", "# one fma per element",
                    "# an int8 GEMM, B read transposed; tails in two dimensions",
                    "# a recurrence"):
        assert comment in text
    # the untouched kernel is printed as written
    assert "kernel prefix(N = 16) {" in text and "s[i] = s[i - 1] + x[i]" in text


def test_rewritten_file_passes_fmt_check(cli, tmp_path: Path) -> None:
    _apply(cli, tmp_path)
    result = cli(["fmt", "--check", str(tmp_path / "out.tz")])
    assert result.code == 0, result.out + result.err


@pytest.mark.parametrize("kernel,sets", [
    ("axpy", []), ("axpy", ["N=5"]), ("axpy", ["N=16"]), ("axpy", ["N=100"]),
    ("axpy", ["N=0"]),
    ("qgemm", []), ("qgemm", ["M=2", "N=9", "K=13"]), ("qgemm", ["N=0"]),
])
def test_rewritten_kernel_is_right_at_other_sizes(cli, tmp_path: Path, kernel: str,
                                                  sets: list[str]) -> None:
    _apply(cli, tmp_path)
    src = tmp_path / "k.tz"
    assert _checksums(cli, tmp_path / "out.tz", kernel, sets) == \
        _checksums(cli, src, kernel, sets)


def test_set_sizes_become_the_defaults(cli, tmp_path: Path) -> None:
    text = _apply(cli, tmp_path, "--set", "N=48")
    assert "kernel axpy(N = 48) {" in text


def test_a_rewrite_that_holds_only_at_its_sizes_keeps_them_fixed(cli, tmp_path: Path
                                                                 ) -> None:
    src = tmp_path / "dot.tz"
    src.write_text("""# a dot product, a library call in real mode
kernel dot(N = 2048) {
  in x: f32[N]
  in y: f32[N]
  inout r: f32

  for i in 0..N {
    r += x[i] * y[i]
  }
}
""")
    out = tmp_path / "out.tz"
    result = cli(["apply", str(src), "--no-cache", "--target", "blas", "--fp", "real",
                  "-o", str(out)])
    assert result.code == 0, result.err
    text = out.read_text()
    assert "call blas.sdot(" in text and "N = 2048" in text
    assert "kernel dot {" in text  # the call's sizes are the proof's: no parameter
    assert "# a dot product, a library call in real mode" in text
    assert cli(["fmt", "--check", str(out)]).code == 0
