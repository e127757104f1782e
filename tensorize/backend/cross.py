"""Running emitted Arm code on an x86 host: ``aarch64-linux-gnu-gcc`` and ``qemu-aarch64``.

Both are Debian packages (``gcc-aarch64-linux-gnu``, ``qemu-user``); nothing here installs
them. The program is linked statically, so qemu needs no Arm loader or libraries, and runs
under ``qemu-aarch64 -cpu max`` (every extension qemu models: DotProd, I8MM, BF16).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tensorize.backend.build import BuildError
from tensorize.backend.emit import CUnit
from tensorize.backend.harness import harness_main, pack_inputs, unpack_outputs
from tensorize.ir.nodes import Function

ARM_CC = "aarch64-linux-gnu-gcc"
QEMU = "qemu-aarch64"
ARM_FLAGS = ["-O2", "-static", "-march=armv8.6-a+dotprod+i8mm+bf16", "-ffp-contract=off",
             "-std=gnu11"]


def arm_missing() -> str | None:
    """Why Arm code cannot be built and run here (None when it can)."""
    missing = [t for t in (ARM_CC, QEMU) if shutil.which(t) is None]
    if missing:
        return (f"{' and '.join(missing)} not installed (Debian: gcc-aarch64-linux-gnu, "
                "qemu-user)")
    return None


def compile_arm(unit: CUnit, fn: Function, shapes: Mapping[str, tuple[int, ...]],
                directory: Path) -> Path:
    """A static Arm executable of ``unit`` with a harness ``main`` for kernel ``fn``."""
    src = directory / "kernel.c"
    src.write_text(unit.source + harness_main(fn, shapes))
    (directory / "kernel.h").write_text(unit.header)
    exe = directory / "kernel"
    proc = subprocess.run([ARM_CC, *ARM_FLAGS, str(src), "-o", str(exe), "-lm"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{ARM_CC} failed:\n{proc.stderr.strip()[-4000:]}")
    return exe


def run_arm(unit: CUnit, fn: Function, shapes: Mapping[str, tuple[int, ...]],
            arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Compile for Arm, run once under qemu on ``arrays``; the outputs."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        exe = compile_arm(unit, fn, shapes, d)
        (d / "in.bin").write_bytes(pack_inputs(fn, arrays))
        proc = subprocess.run([QEMU, "-cpu", "max", str(exe), str(d / "in.bin"),
                               str(d / "out.bin")], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise BuildError(f"the Arm program failed under qemu (exit {proc.returncode}): "
                             f"{proc.stderr.strip()[-2000:]}")
        return unpack_outputs(fn, shapes, (d / "out.bin").read_bytes())
