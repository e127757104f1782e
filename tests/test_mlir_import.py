"""MLIR in: func.func over memrefs (loops, arith, linalg) -> checked .tz kernels."""

from __future__ import annotations

import numpy as np
import pytest

from tensorize import api
from tensorize.errors import TensorizeError
from tensorize.frontends.mlir_import import import_text, kernel_functions
from tensorize.frontends.mlir_parse import parse_mlir
from tests.conftest import EXAMPLES

LIB = api.load_library()


def tz_of(text: str, **signedness: str) -> str:
    parsed = parse_mlir(text, "t.mlir")
    from tensorize.frontends.mlir_import import ImportOptions

    return import_text(parsed, kernel_functions(parsed.module)[0],
                       ImportOptions(signedness), LIB)


def kernel(text: str, **signedness: str):
    return api.import_mlir(text, "t.mlir", LIB, signedness).functions[0]


def test_golden_linalg_generic_u8_i8(golden):
    golden("mlir/qmatmul.tz", tz_of((EXAMPLES / "qmatmul.mlir").read_text()))


LOOPS = """
func.func @loops(%A: memref<16x?xf32>, %C: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %A, %c1 : memref<16x?xf32>
  affine.for %i = 0 to 16 {
    scf.for %j = %c0 to %n step %c1 {
      %a = affine.load %A[%i, %j] : memref<16x?xf32>
      %c = memref.load %C[%i] : memref<16xf32>
      %s = arith.addf %c, %a : f32
      affine.store %s, %C[%i] : memref<16xf32>
    }
  }
  return
}
"""


def test_golden_loops_dynamic_dims(golden):
    golden("mlir/loops.tz", tz_of(LOOPS))


def test_dynamic_dimension_is_a_size_parameter(cli, tmp_path):
    path = tmp_path / "loops.mlir"
    path.write_text(LOOPS)
    fn = kernel(LOOPS)
    assert [p.name for p in fn.params] == ["A_d1"]
    result = cli(["run", str(path), "--set", "A_d1=5"])
    assert result.code == 0, result.err
    assert "C: f32[16]" in result.out


NAMED = {
    "linalg.matmul ins(%A, %B : memref<4x8xi8>, memref<8x3xi8>) outs(%C : memref<4x3xi32>)":
        ("A: i8[4, 8]", "B: i8[8, 3]", "C: i32[4, 3]",
         "for m in 0..4 { for n in 0..3 { for k in 0..8 { "
         "C[m, n] += i32(A[m, k]) * i32(B[k, n]) } } }"),
    "linalg.matmul_transpose_b ins(%A, %B : memref<4x8xf32>, memref<3x8xf32>) "
    "outs(%C : memref<4x3xf32>)":
        ("A: f32[4, 8]", "B: f32[3, 8]", "C: f32[4, 3]",
         "for m in 0..4 { for n in 0..3 { for k in 0..8 { C[m, n] += A[m, k] * B[n, k] } } }"),
    "linalg.batch_matmul ins(%A, %B : memref<2x4x8xi16>, memref<2x8x3xi16>) "
    "outs(%C : memref<2x4x3xi32>)":
        ("A: i16[2, 4, 8]", "B: i16[2, 8, 3]", "C: i32[2, 4, 3]",
         "for b in 0..2 { for m in 0..4 { for n in 0..3 { for k in 0..8 { "
         "C[b, m, n] += i32(A[b, m, k]) * i32(B[b, k, n]) } } } }"),
    "linalg.matvec ins(%A, %B : memref<4x8xf32>, memref<8xf32>) outs(%C : memref<4xf32>)":
        ("A: f32[4, 8]", "B: f32[8]", "C: f32[4]",
         "for m in 0..4 { for n in 0..8 { C[m] += A[m, n] * B[n] } }"),
    "linalg.dot ins(%A, %B : memref<8xi8>, memref<8xi8>) outs(%C : memref<i32>)":
        ("A: i8[8]", "B: i8[8]", "C: i32",
         "for m in 0..8 { C += i32(A[m]) * i32(B[m]) }"),
    "linalg.conv_2d_nhwc_hwcf {strides = dense<2> : tensor<2xi64>, dilations = dense<1> : "
    "tensor<2xi64>} ins(%A, %B : memref<1x9x9x2xi8>, memref<3x3x2x4xi8>) "
    "outs(%C : memref<1x4x4x4xi32>)":
        ("A: i8[1, 9, 9, 2]", "B: i8[3, 3, 2, 4]", "C: i32[1, 4, 4, 4]",
         "for n in 0..1 { for oh in 0..4 { for ow in 0..4 { for f in 0..4 { "
         "for kh in 0..3 { for kw in 0..3 { for c in 0..2 { C[n, oh, ow, f] += "
         "i32(A[n, 2*oh + kh, 2*ow + kw, c]) * i32(B[kh, kw, c, f]) } } } } } } }"),
    "linalg.conv_2d_nchw_fchw {strides = dense<1> : tensor<2xi64>, dilations = dense<2> : "
    "tensor<2xi64>} ins(%A, %B : memref<1x2x7x7xf32>, memref<3x2x2x2xf32>) "
    "outs(%C : memref<1x3x5x5xf32>)":
        ("A: f32[1, 2, 7, 7]", "B: f32[3, 2, 2, 2]", "C: f32[1, 3, 5, 5]",
         "for n in 0..1 { for f in 0..3 { for oh in 0..5 { for ow in 0..5 { "
         "for c in 0..2 { for kh in 0..2 { for kw in 0..2 { C[n, f, oh, ow] += "
         "A[n, c, oh + 2*kh, ow + 2*kw] * B[f, c, kh, kw] } } } } } } }"),
}


