"""The commands' functions of the façade, called directly (as another tool would): each
returns a typed object whose fields say what happened, and whose ``describe()`` is what
the command prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tensorize import api
from tensorize.errors import UsageError
from tests.conftest import EXAMPLES

QM = str(EXAMPLES / "qmatmul.tz")
GEMV = str(EXAMPLES / "gemv.tz")
SMALL = {"M": 2, "N": 16, "K": 8}


def test_run_file_gives_one_summary_per_output_and_the_cli_prints_it(cli) -> None:
    runs = api.run_file(GEMV, sets=["M=4", "K=8"], seed=3)
    assert [r.kernel for r in runs] == ["gemv_f32", "gemv_q"]
    assert all([o.buffer for o in r.outputs] == ["y"] and r.outputs[0].shape == (4,)
               for r in runs)
    q = runs[1].outputs[0]
    assert q.dtype == "i32" and int(q.total) == int(q.total)  # integers: an exact sum
    printed = cli(["run", GEMV, "--set", "M=4", "--set", "K=8", "--seed", "3"])
    assert printed.code == 0 and printed.out == "".join(r.describe() for r in runs)


def test_run_file_checks_the_options_of_the_c_backend() -> None:
    with pytest.raises(UsageError, match="--repeat times compiled code"):
        api.run_file(GEMV, sets=["M=4", "K=8"], repeat=2)
    with pytest.raises(UsageError, match="does not go with"):
        api.run_file(GEMV, backend="c", scalar=True)


def test_select_kernels_filters_sizes_per_kernel() -> None:
    module, _ = api.load_with_callees(QM, api.load_library())
    chosen = api.select_kernels(module, QM, None, ["M=2", "K=4"], "run")
    assert [k.name for k in chosen.kernels] == ["qmatmul_nt", "qmatmul_nn"]
    assert chosen.sizes_of(chosen.kernels[0]) == {"M": 2, "K": 4}
    with pytest.raises(UsageError, match="no kernel has a size parameter Z"):
        api.select_kernels(module, QM, None, ["Z=1"], "run")


def test_prove_files_outcomes_carry_their_exit_codes(tmp_path: Path) -> None:
    proved = api.prove_files(f"{QM}:qmatmul_nt", f"{EXAMPLES / 'qmatmul_vnni.tz'}:qmatmul_nt",
                             timeout=60)
    assert proved.exit_code == 0 and proved.to_json()["status"] == "proved"
    assert proved.describe().startswith("proved: qmatmul_nt == qmatmul_nt")
    other = tmp_path / "other.tz"
    other.write_text("kernel k(N = 4) {\n  in A: i32[N]\n  out B: i32[N]\n\n"
                     "  for i in 0..N {\n    B[i] = A[i] + 1\n  }\n}\n")
    same = tmp_path / "same.tz"
    same.write_text(other.read_text().replace("A[i] + 1", "A[i] + 2"))
    refuted = api.prove_files(str(other), str(same), timeout=60)
    assert refuted.exit_code == 1 and refuted.to_json()["status"] == "refuted"
    assert "counterexample" in refuted.to_json()
    apart = api.prove_files(f"{QM}:qmatmul_nt", str(other), timeout=60)
    assert apart.result is None and apart.exit_code == 1
    assert json.loads(apart.json_text()) == {"status": "not comparable",
                                             "reason": apart.not_comparable}


def test_apply_files_reports_and_runs_out_of_time() -> None:
    done = api.apply_files([QM, GEMV], targets=["x86.avx2"], sizes=SMALL, cache=False)
    assert isinstance(done, api.Applied) and done.changed
    assert [r.changed for r in done.results] == [True, False]
    report = done.to_json()
    assert [k["file"] for k in report["kernels"]] == [QM, QM, GEMV, GEMV]
    assert report["proof_cache"] == {"enabled": False, "hits": 0, "misses": 0,
                                     "hit_rate": 0.0}
    assert "call x86.avx2.dot_16x2_u8i8_bcast" in done.results[0].text
    late = api.apply_files([QM], targets=["x86.avx2"], timeout=0.01, cache=False)
    assert isinstance(late, api.OutOfTime) and late.exit_code == 3
    assert late.describe().startswith("tensorize apply: unknown: the whole-command time "
                                      "budget of 0.01 s ran out")


def test_apply_outputs_are_checked_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="-o takes one input file"):
        api.apply_outputs([QM, GEMV], output=str(tmp_path / "x.tz"))
    with pytest.raises(UsageError, match="two input files have the same name"):
        api.apply_outputs([QM, QM], out_dir=str(tmp_path / "d"))
    plan = api.apply_outputs([QM], out_dir=str(tmp_path / "d"), sets=["M=4"])
    assert plan.paths == (tmp_path / "d" / "qmatmul.tz",) and plan.sizes == {"M": 4}


def test_explain_file_says_whether_the_intrinsic_is_used() -> None:
    kernels = api.explain_file(QM, "x86.avx2.dot_16x2_u8i8_bcast", kernel="qmatmul_nt",
                               sets=["M=2", "N=16", "K=8"])
    assert not isinstance(kernels, api.OutOfTime)
    (k,) = kernels
    assert k.used and "candidate [USED]" in k.describe()
    assert k.describe().startswith("kernel qmatmul_nt (M=2, N=16, K=8), intrinsic "
                                   "x86.avx2.dot_16x2_u8i8_bcast, ieee mode\n")
    (f32,) = api.explain_file(GEMV, "x86.avx2.dot_16x2_u8i8_bcast", kernel="gemv_f32",
                              sets=["M=4", "K=8"])  # type: ignore[misc]  # not out of time
    assert not f32.used


def test_list_intrinsics_filters_by_target_family() -> None:
    table = api.list_intrinsics(target="arm")
    assert table.rows and all(r.target.startswith("arm") for r in table.rows)
    assert table.describe().splitlines()[-1] == (
        f"{len(table.rows)} intrinsics over {len({r.target for r in table.rows})} targets")
    with pytest.raises(UsageError, match="unknown target 'nowhere'"):
        api.list_intrinsics(target="nowhere")


def test_check_spec_files_counts_problems(tmp_path: Path) -> None:
    spec = tmp_path / "s.tz"
    spec.write_text("intrinsic t.unused(N = 4) {\n  in a: i32[N]\n  in b: i32[N]\n"
                    "  out c: i32[N]\n\n  for i in 0..N {\n    c[i] = a[i]\n  }\n}\n")
    (f,) = list(api.check_spec_files([str(spec)]))
    assert f.checked == 1 and f.problems == 1
    assert any("'b'" in w for w in f.warnings)


def test_format_file_says_whether_the_text_is_canonical(tmp_path: Path) -> None:
    messy = tmp_path / "m.tz"
    messy.write_text(Path(QM).read_text().replace("  for", "      for", 1))
    done = api.format_file(str(messy))
    assert not done.canonical and done.text == Path(QM).read_text()
    assert api.format_file(QM).canonical
