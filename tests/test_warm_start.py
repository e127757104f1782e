"""A warm command reads what it can instead of recomputing it, and never reads stale data:
file hashes remembered by status (``tensorize/digests.py``), the decision key of a library
still as loaded (its files' hash instead of every spec printed), and a quick exit."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tensorize import digests
from tensorize.equivalence.cache import ProofCache
from tensorize.intrinsics.library import load_library
from tensorize.rewrite.engine import TensorizePass
from tests.conftest import ROOT
from tests.kernels import kernel

SPEC = """intrinsic t.mla4 {{
  summary "a multiply-add of four lanes"
  target x86.avx2
  cost 1.0
  manual "a test spec"
  in a: i32[4]
  in b: i32[4]
  inout c: i32[4]
  for i in 0..4 {{
    c[i] += a[i] {op} b[i]
  }}
}}
"""

KERNEL = """kernel mla(N = 8) {
  in A: i32[N]
  in B: i32[N]
  inout C: i32[N]
  for i in 0..N {
    C[i] += A[i] * B[i]
  }
}"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORIZE_CACHE_DIR", str(tmp_path / "cache"))
    digests.forget()
    yield
    digests.forget()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_remembered_hash_is_not_read_again(tmp_path: Path, monkeypatch) -> None:
    f = tmp_path / "a.tz"
    f.write_text("one")
    monkeypatch.setattr(digests, "RACY_SECONDS", 0.0)
    assert digests.file_digests([f]) == [_sha(f)]
    digests.forget()  # a new process: the index is read from the cache directory
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self}"))
    assert digests.file_digests([f]) == [hashlib.sha256(b"one").hexdigest()]


def test_an_edit_that_keeps_size_and_time_is_still_seen(tmp_path: Path, monkeypatch) -> None:
    f = tmp_path / "a.tz"
    f.write_text("c += a * b")
    monkeypatch.setattr(digests, "RACY_SECONDS", 0.0)
    before = digests.file_digests([f])
    st = f.stat()
    f.write_text("c += a - b")  # same size; the modification time is put back
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    digests.forget()
    after = digests.file_digests([f])
    assert after == [_sha(f)] and after != before  # the change time differs


def test_a_racily_recent_file_is_not_remembered(tmp_path: Path) -> None:
    f = tmp_path / "a.tz"
    f.write_text("x")
    digests.file_digests([f])
    digests.forget()
    index = digests._load_index()
    assert str(f.resolve()) not in index  # hashed again next time
    st = f.stat()  # a modification time long past, but a change time of now
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns - 3600 * 10**9))
    digests.file_digests([f])
    assert str(f.resolve()) not in digests._load_index()


def test_a_library_changed_after_loading_is_keyed_by_its_texts(tmp_path: Path) -> None:
    lib = load_library()
    assert lib.fingerprint() is not None
    k = kernel(KERNEL, lib)
    tpass = TensorizePass(cache=ProofCache(tmp_path / "c.sqlite"))
    key = tpass._decision_key(k, lib, None)
    assert tpass._decision_key(k, lib.as_dict(), None) != key  # a dict: spec texts
    name = next(iter(lib.keys()))
    other = next(f for f in lib if f.name != name)
    import dataclasses

    assert dataclasses.replace(lib, intrinsics={name: other}).fingerprint() is None
    assert type(lib)(lib.intrinsics, lib.origins).fingerprint() is None
    lib.intrinsics[name] = other  # the user swapped a spec in place
    assert lib.fingerprint() is None
    assert tpass._decision_key(k, lib, None) != key


