"""Which targets the host CPU can run: the one table of targets and the CPU features each needs.

A target (``x86.avx512_vnni``) names an instruction-set extension of one machine family
(``x86``). :data:`TARGETS` maps every known target to the features it needs, spelled twice:
as ``/proc/cpuinfo`` prints them (``cpuinfo``) and as GCC and Clang name them in ``-m``
flags and ``__builtin_cpu_supports`` (``gcc``). The back end compiles with the ``gcc``
spellings; the matcher's default target set and ``tensorize intrinsics`` use
:func:`host_supports`.

A target missing from the table is one this module knows nothing about: the host is taken
not to run it (so it is never chosen by default), and ``--target`` can still ask for it.
Library-call targets (``blas``) need no CPU feature: any host runs them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TargetInfo:
    """What running a target's instructions needs.

    ``machine`` is the ``platform.machine()`` family (``x86_64``, ``aarch64``, ``riscv64``;
    ``None`` for targets that no CPU runs natively, such as GPUs and accelerators, and
    ``"any"`` for library calls); ``cpuinfo`` and ``gcc`` list the same features in the two
    spellings (empty when the base ISA suffices).
    """

    name: str
    machine: str | None
    cpuinfo: tuple[str, ...] = ()
    gcc: tuple[str, ...] = ()
    vector_bytes: tuple[str, int] | None = None
    """A minimum vector length the target's specs are written for, as (``sve`` or ``sme``,
    bytes): an SVE spec at 256 bits needs a vector length of at least 32 bytes, which
    ``/proc/cpuinfo`` does not say; :func:`vector_length` reads it."""


def _t(name: str, machine: str | None, cpuinfo: str = "", gcc: str = "",
       vector_bytes: tuple[str, int] | None = None) -> TargetInfo:
    return TargetInfo(name, machine, tuple(cpuinfo.split()), tuple(gcc.split()),
                      vector_bytes)


TARGETS: dict[str, TargetInfo] = {t.name: t for t in (
    # x86 (cpuinfo: Linux arch/x86 feature names; gcc: -m / __builtin_cpu_supports names)
    _t("x86.fma", "x86_64", "avx2 fma", "avx2 fma"),
    _t("x86.avx2", "x86_64", "avx2", "avx2"),
    _t("x86.avx_vnni", "x86_64", "avx2 avx_vnni", "avx2 avxvnni"),
    _t("x86.avx_vnni_int8", "x86_64", "avx2 avx_vnni_int8", "avx2 avxvnniint8"),
    _t("x86.avx_vnni_int16", "x86_64", "avx2 avx_vnni_int16", "avx2 avxvnniint16"),
    _t("x86.avx512_bw", "x86_64", "avx512f avx512bw", "avx512f avx512bw"),
    _t("x86.avx512_vnni", "x86_64", "avx512f avx512vl avx512_vnni",
       "avx512f avx512vl avx512vnni"),
    _t("x86.avx512_bf16", "x86_64", "avx512f avx512vl avx512_bf16",
       "avx512f avx512vl avx512bf16"),
    _t("x86.avx512_fp16", "x86_64", "avx512f avx512vl avx512_fp16",
       "avx512f avx512vl avx512fp16"),
    _t("x86.amx", "x86_64", "amx_tile amx_int8 amx_bf16", "amx-tile amx-int8 amx-bf16"),
    _t("x86.amx_fp16", "x86_64", "amx_tile amx_fp16", "amx-tile amx-fp16"),
    # Arm (cpuinfo: the kernel's hwcap names; gcc: -march=armv8.x-a+ext extensions)
    _t("arm.neon", "aarch64", "asimd asimddp i8mm bf16", "dotprod i8mm bf16"),
    _t("arm.sve", "aarch64", "sve svei8mm svebf16", "sve i8mm bf16"),
    _t("arm.sve2", "aarch64", "sve2", "sve2"),
    _t("arm.sme", "aarch64", "sme", "sme"),
    # SVE specs written for one vector length (VL bits): they run on any VL >= that
    # (predicated loads and stores cover the rest); SME specs at a streaming VL of 512
    _t("arm.sve128", "aarch64", "sve svei8mm svebf16", "sve i8mm bf16", ("sve", 16)),
    _t("arm.sve256", "aarch64", "sve svei8mm svebf16", "sve i8mm bf16", ("sve", 32)),
    _t("arm.sve512", "aarch64", "sve svei8mm svebf16", "sve i8mm bf16", ("sve", 64)),
    _t("arm.sme512", "aarch64", "sme", "sme",
       ("sme", 64)),
    # RISC-V
    _t("riscv.rvv", "riscv64", "v", "v"),
    # GPUs and accelerators: no CPU runs them
    _t("amd.cdna2", None), _t("amd.cdna3", None), _t("amd.rdna3", None),
    _t("intel.xe_hpc", None),
    # library calls: any host (the library's own build chooses the instructions)
    _t("blas", "any"),
    _t("onednn", "any"),
)}


@functools.cache
def host_machine() -> str:
    """``platform.machine()`` normalised (``amd64`` -> ``x86_64``, ``arm64`` -> ``aarch64``);
    on POSIX read from :func:`os.uname`, which is what :mod:`platform` does there (and
    importing it costs ~4 ms of a command)."""
    import os

    if hasattr(os, "uname"):
        m = os.uname().machine.lower()
    else:  # pragma: no cover - Windows
        import platform

        m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m, m)


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The host CPU's feature flags as ``/proc/cpuinfo`` lists them (empty if unreadable)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def in_target(target: str, wanted: str) -> bool:
    """True when ``target`` is ``wanted`` or belongs to the family ``wanted`` names
    (``x86.avx512_vnni`` is in ``x86`` and in ``x86.avx512_vnni``, not in ``x8``)."""
    return target == wanted or target.startswith(wanted + ".")


def target_info(target: str) -> TargetInfo | None:
    """The table entry of ``target`` or of its nearest listed family prefix, else ``None``.

    ``blas.level3`` finds ``blas``; ``x86`` alone finds nothing (a family is not a target).
    """
    name = target
    while name:
        if name in TARGETS:
            return TARGETS[name]
        name = name.rpartition(".")[0]
    return None


def missing_features(target: str) -> tuple[str, ...] | None:
    """The ``cpuinfo`` features the host lacks for ``target`` (empty when it can run it).

    ``None`` when the host cannot run the target at all: another machine family, a GPU or
    accelerator, or a target the table does not know.
    """
    info = target_info(target)
    if info is None or info.machine is None:
        return None
    if info.machine != "any" and info.machine != host_machine():
        return None
    flags = cpu_flags()
    missing = tuple(f for f in info.cpuinfo if f not in flags)
    if info.vector_bytes is not None:
        kind, need = info.vector_bytes
        if vector_length(kind) < need:
            missing += (f"{kind}_vl>={8 * need}",)
    return missing


@functools.cache
def vector_length(kind: str) -> int:
    """The host's default SVE or SME (streaming) vector length in bytes, 0 if unknown.

    Linux publishes it in ``/proc/sys/abi/sve_default_vector_length`` and
    ``/proc/sys/abi/sme_default_vector_length``.
    """
    try:
        return int(Path(f"/proc/sys/abi/{kind}_default_vector_length").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def host_supports(target: str) -> bool:
    """True when the host CPU can execute ``target``'s instructions (or library calls)."""
    return missing_features(target) == ()
