"""MLIR out: .tz kernels (plain and rewritten) as affine/arith/memref MLIR, read back."""

from __future__ import annotations

import numpy as np
import pytest

from tensorize import api
from tensorize.frontends.mlir_parse import parse_mlir
from tests.conftest import EXAMPLES, ROOT
from tests.mlir_helpers import check_mlir_opt

LIB = api.load_library()
CORPUS = ROOT / "bench" / "corpus"


def corpus_kernel(file: str, name: str):
    module, _ = api.load_with_callees(CORPUS / file, LIB)
    fn = module.get(name)
    assert fn is not None
    return fn


def test_golden_export(golden, tmp_path):
    module = api.load(EXAMPLES / "qmatmul_for_mlir.tz")
    text = api.export_mlir(module.kernels, library=LIB)
    golden("mlir/qmatmul_export.mlir", text)
    parse_mlir(text)
    check_mlir_opt(text, tmp_path)


# representative corpus kernels: int8 GEMM (nt, nn), GEMV, a non-tensor one
ROUND_TRIP = [("gemm.tz", "gemm_u8i8_nt_16x512x128"), ("gemm.tz", "gemm_u8i8_nn_16x512x128"),
              ("gemv.tz", "gemv_512x16"),
              ("nontensor.tz", "blend")]


@pytest.mark.parametrize("file,name", ROUND_TRIP, ids=[n for _, n in ROUND_TRIP])
def test_round_trip_is_proved_equal(file, name, tmp_path):
    """.tz -> MLIR -> .tz is proved equivalent by our own engine."""
    fn = corpus_kernel(file, name)
    text = api.export_mlir([fn], library=LIB)
    check_mlir_opt(text, tmp_path)
    back = api.import_mlir(text, f"{name}.mlir", LIB).functions[0]
    assert [(b.name, b.mode, b.dtype) for b in back.buffers] == \
        [(b.name, b.mode, b.dtype) for b in fn.buffers]
    result = api.prove(fn, back, timeout=30)
    assert result.status == "proved", result


@pytest.mark.parametrize("file,name", ROUND_TRIP[:3], ids=[n for _, n in ROUND_TRIP[:3]])
def test_same_decisions_through_mlir(file, name, tmp_path):
    """Tensorizing the MLIR form makes the rewrite the .tz form gets; the rewritten MLIR
    parses (xDSL, mlir-opt) and runs to the same checksums as the rewritten .tz."""
    fn = corpus_kernel(file, name)
    via_tz = api.tensorize(fn, LIB)
    path = tmp_path / f"{name}.mlir"
    path.write_text(api.export_mlir([fn], library=LIB))
    tpass = api.make_pass(LIB)
    done = api.tensorize_any(str(path), LIB, tpass, {})
    got = [(f["statement"], (f.get("chosen") or {}).get("intrinsic")) for f in
           done.reports[0]["fragments"]]
    want = [(f.position, f.chosen.intrinsic if f.chosen else None) for f in via_tz.fragments]
    assert got == want and any(x for _, x in want)
    assert "func.call @" in done.text and "func.func private @" in done.text
    parse_mlir(done.text)
    check_mlir_opt(done.text, tmp_path)
    rewritten = api.import_mlir(done.text, "out.mlir", LIB).functions[0]
    a = api.run(via_tz.rewritten, library=LIB)
    b = api.run(rewritten, library=LIB)
    for buf in fn.outputs:
        assert np.array_equal(a[buf.name], b[buf.name])


EXACT = """
kernel exact(N = 8) {
  in  A: i32[N]
  in  B: i32[N]
  in  S: u8[N]
  in  X: f32[N]
  out Q: i32[N]
  out R: i32[N]
  out L: u8[N]
  out H: i32[N]
  out F: i8[N]
  out G: u16[N]
  out T: i8[N]
  for i in 0..N {
    Q[i] = A[i] / B[i]
    R[i] = A[i] % B[i]
    L[i] = S[i] << S[i] >> u8(1)
    H[i] = A[i] >> B[i]
    F[i] = i8(X[i])
    G[i] = u16(X[i])
    T[i] = sat_i8(A[i]) + i8(select(i < 4, 1, 2)) + i8(f32(i) * 2.0)
  }
}
"""


