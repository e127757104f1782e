"""One error hierarchy for the whole project.

Every error a user can cause carries a :class:`Span` and renders as
``file:line:col: error: message`` followed by the source line and a caret under the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Source:
    """The text of one input file, kept so that diagnostics can quote it."""

    name: str
    text: str

    def line(self, number: int) -> str:
        """The 1-based line ``number`` of the text, without its newline ('' if none)."""
        lines = self.text.splitlines()
        return lines[number - 1] if 1 <= number <= len(lines) else ""


@dataclass(frozen=True, slots=True)
class Span:
    """A position in a source file (1-based line and column)."""

    source: Source = field(compare=False, repr=False)
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.source.name}:{self.line}:{self.col}"


_MAX_SHOWN = 120


def render_diagnostic(message: str, span: Span | None, severity: str = "error") -> str:
    """Format one diagnostic: position, message, the source line and a caret."""
    if span is None:
        return f"tensorize: {severity}: {message}"
    text = span.source.line(span.line)
    shown = "".join(ch if ch.isprintable() or ch == "\t" else "\ufffd" for ch in text)
    col = max(span.col - 1, 0)
    if len(shown) > _MAX_SHOWN:  # show a window around the column
        start = max(col - _MAX_SHOWN // 2, 0)
        end = min(start + _MAX_SHOWN, len(shown))
        prefix = "..." if start else ""
        shown = prefix + shown[start:end] + ("..." if end < len(shown) else "")
        col = col - start + len(prefix)
    pad = "".join("\t" if ch == "\t" else " " for ch in shown[:col])
    first = message.splitlines()[0] if message else message
    return f"{span}: {severity}: {first}\n{shown}\n{pad}^"


class TensorizeError(Exception):
    """Root of every error the project raises on purpose. Exit code 2 (bad input)."""

    exit_code = 2

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span

    def diagnostics(self) -> list[tuple[str, Span | None]]:
        """The (message, span) pairs this error reports."""
        return [(self.message, self.span)]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle every subclass whole (errors cross process boundaries: ``--jobs`` workers,
        the deadline's child), whatever its ``__init__`` takes."""
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))

    def render(self) -> str:
        """All diagnostics of this error, formatted for a terminal."""
        return "\n".join(render_diagnostic(m, s) for m, s in self.diagnostics())


def _rebuild(cls: type[TensorizeError], args: tuple[Any, ...],
             state: dict[str, Any]) -> TensorizeError:
    """Unpickle an error without calling its ``__init__``."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class UsageError(TensorizeError):
    """A command line or API call that cannot be carried out as asked."""


class InputError(TensorizeError):
    """A file that cannot be read or decoded."""


class ParseError(TensorizeError):
    """Text that is not in the `.tz` grammar."""


class CheckError(TensorizeError):
    """A program that parses but is ill-typed or ill-formed; holds every error found."""

    def __init__(self, errors: list[tuple[str, Span | None]]) -> None:
        super().__init__(errors[0][0], errors[0][1])
        self.errors = list(errors)

    def diagnostics(self) -> list[tuple[str, Span | None]]:
        return list(self.errors)


class InterpError(TensorizeError):
    """A run-time error in the interpreter: an index out of bounds, a broken ``assume``."""


class EquivalenceError(TensorizeError):
    """A proof obligation that cannot be built or checked (not a negative answer)."""


class NotComparable(TensorizeError):
    """Two kernels whose signatures differ: no proof question can be asked. Exit code 1."""

    exit_code = 1


class TooLarge(EquivalenceError):
    """A check needs more statement instances than its budget allows: the caller reports
    it as skipped (``unknown``), never as passed."""


class NotReal(TensorizeError, ArithmeticError):
    """A value with no meaning in real arithmetic (NaN, infinity, x / 0)."""


class RenderedError(TensorizeError):
    """An error rendered elsewhere (in a worker process), carried as its text."""

    def __init__(self, text: str, exit_code: int = 2) -> None:
        super().__init__(text.splitlines()[0] if text else text)
        self.text = text
        self.exit_code = exit_code

    def render(self) -> str:
        """The text as it was rendered where the error happened."""
        return self.text
