"""The intrinsic library as the commands show it: the table of ``tensorize intrinsics``
and the checks of ``tensorize check-spec``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tensorize.api_checks import check_targets
from tensorize.api_load import load_specs, load_with_callees
from tensorize.intrinsics.host import in_target, missing_features
from tensorize.intrinsics.library import load_library


@dataclass(frozen=True)
class IntrinsicRow:
    """One intrinsic of the table."""

    name: str
    target: str
    cost: float
    cost_source: str
    summary: str
    missing: tuple[str, ...] | None
    """The CPU features this host lacks to run it (None: the host cannot run it at all)."""

    @property
    def runs_here(self) -> bool:
        """Whether this host's CPU runs it."""
        return self.missing == ()


@dataclass(frozen=True)
class IntrinsicTable:
    """The intrinsics of the library (or of one target), by target then name."""

    rows: tuple[IntrinsicRow, ...]

    def describe(self) -> str:
        """The table as ``tensorize intrinsics`` prints it (lines ending in a newline)."""
        lines = [f"{'name':44} {'target':18} {'cost':>6}  {'host':4}  summary"]
        for r in self.rows:
            runs = "yes" if r.runs_here else "no"
            lines.append(f"{r.name:44} {r.target:18} {r.cost:6g}  {runs:4}  {r.summary}")
            lines.append(f"{'':44} cost: {r.cost_source or '(no cost_source)'}")
            if r.missing:
                lines.append(f"{'':44} host lacks: {' '.join(r.missing)}")
        targets = {r.target for r in self.rows}
        lines.append(f"{len(self.rows)} intrinsics over {len(targets)} targets")
        return "".join(line + "\n" for line in lines)


def list_intrinsics(specs: Sequence[str] = (), target: str | None = None) -> IntrinsicTable:
    """``tensorize intrinsics``: the library and ``specs``, only ``target`` (a target or a
    family such as ``x86``) when given: cost (cycles per call) and where that figure
    comes from, whether this host's CPU runs each, and its summary."""
    library = load_specs(specs)
    if target:
        check_targets(library, [target])
    fns = [fn for fn in library if not target or in_target(fn.target, target)]
    return IntrinsicTable(tuple(
        IntrinsicRow(fn.name, fn.target, fn.cost, str(fn.meta_value("cost_source") or ""),
                     fn.summary, missing_features(fn.target))
        for fn in sorted(fns, key=lambda f: (f.target, f.name))))


@dataclass(frozen=True)
class SpecFileCheck:
    """What check-spec found in one file: the warnings and the one-screen summary."""

    path: str
    """The file, as named on the command line."""
    summary: str
    """Each spec's signature, target, cost, status and time (``format_report``)."""
    warnings: tuple[str, ...]
    """Each finding rendered as a diagnostic (with the source line and a caret)."""
    checked: int
    """How many functions the file defines (each checked)."""
    problems: int
    """How many of them have a finding or a failed run."""


def check_spec_files(files: Sequence[str], specs: Sequence[str] = (), *,
                     bundled: bool = True) -> Iterator[SpecFileCheck]:
    """``tensorize check-spec``: parse, type-check, lint and run each function of
    ``files``, one file after the other (a file that does not load stops the checks
    there); their calls may use the library (without the bundled specs if not
    ``bundled``) and ``specs``."""
    from tensorize.intrinsics.check_spec import check_spec, format_report

    library = load_library(specs, bundled=bundled)
    for path in files:
        module, callees = load_with_callees(path, library)
        reports = [check_spec(fn, callees) for fn in module.functions]
        warnings = tuple(finding.render() for r in reports for finding in r.findings)
        yield SpecFileCheck(path, format_report(path, reports), warnings, len(reports),
                            sum(not r.ok for r in reports))
