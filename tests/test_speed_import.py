"""import tensorize is lazy, and the checked library is stored across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tensorize
from tensorize.intrinsics import library as library_mod

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, env_extra: dict[str, str]) -> str:
    import os

    env = {**os.environ, **env_extra}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_loads_no_numpy_z3_or_lark(tmp_path) -> None:
    out = _python("import sys, tensorize; print(sorted(m for m in ('numpy', 'z3', 'lark', "
                  "'ml_dtypes') if m in sys.modules))", {"TENSORIZE_CACHE_DIR": str(tmp_path)})
    assert out == "[]"


def test_a_stored_library_loads_without_the_parser(tmp_path) -> None:
    code = ("import sys, tensorize; lib = tensorize.load_library(); "
            "print(len(lib), sorted(m for m in ('numpy', 'z3', 'lark') if m in sys.modules))")
    env = {"TENSORIZE_CACHE_DIR": str(tmp_path)}
    first = _python(code, env)
    assert list(tmp_path.glob("library-*.pickle"))
    second = _python(code, env)
    assert first.split()[0] == second.split()[0] == str(len(tensorize.load_library()))
    assert "lark" in first and second.endswith("[]")


def test_the_stored_library_equals_the_parsed_one(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TENSORIZE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(library_mod, "_LOADED", {})
    parsed = tensorize.load_library()
    monkeypatch.setattr(library_mod, "_LOADED", {})
    monkeypatch.setattr(library_mod, "_parse_and_check", _forbidden)
    stored = tensorize.load_library()
    assert stored.intrinsics == parsed.intrinsics and stored.origins == parsed.origins


def _forbidden(*_args: object) -> None:
    raise AssertionError("the stored library must be used")


def test_a_changed_spec_misses_the_store(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TENSORIZE_CACHE_DIR", str(tmp_path / "cache"))
    spec = tmp_path / "extra.tz"
    text = """intrinsic t.one {
  summary "c[i] += a[i]"
  target t
  cost 1.0
  in a: i32[4]
  inout c: i32[4]
  for i in 0..4 { c[i] += a[i] }
}
"""
    spec.write_text(text)
    lib = tensorize.load_library([spec])
    assert "t.one" in lib
    spec.write_text(text.replace("t.one", "t.two"))
    monkeypatch.setattr(library_mod, "_LOADED", {})
    again = tensorize.load_library([spec])
    assert "t.two" in again and "t.one" not in again


def test_an_unreadable_store_is_no_store(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TENSORIZE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(library_mod, "_LOADED", {})
    tensorize.load_library()
    for f in tmp_path.glob("library-*.pickle"):
        f.write_bytes(b"garbage")
    monkeypatch.setattr(library_mod, "_LOADED", {})
    assert len(tensorize.load_library()) > 0


def test_the_index_groups_specs_by_signature() -> None:
    lib = tensorize.load_library()
    found = lib.matching("i32", ["i8", "u8"])
    assert found and all(library_mod.signature(f) == ("i32", ("i8", "u8")) for f in found)
    assert {f.name for f in found} == {f.name for f in lib
                                       if library_mod.signature(f) == ("i32", ("i8", "u8"))}
    assert lib.matching("i32", ["f64"]) == []
    assert sum(len(v) for v in lib.index.values()) == len(lib)


@pytest.mark.parametrize("name", ["Library", "load_library", "parse", "load", "run", "prove",
                                  "tensorize", "find_function"])
def test_public_names_resolve(name: str) -> None:
    assert callable(getattr(tensorize, name))


def test_the_speed_table_measures_a_library_of_100_specs(tmp_path) -> None:
    from bench import speed

    got = speed.import_and_load(1, tmp_path)
    assert got["bundled+60"]["specs"] == got["bundled"]["specs"] + 60 >= 100
    assert 0 < got["bundled"]["seconds"] < 30
