"""The soundness check of one generated kernel: every rewrite agrees with the original.

The kernel is tensorized with the engine's own interpreter sanity run switched off: that
run only happens below the 4M-instance execution limit, so what is checked here is the
real guarantee (the tile proofs and the validation) that bigger kernels rely on. Then a
rewrite must

1. agree with the original in the interpreter on random and edge-value inputs (the exact
   real-mode interpreter in real mode); a kernel above the execution limit is run at its
   full size on fewer inputs when one run is cheap, else counted as checked structurally
   only;
2. have its tile proof re-proved with cvc5 from the SMT-LIB obligations;
3. and the engine must not crash on a kernel that parsed and type-checked.

A kernel with size parameters is checked at its defaults and at a second, smaller set of
sizes. Kernels in which a loop variable is a value, or whose init cannot be hoisted, must
either stay unrewritten or be rewritten correctly: the same check.
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tensorize.api import parse
from tensorize.equivalence.execute import (
    EXECUTION_LIMIT,
    _differences,
    _far_apart,
    refute_by_execution,
    translate_inputs,
    work,
)
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved
from tensorize.equivalence.solver import SolverConfig
from tensorize.errors import EquivalenceError, TensorizeError
from tensorize.ir import interp
from tensorize.ir.nodes import Function
from tensorize.matcher.candidates import instantiate
from tensorize.rewrite.apply import bake_sizes
from tensorize.rewrite.engine import TensorizePass

BIG_RUN_SECONDS = 2.0
"""A kernel above the execution limit is run at full size only if one run takes less."""


@dataclass
class Outcome:
    """What happened to one kernel (at every set of sizes it was checked at)."""

    rewrites: int
    disagreement: str | None = None
    kind: str = ""
    """``crash``, ``interpreter`` or ``cvc5`` when there is a disagreement."""
    structural_only: bool = False
    """Some rewrite was too big to run: only its proofs and validation vouch for it."""
    sizes_checked: list[dict[str, int]] = field(default_factory=list)
    rewrites_at: list[int] = field(default_factory=list)
    """Rewrites emitted at each set of sizes checked (the defaults first)."""


def _crash(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {last.filename.split('tensorize/')[-1]}:{last.lineno}" if last else ""
    text = exc.message if isinstance(exc, TensorizeError) else repr(exc)
    return f"the engine crashed: {type(exc).__name__}: {text}{where}"


class _TooSlow(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_TooSlow` in the block after ``seconds`` (main thread, Unix only;
    elsewhere no limit)."""
    if not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(_signum: int, _frame: object) -> None:
        raise _TooSlow

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _run_big(original: Function, rewritten: Function, library: Mapping[str, Function],
             fp: str) -> str | None | bool:
    """Both sides at full size on random inputs (and max values if quick): a description
    of a difference, None if they agree, False if a run is too slow to try."""
    compared: list[bool] = []
    try:
        with _time_limit(2 * BIG_RUN_SECONDS):
            return _run_big_pairs(original, rewritten, library, fp, compared)
    except _TooSlow:
        return None if compared else False


def _run_big_pairs(original: Function, rewritten: Function, library: Mapping[str, Function],
                   fp: str, compared: list[bool]) -> str | None | bool:
    for attempt, seed in enumerate((17, -1)):
        if seed >= 0:
            values = interp.random_inputs(original, {}, seed)
        else:  # every input at its largest value
            values = {}
            for b in original.buffers:
                if b.mode in ("in", "inout"):
                    t = b.dtype
                    top = 1.0 if t.is_float else t.max
                    values[b.name] = np.full(interp.buffer_shape(b, {}), top,
                                             dtype=object).astype(t.np_dtype)
        start = time.perf_counter()
        out_a = interp.run(original, values, library=library)
        took = time.perf_counter() - start
        if took > BIG_RUN_SECONDS:
            return False if attempt == 0 else None
        out_b = interp.run(rewritten, translate_inputs(values, rewritten, {}),
                           library=library)
        # real mode: IEEE runs of reordered sums differ by rounding; far apart is wrong
        diffs = _differences(original, out_a, out_b, False) if fp == "ieee" else \
            _differences(original, out_a, out_b, False) if _far_apart(original, out_a, out_b) \
            else []
        compared.append(True)
        if diffs:
            return "interpreter disagrees at full size:\n" + "\n".join(
                f"  {d.buffer}{list(d.index)}: left gives {d.left}, right gives {d.right}"
                for d in diffs)
        if took * 4 > BIG_RUN_SECONDS:
            return None
    return None