@pytest.mark.parametrize("op", list(NAMED), ids=[k.split()[0] for k in NAMED])
def test_named_op_means_its_opdsl_definition(op):
    """Each named op imports to a kernel proved equal to its documented definition."""
    a, b, c, body = NAMED[op]
    types = op.split(":")[-1]  # not used: the memref types are in the op text
    del types
    args = ", ".join(f"%{x.split(':')[0]}: {t}" for x, t in zip(
        (a, b, c), _memref_types(op)))
    text = f"func.func @k({args}) {{\n  {op}\n  return\n}}\n"
    imported = kernel(text)
    spec = api.parse(f"kernel k {{\n in {a}\n in {b}\n inout {c}\n {body}\n}}\n")
    result = api.prove(imported, spec.functions[0], fp="ieee", timeout=30)
    assert result.status == "proved", result


def _memref_types(op: str) -> list[str]:
    import re

    return re.findall(r"memref<[^>]*>", op)[-3:]


def test_fill():
    text = """func.func @f(%C: memref<4x5xf32>) {
  %z = arith.constant -1.5 : f32
  linalg.fill ins(%z : f32) outs(%C : memref<4x5xf32>)
  return
}"""
    out = api.run(kernel(text))["C"]
    assert np.all(out == np.float32(-1.5))


ARITH = """
func.func @ops(%A: memref<8xi32>, %B: memref<8xi32>, %X: memref<8xf32>, %Y: memref<8xf32>,
               %Q: memref<8xi32>, %R: memref<8xi32>, %M: memref<8xf32>, %N: memref<8xf32>) {
  affine.for %i = 0 to 8 {
    %a = affine.load %A[%i] : memref<8xi32>
    %b = affine.load %B[%i] : memref<8xi32>
    %q = arith.divsi %a, %b : i32
    %r = arith.remsi %a, %b : i32
    affine.store %q, %Q[%i] : memref<8xi32>
    affine.store %r, %R[%i] : memref<8xi32>
    %x = affine.load %X[%i] : memref<8xf32>
    %y = affine.load %Y[%i] : memref<8xf32>
    %m = arith.maximumf %x, %y : f32
    %n = arith.minimumf %x, %y : f32
    affine.store %m, %M[%i] : memref<8xf32>
    affine.store %n, %N[%i] : memref<8xf32>
  }
  return
}
"""


