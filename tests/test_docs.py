"""The documentation says what the code does, and stands alone inside the repository.

- The commands of docs/adding-an-instruction.md work as the document says.
- Every ```tz block of README.md and docs/*.md is a complete module that parses,
  type-checks and runs; the worked values of docs/language.md are what the interpreters
  and the prover compute.
- Every syntactic form of the founders' design is shown in docs/language.md.
- Every link and every repository path the documents mention exists inside the
  repository, and nothing points outside it.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from tensorize.api import load_library, parse, run
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved
from tensorize.intrinsics.library import Library
from tensorize.ir import interp
from tensorize.ir.nodes import Function
from tests.conftest import ROOT

SPEC = str(ROOT / "docs" / "examples" / "vpdpbssd.tz")
KERNEL = str(ROOT / "docs" / "examples" / "smatmul.tz")
NAME = "x86.avx_vnni_int8.vpdpbssd_bcast"

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGE = ROOT / "docs" / "language.md"

SCALAR_CHECK_LIMIT = 20_000
"""Kernels this small are also run in the scalar interpreter and compared bit for bit."""


# -- the worked example of docs/adding-an-instruction.md ------------------------------------


def test_worked_example(cli, tmp_path: Path) -> None:
    check = cli(["check-spec", SPEC])
    assert check.code == 0 and "1 checked, 0 with problems" in check.out
    out = tmp_path / "smatmul_vnni.tz"
    applied = cli(["apply", KERNEL, "--specs", SPEC, "--intrinsic", NAME, "-o", str(out)])
    assert applied.code == 0, applied.err
    assert "coverage 100%" in applied.err
    assert f"call {NAME}(" in out.read_text()
    original = cli(["run", KERNEL])
    rewritten = cli(["run", str(out), "--specs", SPEC])
    assert original.code == rewritten.code == 0
    assert original.out == rewritten.out


def test_the_doc_names_the_commands_it_runs() -> None:
    text = (ROOT / "docs" / "adding-an-instruction.md").read_text()
    for command in ("tensorize check-spec", "tensorize apply", "tensorize run"):
        assert command in text


# -- code blocks -------------------------------------------------------------------------------

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def fenced_blocks(path: Path) -> list[tuple[str, int, str]]:
    """(info string, line of the opening fence, body) of every fenced block of a file."""
    text = path.read_text()
    return [(m.group(1).strip(), text.count("\n", 0, m.start()) + 1, m.group(2))
            for m in _FENCE.finditer(text)]


def _tz_blocks() -> list[tuple[Path, int, str]]:
    return [(path, line, body) for path in DOCS for info, line, body in fenced_blocks(path)
            if info == "tz"]


@cache
def _library() -> Library:
    return load_library()


def _sizes(fn: Function) -> dict[str, int]:
    """Each size at its default; a size without a default at 8."""
    return {p.name: p.default if p.default is not None else 8 for p in fn.params}


def test_the_documents_have_tz_blocks() -> None:
    blocks = _tz_blocks()
    assert any(path == ROOT / "README.md" for path, _, _ in blocks)
    assert sum(path == LANGUAGE for path, _, _ in blocks) >= 10


@pytest.mark.parametrize("path, line, body", _tz_blocks(),
                         ids=[f"{p.name}:{n}" for p, n, _ in _tz_blocks()])
def test_tz_block_parses_checks_and_runs(path: Path, line: int, body: str) -> None:
    module = parse(body, f"{path.relative_to(ROOT)}:{line}", _library())
    assert module.functions, "an empty block"
    callees = {**_library().as_dict(), **{f.name: f for f in module.intrinsics}}
    for fn in module.kernels:
        sizes = _sizes(fn)
        inputs = interp.random_inputs(fn, sizes, seed=1)
        vector = run(fn, inputs, sizes=sizes, library=callees)
        assert set(vector) == {b.name for b in fn.outputs}
        if interp.estimate_work(fn, sizes) <= SCALAR_CHECK_LIMIT:
            scalar = run(fn, inputs, sizes=sizes, library=callees, mode="scalar")
            for name, arr in vector.items():
                assert _same_array(arr, scalar[name]), \
                    f"{fn.name}: the interpreters disagree on '{name}'"


def _same_array(x: np.ndarray, y: np.ndarray) -> bool:
    """Bit for bit, except that every NaN is the same NaN (the semantics' equality)."""
    if x.dtype != y.dtype or x.shape != y.shape:
        return False
    if x.dtype.kind in "iub":
        return bool(np.array_equal(x, y))
    a, b = x.astype(np.float64), y.astype(np.float64)
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan], b[~nan])
                and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan])))


# -- worked values -------------------------------------------------------------------------------

_ROW = re.compile(r"^\| `(\w+)\[(\d+)\]` \| `([^`]*)` \| `([^`]*)` \|$", re.M)


