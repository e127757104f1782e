"""Every exception class of the package is under one root, :class:`TensorizeError`, with
one exit code; where one means what a Python built-in means, it is that built-in too (as
pysmt's ``PysmtValueError`` is a ``ValueError``). A private control-flow exception that
never leaves its module is listed below with the reason it stays outside the root."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import tensorize
from tensorize import errors
from tensorize.errors import Source, Span, TensorizeError

CONTROL_FLOW: dict[str, str] = {
    "tensorize.ir.bounds._Unsupported":
        "raised and caught inside the quick bound check (the expression goes to the solver)",
    "tensorize.ir.intsolve._Unsupported":
        "raised and caught inside the translation to the solver (the answer is unknown)",
    "tensorize.rewrite.validate._Invalid":
        "raised and caught inside the validator (the rewrite is rejected with its message)",
    "tensorize.rewrite.inline.NotInlined":
        "caught by the engine's execution check, which then runs the calls themselves; "
        "not an error of the user's input (rewrite/ is another helper's: to move under "
        "the root there)",
}
"""Exceptions outside the root, each with why (a list to shrink, never to grow)."""

BUILTIN_MEANING: dict[str, type[Exception]] = {
    "NotReal": ArithmeticError,  # NaN, infinity, x / 0 in real arithmetic
}
"""Errors that mean what a built-in exception means, and that built-in. Not here:
``UsageError`` as a ``ValueError``: ``equivalence/execute.py`` catches ``ValueError``
around the batched run (which calls intrinsics through the interpreter's own argument
checks), so a usage error raised there would silently change path; ``InputError`` as an
``OSError``: it also stands for undecodable bytes and NUL bytes, which are not OS errors
and have no ``errno``; ``InterpError`` as an ``IndexError``: it also stands for a broken
``assume``."""

EXIT_CODES = {1, 2}
"""1: a negative finding (``NotComparable``); 2: bad input or usage."""


def _modules() -> list[str]:
    names = ["tensorize"]
    for info in pkgutil.walk_packages(tensorize.__path__, "tensorize."):
        if info.name not in ("tensorize.__main__",):  # runs the CLI when imported
            names.append(info.name)
    return sorted(names)


def _exception_classes() -> dict[str, type[BaseException]]:
    found = {}
    for name in _modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == name:
                found[f"{name}.{cls.__qualname__}"] = cls
    return found


CLASSES = _exception_classes()


def test_every_module_is_imported() -> None:
    """The walk sees the whole package (the test below would pass on an empty one)."""
    assert {"tensorize.errors", "tensorize.cli", "tensorize.frontends.mlir_import",
            "tensorize.backend.build", "tensorize.rewrite.validate"} <= set(_modules())
    assert "tensorize.errors.CheckError" in CLASSES
    assert "tensorize.backend.build.BuildError" in CLASSES


def test_every_exception_is_under_the_root() -> None:
    outside = sorted(name for name, cls in CLASSES.items()
                     if not issubclass(cls, TensorizeError) and name not in CONTROL_FLOW)
    assert not outside, f"not under TensorizeError (nor listed with a reason): {outside}"


def test_the_control_flow_list_is_current() -> None:
    """Each listed exception still exists and is still outside the root."""
    stale = [n for n in CONTROL_FLOW if n not in CLASSES or issubclass(CLASSES[n],
                                                                     TensorizeError)]
    assert not stale, f"remove from CONTROL_FLOW: {stale}"


@pytest.mark.parametrize("name", sorted(n for n, c in CLASSES.items()
                                        if issubclass(c, TensorizeError)))
def test_each_error_has_one_exit_code(name: str) -> None:
    cls = CLASSES[name]
    assert isinstance(cls.exit_code, int) and cls.exit_code in EXIT_CODES, name  # type: ignore[attr-defined]  # a TensorizeError subclass has it
    assert not isinstance(vars(cls).get("exit_code"), property), name


def test_errors_that_mean_a_builtin_are_that_builtin() -> None:
    for name, builtin in BUILTIN_MEANING.items():
        assert issubclass(getattr(errors, name), builtin), name


@pytest.mark.parametrize("name", sorted(n for n, c in CLASSES.items()
                                        if issubclass(c, TensorizeError)))
def test_each_error_pickles_whole(name: str) -> None:
    """Errors cross process boundaries (``--jobs`` workers, the deadline's child)."""
    cls = CLASSES[name]
    span = Span(Source("f.tz", "kernel k {}\n"), 1, 8)
    if cls is errors.CheckError:
        made: TensorizeError = errors.CheckError([("first", span), ("second", None)])
    elif cls is errors.RenderedError:
        made = errors.RenderedError("f.tz:1:1: error: x", 1)
    else:
        made = cls("message", span)  # type: ignore[call-arg]  # every other error takes (message, span)
    back = pickle.loads(pickle.dumps(made))
    assert type(back) is cls
    assert back.render() == made.render() and back.exit_code == made.exit_code


def test_the_cli_exits_with_the_errors_code(cli, tmp_path) -> None:
    """The exit code a user sees is the error's own (here a usage error and a parse
    error: 2, each one diagnostic, no traceback)."""
    bad = tmp_path / "bad.tz"
    bad.write_text("kernel k( {\n")
    for argv in (["run", str(bad)], ["run", str(tmp_path / "missing.tz")],
                 ["intrinsics", "--target", "nowhere"], ["apply", "--jobs", "0", str(bad)]):
        result = cli(argv)
        assert result.code == 2, (argv, result.err)
        assert "Traceback" not in result.err and "internal error" not in result.err
        assert "error" in result.err
