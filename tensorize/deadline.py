"""Run a command's work under a wall-clock deadline in a forked child process.

A solver timeout bounds one solver call; a proof makes many calls (and unrolls, and
executes), and ``apply`` many proofs, validations and runs, so only a separate process
that can be killed bounds the whole (``prove``, ``apply`` and ``explain`` --timeout). The child
runs the function and sends its (picklable, frozen) result back through a pipe; a thread
in the child samples the main thread's stack a few times a second and records which stage
of the proof it is in, so that an answer cut short can say where it was.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tensorize.equivalence.results import FpMode, Result, Unknown
from tensorize.errors import RenderedError, TensorizeError

T = TypeVar("T")

STAGES: dict[str, str] = {
    "load_specs": "loading the intrinsic library",
    "load_with_callees": "parsing and checking the input",
    "structural_proof": "the structural check (tensorize pass on the call-free side)",
    "enumerate_candidates": "candidate enumeration",
    "_tile_result": "the tile proofs",
    "validate": "the validation of a rewrite",
    "_execution_check": "the interpreter check of the rewritten kernel",
    "check_signatures": "the signature check",
    "refute_by_execution": "refutation by execution",
    "prove_parametric": "the per-element (parametric) proof",
    "unrolled_obligation": "unrolling both kernels symbolically",
    "solve": "the solver (unrolled obligation)",
}
"""Functions whose frames name a stage, with their names: the innermost on the stack is the
stage reported (outermost first in this table, roughly)."""

_STAGE_BYTES = 200
_GRACE = 0.25
"""Seconds kept back from the budget for starting the child and killing it."""


def _stage_of(frame: Any) -> str:
    """The innermost stage function on the stack of ``frame``."""
    while frame is not None:
        name = str(frame.f_code.co_name)
        if name in STAGES and "tensorize" in frame.f_code.co_filename:
            return str(name)
        frame = frame.f_back
    return ""


def _child(conn: Any, stage: Any, func: Callable[..., Any], args: tuple[Any, ...]
           ) -> None:
    """Body of the forked child: sample the stage, run, send the outcome."""
    main_id = threading.get_ident()
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # its own group: the deadline also ends the workers it starts

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
    except Exception as exc:  # an unpicklable answer is a bug too  # noqa: BLE001
        conn.send(("crash", f"the answer could not be sent back: {exc}"))
    finally:
        conn.close()
        os._exit(0)


@dataclass(frozen=True)
class Expired:
    """The budget ran out: how long it ran and the stage it was in."""

    seconds: float
    budget: float
    stage: str
    """The innermost stage function it was in (a key of :data:`STAGES`), or ""."""

    @property
    def reason(self) -> str:
        """``the whole-command time budget of T s ran out during <stage>``."""
        said = f" during {STAGES[self.stage]}" if self.stage in STAGES else ""
        return f"the whole-command time budget of {self.budget:g} s ran out{said}"


def _kill(proc: Any) -> None:
    """Kill the child and the process group it made (the workers of ``--jobs``)."""
    pid = proc.pid
    try:
        if pid is not None and os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
            return
    except OSError:
        pass
    proc.kill()


def call_with_deadline(func: Callable[..., T], args: tuple[Any, ...], budget: float,
                       started: float | None = None) -> T | Expired:
    """``func(*args)`` (its value must pickle) if it finishes within ``budget`` seconds of
    ``started`` (a ``time.monotonic()`` value, default now), else :class:`Expired`.

    It runs in a forked child that is killed at the deadline. Errors raised in the child
    are raised again here (a :class:`TensorizeError` keeps its rendered text and exit
    code; anything else is a RuntimeError). Without ``fork`` (not POSIX), it runs here,
    unbounded.
    """
    start = time.monotonic() if started is None else started
    if "fork" not in multiprocessing.get_all_start_methods():
        return func(*args)
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
                kind, payload = "crash", f"the worker process died (exit {proc.exitcode})"
        else:
            kind, payload = "timeout", None
    finally:
        if proc.is_alive():
            _kill(proc)
        proc.join(1.0)
        receive.close()
    if kind == "ok":
        return payload  # type: ignore[no-any-return]  # the child's value, unpickled
    if kind == "error":
        text, code = payload
        raise RenderedError(text, code)
    if kind == "crash":
        raise RuntimeError(f"in the worker process: {payload}")
    where = bytes(stage[:]).split(b"\0")[0].decode(errors="replace")
    return Expired(time.monotonic() - start, budget, where)


def run_with_deadline(func: Callable[..., Result], args: tuple[Any, ...], budget: float,
                      fp: FpMode, started: float | None = None) -> Result:
    """``func(*args)`` if it finishes within ``budget`` seconds of ``started`` (a
    ``time.monotonic()`` value, default now), else :class:`Unknown` naming the stage.

    Errors raised in the child are raised again here (a :class:`TensorizeError` keeps its
    rendered text and exit code).
    """
    value = call_with_deadline(func, args, budget, started)
    if isinstance(value, Expired):
        return Unknown(fp, value.seconds, value.reason)
    return value
