"""Specs against the silicon, generated: every intrinsic with a C template, one emitted
call per input set, against the interpreter running the spec's scalar body.

x86 templates run where the CPU has their features (else: compiled only, and the run is
skipped naming the missing feature). Arm templates are cross-compiled with
aarch64-linux-gnu-gcc and run under ``qemu-aarch64 -cpu max`` (skipped, with the reason,
where those are not installed). Inputs: the equivalence engine's random and edge-value
sets, plus, for float inputs, NaN, infinities, -0.0, subnormals and huge values.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tensorize
from tensorize.backend.build import base_flags, feature_flags, missing_host_features
from tensorize.backend.cross import ARM_CC, ARM_FLAGS, arm_missing, run_arm
from tensorize.backend.emit import emit_unit
from tensorize.backend.harness import intrinsic_wrapper
from tensorize.backend.native import compile_kernel
from tensorize.backend.templates import template_errors, template_of
from tensorize.equivalence.execute import input_sets
from tensorize.intrinsics.host import target_info
from tensorize.ir import interp
from tensorize.ir.nodes import Function
from tensorize.ir.types import DType

LIB = tensorize.load_library().as_dict()
TEMPLATED = sorted(name for name, fn in LIB.items() if template_of(fn) is not None)
X86 = [n for n in TEMPLATED if n.startswith("x86.")]
ARM = [n for n in TEMPLATED if n.startswith("arm.")]

FLOAT_EDGES = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-40, -1e-40, 1.5e-45, 3.0e38, -3.0e38,
               1.0, -1.0, 1e-30, 65504.0, 6e-8]


def _float_sets(fn: Function, count: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Input sets mixing special float values into every float buffer."""
    rng = np.random.default_rng(seed)
    sizes = interp.bind_sizes(fn, {})
    sets = []
    for _ in range(count):
        out = {}
        for b in fn.buffers:
            if b.mode == "local":
                continue
            shape = interp.buffer_shape(b, sizes)
            if b.dtype.is_float and not any(a.buf == b.name for a in fn.assumes):
                vals = rng.choice(np.array(FLOAT_EDGES), size=shape)
                out[b.name] = interp.vo.to_float(vals, b.dtype)
            else:
                out[b.name] = interp.random_array(b.dtype, shape, rng, [
                    a for a in fn.assumes if a.buf == b.name] or None)
        sets.append(out)
    return sets


def _cases(fn: Function) -> dict[str, np.ndarray]:
    """All input sets stacked along a leading batch axis."""
    sets = list(input_sets(fn, {}, seed=1, randoms=8))
    if any(b.dtype.is_float for b in fn.buffers):
        sets += _float_sets(fn, 16, seed=2)
    names = [b.name for b in fn.buffers if b.mode != "local"]
    return {n: np.stack([s[n] for s in sets]) for n in names}


def _wrapper(name: str, batch: int) -> Function:
    module = tensorize.parse(intrinsic_wrapper(LIB[name], batch), library=LIB)
    return module.kernels[0]


def _compare(kernel: Function, got: dict[str, np.ndarray], want: dict[str, np.ndarray],
             name: str) -> None:
    for b in kernel.outputs:
        g, w = got[b.name], want[b.name]
        if interp.checksum(g) != interp.checksum(w):
            bad = np.argwhere(g.view(np.uint8) != w.view(np.uint8))[:1]
            where = tuple(int(x) for x in bad[0]) if len(bad) else ()
            raise AssertionError(f"{name}: the instruction and the spec differ on "
                                 f"'{b.name}' near byte {where}: {g.reshape(-1)[:8]} vs "
                                 f"{w.reshape(-1)[:8]}")


def _run_interp(kernel: Function, cases: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    inputs = {b.name: cases[b.name] for b in kernel.inputs}
    outs = {b.name: cases[b.name] for b in kernel.buffers if b.mode == "out"}
    return interp.run(kernel, inputs, library=LIB, outputs=outs)


@pytest.mark.parametrize("name", TEMPLATED)
def test_template_is_well_formed(name: str) -> None:
    """Placeholders name parameters; the features are the target's; a dense call uses it."""
    fn = LIB[name]
    assert template_errors(fn) == []
    tpl = template_of(fn)
    assert tpl is not None
    info = target_info(fn.target)
    assert info is not None
    assert set(tpl.features) <= set(info.gcc), (tpl.features, info.gcc)
    unit = emit_unit([_wrapper(name, 2)], LIB, {})
    assert unit.templates_used == (name,) and unit.inlined == ()


@pytest.mark.parametrize("name", X86)
def test_x86_template_on_silicon(name: str, tmp_path: Path) -> None:
    fn = LIB[name]
    cases = _cases(fn)
    batch = len(next(iter(cases.values())))
    kernel = _wrapper(name, batch)
    unit = emit_unit([kernel], LIB, {})
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (cc)")
    # always: the template compiles with its features
    (tmp_path / "kernel.h").write_text(unit.header)
    (tmp_path / "k.c").write_text(unit.source)
    flags = [f for f in base_flags(False) if f not in ("-shared", "-march=native")]
    proc = subprocess.run([cc, *flags, *[f"-m{f}" for f in unit.features], "-c",
                           str(tmp_path / "k.c"), "-o", str(tmp_path / "k.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert feature_flags(unit.features) or not unit.features
    missing = missing_host_features(unit.targets)
    if missing:
        pytest.skip(f"compiled only: this CPU lacks {', '.join(missing)}")
    native = compile_kernel(kernel, LIB)
    got = {k: v.copy() for k, v in cases.items()}
    native(**got)
    _compare(kernel, got, _run_interp(kernel, cases), name)


@pytest.mark.parametrize("name", ARM)
def test_arm_template_under_qemu(name: str) -> None:
    reason = arm_missing()
    if reason:
        pytest.skip(reason)
    fn = LIB[name]
    cases = _cases(fn)
    batch = len(next(iter(cases.values())))
    kernel = _wrapper(name, batch)
    unit = emit_unit([kernel], LIB, {})
    shapes = interp.shapes_of(kernel, {})
    got = run_arm(unit, kernel, shapes, cases)
    _compare(kernel, got, _run_interp(kernel, cases), name)


def test_arm_flags_cover_the_features() -> None:
    """Every Arm template feature is enabled by the cross-compiler's -march."""
    march = next(f for f in ARM_FLAGS if f.startswith("-march="))
    for name in ARM:
        tpl = template_of(LIB[name])
        assert tpl is not None
        for f in tpl.features:
            assert f"+{f}" in march, (name, f)
    assert ARM_CC.startswith("aarch64")


def test_float_edges_are_exercised() -> None:
    """The float sets really contain NaN, infinities, -0.0 and subnormals."""
    fn = LIB["x86.fma.vfmadd231ps"]
    a = _cases(fn)["a"]
    assert np.isnan(a).any() and np.isinf(a).any()
    assert (np.signbit(a) & (a == 0)).any()
    assert ((np.abs(a) < np.finfo(np.float32).tiny) & (a != 0)).any()
    _ = DType