def test_an_edited_spec_file_is_not_answered_from_the_cache(tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "t.tz"
    spec.parent.mkdir()
    spec.write_text(SPEC.format(op="*"))
    path = tmp_path / "c.sqlite"
    lib = load_library([spec.parent], bundled=False)
    first = TensorizePass(cache=ProofCache(path)).run(kernel(KERNEL, lib), lib)
    assert first.changed
    st = spec.stat()
    spec.write_text(SPEC.format(op="-"))  # same size, same modification time
    os.utime(spec, ns=(st.st_atime_ns, st.st_mtime_ns))
    lib2 = load_library([spec.parent], bundled=False)
    assert lib2.fingerprint() != lib.fingerprint()
    again = TensorizePass(cache=ProofCache(path)).run(kernel(KERNEL, lib2), lib2)
    assert not again.changed  # a - b is not a * b: no stored decision was reused


def test_the_command_line_exits_quickly_with_its_code_and_output(tmp_path: Path) -> None:
    env = {**os.environ, "TENSORIZE_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out.tz"
    done = subprocess.run([sys.executable, "-m", "tensorize", "apply",
                           str(ROOT / "examples" / "qmatmul.tz"), "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "coverage 100%" in done.stderr and "call x86." in out.read_text()
    bad = subprocess.run([sys.executable, "-m", "tensorize", "apply", str(tmp_path / "no.tz")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "error" in bad.stderr


def _apply(paths, **options):
    from tensorize import api

    done = api.apply_files([str(p) for p in paths], **options)
    assert isinstance(done, api.Applied)
    return done


def test_a_second_apply_of_a_file_is_its_stored_result(tmp_path: Path, monkeypatch) -> None:
    from tensorize import api_apply

    src = tmp_path / "k.tz"
    src.write_text((ROOT / "examples" / "qmatmul.tz").read_text())
    first = _apply([src], targets=["x86.avx512_vnni"]).results[0]
    assert first.changed and first.cache_misses > 0
    monkeypatch.setattr(api_apply, "load_specs", lambda *a: pytest.fail("loaded the library"))
    again = _apply([src], targets=["x86.avx512_vnni"]).results[0]
    assert again.text == first.text and again.cache_hits == 2 and again.cache_misses == 0
    for was, now in zip(first.reports, again.reports, strict=True):
        assert set(now["stages"]) == set(was["stages"]) | {"lookup"}
        plain = json.loads(json.dumps(was))  # what --report writes
        assert {k: v for k, v in now.items() if k not in ("seconds", "stages")} == \
            {k: v for k, v in plain.items() if k not in ("seconds", "stages")}
    # the summary reads as a stored decision does: this run's time, the proofs' own
    assert [line.split(", ", 1)[1].split("\n")[1:] for line in again.lines] == \
        [line.split(", ", 1)[1].split("\n")[1:] for line in first.lines]


def test_any_change_of_file_options_or_library_misses(tmp_path: Path) -> None:
    src = tmp_path / "k.tz"
    src.write_text(KERNEL)
    spec = tmp_path / "specs" / "t.tz"
    spec.parent.mkdir()
    spec.write_text(SPEC.format(op="*"))
    base = {"targets": ["x86.avx2"], "specs": [str(spec.parent)]}
    first = _apply([src], **base).results[0]
    assert "call t.mla4" in first.text
    assert _apply([src], **base).results[0].cache_misses == 0  # stored
    for options in ({**base, "sizes": {"N": 12}}, {**base, "fp": "real"},
                    {**base, "targets": ["all"]}):
        assert _apply([src], **options).results[0].cache_misses > 0, options
    src.write_text(KERNEL.replace("N = 8", "N = 4"))  # another size: another file
    assert _apply([src], **base).results[0].cache_misses > 0
    src.write_text(KERNEL)
    st = spec.stat()
    spec.write_text(SPEC.format(op="-"))  # same size, same modification time
    os.utime(spec, ns=(st.st_atime_ns, st.st_mtime_ns))
    edited = _apply([src], **base).results[0]
    assert "call t.mla4" not in edited.text  # a - b does not compute a * b


def test_a_warm_apply_imports_neither_engine_nor_ir(tmp_path: Path) -> None:
    env = {**os.environ, "TENSORIZE_CACHE_DIR": str(tmp_path / "cache")}
    script = ("import sys\nfrom tensorize.cli import main\n"
              "assert main(['apply', 'examples/qmatmul.tz', '-o', sys.argv[1]]) == 0\n"
              "print(sorted(m for m in sys.modules if m.startswith(('tensorize.rewrite', "
              "'tensorize.ir', 'tensorize.matcher', 'numpy', 'z3', 'lark'))))\n")
    runs = [subprocess.run([sys.executable, "-c", script, str(tmp_path / f"out{n}.tz")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            for n in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr + runs[1].stderr
    assert runs[1].stdout.strip() == "[]", runs[1].stdout
    assert (tmp_path / "out0.tz").read_text() == (tmp_path / "out1.tz").read_text()
