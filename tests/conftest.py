"""Shared fixtures: golden files, the CLI driven in-process, hypothesis profiles."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tensorize.cli import main

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
GOLDEN = TESTS / "golden"
EXAMPLES = ROOT / "examples"

# the proof cache of tests lives in a fresh directory, never in the user's cache
os.environ["TENSORIZE_CACHE_DIR"] = tempfile.mkdtemp(prefix="tensorize-test-cache-")

settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen-golden", action="store_true",
                     help="rewrite golden files from the current output")


@dataclass
class Result:
    """Exit code and captured streams of one in-process CLI run."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli():
    """Run the CLI in-process: ``cli(["run", "x.tz"]) -> Result``."""

    def invoke(argv: Sequence[str]) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), out, err)
        return Result(code, out.getvalue(), err.getvalue())

    return invoke


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """Compare text with ``tests/golden/<name>``; ``--regen-golden`` rewrites it."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--regen-golden"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        assert path.exists(), f"missing golden file {path}; run pytest --regen-golden"
        assert text == path.read_text(), f"output differs from {path}"

    return check