def test_arith_semantics_exact():
    """divsi truncates toward zero, remsi has the dividend's sign; maximumf/minimumf
    propagate NaN and order -0.0 below +0.0 (IEEE 754-2019)."""
    fn = kernel(ARITH)
    nan = np.float32("nan")
    inputs = {
        "A": np.array([-7, 7, -7, 7, 5, -8, 0, 9], np.int32),
        "B": np.array([2, -2, -2, 2, 3, 3, 1, -4], np.int32),
        "X": np.array([0.0, -0.0, nan, 1.0, 2.0, -3.0, 0.0, -0.0], np.float32),
        "Y": np.array([-0.0, 0.0, 1.0, nan, 1.0, -3.0, 0.0, -0.0], np.float32),
        "Q": np.zeros(8, np.int32), "R": np.zeros(8, np.int32),
        "M": np.zeros(8, np.float32), "N": np.zeros(8, np.float32)}
    out = api.run(fn, inputs)
    assert list(out["Q"]) == [-3, -3, 3, 3, 1, -2, 0, -2]
    assert list(out["R"]) == [-1, 1, -1, 1, 2, -2, 0, 1]
    m, n = out["M"], out["N"]
    assert np.signbit(m[0]) == np.False_ and np.signbit(m[1]) == np.False_
    assert np.signbit(n[0]) and np.signbit(n[1])
    assert np.isnan(m[2]) and np.isnan(m[3]) and np.isnan(n[2]) and np.isnan(n[3])
    assert list(m[4:6]) == [2.0, -3.0] and list(n[4:6]) == [1.0, -3.0]
    assert not np.signbit(m[6]) and np.signbit(n[7])


SIGN_CONFLICT = """
func.func @f(%A: memref<4xi8>, %C: memref<4xi32>, %D: memref<4xi32>) {
  affine.for %i = 0 to 4 {
    %a = affine.load %A[%i] : memref<4xi8>
    %s = arith.extsi %a : i8 to i32
    %u = arith.extui %a : i8 to i32
    affine.store %s, %C[%i] : memref<4xi32>
    affine.store %u, %D[%i] : memref<4xi32>
  }
  return
}
"""


def test_signedness_conflict_asks_for_the_option():
    with pytest.raises(TensorizeError) as exc:
        kernel(SIGN_CONFLICT)
    assert "--signedness A=u8" in exc.value.message
    assert exc.value.span is not None and exc.value.span.line == 6


@pytest.mark.parametrize("ty", ["u8", "i8"])
def test_signedness_option_keeps_the_meaning(ty):
    fn = kernel(SIGN_CONFLICT, A=ty)
    assert fn.buffer("A").dtype.name == ty
    a = np.array([-1, 5, -128, 127], np.int8).view(ty.replace("i", "int").replace(
        "u", "uint") if False else np.dtype("u1" if ty == "u8" else "i1"))
    out = api.run(fn, {"A": a, "C": np.zeros(4, np.int32), "D": np.zeros(4, np.int32)})
    assert list(out["C"]) == [-1, 5, -128, 127]
    assert list(out["D"]) == [255, 5, 128, 127]


def test_signedness_from_extui_and_extsi():
    fn = kernel((EXAMPLES / "qmatmul.mlir").read_text())
    assert [b.dtype.name for b in fn.buffers] == ["u8", "i8", "i32"]
    assert [b.mode for b in fn.buffers] == ["in", "in", "inout"]


STALE = """
func.func @f(%A: memref<4xi32>) {
  %c0 = arith.constant 0 : index
  %a = memref.load %A[%c0] : memref<4xi32>
  affine.for %i = 0 to 4 {
    %b = arith.addi %a, %a : i32
    affine.store %b, %A[%i] : memref<4xi32>
  }
  return
}
"""


def test_value_loaded_before_a_store_in_the_loop_is_refused():
    """Inlining %a into the loop would read A[0] after the loop stored it: refused."""
    with pytest.raises(TensorizeError) as exc:
        kernel(STALE)
    assert "stored to" in exc.value.message