def _worked_values() -> tuple[Function, list[tuple[str, int, str, str]]]:
    text = LANGUAGE.read_text()
    start = text.index("<!-- worked-values")
    table = text[start:text.index("<!-- end worked-values", start)]
    rows = [(m.group(1), int(m.group(2)), m.group(3), m.group(4))
            for m in _ROW.finditer(table)]
    kernel = next(body for _, _, body in _tz_blocks() if "kernel worked_values" in body)
    return parse(kernel).kernels[0], rows


def _same(value: object, expected: str) -> bool:
    if expected == "nan":
        return isinstance(value, float) and math.isnan(value)
    want = float(expected) if "." in expected else int(expected)
    if isinstance(want, float):
        return isinstance(value, float) and value == want and \
            math.copysign(1.0, value) == math.copysign(1.0, want)
    return value == want


@pytest.mark.parametrize("mode", ["vector", "scalar"])
def test_worked_values_are_what_the_interpreters_compute(mode: str) -> None:
    fn, rows = _worked_values()
    assert len(rows) >= 20
    shapes = interp.shapes_of(fn, {})
    written = {(b.name, i) for b in fn.outputs for i in range(shapes[b.name][0])}
    assert {(buf, i) for buf, i, _, _ in rows} == written, "every element has one row"
    out = run(fn, {}, mode="scalar" if mode == "scalar" else "vector")
    for buf, i, expr, expected in rows:
        value = out[buf][i].item()
        value = float(value) if out[buf].dtype.kind == "f" else int(value)
        assert _same(value, expected), f"{buf}[{i}] = {expr}: {value}, documented {expected}"


def test_worked_values_are_what_the_prover_computes() -> None:
    """The table as literals, proved equal to the expressions by the solver alone."""
    fn, rows = _worked_values()
    shapes = interp.shapes_of(fn, {})
    decls = "\n".join(f"  out {b.name}: {b.dtype}[{shapes[b.name][0]}]" for b in fn.outputs)
    stores = "\n".join(f"  {buf}[{i}] = {'0.0 / 0.0' if expected == 'nan' else expected}"
                       for buf, i, _, expected in rows)
    literal = parse(f"kernel worked_values {{\n{decls}\n{stores}\n}}\n").kernels[0]
    result = prove(fn, literal, options=ProveOptions(execution=False))
    assert isinstance(result, Proved), result


# -- the forms of the founders' design ------------------------------------------------------

DESIGN_FORMS = {
    "kernel with size parameters and defaults": r"kernel \w+\(M = \d+, N = \d+, K = \d+\) \{",
    "kernel without size parameters": r"kernel \w+ \{",
    "in buffer": r"\n\s*in\s+\w+: u8\[M, K\]",
    "out buffer": r"\n\s*out\s+\w+: i32\[M, N\]",
    "inout buffer": r"\n\s*inout\s+\w+: ",
    "local buffer": r"\n\s*local\s+\w+: ",
    "sqrt and log": r"sqrt\(.*\n.*log\(",
    "intrinsic with a dotted name": r"intrinsic \w+\.\w+ \{",
    "summary": r'\n\s*summary\s+"',
    "target": r"\n\s*target\s+\w+",
    "cost": r"\n\s*cost\s+\d+\.\d+",
    "literal init": r"C\[i, j\] = 0\n",
    "+=": r"\+= ",
    "-=": r"-= ",
    "*=": r"\*= ",
    "x = max(x, e)": r"(\w+) = max\(\1, ",
    "cast": r"i32\(A\[i, k\]\) \* i32\(B\[j, k\]\)",
    "saturating cast": r"sat_i\d+\(",
    "+ - * / %": r"\+ \w+\[n\] \* 3 - -\w+\[n\]\) / 7 % 5",
    "min max abs select": r"select\(.*min\(.*abs\(",
    "max": r"= max\(",
    "comparisons": r"< .*>= ",
    "&& || !": r"&& !\(.*\) \|\| ",
    "bit operations": r"& 0xFF\) \| \(\w+\[n\] \^ ~",
    "math functions": r"exp\(.*tanh\(",
    "for with an exclusive range": r"for \w+ in 0\.\.\w+ \{",
    "for with an inclusive range": r"for \w+ in 0\.\.=\w+ \{",
    "if": r"\n\s*if .* \{",
    "else": r"\} else \{",
    "<<": r"<<",
    ">>": r">>",
    "call with views": r"call x86\.avx512_vnni\.vpdpbusd_bcast\("
                       r"\n\s*a = \(k\) -> A\[i, 4\*ko \+ k\],"
                       r"\n\s*b = \(n, k\) -> B\[16\*jo \+ n, 4\*ko \+ k\],"
                       r"\n\s*c = \(n\) -> C\[i, 16\*jo \+ n\]\)",
    "assume with an inclusive range": r"assume A in 0\.\.=127",
    "assume with an exclusive range": r"assume \w+ in -?\d+\.\.\d+",
}
"""Each form of the design's language section: a regular expression over the checked
``tz`` blocks of docs/language.md."""

