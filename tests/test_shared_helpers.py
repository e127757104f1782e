"""The helpers that now serve several places (issue 12: one piece of code where the logic
is the same): the perfect band of a loop nest (ir/traverse.loop_band: the back end's
packing and tiling, loop distribution), row-major layout arithmetic (backend/layout.py:
packing, tiling and the C emitter), the uses of a buffer's memrefs in the MLIR importer,
and the fields every proof result has."""

from __future__ import annotations

from tensorize.equivalence.results import FpMode, Proved, Refuted, Unknown
from tensorize.ir.layout import const_value, row_major, steps
from tensorize.ir.nodes import Binary, CallStmt, Const, For, Var, View
from tensorize.ir.traverse import loop_band
from tensorize.ir.types import INDEX
from tests.kernels import kernel


def _i(v: int) -> Const:
    return Const(v, INDEX)


def _v(name: str) -> Var:
    return Var(name, INDEX)


def test_loop_band_stops_at_the_first_loop_whose_body_is_not_one_loop() -> None:
    call = CallStmt("f", ())
    inner = For("k", _i(0), _i(4), (call,))
    two = For("j", _i(0), _i(4), (inner, call))
    nest = For("i", _i(0), _i(4), (two,))
    assert [f.var for f in loop_band(nest)] == ["i", "j"]
    assert [f.var for f in loop_band(For("i", _i(0), _i(2), (inner,)))] == ["i", "k"]
    assert loop_band(call) == []


def test_the_passes_still_find_their_nests() -> None:
    """Loop distribution splits a nest found through loop_band; a nest whose innermost
    body is two statements after a loop is still refused."""
    from tensorize.matcher.distribute import split_epilogue

    text = """kernel f {
  in A: f32[4, 4]
  out C: f32[4]
  for i in 0..4 {
    C[i] = 0.0
    for k in 0..4 { C[i] += A[i, k] }
    C[i] = max(C[i], 0.0)
  }
}"""
    k = kernel(text)
    parts = split_epilogue(k.body[0])
    assert parts is not None
    first, second = parts
    assert isinstance(first, For) and len(first.body) == 2
    assert isinstance(second, For) and len(second.body) == 1
    flat = kernel(text.replace("    for k in 0..4 { C[i] += A[i, k] }\n", ""))
    assert split_epilogue(flat.body[0]) is None


def test_row_major_layout() -> None:
    assert row_major([2, 3, 4]) == [12, 4, 1] and row_major([]) == []
    view = View(("d0", "d1"), "B", (Binary("+", _v("d0"), Binary(
        "*", _i(4), _v("ko"), INDEX), INDEX), Binary("*", _i(2), _v("d1"), INDEX)))
    assert steps(view, ("d0", "d1", "ko", "x"), [8, 10]) == [10, 2, 40, 0]
    shifted = View(("d0",), "B", (Binary("+", _v("d0"), _v("N"), INDEX),))
    assert steps(shifted, ("d0",), [8], {"N": 3}) == [1]
    assert steps(View(("d0",), "B", (Binary("*", _v("d0"), _v("d0"), INDEX),)),
                 ("d0",), [8]) is None
    assert const_value(Binary("-", _v("N"), _i(1), INDEX), {"N": 5}) == 4
    assert const_value(_v("N")) is None


def test_every_result_says_its_mode_and_time_first() -> None:
    for r in (Proved(FpMode.IEEE, 1.5, "o", "m"), Unknown(FpMode.REAL, 2.0, "why")):
        assert list(r.to_json())[:2] == ["mode", "time"]
        assert (r.mode, r.time) == (r.to_json()["mode"], r.to_json()["time"])
    assert Unknown(FpMode.IEEE, 0.0, "r").to_json()["status"] == "unknown"
    assert "counterexample" in Refuted.__dataclass_fields__
