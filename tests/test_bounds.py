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


# -- the quick bound with division: never "safe" where an access leaves its buffer --------

def _index_env_eval(e: object, env: dict[str, int]) -> int:
    from tensorize.ir.nodes import Binary, Const, Unary, Var
    if isinstance(e, Const):
        return int(e.value)
    if isinstance(e, Var):
        return env[e.name]
    if isinstance(e, Unary):
        return -_index_env_eval(e.operand, env)
    assert isinstance(e, Binary)
    a, b = _index_env_eval(e.lhs, env), _index_env_eval(e.rhs, env)
    return {"+": a + b, "-": a - b, "*": a * b, "/": a // b if b else 0,
            "%": a % b if b else 0}[e.op]


def _points(loops: tuple[tuple[str, object, object], ...], env: dict[str, int]
            ) -> list[dict[str, int]]:
    if not loops:
        return [dict(env)]
    (var, lo, hi), rest = loops[0], loops[1:]
    out = []
    for v in range(_index_env_eval(lo, env), _index_env_eval(hi, env)):
        out += _points(rest, {**env, var: v})
    return out


@pytest.mark.parametrize("seed", range(6))
def test_quick_bound_with_division_agrees_with_enumeration(seed: int) -> None:
    """Random tiled, tailed and fused index expressions: whenever the quick check (which
    replaces ``/`` and ``%`` by bounded names) says an access is safe, enumerating every
    size up to a few tiles and every loop point finds no access outside the buffer; and it
    does say "safe" for the usual tile and tail shapes (so the test is not vacuous)."""
    import random

    from tensorize.ir.bounds import _quick_safe
    from tensorize.ir.nodes import Binary, Const, Var
    from tensorize.ir.types import INDEX

    rng = random.Random(seed)

    def c(v: int) -> Const:
        return Const(v, INDEX)

    def var(n: str) -> Var:
        return Var(n, INDEX)

    def b(op: str, x: object, y: object) -> Binary:
        return Binary(op, x, y, INDEX)  # type: ignore[arg-type]

    claimed = 0
    for _ in range(300):
        t = rng.choice([2, 3, 4, 8])
        n = var("N")
        shapes = [
            (("jo", c(0), b("/", n, c(t))), ("j", c(0), c(t))),
            (("j", b("*", b("/", n, c(t)), c(t)), n),),
            (("a", c(0), c(rng.randint(1, 5))), ("b", c(0), c(t))),
            (("jo", c(0), b("/", n, c(t))), ("j", c(0), c(t)), ("a", c(0), c(3))),
        ]
        loops = rng.choice(shapes)
        names = [v for v, _lo, _hi in loops]
        e: object = c(rng.randint(-1, 1))
        for name in names:
            e = b("+", e, b("*", c(rng.choice([0, 1, 1, 2, t, -1])), var(name)))
        if rng.random() < 0.5:
            e = b(rng.choice(["/", "%"]), e, c(rng.choice([2, 3, t])))
        if rng.random() < 0.3:
            e = b("+", e, var(rng.choice(names)))
        extent = rng.choice([n, c(rng.randint(1, 12)), b("*", b("/", n, c(t)), c(t)),
                             b("+", n, c(rng.randint(-1, 2)))])
        zero = frozenset(rng.choice([(), ("N",)]))
        safe = _quick_safe(e, extent, loops, zero)  # type: ignore[arg-type]
        if not safe:
            continue
        claimed += 1
        for size in range(0 if zero else 1, 4 * t + 3):
            for point in _points(loops, {"N": size}):
                value, limit = _index_env_eval(e, point), _index_env_eval(extent, point)
                assert 0 <= value < limit, (e, extent, loops, point)
    assert claimed >= 8


def test_quick_bound_settles_tiles_tails_and_fused_indices() -> None:
    """The shapes the rewriter emits need no solver: a tile under ``0..N / 32``, its tail
    from ``N / 32 * 32``, a fused ``(4 * a + b) / 3 % 3``, a constant ``64 / 16``."""
    from tensorize.ir.bounds import _quick_safe

    def ex(text: str) -> object:  # the checked expression: every name a size parameter
        names = "jo, j, N, i, oh, a, b, io"
        kernel = check_module(parse(f"kernel k({names}) {{\n out X: i32[{text}]\n}}")).kernels[0]
        return kernel.buffers[0].shape[0]

    cases = [
        ("32 * jo + j", "N", (("jo", "0", "N / 32"), ("j", "0", "32"))),
        ("i", "N", (("i", "N / 4 * 4", "N"),)),
        ("oh + (4 * a + b) / 3 % 3", "58", (("oh", "0", "56"), ("a", "0", "144"),
                                           ("b", "0", "4"))),
        ("(8 * a + b) / 9", "64", (("a", "0", "72"), ("b", "0", "8"))),
        ("16 * io + i", "64", (("io", "0", "64 / 16"), ("i", "0", "16"))),
    ]
    for index, extent, loops in cases:
        assert _quick_safe(ex(index), ex(extent),  # type: ignore[arg-type]
                           tuple((v, ex(lo), ex(hi)) for v, lo, hi in loops)), index
    # and one step past the end is not safe
    assert not _quick_safe(ex("32 * jo + j + 1"), ex("N"),  # type: ignore[arg-type]
                           (("jo", ex("0"), ex("N / 32")), ("j", ex("0"), ex("32"))))
