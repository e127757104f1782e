"""The static bounds check: out-of-bounds accesses are errors before any proof or run."""

from __future__ import annotations

import pytest

from tensorize.errors import CheckError
from tensorize.ir.check import check_module
from tensorize.ir.parser import parse

SAFE = {
    "guarded": """
kernel k(J = 4, K = 8) {
  in B: f32[J, K]
  out C: f32[J, K]
  for j in 0..J {
    for k in 0..K {
      if k + 1 < K {
        C[j, k] = B[j, k + 1]
      } else {
        C[j, k] = 0.0
      }
    }
  }
}
""",
    "triangular": """
kernel k(N = 8) {
  in A: f32[N]
  out C: f32[N]
  for i in 0..N {
    C[i] = 0.0
    for j in 0..i + 1 {
      C[i] += A[i - j]
    }
  }
}
""",
    "modulo": """
kernel k(N = 8) {
  in A: f32[4]
  out C: f32[N]
  for i in 0..N {
    C[i] = A[i % 4] + A[(i + 3) % 4]
  }
}
""",
    "tiled_tail": """
intrinsic t.inc {
  target t
  inout c: i32[4]
  for i in 0..4 { c[i] += 1 }
}
kernel k(N = 10) {
  inout C: i32[N]
  for io in 0..N / 4 {
    call t.inc(c = (i) -> C[4 * io + i])
  }
  for i in N / 4 * 4..N {
    C[i] += 1
  }
}
""",
    "guarded_tail_view": """
intrinsic t.inc {
  target t
  inout c: i32[4]
  for i in 0..4 { c[i] += 1 }
}
kernel k(N = 10) {
  inout C: i32[N]
  for io in 0..(N + 3) / 4 {
    if 4 * io + 4 <= N {
      call t.inc(c = (i) -> C[4 * io + i])
    } else {
      for i in 4 * io..N {
        C[i] += 1
      }
    }
  }
}
""",
    "flattened": """
kernel k(M = 3, N = 5) {
  in A: f32[M * N]
  out C: f32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = A[i * N + j]
    }
  }
}
""",
}


@pytest.mark.parametrize("name", sorted(SAFE))
def test_safe_accesses_pass(name: str) -> None:
    check_module(parse(SAFE[name]))


UNSAFE = {
    # the same guard, but the access sits in the branch where it does not hold
    "else_branch": (SAFE["guarded"].replace("C[j, k] = B[j, k + 1]", "C[j, k] = 0.0", 1)
                    .replace("C[j, k] = 0.0\n      }\n", "C[j, k] = B[j, k + 1]\n      }\n"),
                    "index k + 1 of 'B' reaches 8 at k = 7"),
    "loose_guard": (SAFE["guarded"].replace("k + 1 < K", "k < K"),
                    "index k + 1 of 'B' reaches 8"),
    "flattened_wrong_stride": (SAFE["flattened"].replace("i * N + j", "i * M + j"),
                               "of 'A'"),
    "view_of_a_view_tail": (SAFE["tiled_tail"].replace("0..N / 4", "0..(N + 3) / 4"),
                            "index 4 * io + i of 'C' reaches 10"),
}


@pytest.mark.parametrize("name", sorted(UNSAFE))
def test_unsafe_accesses_are_errors(name: str) -> None:
    text, expected = UNSAFE[name]
    with pytest.raises(CheckError) as info:
        check_module(parse(text, "k.tz"))
    message, span = info.value.diagnostics()[0]
    assert expected in message, message
    assert span is not None and span.line > 1


def test_error_names_the_sizes_that_break_it() -> None:
    text = """
kernel k(N = 8, K = 4) {
  in A: f32[N]
  out C: f32[K]
  for i in 0..K {
    C[i] = A[i]
  }
}
"""
    with pytest.raises(CheckError) as info:
        check_module(parse(text))
    message = info.value.diagnostics()[0][0]
    assert "can reach K - 1 but dimension 0 has size N" in message
    assert "the default sizes are safe" in message
    # the sizes it names do break the access
    assert "N = 1, K = 2" in message


def test_sizes_without_defaults_are_checked_for_all_values() -> None:
    text = """
intrinsic t.shift(N) {
  target t
  in a: i32[N]
  out c: i32[N]
  for i in 0..N { c[i] = a[N - 1 - i] }
}
intrinsic t.bad(N) {
  target t
  in a: i32[N]
  out c: i32[N]
  for i in 0..N { c[i] = a[N - i] }
}
"""
    with pytest.raises(CheckError) as info:
        check_module(parse(text))
    errors = info.value.diagnostics()
    assert len(errors) == 1
    assert "index N - i of 'a'" in errors[0][0]


def test_if_else_parses() -> None:
    """`if ... { } else { }` crashed the parser (exit 70) before the bounds work."""
    fn = check_module(parse(SAFE["guarded"])).kernels[0]
    assert "else" in str(fn)


CONV_FLAT = """
kernel k(N = 2, C = 3, H = 8, W = 8, R = 3, S = 3, K = 4) {
  in X: f32[N * C * (H + R - 1) * (W + S - 1)]
  in F: f32[K * C * R * S]
  out Y: f32[N * K * H * W]
  for n in 0..N {
    for k in 0..K {
      for h in 0..H {
        for w in 0..W {
          Y[((n * K + k) * H + h) * W + w] = 0.0
          for c in 0..C {
            for r in 0..R {
              for s in 0..S {
                Y[((n * K + k) * H + h) * W + w] += X[((n * C + c) * (H + R - 1) + h + r) * (W + S - 1) + w + s] * F[((k * C + c) * R + r) * S + s]
              }
            }
          }
        }
      }
    }
  }
}
"""  # noqa: E501


def test_flattened_layouts_need_no_solver(monkeypatch) -> None:
    """Products of sizes are settled by the quick polynomial bound, for every size."""
    from tensorize.ir import bounds

    def no_solver(*args):  # type: ignore[no-untyped-def]
        raise AssertionError("the solver was asked")

    monkeypatch.setattr(bounds, "_solve", no_solver)
    check_module(parse(CONV_FLAT))


def test_flattened_layout_off_by_one() -> None:
    text = CONV_FLAT.replace("(W + S - 1) + w + s]", "(W + S - 1) + w + s + 1]")
    with pytest.raises(CheckError) as info:
        check_module(parse(text))
    message = info.value.diagnostics()[0][0]
    assert "of 'X' ranges over 1..=600 but dimension 0 has size" in message
    assert "= 600 (default sizes" in message


def test_constant_index_out_of_bounds() -> None:
    """A constant index has no variable in the solver's model; it was taken for safe."""
    text = "kernel k {\n  in A: f32[4]\n  out C: f32[1]\n  C[0] = A[4]\n}\n"
    with pytest.raises(CheckError) as info:
        check_module(parse(text))
    assert "index 4 of 'A' is 4 but dimension 0 has size 4" in info.value.diagnostics()[0][0]


def test_a_size_whose_default_is_zero_is_checked_at_zero() -> None:
    """Safe for every P >= 1, out of bounds at the default P = 0."""
    text = """
kernel k(P = 0) {
  in A: f32[4 * P]
  out C: f32[4]
  for i in 0..4 {
    C[i] = A[i * P + P - 1]
  }
}
"""
    with pytest.raises(CheckError) as info:
        check_module(parse(text))
    assert "(default sizes P = 0)" in info.value.diagnostics()[0][0]
    check_module(parse(text.replace("P = 0", "P = 1")))