def test_export_keeps_tz_meaning_where_mlir_is_undefined(tmp_path):
    """Division by zero, MIN / -1, shifts by the width or more, float-to-int out of range
    and NaN: the exported MLIR computes the .tz values (checked by importing it back and
    running both on those inputs)."""
    fn = api.parse(EXACT).functions[0]
    text = api.export_mlir([fn], library=LIB)
    check_mlir_opt(text, tmp_path)
    back = api.import_mlir(text, "exact.mlir", LIB).functions[0]
    imin = np.iinfo(np.int32).min
    inputs = {
        "A": np.array([7, -7, imin, 5, -1, 100, 300, -300], np.int32),
        "B": np.array([0, 0, -1, 2, 40, 31, 32, 33], np.int32),
        "S": np.array([0, 1, 7, 8, 9, 200, 255, 3], np.uint8),
        "X": np.array([np.nan, np.inf, -np.inf, 1e10, -1e10, 127.9, -128.9, 65535.5],
                      np.float32)}
    want = api.run(fn, inputs)
    got = api.run(back, inputs)
    for name in want:
        assert np.array_equal(want[name], got[name]), name


def test_cli_export(cli, tmp_path):
    out = tmp_path / "gemv.mlir"
    result = cli(["export", str(EXAMPLES / "gemv.tz"), "-o", str(out)])
    assert result.code == 0, result.err
    parse_mlir(out.read_text())
    check_mlir_opt(out.read_text(), tmp_path)


def test_cli_export_needs_sizes(cli, tmp_path):
    path = tmp_path / "k.tz"
    path.write_text("kernel k(N) {\n  in A: f32[N]\n  out B: f32[N]\n"
                    "  for i in 0..N {\n    B[i] = A[i]\n  }\n}\n")
    result = cli(["export", str(path)])
    assert result.code == 2 and "--set" in result.err
    assert cli(["export", str(path), "--set", "N=3"]).code == 0


def test_apply_output_is_proved_against_the_input(cli, tmp_path):
    """A user checks our output: `prove IN.mlir OUT.mlir` (the transposed B view is a
    reinterpret_cast, read back as the rewriter's view) is proved structurally."""
    out = tmp_path / "out.mlir"
    result = cli(["apply", str(EXAMPLES / "qmatmul.mlir"), "--target", "x86.avx512_vnni",
                  "-o", str(out)])
    assert result.code == 0, result.err
    assert "memref.reinterpret_cast %B" in out.read_text()
    result = cli(["prove", str(EXAMPLES / "qmatmul.mlir"), f"{out}:qmatmul"])
    assert result.code == 0, result.out + result.err
    assert "tile proof + validated rewrite" in result.out


FUSED = """
kernel conv1d_fused {
  in  X: u8[12, 8]
  in  F: i8[3, 8, 16]
  out Y: i32[8, 16]
  for t in 0..8 {
    for o in 0..16 {
      Y[t, o] = 0
      for r in 0..3 {
        for c in 0..8 {
          Y[t, o] += i32(X[t + 2 * r, c]) * i32(F[r, c, o])
        }
      }
    }
  }
}
"""


FUSED_REWRITE = """
kernel conv1d_fused {
  in X: u8[12, 8]
  in F: i8[3, 8, 16]
  out Y: i32[8, 16]
  for t in 0..8 {
    for o in 0..16 {
      Y[t, o] = 0
    }
  }
  for t in 0..8 {
    for oo in 0..1 {
      for r_co in 0..6 {
        call x86.avx512_vnni.vpdpbusd_bcast(
            a = (r_c) -> X[t + 2 * ((4 * r_co + r_c) / 8), (4 * r_co + r_c) % 8],
            b = (o, r_c) -> F[(4 * r_co + r_c) / 8, (4 * r_co + r_c) % 8, 16 * oo + o],
            c = (o) -> Y[t, 16 * oo + o])
      }
    }
  }
}
"""


def test_fused_tile_views_are_exported(tmp_path):
    """A convolution whose (r, c) loops are fused into the intrinsic's k (the rewrite
    written out: the chooser prefers plain c tiles here at equal cost): the views divide
    the fused index; each tile lies in one r, so it is a strided subview."""
    fn = api.parse(FUSED).functions[0]
    rewritten = api.parse(FUSED_REWRITE, library=LIB.intrinsics).functions[0]
    assert api.prove(fn, rewritten, timeout=60, library=LIB).status == "proved"
    text = api.export_mlir([rewritten], library=LIB)
    assert "floordiv" in text and "memref.subview %X" in text
    check_mlir_opt(text, tmp_path)
    back = api.import_mlir(text, "fused.mlir", LIB).functions[0]
    a, b = api.run(rewritten, library=LIB), api.run(back, library=LIB)
    assert np.array_equal(a["Y"], b["Y"])
    assert np.array_equal(a["Y"], api.run(fn)["Y"])