def test_every_form_of_the_design_is_shown_and_checked() -> None:
    checked = "\n".join(body for path, _, body in _tz_blocks() if path == LANGUAGE)
    missing = [name for name, pattern in DESIGN_FORMS.items()
               if not re.search(pattern, checked)]
    assert not missing, f"not shown in a checked tz block of docs/language.md: {missing}"


# -- links and paths -------------------------------------------------------------------------

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_MODULE = re.compile(r"^(?:tests|bench)(?:\.\w+)+$")
"""A module of the repository named in the text (``bench.scaling``); after ``-m``, any."""


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def _top_level() -> set[str]:
    return {p.name for p in ROOT.iterdir() if not p.name.startswith(".")}


def _prose_and_shell(path: Path) -> str:
    """The text outside code blocks, plus the shell blocks (their paths are run)."""
    text = path.read_text()
    shell = [body for info, _, body in fenced_blocks(path) if info == "sh"]
    return _FENCE.sub("", text) + "\n" + "\n".join(f"`{line}`" for body in shell
                                                   for line in body.splitlines())


def repo_paths(path: Path) -> list[str]:
    """The repository paths a document mentions in code spans and shell commands."""
    out = []
    top = _top_level()
    for span in _SPAN.findall(_prose_and_shell(path)):
        tokens = span.replace("\\", " ").split()
        for n, token in enumerate(tokens):
            token = token.strip("(),;").rstrip(".:")
            if n and tokens[n - 1] == "-m" or _MODULE.match(token):
                if token.split(".")[0] in top:  # not `python -m pytest`
                    out.append("module:" + token)
                continue
            token = token.split(":")[0]
            if token.startswith("../") or "/../" in token:
                out.append(token)
            elif "/" in token and "://" not in token and token.split("/")[0] in top:
                out.append(token)
            elif token in top:
                out.append(token)
    return out


def _exists(token: str) -> bool:
    if token.startswith("module:"):
        parts = token[len("module:"):].split(".")
        base = ROOT.joinpath(*parts)
        return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()
    for cut in ("<", "*"):  # a placeholder or a glob: the fixed part must exist
        if cut in token:
            token = token[:token.index(cut)]
    return (ROOT / token).exists()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_point_inside_the_repository(doc: Path) -> None:
    bad = []
    for target in _LINK.findall(_FENCE.sub("", doc.read_text())):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        if file_part.startswith("/") or ".." in Path(file_part).parts:
            bad.append(f"{target}: points outside the document's tree")
            continue
        dest = (doc.parent / file_part).resolve() if file_part else doc
        if not dest.is_relative_to(ROOT) or not dest.exists():
            bad.append(f"{target}: no such file in the repository")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            bad.append(f"{target}: no heading '#{anchor}' in {dest.name}")
    assert not bad, f"{doc.name}: {bad}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_mentioned_paths_exist_in_the_repository(doc: Path) -> None:
    text = doc.read_text()
    assert "../" not in text, f"{doc.name} refers to something outside the repository"
    paths = repo_paths(doc)
    missing = [p for p in paths if p.startswith("../") or "/../" in p or not _exists(p)]
    assert not missing, f"{doc.name} mentions paths that do not exist: {missing}"


def test_path_extraction_sees_paths() -> None:
    """The checker finds paths in code spans and shell blocks, and misses none it should."""
    readme = repo_paths(ROOT / "README.md")
    assert "examples/qmatmul.tz" in readme
    assert "tests/test_hostile.py" in readme
    assert "module:bench.equivalence" in readme
    design = repo_paths(ROOT / "docs" / "design.md")
    assert "tensorize/rewrite/validate.py" in design
    assert not _exists("examples/no_such_file.tz")
    assert not _exists("module:bench.no_such_module")


def test_documents_stand_alone() -> None:
    """No document sends the reader to a file outside the repository."""
    for doc in DOCS:
        text = doc.read_text()
        assert "shared/DESIGN.md" not in text, doc.name
    readme = (ROOT / "README.md").read_text()
    for page in ("docs/design.md", "docs/language.md", "docs/adding-an-instruction.md"):
        assert f"]({page})" in readme, f"README.md does not link {page}"



def test_architecture_page_describes_every_module() -> None:
    """docs/architecture.md has a paragraph (a bold file name) for every module."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "tensorize").rglob("*.py"))
               if p.name != "__init__.py" or p.parent.name == "tensorize"
               if f"**`{p.name}`**" not in text and f"**`{p.parent.name}/{p.name}`**" not in text]
    assert not missing, f"docs/architecture.md lacks: {missing}"
