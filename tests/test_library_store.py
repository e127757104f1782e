"""The stored library is rebuilt through the nodes' constructors, spans included."""

from __future__ import annotations

import dataclasses

import tensorize
from tensorize.intrinsics import library as library_mod
from tensorize.intrinsics import store as store_mod
from tensorize.ir.traverse import walk


def _spans(lib: library_mod.Library) -> list[object]:
    return [getattr(node, "span", None) for fn in lib for node in walk(fn)]


def test_the_store_keeps_every_span_and_skips_the_dataclass_setstate(tmp_path,
                                                                       monkeypatch) -> None:
    monkeypatch.setenv("TENSORIZE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(library_mod, "_LOADED", {})
    parsed = tensorize.load_library()
    monkeypatch.setattr(library_mod, "_LOADED", {})

    def forbidden(*_args: object) -> None:
        raise AssertionError("the store rebuilds nodes by their constructors")

    monkeypatch.setattr(library_mod, "_parse_and_check", forbidden)
    # slots dataclasses unpickle through their __setstate__ (one fields() lookup per object)
    from tensorize import errors
    from tensorize.ir import nodes, types

    for module in (nodes, types, errors):
        for cls in vars(module).values():
            if isinstance(cls, type) and dataclasses.is_dataclass(cls) and \
                    "__setstate__" in vars(cls):
                monkeypatch.setattr(cls, "__setstate__", forbidden)
    stored = tensorize.load_library()
    assert stored.intrinsics == parsed.intrinsics
    assert _spans(stored) == _spans(parsed)  # spans are excluded from node equality
    assert any(s is not None for s in _spans(stored))


def test_only_plain_dataclasses_are_written_by_constructor() -> None:
    from tensorize.ir.nodes import Function

    @dataclasses.dataclass
    class WithPost:
        x: int

        def __post_init__(self) -> None:
            self.x += 1

    assert store_mod._constructor_fields(Function) == tuple(
        f.name for f in dataclasses.fields(Function))
    assert store_mod._constructor_fields(WithPost) is None  # would run __post_init__ twice
    assert store_mod._constructor_fields(int) is None


def test_reading_the_store_restores_the_collector(tmp_path) -> None:
    import gc

    path = tmp_path / "library.pickle"
    library_mod._write_stored(path, ({}, {}))
    assert gc.isenabled()
    assert library_mod._read_stored(path) == ({}, {})
    assert gc.isenabled()
    gc.disable()
    try:
        assert library_mod._read_stored(tmp_path / "absent.pickle") is None
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_the_library_module_imports_nothing_it_needs_only_to_write() -> None:
    import subprocess
    import sys

    code = ("import sys, tensorize.intrinsics.library; print(sorted(m for m in "
            "('tempfile', 'importlib.resources', 'platform') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    assert out == "[]"


def test_old_stores_are_pruned(tmp_path, monkeypatch) -> None:
    """Each engine or spec edit names a new library store: only the newest few are kept."""
    import os

    from tensorize.intrinsics import store

    monkeypatch.setattr(store, "KEEP", {"library": 3})
    paths = [tmp_path / f"library-{n:032x}.pickle" for n in range(6)]
    for n, path in enumerate(paths):
        store.write_stored(path, {"n": n})
        os.utime(path, ns=(n * 10**9, n * 10**9))  # written in this order
    kept = sorted(p.name for p in tmp_path.glob("library-*.pickle"))
    assert kept == sorted(p.name for p in paths[-3:])
    assert store.read_stored(paths[-1], lambda v: v == {"n": 5}) == {"n": 5}
    other = tmp_path / "parse-0.pickle"
    store.write_stored(other, 1)  # a kind with no limit here is left alone
    assert other.exists()
