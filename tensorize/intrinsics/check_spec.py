"""``tensorize check-spec``: is a spec well-formed, and does it do what it seems to?

Beyond parsing and type checking, a spec is linted (an unused parameter, an ``inout``
that is never read, an output element that is never written, a loop whose body does not
depend on its variable, missing metadata) and run on random inputs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from tensorize.errors import Span, TensorizeError, render_diagnostic
from tensorize.ir import interp
from tensorize.ir.nodes import Assign, CallStmt, For, Function, Load, View
from tensorize.ir.traverse import free_vars, walk

REQUIRED_META = ("summary", "target", "cost", "manual")
RUN_SIZE = 8
"""The value given to size parameters without a default when a spec is run."""


@dataclass(frozen=True)
class Finding:
    """One problem found in a spec."""

    message: str
    span: Span | None

    def render(self) -> str:
        """``file:line:col: warning: message`` with the source line and a caret."""
        return render_diagnostic(self.message, self.span, "warning")


@dataclass(frozen=True)
class SpecReport:
    """What check-spec found for one intrinsic."""

    fn: Function
    findings: tuple[Finding, ...]
    ran: str
    seconds: float
    checksums: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No findings and a clean run."""
        return not self.findings and self.ran == "ok"


def _used_buffers(fn: Function) -> tuple[set[str], set[str]]:
    """(buffers read, buffers written), counting views of calls by their parameter mode."""
    read, written = set(), set()
    for node in walk(fn):
        if isinstance(node, Load):
            read.add(node.buf)
        elif isinstance(node, CallStmt):
            for a in node.args:
                if isinstance(a.value, View):
                    read.add(a.value.buf)
                    written.add(a.value.buf)
        elif isinstance(node, Assign):
            written.add(node.buf)
    return read, written


def lint(fn: Function) -> list[Finding]:
    """Static findings for one function."""
    out: list[Finding] = []
    read, written = _used_buffers(fn)
    names_used = set().union(*(free_vars(s) for s in fn.body)) if fn.body else set()
    names_used |= set().union(*(free_vars(e) for b in fn.buffers for e in b.shape)) \
        if fn.buffers else set()
    for b in fn.buffers:
        if b.name not in read and b.name not in written:
            out.append(Finding(f"parameter '{b.name}' is never used", b.span))
        elif b.mode == "inout" and b.name not in read:
            out.append(Finding(f"'{b.name}' is inout but never read; declare it 'out'",
                               b.span))
        elif b.mode in ("out", "inout") and b.name not in written:
            out.append(Finding(f"'{b.name}' is an output but never written", b.span))
    for p in fn.params:
        if p.name not in names_used:
            out.append(Finding(f"size parameter '{p.name}' is never used", p.span))
    for node in walk(fn):
        if isinstance(node, For) and not any(node.var in free_vars(s) for s in node.body):
            out.append(Finding(f"the body of loop '{node.var}' does not depend on it: "
                               "the same work is repeated", node.span))
    if fn.kind == "intrinsic":
        present = {m.key for m in fn.meta}
        for key in REQUIRED_META:
            if key not in present:
                out.append(Finding(f"intrinsic '{fn.name}' has no '{key}'", fn.span))
    return out


def _sizes(fn: Function) -> dict[str, int]:
    return {p.name: RUN_SIZE for p in fn.params if p.default is None}


def unwritten_outputs(fn: Function, library: Mapping[str, Function]) -> list[Finding]:
    """Elements of ``out`` buffers whose final value depends on their initial contents."""
    sizes = _sizes(fn)
    inputs = interp.random_inputs(fn, sizes, seed=11)
    shapes = interp.shapes_of(fn, interp.bind_sizes(fn, sizes))
    finals = []
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        initial = {b.name: interp.random_array(b.dtype, shapes[b.name], rng)
                   for b in fn.buffers if b.mode == "out"}
        finals.append(interp.run(fn, inputs, sizes=sizes, library=library, outputs=initial))
    out = []
    for b in fn.buffers:
        if b.mode != "out":
            continue
        x, y = finals[0][b.name], finals[1][b.name]
        differ = x.reshape(-1).view(np.uint8).reshape(x.size, -1) != \
            y.reshape(-1).view(np.uint8).reshape(y.size, -1)
        bad = np.argwhere(differ.any(axis=1)).reshape(-1)
        if bad.size:
            first = [int(i) for i in np.unravel_index(int(bad[0]), x.shape)]
            out.append(Finding(f"{bad.size} element(s) of '{b.name}' are never written "
                               f"(or read before written), first {b.name}{first}", b.span))
    return out


def check_spec(fn: Function, library: Mapping[str, Function]) -> SpecReport:
    """Lint and run one checked function."""
    start = time.perf_counter()
    findings = lint(fn)
    checksums: dict[str, str] = {}
    try:
        sizes = _sizes(fn)
        outputs = interp.run(fn, interp.random_inputs(fn, sizes, seed=0), sizes=sizes,
                             library=library)
        checksums = {k: interp.checksum(v) for k, v in outputs.items()}
        findings += unwritten_outputs(fn, library)
        ran = "ok"
    except TensorizeError as exc:
        ran = f"failed: {exc.message}"
    return SpecReport(fn, tuple(findings), ran, time.perf_counter() - start, checksums)


def format_report(path: str, reports: list[SpecReport]) -> str:
    """The one-screen summary of one file."""
    lines = [path]
    for r in reports:
        fn = r.fn
        sig = ", ".join(f"{b.mode} {b.name}: {b.dtype}"
                        f"{'[' + ', '.join(map(_show, b.shape)) + ']' if b.shape else ''}"
                        for b in fn.buffers)
        status = "ok" if r.ok else ("problems" if r.ran == "ok" else r.ran)
        lines.append(f"  {fn.name:44} {fn.target or '-':18} cost {fn.cost:<5g} "
                     f"{status:8} {r.seconds * 1e3:6.1f} ms")
        lines.append(f"      {sig}")
        if fn.summary:
            lines.append(f"      {fn.summary}")
    return "\n".join(lines)


def _show(e: object) -> str:
    from tensorize.ir.printer import format_expr

    return format_expr(e)  # type: ignore[arg-type]  # callers pass expressions
