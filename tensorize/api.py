"""The library interface: what another compiler calls, and what the CLI is a layer over.

Load a library (the bundled specs and ``--specs`` files), load kernels from a `.tz` or
MLIR file, run them, prove two equal, tensorize, build C, export MLIR. Each command of
``tensorize`` is one function here (``format_file``, ``run_file``, ``build_file``,
``prove_files``, ``check_spec_files``, ``list_intrinsics``, ``apply_files``,
``explain_file``, ``export_file``, ``run_bench``) whose result is a typed object with a
``describe()`` (the text the command prints) and, where the command writes JSON, a
``to_json()``.

Every entry point validates its arguments the same way the command line does: an unknown
float mode, target or intrinsic, a timeout that is not a finite positive number, or a
string where a list of names is wanted is a :class:`UsageError` naming the valid values.

The functions live in small modules named for what they do, re-exported here:
:mod:`tensorize.api_checks` (argument checks), :mod:`tensorize.api_load` (loading),
:mod:`tensorize.api_native` (running, the C back end), :mod:`tensorize.api_prove`
(proofs), :mod:`tensorize.api_apply` (tensorizing), :mod:`tensorize.api_library`
(the library's table and checks).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tensorize.lazy import lazy_names

if TYPE_CHECKING:
    from tensorize.api_apply import (
        Applied,
        ApplyOutputs,
        FileResult,
        KernelExplanation,
        OutOfTime,
        Progress,
        apply_files,
        apply_outputs,
        explain_file,
        make_pass,
        summary_line,
        tensorize,
        tensorize_any,
        tensorize_file,
        within_budget,
    )
    from tensorize.api_checks import (
        ALL_TARGETS,
        DEFAULT_TIMEOUT,
        MAX_JOBS,
        MAX_RLIMIT,
        MAX_SEED,
        MAX_TIMEOUT,
        check_intrinsics,
        check_jobs,
        check_names,
        check_repeat,
        check_rlimit,
        check_seed,
        check_targets,
        check_threads,
        check_timeout,
        command_targets,
        host_targets,
        own_sizes,
        parse_signedness,
        parse_sizes,
        solver_config,
    )
    from tensorize.api_library import (
        IntrinsicRow,
        IntrinsicTable,
        SpecFileCheck,
        check_spec_files,
        list_intrinsics,
    )
    from tensorize.api_load import (
        MLIR_SUFFIX,
        Callees,
        Formatted,
        Selection,
        callee_map,
        find_function,
        format_file,
        function_ref,
        import_mlir,
        is_mlir,
        load,
        load_any,
        load_specs,
        load_with_callees,
        parse,
        parse_path,
        select_kernels,
    )
    from tensorize.api_native import (
        Built,
        KernelRun,
        OutputSummary,
        Timing,
        build_file,
        compile,
        missing_features_for,
        operation_count,
        run,
        run_file,
    )
    from tensorize.api_prove import (
        STRUCTURAL_METHOD,
        ProveOutcome,
        describe_result,
        prove,
        prove_files,
        signature_difference,
        structural_proof,
    )
    from tensorize.equivalence.results import FP_MODES, check_fp
    from tensorize.intrinsics.library import Library, load_library
    from tensorize.ir.nodes import Function, Module
    from tensorize.outputs import check_output_dir, check_output_file, write_atomic

_LAZY: dict[str, str] = {
    "Applied": "tensorize.api_apply", "ApplyOutputs": "tensorize.api_apply",
    "FileResult": "tensorize.api_apply", "KernelExplanation": "tensorize.api_apply",
    "OutOfTime": "tensorize.api_apply", "Progress": "tensorize.api_apply",
    "apply_files": "tensorize.api_apply", "apply_outputs": "tensorize.api_apply",
    "explain_file": "tensorize.api_apply", "make_pass": "tensorize.api_apply",
    "summary_line": "tensorize.api_apply", "tensorize": "tensorize.api_apply",
    "tensorize_any": "tensorize.api_apply", "tensorize_file": "tensorize.api_apply",
    "within_budget": "tensorize.api_apply",
    "ALL_TARGETS": "tensorize.api_checks", "DEFAULT_TIMEOUT": "tensorize.api_checks",
    "MAX_JOBS": "tensorize.api_checks", "MAX_RLIMIT": "tensorize.api_checks",
    "MAX_SEED": "tensorize.api_checks", "MAX_TIMEOUT": "tensorize.api_checks",
    "check_intrinsics": "tensorize.api_checks", "check_jobs": "tensorize.api_checks",
    "check_names": "tensorize.api_checks", "check_repeat": "tensorize.api_checks",
    "check_rlimit": "tensorize.api_checks", "check_seed": "tensorize.api_checks",
    "check_targets": "tensorize.api_checks", "check_threads": "tensorize.api_checks",
    "check_timeout": "tensorize.api_checks", "command_targets": "tensorize.api_checks",
    "host_targets": "tensorize.api_checks", "own_sizes": "tensorize.api_checks",
    "parse_signedness": "tensorize.api_checks", "parse_sizes": "tensorize.api_checks",
    "solver_config": "tensorize.api_checks",
    "IntrinsicRow": "tensorize.api_library", "IntrinsicTable": "tensorize.api_library",
    "SpecFileCheck": "tensorize.api_library", "check_spec_files": "tensorize.api_library",
    "list_intrinsics": "tensorize.api_library",
    "MLIR_SUFFIX": "tensorize.api_load", "Callees": "tensorize.api_load",
    "Formatted": "tensorize.api_load", "Selection": "tensorize.api_load",
    "callee_map": "tensorize.api_load", "find_function": "tensorize.api_load",
    "format_file": "tensorize.api_load", "function_ref": "tensorize.api_load",
    "import_mlir": "tensorize.api_load", "is_mlir": "tensorize.api_load",
    "load": "tensorize.api_load", "load_any": "tensorize.api_load",
    "load_specs": "tensorize.api_load", "load_with_callees": "tensorize.api_load",
    "parse": "tensorize.api_load", "parse_path": "tensorize.api_load",
    "select_kernels": "tensorize.api_load",
    "Built": "tensorize.api_native", "KernelRun": "tensorize.api_native",
    "OutputSummary": "tensorize.api_native", "Timing": "tensorize.api_native",
    "build_file": "tensorize.api_native", "compile": "tensorize.api_native",
    "missing_features_for": "tensorize.api_native",
    "operation_count": "tensorize.api_native", "run": "tensorize.api_native",
    "run_file": "tensorize.api_native",
    "STRUCTURAL_METHOD": "tensorize.api_prove", "ProveOutcome": "tensorize.api_prove",
    "describe_result": "tensorize.api_prove", "prove": "tensorize.api_prove",
    "prove_files": "tensorize.api_prove", "signature_difference": "tensorize.api_prove",
    "structural_proof": "tensorize.api_prove",
    "FP_MODES": "tensorize.equivalence.results",
    "check_fp": "tensorize.equivalence.results",
    "Library": "tensorize.intrinsics.library",
    "load_library": "tensorize.intrinsics.library",
    "Function": "tensorize.ir.nodes", "Module": "tensorize.ir.nodes",
    "check_output_dir": "tensorize.outputs", "check_output_file": "tensorize.outputs",
    "write_atomic": "tensorize.outputs",
}
"""Where each public name lives: imported when first used (PEP 562), so that a command
imports only the modules it runs (a warm ``apply`` neither the engine nor the IR)."""


__all__ = [
    # loading
    "Library", "load_library", "load_specs", "parse", "parse_path", "load",
    "load_with_callees", "load_any", "import_mlir", "is_mlir", "MLIR_SUFFIX", "Callees",
    "callee_map", "find_function", "function_ref", "select_kernels", "Selection",
    "Function", "Module",
    # running, proving, tensorizing, C
    "run", "prove", "tensorize", "make_pass", "tensorize_file", "tensorize_any",
    "FileResult", "summary_line", "structural_proof", "signature_difference",
    "STRUCTURAL_METHOD", "describe_result", "compile", "operation_count",
    "missing_features_for", "export_mlir", "within_budget", "OutOfTime",
    # argument checks
    "FP_MODES", "check_fp", "check_timeout", "check_names", "check_targets", "ALL_TARGETS",
    "host_targets", "command_targets", "check_intrinsics", "check_rlimit", "check_seed",
    "check_jobs", "check_threads", "check_repeat", "solver_config", "parse_sizes",
    "own_sizes", "parse_signedness", "DEFAULT_TIMEOUT", "MAX_TIMEOUT", "MAX_RLIMIT",
    "MAX_SEED", "MAX_JOBS",
    # the commands
    "format_file", "Formatted", "run_file", "KernelRun", "OutputSummary", "Timing",
    "build_file", "Built", "prove_files", "ProveOutcome", "check_spec_files",
    "SpecFileCheck", "list_intrinsics", "IntrinsicTable", "IntrinsicRow", "apply_outputs",
    "ApplyOutputs", "apply_files", "Applied", "Progress", "explain_file",
    "KernelExplanation", "export_file", "run_bench",
    # output files
    "check_output_file", "check_output_dir", "write_atomic",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)


def export_mlir(functions: Sequence[Function], sizes: Mapping[str, int] | None = None,
                library: Callees | None = None) -> str:
    """Checked kernels (plain or rewritten) as one MLIR module (``affine``/``arith``/
    ``memref``; calls as ``func.call`` on views; sizes fixed to ``sizes`` or defaults)."""
    from tensorize.api_load import callee_map
    from tensorize.frontends.mlir_export import export_module

    return export_module(functions, sizes, callee_map(library))


def export_file(path: str, *, specs: Sequence[str] = (), kernel: str | None = None,
                sets: Sequence[str] = ()) -> str:
    """``tensorize export``: the kernels of a `.tz` file (``kernel``, else all) as one MLIR
    module, sizes fixed to their defaults or ``sets``."""
    from tensorize.api_load import load_specs, load_with_callees, select_kernels

    module, callees = load_with_callees(path, load_specs(specs))
    chosen = select_kernels(module, path, kernel, sets, "export")
    return export_mlir(chosen.kernels, chosen.sizes, callees)


BENCH_RUN = Path(__file__).resolve().parents[1] / "bench" / "run.py"
"""The benchmark runner of a source checkout (bench/ is not installed)."""


def run_bench(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """``tensorize bench``: run the benchmark corpus (``bench/run.py`` of a source
    checkout, with its own options ``argv``); its output goes to ``out`` and ``err``."""
    import importlib.util

    from tensorize.errors import UsageError

    if not BENCH_RUN.exists():
        raise UsageError("tensorize bench needs a source checkout (bench/ is not installed)")
    name = "tensorize_bench_run"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, BENCH_RUN)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # so that worker processes find its functions
        spec.loader.exec_module(module)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        return int(module.main(list(argv), progress=err))
