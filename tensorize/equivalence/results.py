"""Three-valued results of an equivalence question, each carrying its evidence."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

from tensorize.errors import UsageError


class FpMode(StrEnum):
    """The float semantics of a question: IEEE 754 arithmetic in the program's order, or
    exact real arithmetic (rounding ignored, so reassociation and FMA contraction are
    equal). A ``str``: ``FpMode.IEEE == "ieee"``."""

    IEEE = "ieee"
    REAL = "real"


class Verdict(StrEnum):
    """What became of one candidate rewrite (a ``str``, as in the JSON report)."""

    PROVED = "proved"
    REFUTED = "refuted"
    UNKNOWN = "unknown"
    """Undecided (solver unknown, timeout, a skipped check): never used, never "invalid"."""
    INVALID = "invalid"
    """Proved on a tile, but the rewrite as placed is not legal (validation failed)."""
    UNCHECKED = "unchecked"
    """Not checked, and so never used: a preferred candidate of the fragment was proved
    first, or the candidate costs no less than the scalar loop (``explain`` checks all)."""

FP_MODES: tuple[str, ...] = tuple(m.value for m in FpMode)
"""The float semantics the engine knows."""


def check_fp(fp: object) -> FpMode:
    """``fp`` is a float semantics the engine knows ("ieee" or "real")."""
    if not isinstance(fp, str) or fp not in FP_MODES:
        raise UsageError(f"unknown float mode {fp!r} (valid: {', '.join(FP_MODES)})")
    return FpMode(fp)


@dataclass(frozen=True)
class Difference:
    """One output element on which the two sides differ."""

    buffer: str
    index: tuple[int, ...]
    left: str
    right: str


@dataclass(frozen=True)
class Counterexample:
    """Concrete inputs on which the two sides differ, and where they differ.

    ``inputs`` maps each input buffer to its values (rendered as text, abbreviated for
    large buffers); ``relevant`` lists the input elements the differing output reads.
    """

    inputs: dict[str, str]
    differences: tuple[Difference, ...]
    found_by: Literal["execution", "solver"]
    relevant: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)
    """The input values themselves, flattened row-major (JSON numbers)."""

    def describe(self, left: str = "left", right: str = "right") -> str:
        """A readable account: which output differs, with which inputs."""
        lines = []
        for d in self.differences[:4]:
            where = ", ".join(map(str, d.index))
            lines.append(f"  {d.buffer}[{where}]: {left} gives {d.left}, {right} gives "
                         f"{d.right}")
        if len(self.differences) > 4:
            lines.append(f"  ... and {len(self.differences) - 4} more differing elements")
        lines.append(f"  on inputs (found by {self.found_by}):")
        shown = self.relevant or self.inputs
        for name, text in shown.items():
            lines.append(f"    {name} = {text}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Outcome:
    """What every result has: the float semantics it holds in, the seconds it took, and
    ``to_json``."""

    mode: FpMode
    time: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Proved(_Outcome):
    """The two sides are equal for every input meeting the assumptions."""

    obligation: str
    method: str
    assumptions: tuple[str, ...] = ()
    status: Literal["proved"] = "proved"
    cross_check: str = ""
    """What the second solver said (``--cross-check``); empty when not asked."""


@dataclass(frozen=True)
class Refuted(_Outcome):
    """The two sides differ; the counterexample shows where."""

    counterexample: Counterexample
    status: Literal["refuted"] = "refuted"


@dataclass(frozen=True)
class Unknown(_Outcome):
    """No answer (timeout, resource limit, unsupported form). Never a proof."""

    reason: str
    status: Literal["unknown"] = "unknown"


Result = Proved | Refuted | Unknown


def to_json_text(result: Result) -> str:
    """The result as indented JSON text."""
    return json.dumps(result.to_json(), indent=2, sort_keys=True)
