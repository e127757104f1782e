"""Run a proof under a wall-clock deadline in a forked child process.

A solver timeout bounds one solver call; a proof makes many calls (and unrolls, and
executes), so only a separate process that can be killed bounds the whole. The child
runs the function and sends its (picklable, frozen) result back through a pipe; a thread
in the child samples the main thread's stack a few times a second and records which stage
of the proof it is in, so that an answer cut short can say where it was.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from tensorize.equivalence.results import FpMode, Result, Unknown
from tensorize.errors import RenderedError, TensorizeError

STAGES: dict[str, str] = {
    "structural_proof": "the structural check (tensorize pass on the call-free side)",
    "check_signatures": "the signature check",
    "refute_by_execution": "refutation by execution",
    "prove_parametric": "the per-element (parametric) proof",
    "unrolled_obligation": "unrolling both kernels symbolically",
    "solve": "the solver (unrolled obligation)",
}
"""Functions whose frames name a stage, outermost first in a proof, with their names."""

_STAGE_BYTES = 200
_GRACE = 0.25
"""Seconds kept back from the budget for starting the child and killing it."""


def _stage_of(frame: Any) -> str:
    """The innermost stage function on the stack of ``frame``."""
    while frame is not None:
        name = frame.f_code.co_name
        if name in STAGES and "tensorize" in frame.f_code.co_filename:
            return str(name)
        frame = frame.f_back
    return ""


def _child(conn: Any, stage: Any, func: Callable[..., Result], args: tuple[Any, ...]
           ) -> None:
    """Body of the forked child: sample the stage, run, send the outcome."""
    main_id = threading.get_ident()

    def sample() -> None:
        while True:
            frame = sys._current_frames().get(main_id)
            name = _stage_of(frame).encode()[:_STAGE_BYTES - 1]
            if name:
                stage[:] = name.ljust(_STAGE_BYTES, b"\0")
            del frame
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    try:
        outcome: tuple[str, Any] = ("ok", func(*args))
    except TensorizeError as exc:
        outcome = ("error", (exc.render(), exc.exit_code))
    except RecursionError:
        outcome = ("error", ("tensorize: error: input nested too deeply", 2))
    except BaseException as exc:  # a bug: carried to the parent, which reports it
        outcome = ("crash", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    try:
        conn.send(outcome)
    finally:
        conn.close()
        os._exit(0)


def run_with_deadline(func: Callable[..., Result], args: tuple[Any, ...], budget: float,
                      fp: FpMode, started: float | None = None) -> Result:
    """``func(*args)`` if it finishes within ``budget`` seconds of ``started`` (a
    ``time.monotonic()`` value, default now), else :class:`Unknown`.

    Errors raised in the child are raised again here (a :class:`TensorizeError` keeps its
    rendered text and exit code).
    """
    start = time.monotonic() if started is None else started
    ctx = multiprocessing.get_context("fork")
    stage = ctx.Array("c", _STAGE_BYTES)
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, stage, func, args), daemon=True)
    proc.start()
    send.close()
    try:
        ready = receive.poll(max(budget - _GRACE - (time.monotonic() - start), 0.01))
        if ready:
            try:
                kind, payload = receive.recv()
            except EOFError:
                kind, payload = "crash", f"the proof process died (exit {proc.exitcode})"
        else:
            kind, payload = "timeout", None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(1.0)
        receive.close()
    if kind == "ok":
        return payload  # type: ignore[no-any-return]  # the child's Result, unpickled
    if kind == "error":
        text, code = payload
        raise RenderedError(text, code)
    if kind == "crash":
        raise RuntimeError(f"in the proof process: {payload}")
    where = bytes(stage[:]).split(b"\0")[0].decode(errors="replace")
    said = f" during {STAGES[where]}" if where in STAGES else ""
    return Unknown(fp, time.monotonic() - start,
                   f"the whole-command time budget of {budget:g} s ran out{said}")
