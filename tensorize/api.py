"""The library interface: what another compiler calls."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tensorize.errors import UsageError
from tensorize.intrinsics.library import Library, load_library
from tensorize.ir import interp
from tensorize.ir.check import check_module
from tensorize.ir.nodes import Function, Module
from tensorize.ir.parser import parse as parse_text
from tensorize.ir.parser import parse_file

__all__ = ["Library", "load_library", "parse", "load", "run", "find_function", "prove",
           "tensorize"]


def parse(text: str, name: str = "<input>", library: Mapping[str, Function] | None = None,
          ) -> Module:
    """Parse and type-check `.tz` text; calls may use intrinsics of ``library``."""
    return check_module(parse_text(text, name), library)


def load(path: str | Path, library: Mapping[str, Function] | None = None) -> Module:
    """Read, parse and type-check one `.tz` file."""
    return check_module(parse_file(path), library)


def find_function(module: Module, name: str | None, kind: str = "kernel") -> Function:
    """The function called ``name``; without a name, the module's only kernel."""
    if name is not None:
        fn = module.get(name)
        if fn is None:
            known = ", ".join(f.name for f in module.functions)
            raise UsageError(f"no kernel or intrinsic named '{name}' (the file has: {known})")
        return fn
    candidates = module.kernels if kind == "kernel" else module.intrinsics
    if len(candidates) != 1:
        raise UsageError(f"the file has {len(candidates)} {kind}s; choose one by name")
    return candidates[0]


def run(fn: Function, inputs: Mapping[str, np.ndarray] | None = None, *, seed: int = 0,
        sizes: Mapping[str, int] | None = None, library: Mapping[str, Function] | None = None,
        mode: interp.Mode = "vector") -> dict[str, np.ndarray]:
    """Run a checked kernel; without inputs, on seeded random ones."""
    if inputs is None:
        inputs = interp.random_inputs(fn, sizes, seed)
    return interp.run(fn, inputs, sizes=sizes, library=library, mode=mode)


def prove(a: Function, b: Function, *, fp: str = "ieee", timeout: float = 10.0,
          sizes: Mapping[str, int] | None = None,
          library: Mapping[str, Function] | None = None, **options: object):
    """Prove or refute that two checked kernels compute the same thing.

    Returns :class:`Proved`, :class:`Refuted` (with a counterexample) or :class:`Unknown`
    (never a proof). ``options`` are further fields of :class:`ProveOptions`.
    """
    from tensorize.equivalence.prove import ProveOptions
    from tensorize.equivalence.prove import prove as _prove
    from tensorize.equivalence.solver import SolverConfig

    own_a = {k: v for k, v in (sizes or {}).items() if any(p.name == k for p in a.params)}
    own_b = {k: v for k, v in (sizes or {}).items() if any(p.name == k for p in b.params)}
    opts = ProveOptions(fp=fp, solver=SolverConfig(timeout_ms=int(timeout * 1000)),
                        **options)  # type: ignore[arg-type]
    return _prove(a, b, sizes_a=own_a, sizes_b=own_b, library=library, options=opts)


def tensorize(kernel: Function, library: Mapping[str, Function] | Library | None = None, *,
              targets: tuple[str, ...] | list[str] = (), intrinsics: tuple[str, ...] = (),
              fp: str = "ieee", sizes: Mapping[str, int] | None = None, timeout: float = 10.0):
    """Rewrite a checked kernel with the intrinsics of ``library`` (the bundled one if None).

    Returns a frozen :class:`TensorizeResult`: ``.rewritten`` (a kernel whose sizes are
    fixed to ``sizes`` or the defaults), ``.fragments`` (per fragment: the chosen match,
    its proof, the alternatives and why the rest were rejected), ``.coverage``, ``.cost``
    and ``.to_json()``.
    """
    from tensorize.equivalence.solver import SolverConfig
    from tensorize.rewrite.engine import TensorizePass

    lib = library if library is not None else load_library()
    pass_ = TensorizePass(targets=tuple(targets), intrinsics=tuple(intrinsics),
                          fp=fp, solver=SolverConfig(timeout_ms=int(timeout * 1000)))  # type: ignore[arg-type]
    return pass_.run(kernel, lib, sizes)
