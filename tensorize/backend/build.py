"""Compile emitted C into a shared library, cached by content hash, and load it.

The compiler is ``$CC`` or the system ``cc``. Flags: ``-O3 -march=native -ffp-contract=off``
(IEEE order: no contraction of ``a*b + c`` into an FMA the semantics does not have),
``-fPIC -shared``, and ``-fopenmp`` when a loop runs on threads; the x86 features a
kernel's templates need are enabled on its function alone (``target`` attribute), so the
rest of the code is compiled for the host only. The library is cached under
``$TENSORIZE_CACHE_DIR/native`` (else ``$XDG_CACHE_HOME/tensorize/native``, else
``~/.cache/tensorize/native``), named by the hash of the source, the flags and the
compiler's version, and written atomically; an unusable cache directory falls back to
a temporary one.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tensorize.errors import UsageError
from tensorize.intrinsics.host import cpu_flags, host_machine, target_info


class BuildError(UsageError):
    """The C compiler is missing or failed, or the CPU lacks a feature the code needs."""


def compiler() -> str:
    """The C compiler: ``$CC``, else ``cc``; a BuildError naming what is missing."""
    cc = os.environ.get("CC") or "cc"
    path = shutil.which(cc)
    if path is None:
        raise BuildError(f"no C compiler: '{cc}' is not on PATH (install gcc or clang, or "
                         "set CC); --backend c needs one")
    return path


@functools.cache
def compiler_version(cc: str) -> str:
    """The first line of ``cc --version``."""
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.stdout.splitlines() or ["unknown"])[0]


def feature_flags(features: Sequence[str]) -> list[str]:
    """``-m<feature>`` for each GCC feature name (x86 hosts; Arm features go in -march)."""
    if host_machine() != "x86_64":
        return []
    return [f"-m{f}" for f in features]


def missing_host_features(targets: Sequence[str]) -> list[str]:
    """CPU features (``/proc/cpuinfo`` names) that ``targets`` need and the host lacks.

    A target of another machine family is reported as that family.
    """
    missing: list[str] = []
    flags = cpu_flags()
    for t in targets:
        info = target_info(t)
        if info is None or info.machine is None:
            missing.append(f"{t} (no CPU runs it)")
            continue
        if info.machine not in ("any", host_machine()):
            missing.append(f"{t} (an {info.machine} target; this host is {host_machine()})")
            continue
        missing.extend(f for f in info.cpuinfo if f not in flags and f not in missing)
    return missing


def check_host(targets: Sequence[str]) -> None:
    """Raise a BuildError naming what the CPU lacks to run code using ``targets``."""
    missing = missing_host_features(targets)
    if missing:
        raise BuildError(f"this CPU cannot run the compiled kernel: it lacks "
                         f"{', '.join(missing)} (needed by {', '.join(targets)})")


def cache_dir() -> Path:
    """Where compiled libraries are kept."""
    base = os.environ.get("TENSORIZE_CACHE_DIR")
    if base:
        return Path(base) / "native"
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "tensorize" / "native"


def base_flags(openmp: bool) -> list[str]:
    """The flags every build uses."""
    flags = ["-O3", "-march=native", "-ffp-contract=off", "-fPIC", "-shared", "-std=gnu11"]
    if openmp:
        flags.append("-fopenmp")
    return flags


def build_shared(source: str, header: str, header_name: str, features: Sequence[str],
                 openmp: bool) -> Path:
    """Compile ``source`` into a shared library (cached); its path."""
    cc = compiler()
    flags = base_flags(openmp)  # features: the functions' target attributes enable them
    key = hashlib.sha256("\0".join([source, header, header_name, " ".join(flags),
                                    compiler_version(cc)]).encode()).hexdigest()[:24]
    try:
        directory = cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK):
            raise OSError("not writable")
    except OSError:
        directory = Path(tempfile.gettempdir()) / f"tensorize-native-{os.getuid()}"
        directory.mkdir(parents=True, exist_ok=True)
    lib = directory / f"k{key}.so"
    if lib.exists():
        return lib
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        src = Path(tmp) / "kernel.c"
        src.write_text(source)
        (Path(tmp) / header_name).write_text(header)
        out = Path(tmp) / "kernel.so"
        cmd = [cc, *flags, str(src), "-o", str(out), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"the C compiler failed ({' '.join(cmd[:1] + flags)}):\n"
                             + proc.stderr.strip()[-4000:])
        os.replace(out, lib)
    return lib


def load(path: Path) -> ctypes.CDLL:
    """Load a shared library."""
    return ctypes.CDLL(str(path))