BAD = {
    "remf": ("""func.func @f(%A: memref<4xf32>) {
  affine.for %i = 0 to 4 {
    %a = affine.load %A[%i] : memref<4xf32>
    %b = arith.remf %a, %a : f32
    affine.store %b, %A[%i] : memref<4xf32>
  }
  return
}
""", 4, "arith.remf"),
    "parse": ("func.func @f(%A: memref<4xf32>) {\n  affine.for %i = 0 to {\n  }\n}\n", 2,
              "MLIR"),
    "iter_args": ("""func.func @f(%A: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %s = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %z) -> (f32) {
    %a = memref.load %A[%i] : memref<4xf32>
    %n = arith.addf %acc, %a : f32
    scf.yield %n : f32
  }
  return
}
""", 6, "iteration arguments"),
    "tensor": ("""func.func @f(%A: tensor<4x4xf32>, %B: tensor<4x4xf32>) {
  return
}
""", 1, "only memref arguments"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_a_located_diagnostic(cli, tmp_path, name):
    text, line, words = BAD[name]
    path = tmp_path / f"{name}.mlir"
    path.write_text(text)
    result = cli(["run", str(path)])
    if name == "tensor":  # nothing to import: a function without loops is no kernel
        assert result.code == 2 and "no kernel" in result.err
        return
    assert result.code == 2, result.err
    first, source, caret = result.err.splitlines()[:3]
    assert first.startswith(f"{path}:{line}:"), first
    assert words in first and "error:" in first
    assert source == text.splitlines()[line - 1]
    assert caret.strip() == "^"
    assert "Traceback" not in result.err


def test_unknown_call_inside_a_function_is_refused():
    text = """func.func @f(%A: memref<4xf32>) {
  affine.for %i = 0 to 4 {
    func.call @g(%A) : (memref<4xf32>) -> ()
  }
  return
}
func.func private @g(memref<4xf32>)
"""
    with pytest.raises(TensorizeError) as exc:
        kernel(text)
    assert "not a call of a known intrinsic" in exc.value.message


def test_prove_mlir_against_tz(cli):
    result = cli(["prove", str(EXAMPLES / "qmatmul.mlir") + ":qmatmul",
                  str(EXAMPLES / "qmatmul_for_mlir.tz")])
    assert result.code == 0, result.out + result.err
    assert result.out.startswith("proved")


FOREIGN = """module {
  func.func @with_call(%A: memref<4xf32>) {
    func.call @log_it(%A) : (memref<4xf32>) -> ()
    affine.for %i = 0 to 4 {
      %a = affine.load %A[%i] : memref<4xf32>
      affine.store %a, %A[%i] : memref<4xf32>
    }
    return
  }
  func.func private @log_it(memref<4xf32>)
}
"""


def test_op_outside_the_nests_leaves_the_function_unchanged(cli, tmp_path):
    """apply keeps a function with an op it does not understand outside its loop nests
    (and says so); run, which needs the whole function, reports the op."""
    path = tmp_path / "foreign.mlir"
    path.write_text(FOREIGN)
    out = tmp_path / "out.mlir"
    result = cli(["apply", str(path), "-o", str(out)])
    assert result.code == 0, result.err
    assert "@with_call: left unchanged" in result.err and ":3:" in result.err
    assert "func.call @log_it" in out.read_text()
    result = cli(["run", str(path)])
    assert result.code == 2 and result.err.startswith(f"{path}:3:5: error:")


def test_op_inside_a_nest_fails_apply(cli, tmp_path):
    path = tmp_path / "bad.mlir"
    path.write_text(BAD["remf"][0])
    result = cli(["apply", str(path)])
    assert result.code == 2 and f"{path}:4:" in result.err and "Traceback" not in result.err


def test_mode_attribute():
    text = """func.func @f(%A: memref<4xi32> {tensorize.mode = "in"}) {
  %z = arith.constant 0 : i32
  affine.for %i = 0 to 4 {
    affine.store %z, %A[%i] : memref<4xi32>
  }
  return
}"""
    with pytest.raises(TensorizeError) as exc:
        kernel(text)
    assert 'tensorize.mode = "in"' in exc.value.message
    fn = kernel(text.replace('"in"', '"out"'))
    assert fn.buffer("A").mode == "out"


@pytest.mark.parametrize("bad", ["A=f32", "A", "=u8", "A=u7"])
def test_bad_signedness_option(cli, tmp_path, bad):
    path = tmp_path / "s.mlir"
    path.write_text(SIGN_CONFLICT)
    result = cli(["run", str(path), "--signedness", bad])
    assert result.code == 2 and "--signedness" in result.err and "Traceback" not in result.err


def test_signedness_option_on_the_command_line(cli, tmp_path):
    path = tmp_path / "s.mlir"
    path.write_text(SIGN_CONFLICT)
    assert cli(["run", str(path)]).code == 2
    result = cli(["run", str(path), "--signedness", "A=u8"])
    assert result.code == 0, result.err