def test_split_dims_refuses_a_tile_crossing_a_group():
    """(4*o + k) % 6 with k in 0..4 is not offset + k for every o: refused."""
    from tensorize.frontends.mlir_export import split_dims
    from tensorize.ir.nodes import Binary, Const, Var
    from tensorize.ir.types import INDEX

    def fused(m: int) -> Binary:  # (4*o + k) % m
        four_o = Binary("*", Const(4, INDEX), Var("o"), INDEX)
        return Binary("%", Binary("+", four_o, Var("k"), INDEX), Const(m, INDEX), INDEX)

    e = fused(6)
    assert split_dims(e, {"k": 4}, {}) is None
    e8 = fused(8)
    split = split_dims(e8, {"k": 4}, {})
    assert split is not None and split[1] == {"k": 1}


GUARDS = """
kernel guards_else(N = 8) {
  in  A: f32[N]
  out B: f32[N]
  for i in 0..N {
    if i == 0 || i >= N - 1 {
      B[i] = 0.0
    } else if i % 2 == 0 && !(i == 4) {
      B[i] = A[i - 1] + A[i + 1]
    } else {
      B[i] = A[i]
    }
  }
}
"""


def test_if_round_trip(tmp_path):
    """`if` / `else if` / `else` become scf.if on index comparisons and come back."""
    fn = api.parse(GUARDS).functions[0]
    text = api.export_mlir([fn], library=LIB)
    assert "scf.if" in text
    check_mlir_opt(text, tmp_path)
    back = api.import_mlir(text, "guards.mlir", LIB).functions[0]
    assert api.prove(fn, back).status == "proved"


def test_data_dependent_scf_if_is_refused():
    from tensorize.errors import TensorizeError

    text = """func.func @f(%A: memref<4xf32>) {
  %z = arith.constant 0.0 : f32
  affine.for %i = 0 to 4 {
    %a = affine.load %A[%i] : memref<4xf32>
    %c = arith.cmpf olt, %a, %z : f32
    scf.if %c {
      affine.store %z, %A[%i] : memref<4xf32>
    }
  }
  return
}"""
    with pytest.raises(TensorizeError) as exc:
        api.import_mlir(text, "d.mlir", LIB)
    assert "scf.if on data" in exc.value.message and exc.value.span.line == 6


def test_locals_and_float_max_round_trip_to_the_same_statements():
    """softmax: locals (alloca + a zero linalg.fill, skipped on import), float max (the
    select MLIR form of .tz max), 1e-05-style constants: the imported kernel has the same
    statements, so the engine sees the same fragments."""
    module, _ = api.load_with_callees(CORPUS / "nontensor.tz", LIB)
    for name in ("softmax", "maxpool", "rmsnorm"):
        fn = module.get(name)
        back = api.import_mlir(api.export_mlir([fn], library=LIB), "x.mlir", LIB)
        mine = back.functions[0]
        assert len(mine.body) == len(fn.body), name
        a = api.tensorize(fn, LIB, targets=["x86.avx512_vnni"]).fragments
        b = api.tensorize(mine, LIB, targets=["x86.avx512_vnni"]).fragments
        assert [f.position for f in a] == [f.position for f in b] and a, name


CROSSING = """
kernel conv_nchw_small {
  in  X: u8[1, 4, 6, 6]
  in  F: i8[16, 4, 3, 3]
  out Y: i32[1, 16, 4, 4]
  for ko in 0..16 {
    for oh in 0..4 {
      for ow in 0..4 {
        Y[0, ko, oh, ow] = 0
        for c in 0..4 {
          for rh in 0..3 {
            for rw in 0..3 {
              Y[0, ko, oh, ow] += i32(X[0, c, oh + rh, ow + rw]) * i32(F[ko, c, rh, rw])
            }
          }
        }
      }
    }
  }
}
"""


def test_gather_views_of_inputs_are_packed(tmp_path):
    """(c, rh, rw) fused with tiles of 4 crossing rh/rw: no memref view describes the
    inputs' views, so they are copied into scratch buffers the call reads."""
    fn = api.parse(CROSSING).functions[0]
    result = api.tensorize(fn, LIB, targets=["x86.avx512_vnni"])
    assert result.changed
    text = api.export_mlir([result.rewritten], library=LIB)
    assert "memref.alloca() : memref<4xi8>" in text
    check_mlir_opt(text, tmp_path)
    back = api.import_mlir(text, "crossing.mlir", LIB).functions[0]
    a, b = api.run(result.rewritten, library=LIB), api.run(back, library=LIB)
    assert np.array_equal(a["Y"], b["Y"]) and np.array_equal(a["Y"], api.run(fn)["Y"])
