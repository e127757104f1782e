"""Auto-tensorize end to end: candidates, proofs, rewrites, tails, choice, CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import tensorize
from tensorize.equivalence.execute import refute_by_execution
from tensorize.equivalence.results import Proved
from tensorize.ir.check import check_module
from tensorize.ir.parser import parse
from tensorize.ir.printer import format_module
from tensorize.rewrite.apply import bake_sizes
from tests.conftest import EXAMPLES
from tests.kernels import kernel

LIB = tensorize.load_library()
VNNI = ("x86.avx512_vnni",)
BCAST = "x86.avx512_vnni.vpdpbusd_bcast"
PMADD = "x86.avx512_bw.dot_16x4_pmadd"

QMM = """kernel qmm(M = 4, N = 32, K = {K}) {{
  in  A: u8[M, K]
  in  B: i8[{bshape}]
  out C: i32[M, N]
  {assume}
  for i in 0..M {{
    for j in 0..N {{
      C[i, j] = 0
      for k in 0..K {{
        C[i, j] += i32(A[i, k]) * i32({bload})
      }}
    }}
  }}
}}"""


def qmm(K: int = 16, layout: str = "nt", assume: str = "") -> object:
    bshape, bload = ("N, K", "B[j, k]") if layout == "nt" else ("K, N", "B[k, j]")
    return kernel(QMM.format(K=K, bshape=bshape, bload=bload, assume=assume))


def _check_rewrite(result, *, uses: str | None = BCAST) -> None:
    """The rewrite parses again, uses the intrinsic, and agrees with the original."""
    original = bake_sizes(result.kernel, result.sizes)
    rewritten = result.rewritten
    text = format_module(tensorize.ir.nodes.Module((rewritten,)))
    again = check_module(parse(text), LIB).kernels[0]
    assert again == rewritten
    if uses is not None:
        assert f"call {uses}(" in text
    cex = refute_by_execution(original, {}, rewritten, {}, LIB.as_dict(), "ieee", seed=5,
                              randoms=6)
    assert cex is None, cex.describe()


@pytest.mark.parametrize("layout", ["nt", "nn"])
def test_qmatmul_both_layouts(layout: str) -> None:
    result = tensorize.tensorize(qmm(layout=layout), LIB, targets=VNNI)
    (frag,) = result.fragments
    assert frag.chosen is not None and frag.chosen.intrinsic == BCAST
    assert isinstance(frag.chosen.proof, Proved)
    assert result.coverage == 1.0
    _check_rewrite(result)


def test_batched_matmul() -> None:
    bmm = kernel("""kernel bmm(H = 3, S = 8, D = 16) {
      in  Q: u8[H, S, D]
      in  Kt: i8[H, S, D]
      out P: i32[H, S, S]
      for h in 0..H { for i in 0..S { for j in 0..S {
        P[h, i, j] = 0
        for d in 0..D { P[h, i, j] += i32(Q[h, i, d]) * i32(Kt[h, j, d]) } } } }
    }""")
    result = tensorize.tensorize(bmm, LIB, targets=VNNI, sizes={"S": 16})
    assert result.fragments[0].chosen.intrinsic == BCAST
    _check_rewrite(result)


def test_conv2d_fuses_rh_rw_c_into_k() -> None:
    conv = tensorize.load(EXAMPLES / "conv2d_nhwc.tz").kernels[0]
    # C = 8 ties with a contiguous c:4 tile, which wins; with C = 2 and a 2x2 window
    # only the fused (rw, c) group makes a K of 4
    result = tensorize.tensorize(conv, LIB, targets=VNNI,
                                 sizes={"H": 6, "W": 6, "C": 2, "R": 2, "S": 2})
    chosen = result.fragments[0].chosen
    assert chosen.intrinsic == BCAST
    assert "rw_c:4" in chosen.mapping
    tie = tensorize.tensorize(conv, LIB, targets=VNNI, sizes={"H": 6, "W": 6, "C": 8},
                              exhaustive=True)
    assert "tile ko:16 x c:4" in tie.fragments[0].chosen.mapping
    fused = [a for a in tie.fragments[0].alternatives
             if "rh_rw_c:4" in a.mapping and a.status == "proved"]
    assert fused and all(a.strided > tie.fragments[0].chosen.strided for a in fused)
    _check_rewrite(result)


@pytest.mark.parametrize("product", ["i32(W[i, k]) * i32(x[k])", "i32(x[k]) * i32(W[i, k])"])
def test_gemv_in_either_operand_order(product: str) -> None:
    gemv = kernel(f"""kernel gemv(M = 32, K = 64) {{
      in  W: i8[M, K]
      in  x: u8[K]
      out y: i32[M]
      for i in 0..M {{ y[i] = 0
        for k in 0..K {{ y[i] += {product} }} }} }}""")
    result = tensorize.tensorize(gemv, LIB, targets=VNNI)
    assert result.fragments[0].chosen.intrinsic == BCAST
    _check_rewrite(result)


def test_f32_matmul_gets_no_int8_candidate_and_explain_says_why(cli) -> None:
    mm = tensorize.load(EXAMPLES / "matmul_f32.tz").kernels[0]
    result = tensorize.tensorize(mm, LIB, targets=VNNI)
    assert not result.changed
    frag = result.fragments[0]
    assert not frag.alternatives
    assert all(kind == "dtype" for _, kind, _ in frag.rejected)
    out = cli(["explain", str(EXAMPLES / "matmul_f32.tz"), "--intrinsic", BCAST])
    assert out.code == 1
    assert "dtype: the fragment accumulates f32 into 'C'; the intrinsic accumulates i32" in \
        out.out


def test_k_130_leaves_a_scalar_tail_of_2() -> None:
    result = tensorize.tensorize(qmm(K=130), LIB, targets=VNNI)
    chosen = result.fragments[0].chosen
    assert chosen.intrinsic == BCAST
    assert "scalar tail k in 128..130" in chosen.mapping
    assert chosen.tail == 4 * 32 * 2
    text = format_module(tensorize.ir.nodes.Module((result.rewritten,)))
    assert "for k in 128..130" in text
    _check_rewrite(result)


def test_saturating_intrinsic_needs_the_assumption(cli, tmp_path: Path) -> None:
    full = tensorize.tensorize(qmm(), LIB, intrinsics=(PMADD,))
    frag = full.fragments[0]
    assert frag.chosen is None
    refuted = [a for a in frag.alternatives if a.status == "refuted"]
    assert refuted and "differs from the program on a tile" in refuted[0].reason
    cex = refuted[0].proof.counterexample
    assert max(cex.values["a"]) > 127
    src = tmp_path / "q.tz"
    src.write_text(QMM.format(K=16, bshape="N, K", bload="B[j, k]", assume=""))
    out = cli(["explain", str(src), "--intrinsic", PMADD])
    assert out.code == 1 and "refuted" in out.out and "a = " in out.out
    small = tensorize.tensorize(qmm(assume="assume A in 0..=127"), LIB, intrinsics=(PMADD,))
    assert small.fragments[0].chosen is not None
    assert small.fragments[0].chosen.intrinsic == PMADD
    _check_rewrite(small, uses=PMADD)


def test_cheaper_of_16_and_4_lanes_is_chosen_and_the_other_reported() -> None:
    result = tensorize.tensorize(qmm(), LIB, targets=VNNI, exhaustive=True)
    frag = result.fragments[0]
    assert frag.chosen.intrinsic == BCAST
    others = {(a.intrinsic, a.status) for a in frag.alternatives}
    assert (BCAST + "_xmm", "proved") in others
    xmm = min(a.cost for a in frag.alternatives if a.intrinsic == BCAST + "_xmm"
              and a.status == "proved")
    assert frag.chosen.cost < xmm
    report = result.to_json()
    assert report["fragments"][0]["chosen"]["intrinsic"] == BCAST
    assert any(a["intrinsic"].endswith("_xmm") for a in report["fragments"][0]["alternatives"])


def test_choice_is_optimal_against_exhaustive_search() -> None:
    two = kernel("""kernel two(M = 2, N = 32, K = 8) {
      in A: u8[M, K]
      in B: i8[N, K]
      in X: u8[K]
      out C: i32[M, N]
      out y: i32[N]
      for i in 0..M { for j in 0..N { C[i, j] = 0
        for k in 0..K { C[i, j] += i32(A[i, k]) * i32(B[j, k]) } } }
      for j in 0..N { y[j] = 5
        for k in 0..K { y[j] += i32(B[j, k]) * i32(X[k]) } }
    }""")
    result = tensorize.tensorize(two, LIB, targets=VNNI + ("x86.avx512_bw",))
    options = []
    for f in result.fragments:
        proved = [a.cost for a in ([f.chosen] if f.chosen else []) + list(f.alternatives)
                  if a.status == "proved"]
        options.append(proved + [f.scalar_cost])
    best = min(sum(combo) for combo in itertools.product(*options))
    assert result.cost == best
    assert all(f.chosen for f in result.fragments)
    _check_rewrite(result)


def test_cli_apply_writes_runnable_kernels_and_a_report(cli, tmp_path: Path) -> None:
    src = EXAMPLES / "qmatmul.tz"
    before = src.read_bytes()
    out_file, report = tmp_path / "q.tz", tmp_path / "r.json"
    res = cli(["apply", str(src), "--target", "x86.avx512_vnni", "-o", str(out_file),
               "--report", str(report)])
    assert res.code == 0, res.err
    assert src.read_bytes() == before
    data = json.loads(report.read_text())
    assert [k["kernel"] for k in data["kernels"]] == ["qmatmul_nt", "qmatmul_nn"]
    k0 = data["kernels"][0]
    assert k0["coverage"] == 1.0
    assert k0["fragments"][0]["chosen"]["proof"]["status"] == "proved"
    assert "mapping" in k0["fragments"][0]["chosen"]
    a = cli(["run", str(src)])
    b = cli(["run", str(out_file)])
    assert a.out == b.out  # same signature, same inputs, same checksums


def test_cli_apply_out_dir_jobs_and_exit_codes(cli, tmp_path: Path) -> None:
    files = [str(EXAMPLES / "qmatmul.tz"), str(EXAMPLES / "gemv.tz")]
    res = cli(["apply", *files, "--target", "x86", "--out-dir", str(tmp_path), "--jobs", "2"])
    assert res.code == 0, res.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gemv.tz", "qmatmul.tz"]
    none = cli(["apply", str(EXAMPLES / "matmul_f32.tz"), "--intrinsic", BCAST])
    assert none.code == 1
    assert cli(["apply", files[0], files[1], "-o", str(tmp_path / "x.tz")]).code == 2
    assert cli(["apply", files[0], "-o", files[0]]).code == 2


def test_f16_matmul_uses_mma_in_real_mode_only() -> None:
    hgemm = kernel("""kernel hgemm(M = 16, N = 8, K = 32) {
      in  A: f16[M, K]
      in  B: f16[K, N]
      out C: f32[M, N]
      for i in 0..M { for j in 0..N { C[i, j] = 0
        for k in 0..K { C[i, j] += f32(A[i, k]) * f32(B[k, j]) } } } }""")
    mma = "nvidia.mma.m16n8k16_f16_f32"
    ieee = tensorize.tensorize(hgemm, LIB, intrinsics=(mma,))
    assert not ieee.changed
    assert ieee.fragments[0].rejected[0][1] == "order"
    real = tensorize.tensorize(hgemm, LIB, intrinsics=(mma,), fp="real")
    chosen = real.fragments[0].chosen
    assert chosen is not None and chosen.calls == 2
    assert chosen.proof.mode == "real"


def test_proof_cache_hits_on_the_second_run(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TENSORIZE_CACHE_DIR", str(tmp_path / "cache"))
    args = ["apply", str(EXAMPLES / "qmatmul.tz"), "--target", "x86.avx512_vnni",
            "--out-dir", str(tmp_path / "out")]
    first = cli(args + ["--report", str(tmp_path / "r1.json")])
    second = cli(args + ["--report", str(tmp_path / "r2.json")])
    assert first.code == second.code == 0
    r1 = json.loads((tmp_path / "r1.json").read_text())["proof_cache"]
    r2 = json.loads((tmp_path / "r2.json").read_text())["proof_cache"]
    assert r1["misses"] > 0
    assert r2["hits"] > r1["hits"] and r2["hit_rate"] > r1["hit_rate"]
    off = cli(args + ["--no-cache", "--report", str(tmp_path / "r3.json")])
    assert json.loads((tmp_path / "r3.json").read_text())["proof_cache"]["enabled"] is False
    assert off.code == 0


def test_rejections_are_typed_reasons_and_plain_strings_in_json() -> None:
    """Each (fragment, intrinsic) pair with no candidate says why with a RejectReason,
    which the JSON report writes as its plain name."""
    from tensorize.matcher.candidates import RejectReason

    fn = kernel("""kernel k {
      in A: u8[3, 8]
      in B: i8[8, 3]
      out C: i32[3, 3]
      for i in 0..3 { for j in 0..3 {
        C[i, j] = 0
        for k in 0..8 { C[i, j] += i32(A[i, k]) * i32(B[k, j]) } } }
    }""")
    result = tensorize.tensorize(fn, LIB, targets=["x86.avx512_vnni"])
    rejected = [r for f in result.fragments for r in f.rejected]
    assert rejected and all(isinstance(kind, RejectReason) for _, kind, _ in rejected)
    assert RejectReason.EXTENT in {kind for _, kind, _ in rejected}  # 3 lanes, not 16
    report = json.loads(json.dumps(result.to_json()))
    kinds = {r["kind"] for f in report["fragments"] for r in f["rejected"]}
    assert kinds <= {r.value for r in RejectReason} and "extent" in kinds