def _check_at(kernel: Function, fp: str, library: Any, sizes: Mapping[str, int] | None,
              cross_check: bool, out: Outcome) -> None:
    tpass = TensorizePass(fp=fp, solver=SolverConfig(timeout_ms=5000),  # type: ignore[arg-type]
                          execution_check=False)
    try:
        result = tpass.run(kernel, library, sizes)
    except Exception as exc:  # noqa: BLE001 - any exception on checked input is a crash
        out.disagreement, out.kind = _crash(exc), "crash"
        return
    out.sizes_checked.append(dict(result.sizes))
    if result.counts()["unchecked"]:  # the candidates left unchecked changed no choice
        full = replace(tpass, exhaustive=True).run(kernel, library, sizes)
        if _choices(full) != _choices(result):
            out.disagreement = ("checking every candidate chooses otherwise:\n"
                                f"  all checked: {_choices(full)}\n"
                                f"  preferred first: {_choices(result)}")
            out.kind = "unchecked"
            return
    chosen = [f.chosen for f in result.fragments if f.chosen]
    out.rewrites = max(out.rewrites, len(chosen))
    out.rewrites_at.append(len(chosen))
    if not chosen:
        return
    original = bake_sizes(kernel, result.sizes)
    at = f" (sizes {result.sizes})" if result.sizes else ""
    try:
        if max(work(original, {}), work(result.rewritten, {})) <= EXECUTION_LIMIT:
            cex = refute_by_execution(original, {}, result.rewritten, {}, dict(library), fp,
                                      seed=17, randoms=3)
            found = "interpreter disagrees" + at + ":\n" + cex.describe() if cex else None
        else:
            big = _run_big(original, result.rewritten, dict(library), fp)
            if big is False:
                out.structural_only = True
            found = (big + at) if isinstance(big, str) else None
    except Exception as exc:  # noqa: BLE001 - the rewritten kernel must run
        out.disagreement, out.kind = _crash(exc), "crash"
        return
    if found:
        out.disagreement, out.kind = found, "interpreter"
        return
    if cross_check:
        for attempt in chosen:
            assert attempt.tile is not None
            opts = ProveOptions(fp=fp, cross_check=True, execution=False)  # type: ignore[arg-type]
            try:
                intr = library[attempt.intrinsic]
                if attempt.sizes:  # a library call: proved at the sizes it is called with
                    intr = instantiate(intr, attempt.sizes)
                again = prove(attempt.tile, intr, options=opts)
            except EquivalenceError as exc:
                out.disagreement, out.kind = f"cvc5: {exc.message}", "cvc5"
                return
            if not isinstance(again, Proved):
                out.disagreement = f"the tile proof did not replay: {again}"
                out.kind = "cvc5"
                return


def _choices(result: Any) -> list[tuple[int, str, str] | None]:
    """Each fragment's choice: (position, intrinsic, mapping), or None."""
    return [(f.position, f.chosen.intrinsic, f.chosen.mapping) if f.chosen else None
            for f in result.fragments]


def check_kernel(text: str, fp: str, library, cross_check: bool = True,
                 alt_sizes: Mapping[str, int] | None = None) -> Outcome:
    """Tensorize ``text`` with the whole library and check every rewrite it emits, at the
    default sizes and (if given) at ``alt_sizes``.

    Raises :class:`TensorizeError` if ``text`` itself is not a valid kernel."""
    kernel = parse(text, "<fuzz>", library).kernels[0]
    out = Outcome(0)
    for sizes in (None, alt_sizes) if alt_sizes else (None,):
        try:
            _check_at(kernel, fp, library, sizes, cross_check, out)
        except TensorizeError as exc:  # a valid kernel: an error now is the engine's
            out.disagreement, out.kind = f"the engine failed: {exc.message}", "crash"
        if out.disagreement:
            break
    return out
